// The prefetch stage in front of the lookup kernels. A kernel step per row (index,
// qparams, dequantize, accumulate) is too long for the CPU to keep more than a few cache
// misses in flight, so cold rows arrive one latency at a time. Forward calls therefore
// run in chunks of about kPrefetchChunkBytes of rows: before the kernel reduces chunk k,
// a plain loop of prefetches has requested every line of chunk k+1, as FBGEMM's kernels
// prefetch rows ahead. Halide's prefetch directive cannot bound a
// data-dependent gather (it asked for the whole table), so this stage lives here.
#pragma once

#include <algorithm>
#include <cstdint>
#include <utility>
#include <vector>

namespace qembed::detail {

// Bytes of rows per kernel call. Measured with bench/qembed_bench (2-core AMD EPYC):
// 8, 16, 32 and 64 KiB were within noise of each other on FBGEMM's shapes, TBE and the
// multi-thread case; prefetching into L1 beat L2 by up to 1.4x.
inline constexpr int64_t kPrefetchChunkBytes = 32 * 1024;

// Entries per chunk for rows of row_bytes bytes.
inline int64_t prefetch_chunk_rows(int64_t row_bytes) {
  return std::max<int64_t>(1, kPrefetchChunkBytes / row_bytes);
}

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

// Prefetches every 64-byte line of the rows named by idx[begin, end) (validated indices).
template <typename I>
inline void prefetch_rows(const uint8_t* table, int64_t row_bytes, const I* idx, int64_t begin,
                          int64_t end) {
  for (int64_t j = begin; j < end; ++j) {
    const uint8_t* row = table + static_cast<int64_t>(idx[j]) * row_bytes;
    for (int64_t l = 0; l < row_bytes; l += 64) prefetch_line(row + l);
    prefetch_line(row + row_bytes - 1);
  }
}

// Runs chunks [c0, c1) one after another, each after the rows of the next one were
// requested: prefetch(c0), then for every c: prefetch(c + 1) (if any), run(c).
template <typename Prefetch, typename Run>
inline void run_prefetched(int64_t c0, int64_t c1, Prefetch&& prefetch, Run&& run) {
  if (c0 < c1) prefetch(c0);
  for (int64_t c = c0; c < c1; ++c) {
    if (c + 1 < c1) prefetch(c + 1);
    run(c);
  }
}

// Cuts bags into chunks of whole bags holding about chunk_rows entries each: chunk c is
// bags [cuts[c], cuts[c + 1]). begins: each bag's first entry; n: the entries in all.
template <typename I>
inline std::vector<int64_t> cut_bag_chunks(const I* begins, int64_t num_bags, int64_t n,
                                           int64_t chunk_rows) {
  auto entry = [&](int64_t bag) { return bag < num_bags ? static_cast<int64_t>(begins[bag]) : n; };
  std::vector<int64_t> cuts{0};
  while (cuts.back() < num_bags) {
    const int64_t bag = cuts.back(), limit = entry(bag) + chunk_rows;
    int64_t e = bag + 1;
    while (e < num_bags && entry(e + 1) <= limit) ++e;
    cuts.push_back(e);
  }
  return cuts;
}

// Consecutive chunks grouped into tasks for the thread pool: about four tasks per thread
// (for balance), one task when the pool has a single thread. Each task prefetches and
// runs its own chunks, so every thread keeps its own misses in flight.
struct ChunkGroups {
  int64_t chunks = 0, per_task = 1;
  int tasks = 0;
  ChunkGroups(int64_t num_chunks, int threads) : chunks(num_chunks) {
    const int64_t want = threads > 1 ? 4 * static_cast<int64_t>(threads) : 1;
    per_task = std::max<int64_t>(1, (chunks + want - 1) / want);
    tasks = static_cast<int>((chunks + per_task - 1) / per_task);
  }
  std::pair<int64_t, int64_t> range(int task) const {
    const int64_t c0 = task * per_task;
    return {c0, std::min(chunks, c0 + per_task)};
  }
};

}  // namespace qembed::detail
