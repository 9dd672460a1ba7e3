// How a forward call becomes kernel calls (tasks) on the thread pool (parallel.h). Two
// things shape them: balance over threads, and a cap on each kernel call's entries. A
// kernel call first writes every entry's table row into a heap array (4 bytes an entry,
// generators/gather_stage.h) and its loop then reads it; capped at kMaxCallEntries the
// array (256 KiB) can stay in L2 between the two passes, and never nears the 2^31 bytes a
// Halide allocation may hold without large_buffers. A bag is never split (its sum must be
// one kernel's, in order): a bag over the cap is a call of its own, and validation limits
// bags to kMaxBagEntries (validate.h) for the same allocation limit.
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

// Most entries a kernel call gets (bags over it excepted, one bag a call).
inline constexpr int64_t kMaxCallEntries = int64_t{1} << 16;

// How many tasks a call of n entries is split into: about four per thread (for balance)
// when there is more than one thread, none smaller than kMinTaskEntries, and at least
// enough that none holds more than kMaxCallEntries.
inline int64_t task_count(int64_t n, int threads) {
  const int64_t by_cap = std::max<int64_t>(1, (n + kMaxCallEntries - 1) / kMaxCallEntries);
  if (threads <= 1) return by_cap;
  const int64_t by_size = std::max<int64_t>(1, n / kMinTaskEntries);
  return std::max(by_cap, std::min<int64_t>(kTasksPerThread * threads, by_size));
}

// Cuts bags into `tasks` runs of whole bags holding about the same number of entries:
// task t is bags [cuts[t], cuts[t + 1]). begins: each bag's first entry; n: the entries
// in all. No task holds more than ceil(n / tasks) entries unless it is a single bag
// bigger than that, so there may be fewer tasks, or more, than asked.
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
