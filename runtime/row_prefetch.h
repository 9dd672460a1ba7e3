// Prefetching the rows of a kernel call (its tasks: call_tasks.h). A kernel step per row (index,
// qparams, dequantize, accumulate) is too long for the CPU to keep more than a few cache
// misses in flight, so cold rows would arrive one latency at a time. The lookup kernels
// therefore prefetch, inside their loop over entries, the rows of the entry
// prefetch_distance ahead (a kernel input; generators/prefetch_stage.h), as FBGEMM's
// kernels do; the runtime prefetches the first prefetch_distance rows of each kernel
// call (which no earlier iteration asked for) just before the call. The distance comes
// from the schedule file (64 when it names none; qembed-tune searches it).
#pragma once

#include <cstdint>

namespace qembed::detail {

// One line into L1. An asm statement, not __builtin_prefetch: GCC deletes a loop that
// does nothing but __builtin_prefetch as a loop without side effects (seen at -O1 and,
// depending on inlining, at -O3), which silently removed this whole stage once.
inline void prefetch_line(const uint8_t* p) {
#if defined(__x86_64__)
  asm volatile("prefetcht0 %0" : : "m"(*p));
#elif defined(__aarch64__)
  asm volatile("prfm pldl1keep, [%0]" : : "r"(p));
#else
  __builtin_prefetch(p, 0, 3);
#endif
}

// Prefetches every 64-byte line of one row.
inline void prefetch_row(const uint8_t* row, int64_t row_bytes) {
  for (int64_t l = 0; l < row_bytes; l += 64) prefetch_line(row + l);
  prefetch_line(row + row_bytes - 1);
}

// The head of a kernel call: every line of the rows named by idx[begin, end) (validated
// indices; the caller caps end at begin + the kernel's prefetch distance).
template <typename I>
inline void prefetch_head(const uint8_t* table, int64_t row_bytes, const I* idx, int64_t begin,
                          int64_t end) {
  for (int64_t j = begin; j < end; ++j) {
    prefetch_row(table + static_cast<int64_t>(idx[j]) * row_bytes, row_bytes);
  }
}

}  // namespace qembed::detail
