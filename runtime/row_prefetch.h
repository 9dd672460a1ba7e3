// The prefetch stage in front of the lookup kernels. A kernel step per row (index,
// qparams, dequantize, accumulate) is too long for the CPU to keep more than a few cache
// misses in flight, so cold rows arrive one latency at a time. Forward calls therefore
// run in chunks of about kPrefetchChunkBytes of rows: before the kernel reduces chunk k,
// a plain loop of prefetches has requested every line of chunk k+1, as FBGEMM's kernels
// prefetch rows ahead. Halide's prefetch directive cannot bound a
// data-dependent gather (it asked for the whole table), so this stage lives here.
#pragma once

#include <cstdint>

namespace qembed::detail {

// Bytes of rows per kernel call. Measured with bench/qembed_bench on FBGEMM's shapes
// (2-core AMD EPYC): 32 KiB was as fast as or faster than 96 and 256 KiB; prefetching
// into L1 (locality 3) beat L2 (locality 2) by up to 1.4x.
inline constexpr int64_t kPrefetchChunkBytes = 32 * 1024;

// Prefetches every 64-byte line of the rows named by idx[begin, end) (validated indices).
template <typename I>
inline void prefetch_rows(const uint8_t* table, int64_t row_bytes, const I* idx, int64_t begin,
                          int64_t end) {
  for (int64_t j = begin; j < end; ++j) {
    const uint8_t* row = table + static_cast<int64_t>(idx[j]) * row_bytes;
    for (int64_t l = 0; l < row_bytes; l += 64) __builtin_prefetch(row + l, 0, 3);
    __builtin_prefetch(row + row_bytes - 1, 0, 3);
  }
}

}  // namespace qembed::detail
