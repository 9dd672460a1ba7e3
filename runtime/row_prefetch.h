// Prefetching rows and splitting a forward call into tasks. A kernel step per row (index,
// qparams, dequantize, accumulate) is too long for the CPU to keep more than a few cache
// misses in flight, so cold rows would arrive one latency at a time. The lookup kernels
// therefore prefetch, inside their loop over entries, the rows of the entry
// prefetch_distance ahead (a kernel input; generators/prefetch_stage.h), as FBGEMM's
// kernels do; the runtime prefetches the first prefetch_distance rows of each kernel
// call (which no earlier iteration asked for) just before the call. The distance comes
// from the schedule file (64 when it names none; qembed-tune searches it).
#pragma once

#include <algorithm>
#include <cstdint>
#include <utility>
#include <vector>

namespace qembed::detail {

// Entries below which a forward call is not split over threads: a task this small costs
// about as much to hand to a thread as to run.
inline constexpr int64_t kMinTaskEntries = 256;

// Tasks per pool thread when work is split (more than one, for balance).
inline constexpr int64_t kTasksPerThread = 4;

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

// How many tasks a call of n entries is split into: about four per thread (for balance)
// when there is more than one thread, none smaller than kMinTaskEntries.
inline int64_t task_count(int64_t n, int threads) {
  if (threads <= 1) return 1;
  const int64_t by_size = std::max<int64_t>(1, n / kMinTaskEntries);
  return std::min<int64_t>(kTasksPerThread * threads, by_size);
}

// Cuts bags into `tasks` runs of whole bags holding about the same number of entries:
// task t is bags [cuts[t], cuts[t + 1]). begins: each bag's first entry; n: the entries
// in all. A bag is never split (its sum must be one kernel's, in order), so a task may
// be bigger, and there may be fewer tasks, than asked.
template <typename I>
inline std::vector<int64_t> cut_bag_tasks(const I* begins, int64_t num_bags, int64_t n,
                                          int64_t tasks) {
  auto entry = [&](int64_t bag) { return bag < num_bags ? static_cast<int64_t>(begins[bag]) : n; };
  const int64_t per_task = std::max<int64_t>(1, (n + tasks - 1) / tasks);
  std::vector<int64_t> cuts{0};
  while (cuts.back() < num_bags) {
    const int64_t bag = cuts.back(), limit = entry(bag) + per_task;
    int64_t e = bag + 1;
    while (e < num_bags && entry(e + 1) <= limit) ++e;
    cuts.push_back(e);
  }
  return cuts;
}

// Consecutive chunks grouped into tasks for the thread pool: about four tasks per thread
// (for balance), one task when the pool has a single thread.
struct ChunkGroups {
  int64_t chunks = 0, per_task = 1;
  int tasks = 0;
  ChunkGroups(int64_t num_chunks, int threads) : chunks(num_chunks) {
    const int64_t want = threads > 1 ? kTasksPerThread * threads : 1;
    per_task = std::max<int64_t>(1, (chunks + want - 1) / want);
    tasks = static_cast<int>((chunks + per_task - 1) / per_task);
  }
  std::pair<int64_t, int64_t> range(int task) const {
    const int64_t c0 = task * per_task;
    return {c0, std::min(chunks, c0 + per_task)};
  }
};

}  // namespace qembed::detail
