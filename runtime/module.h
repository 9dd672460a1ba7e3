// The module layer shared by the C++ classes and the C ABI: owns the stored (quantized)
// table and its qparams, validates every input, and runs the kernels of the active target.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "dispatch.h"
#include "formats.h"
#include "qembed/qembed.hpp"

namespace qembed::detail {

enum class Kind { Embedding, EmbeddingBag };

// 64-byte aligned bytes (one cache line), owned.
struct AlignedBytes {
  struct Free {
    void operator()(uint8_t* p) const;
  };
  std::unique_ptr<uint8_t[], Free> data;
  size_t size = 0;
  static AlignedBytes allocate(size_t size);
};

class Module {
 public:
  // Validates options, qparams and weight, then quantizes the weight into stored rows.
  static std::shared_ptr<const Module> from_float(Kind kind, const float* weight,
                                                  const EmbeddingBagOptions& options,
                                                  const QParams* qparams);

  // Validates options, qparams and the codes' size, then stores the codes as given
  // (`size` bytes in QuantizedWeight's layout: PyTorch's int_repr()).
  static std::shared_ptr<const Module> from_quantized(Kind kind, const QParams& qparams,
                                                      const uint8_t* data, uint64_t size,
                                                      const EmbeddingBagOptions& options);

  // An EmbeddingBag over rows prepacked by PyTorch's embedding_bag_{byte,4bit,2bit}_prepack
  // (bits 8, 4, 2), served with those ops' numerics (formats.h, scale_bias_stage.h):
  // mode sum, no padding_idx or max_norm; `size` must be num_embeddings packed rows.
  static std::shared_ptr<const Module> from_prepacked(const uint8_t* packed, uint64_t size,
                                                      int bits, const EmbeddingBagOptions& options);

  Kind kind() const { return kind_; }
  int packing_bits() const { return packing_bits_; }  // 0 unless from_prepacked
  const EmbeddingBagOptions& options() const { return options_; }
  const QParams& qparams() const { return qparams_; }
  int64_t rows() const { return options_.num_embeddings; }
  int64_t dim() const { return options_.embedding_dim; }

  void embedding_forward(const Indices& indices, float* out, int64_t out_len) const;
  // offsets: begins of bags (plus the end with include_last_offset), as the reference.
  void bag_forward(const Indices& indices, const Indices& offsets, const float* per_sample_weights,
                   float* out, int64_t out_len) const;
  int64_t num_bags(int64_t num_offsets) const;
  void get_weight(float* out, int64_t out_len) const;
  QuantizedWeight quantized_weight() const;

 private:
  Module() = default;
  // A module for validated options and qparams with a zeroed table (and the per-column
  // qparam vectors filled): the part from_float and from_quantized share.
  static std::shared_ptr<Module> allocate(Kind kind, const EmbeddingBagOptions& options,
                                          const QParams& q, fmt::FormatId format);
  // Packs one row of integer codes (and its fused qparams) into the table.
  void store_row(int64_t row, const int32_t* codes);
  void store_qparams(int64_t row);  // a row's fused qparams (per-row layouts), else nothing
  // Bytes of one row's codes when int_repr()'s rows are exactly the stored codes (8/32-bit
  // codes, 4-bit ones with even D), so rows copy whole; 0 otherwise.
  int64_t int_repr_row_bytes() const;
  struct TableViews;
  // Runs a validated bag forward with bag begins `begins` (num_bags entries).
  void run_bags(const Indices& indices, const void* begins, int64_t num_bags,
                const float* per_sample_weights, float* out) const;
  // A validated Embedding forward: one kernel call per task of the thread pool
  // (call_tasks.h), the head of each call prefetched before it (the kernel prefetches the
  // rest; row_prefetch.h).
  template <typename I>
  void run_lookup_tasks(const I* idx, IndexType type, int64_t n, float* out) const;
  // run_bags for one index type: whole bags split into tasks as run_lookup_tasks does.
  template <typename I>
  void run_bag_tasks(const Indices& indices, const I* idx, const I* begins, int64_t num_bags,
                     const float* per_sample_weights, float* out) const;
  int32_t code_of(int64_t row, int64_t col) const;  // the stored integer code
  // The active target's lookup kernels for this table: its large-addressing twin for a
  // table over 2 GiB (dispatch.h).
  const KernelSet& kernels() const;
  int64_t stored_row_bytes() const {  // bytes of one stored row, fused qparams included
    return row_elems_ * fmt::element_bytes(fmt::format(format_).codes);
  }

  Kind kind_ = Kind::Embedding;
  EmbeddingBagOptions options_;
  QParams qparams_;           // normalized: defaults filled in
  int64_t padding_row_ = -1;  // padding_idx wrapped into [0, rows), or -1
  fmt::FormatId format_ = fmt::FormatId::f32;
  int64_t row_elems_ = 0;     // table-buffer elements per stored row
  AlignedBytes table_;        // rows x row_elems_ elements
  bool large_table_ = false;  // over kMaxSmallTableBytes: the large-addressing kernels
  int packing_bits_ = 0;      // prepacked rows (8, 4, 2), else 0
  // Per-column layouts' qparams: D long (D + 1 for 4-bit codes, see from_float).
  std::vector<float> col_scale_, col_zero_point_;
};

}  // namespace qembed::detail
