// What one job of the forwards' thread pool (runtime/thread_pool.h) costs apart from its
// tasks: wake the workers, claim every task, wait for the last. Jobs of kTasksPerThread
// tasks per thread (runtime/call_tasks.h: as the forwards cut them) and of 16 times as
// many (what claiming costs per task shows there even on few cores), each task a few
// hundred nanoseconds of work of its own.
//   pool_bench [--benchmark_filter=...]   (BM_PoolJob/THREADS/TASKS_PER_THREAD; threads
//                                          1, 2, 4, ... up to the cores)
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdint>
#include <thread>
#include <vector>

#include "call_tasks.h"
#include "thread_pool.h"

namespace {

// Per task: a short dependent chain, its result written to a cache line of its own (no
// memory traffic, no sharing between tasks).
struct alignas(64) Slot {
  uint64_t value;
};
struct Job {
  std::vector<Slot> out;  // one per task, written once
  static void task(void* self, int t) {
    uint64_t x = static_cast<uint64_t>(t) + 1;
    for (int i = 0; i < 256; ++i) x = x * 6364136223846793005u + 1442695040888963407u;
    static_cast<Job*>(self)->out[static_cast<size_t>(t)].value = x;
  }
};

void BM_PoolJob(benchmark::State& state) {
  const int threads = static_cast<int>(state.range(0));
  const int tasks = static_cast<int>(state.range(1)) * threads;
  Job job;
  job.out.resize(static_cast<size_t>(tasks));
  auto& pool = qembed::detail::thread_pool();
  pool.run(tasks, threads, &Job::task, &job);  // start (or resize) the workers first
  for (auto _ : state) {
    pool.run(tasks, threads, &Job::task, &job);
    benchmark::DoNotOptimize(job.out.data());
  }
  state.counters["tasks"] = tasks;
}

void thread_counts(benchmark::internal::Benchmark* b) {
  const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  const int64_t per_thread = qembed::detail::kTasksPerThread;
  for (int64_t tasks : {per_thread, 16 * per_thread}) {
    for (int t = 1; t < cores; t *= 2) b->Args({t, tasks});
    b->Args({cores, tasks});
  }
}

BENCHMARK(BM_PoolJob)->Apply(thread_counts)->UseRealTime()->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
