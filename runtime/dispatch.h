// The dispatch table: for every compiled Halide target (best first), the kernel of each
// (op, format, index type), plus from_float's quantizers. Built from the variant table
// that CMake generates (cmake/kernels.cmake), so it cannot drift from what was compiled.
#pragma once

#include <string>
#include <vector>

#include "HalideRuntime.h"
#include "formats.h"

namespace qembed::detail {

using EmbeddingKernel = int (*)(int32_t dim, halide_buffer_t* table, halide_buffer_t* col_scale,
                                halide_buffer_t* col_zero_point, halide_buffer_t* indices,
                                bool has_max_norm, double max_norm, double norm_type,
                                int32_t prefetch_distance, halide_buffer_t* out);
using BagKernel = int (*)(int32_t dim, halide_buffer_t* table, halide_buffer_t* col_scale,
                          halide_buffer_t* col_zero_point, halide_buffer_t* indices,
                          halide_buffer_t* offsets, halide_buffer_t* weights, int64_t padding_idx,
                          bool has_weights, bool mean, bool has_max_norm, double max_norm,
                          double norm_type, int32_t prefetch_distance, halide_buffer_t* out);
using QuantizeKernel = int (*)(halide_buffer_t* weight, halide_buffer_t* scale,
                               halide_buffer_t* zero_point, int32_t axis, int32_t qmin,
                               int32_t qmax, halide_buffer_t* codes);

constexpr int kFormatCount = static_cast<int>(fmt::FormatId::count);
// Index-type slot of a kernel array (named after the generator's index_type values).
enum IndexSlot { kSlot_int32 = 0, kSlot_int64 = 1 };

// The lookup ops (as named in the variant table).
enum Op { kOp_embedding, kOp_bag_sum, kOp_bag_max, kOpCount };

struct KernelSet {
  const char* target = nullptr;  // the Halide target string
  EmbeddingKernel embedding[kFormatCount][2] = {};
  BagKernel bag_sum[kFormatCount][2] = {};
  BagKernel bag_max[kFormatCount][2] = {};
  // Each lookup kernel's prefetch_distance input: entries ahead whose rows it prefetches
  // (from the schedule file, 64 by default; runtime/row_prefetch.h).
  int32_t prefetch_distance[kOpCount][kFormatCount][2] = {};
  QuantizeKernel quantize_int_zp = nullptr;
  QuantizeKernel quantize_float_zp = nullptr;
  // The same target's lookup kernels compiled with large_buffers (64-bit addressing),
  // for tables over 2 GiB; null when the build has none (QEMBED_LARGE_BUFFERS=OFF) and
  // for the tuner's candidates.
  const KernelSet* large = nullptr;
};

// Bytes above which a table needs the large-addressing kernels (Halide's 32-bit offsets).
constexpr int64_t kMaxSmallTableBytes = 2147483647LL;

// Every compiled target, best first (the small-addressing sets; each links its large one).
const std::vector<KernelSet>& all_kernel_sets();
// The kernels forward calls use now (see qembed::set_kernel_target).
const KernelSet& active_kernels();
// Makes `k` the active set (which must outlive its use); qembed-tune installs candidate
// kernels this way. set_kernel_target() or another call replaces it.
void set_active_kernels(const KernelSet& k);

}  // namespace qembed::detail
