// The forwards' thread pool (runtime/parallel.h runs their tasks on it).
//
// Why not Halide's pool, which the kernels' own parallel loops use: on the 16-core Xeon
// its forwards of B=4096 bags of 20 ran at 2x the time of the same rows copied by an
// OpenMP loop. Its workers take tasks from one queue under one mutex, so bag t's output
// lines are written by a different core from one call to the next, and idle workers
// sleep after a few yields. Here worker w runs tasks w, w + size(), ... of every job
// first (the same bags each call), then takes any task no other worker has started, and
// idle workers poll for a while (kSpinMicros) before they sleep, as OpenMP runtimes do.
// Measured (bench/torch_compare.py, both builds in one process, 4M x 128 rows, 16
// threads): 8-bit 416 -> 307 us, 4-bit 357 -> 284 us. On this 2-vCPU VM it is slower
// (2 threads, 8-bit: 441 -> 503 us), where qembed_bench's mt workloads are even.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>
#include <vector>

namespace qembed::detail {

class ThreadPool {
 public:
  using Task = void (*)(void* context, int task);

  // How long an idle worker keeps polling for the next job before it sleeps.
  static constexpr int kSpinMicros = 50;

  ThreadPool() = default;
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  // Runs task(context, t) for every t in [0, tasks) on `threads` threads (the caller is
  // one of them; workers start or stop to match) and returns when all have run. One job
  // at a time: a caller that finds the pool busy (another thread's forward, or a task
  // calling back in) runs its tasks itself, in order. Tasks must not throw.
  void run(int tasks, int threads, Task task, void* context);

 private:
  void resize(int threads);              // holds job_mutex_
  void abandon_after_fork();             // holds job_mutex_; in a child process of fork()
  void work(int worker, uint64_t seen);  // a worker's loop; `seen`: the last generation
  void run_tasks(int worker);            // worker's share of the current job, then leftovers

  std::mutex job_mutex_;  // held by the job's caller (and by resize)
  std::vector<std::thread> workers_;
  int size_ = 1;  // workers_ + the caller

  // The current job, published by generation_ (release) to the workers (acquire).
  Task task_ = nullptr;
  void* context_ = nullptr;
  int tasks_ = 0;
  std::vector<std::atomic<bool>> claimed_;  // per task: started by some worker
  std::atomic<uint64_t> generation_{0};
  std::atomic<int> pending_{0};  // workers yet to finish the current job
  std::atomic<bool> stop_{false};

  std::mutex sleep_mutex_;  // guards the sleep/wake handshake
  std::condition_variable wake_;
};

// The process's pool (created on first use, never destroyed: workers may still be asleep
// in it when the process exits). A child process of fork() starts its own workers.
ThreadPool& thread_pool();

}  // namespace qembed::detail
