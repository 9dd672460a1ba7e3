// The scalar reference of the contract (../shared/spec/reference-semantics.md): plain
// loops, no Halide, compiled with -ffp-contract=off so the compiler fuses nothing. The
// kernels are tested against it bit for bit.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "qembed/qembed.hpp"

namespace ref {

struct Quantized {
  std::vector<float> weight;   // get_weight(): the fake-quantized table
  std::vector<int32_t> codes;  // the integer codes (empty for float32 / float16)
};

// Quantize-dequantize a rows x cols float table as PyTorch 1.13.1 does.
Quantized quantize_dequantize(const std::vector<float>& w, int64_t rows, int64_t cols,
                              const qembed::QParams& q);

// max_norm's scale for one row (1 when within max_norm).
float renorm_factor(const float* row, int64_t dim, double max_norm, double norm_type);

// F.embedding over the fake-quantized table.
std::vector<float> embedding(const std::vector<float>& table, int64_t dim,
                             const std::vector<int64_t>& indices, std::optional<double> max_norm,
                             double norm_type);

// F.embedding_bag; `ends` holds each bag's end (begin = previous end, first begin 0).
std::vector<float> embedding_bag(const std::vector<float>& table, int64_t dim,
                                 const std::vector<int64_t>& indices,
                                 const std::vector<int64_t>& begins,
                                 const std::vector<int64_t>& ends, qembed::Mode mode,
                                 const float* per_sample_weights,
                                 std::optional<int64_t> padding_row, std::optional<double> max_norm,
                                 double norm_type);

// PyTorch 1.13's embedding_bag_{byte,4bit,2bit}_rowwise_offsets on prepacked rows
// (row_bytes each; bits 8, 4, 2): per entry scale_w = fl(w * scale), bias_w = fl(w * bias),
// acc = fl32(fma64(scale_w, q, fl(acc + bias_w))). Bags as embedding_bag's begins/ends.
std::vector<float> prepacked_bag(const std::vector<uint8_t>& packed, int64_t row_bytes, int bits,
                                 int64_t dim, const std::vector<int64_t>& indices,
                                 const std::vector<int64_t>& begins,
                                 const std::vector<int64_t>& ends, const float* per_sample_weights);

uint16_t float_to_half(float f);
float half_to_float(uint16_t h);

}  // namespace ref
