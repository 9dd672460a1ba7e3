// Input validation: every rule of the contract, checked before any kernel runs. Each
// check throws the matching qembed::Error with a message naming the argument and rule.
#pragma once

#include <cstdint>
#include <string>

#include "qembed/qembed.hpp"

namespace qembed::detail {

// Largest count the kernels address with int32 (tables, index lists, bags).
constexpr int64_t kMaxExtent = 2147483647LL;

// Most entries one bag may hold. A bag is one kernel call (call_tasks.h), whose per-call
// array of entry rows (4 bytes an entry plus the prefetch distance, at most 2^16 by the
// build's check) must stay under Halide's 2^31-byte limit on an allocation.
constexpr int64_t kMaxBagEntries = int64_t{1} << 28;

void validate_options(const EmbeddingBagOptions& o, bool is_bag);
// Fills PyTorch's defaults (qparams == nullptr) and checks every qparams rule.
QParams validate_qparams(const QParams* q, int64_t rows, int64_t cols);
void validate_weight(const float* weight, int64_t rows, int64_t cols);
// indices: non-null when non-empty, every value in [0, rows).
void validate_indices(const Indices& indices, int64_t rows, const char* name = "indices");
// offsets against num_indices (contract section 4) and no bag over kMaxBagEntries;
// returns the bag count.
int64_t validate_offsets(const Indices& offsets, int64_t num_indices, bool include_last_offset);
void validate_output(const float* out, int64_t out_len, int64_t needed, const char* what);
int64_t checked_mul(int64_t a, int64_t b, const char* what);

}  // namespace qembed::detail
