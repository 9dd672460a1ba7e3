#include "thread_pool.h"

#include <pthread.h>

#include <chrono>
#include <new>

namespace qembed::detail {

namespace {

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

// Set in a child process after fork(): the pool's threads did not come along.
std::atomic<bool> g_forked{false};

}  // namespace

ThreadPool::~ThreadPool() {
  std::lock_guard<std::mutex> job(job_mutex_);
  resize(1);
}

void ThreadPool::run(int tasks, int threads, Task task, void* context) {
  std::unique_lock<std::mutex> job(job_mutex_, std::try_to_lock);
  if (tasks <= 1 || threads <= 1 || !job.owns_lock()) {
    for (int t = 0; t < tasks; ++t) task(context, t);
    return;
  }
  if (g_forked.exchange(false, std::memory_order_relaxed)) abandon_after_fork();
  if (threads != size_) resize(threads);
  task_ = task;
  context_ = context;
  tasks_ = tasks;
  if (static_cast<int>(claimed_.size()) < tasks) {
    claimed_ = std::vector<std::atomic<bool>>(static_cast<size_t>(tasks));
  }
  for (int t = 0; t < tasks; ++t) claimed_[t].store(false, std::memory_order_relaxed);
  pending_.store(size_ - 1, std::memory_order_relaxed);
  {
    // Under the sleep mutex: a worker deciding to sleep either sees the new generation or
    // is already waiting when notify_all runs.
    std::lock_guard<std::mutex> lock(sleep_mutex_);
    generation_.fetch_add(1, std::memory_order_release);
  }
  wake_.notify_all();
  run_tasks(0);
  // Yield, not pause: on a 2-vCPU VM a caller spinning here slowed the worker it waits
  // for (2-thread bags 608 -> 503 us with yield; Halide's pool, which sleeps, 441).
  while (pending_.load(std::memory_order_acquire) != 0) std::this_thread::yield();
}

void ThreadPool::run_tasks(int worker) {
  // Its own tasks first (the same ones every call: their output stays in this core's
  // cache), then any no other worker has started (a worker woken late, or sharing its
  // core with another process, does not hold the call up).
  for (int t = worker; t < tasks_; t += size_) {
    if (!claimed_[t].exchange(true, std::memory_order_relaxed)) task_(context_, t);
  }
  // Read before claiming: by now most tasks are taken, and a read keeps the flags' line
  // shared where an exchange takes it from every other core (threads x tasks transfers
  // per job when every worker sweeps).
  for (int t = 0; t < tasks_; ++t) {
    if (!claimed_[t].load(std::memory_order_relaxed) &&
        !claimed_[t].exchange(true, std::memory_order_relaxed)) {
      task_(context_, t);
    }
  }
}

void ThreadPool::abandon_after_fork() {
  // The parent's workers are not running here, and its sleep mutex and condition variable
  // may hold state of theirs (a waiter that will never return): leave all of it behind,
  // never destroyed (a joinable std::thread's destructor terminates), and start afresh.
  new std::vector<std::thread>(std::move(workers_));
  workers_.clear();
  new (&sleep_mutex_) std::mutex();
  new (&wake_) std::condition_variable();
  stop_.store(false, std::memory_order_relaxed);
  size_ = 1;
}

void ThreadPool::resize(int threads) {
  if (!workers_.empty()) {
    {
      std::lock_guard<std::mutex> lock(sleep_mutex_);
      stop_.store(true, std::memory_order_relaxed);
    }
    wake_.notify_all();
    for (std::thread& w : workers_) w.join();
    workers_.clear();
    stop_.store(false, std::memory_order_relaxed);
  }
  size_ = threads;
  // A worker waits for the generation after this one: read here, not when the thread
  // starts (the caller may publish its job before that).
  const uint64_t current = generation_.load(std::memory_order_relaxed);
  for (int w = 1; w < threads; ++w) workers_.emplace_back([this, w, current] { work(w, current); });
}

void ThreadPool::work(int worker, uint64_t seen) {
  for (;;) {
    // Wait for the next job: poll for kSpinMicros, then sleep until woken.
    const auto spin_end = std::chrono::steady_clock::now() + std::chrono::microseconds(kSpinMicros);
    uint64_t now_seen;
    for (int polls = 0;; ++polls) {
      now_seen = generation_.load(std::memory_order_acquire);
      if (now_seen != seen || stop_.load(std::memory_order_relaxed)) break;
      cpu_relax();
      if ((polls & 63) == 63 && std::chrono::steady_clock::now() > spin_end) {
        std::unique_lock<std::mutex> lock(sleep_mutex_);
        wake_.wait(lock, [&] {
          return generation_.load(std::memory_order_acquire) != seen ||
                 stop_.load(std::memory_order_relaxed);
        });
      }
    }
    if (stop_.load(std::memory_order_relaxed)) return;
    seen = now_seen;
    run_tasks(worker);
    pending_.fetch_sub(1, std::memory_order_acq_rel);
  }
}

ThreadPool& thread_pool() {
  static ThreadPool* pool = [] {
    pthread_atfork(nullptr, nullptr, [] { g_forked.store(true, std::memory_order_relaxed); });
    return new ThreadPool();
  }();
  return *pool;
}

}  // namespace qembed::detail
