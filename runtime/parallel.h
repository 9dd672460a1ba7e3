// A forward's tasks spread over the pool of runtime/thread_pool.h, sized by
// qembed::set_num_threads (0: HL_NUM_THREADS, else one thread per core).
#pragma once

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <exception>
#include <thread>

#include "qembed/qembed.hpp"
#include "thread_pool.h"

namespace qembed::detail {

// Threads the pool runs: the count set, else HL_NUM_THREADS, else one per core. The
// default is read once: hardware_concurrency() reads /sys and cost ~5 us per forward.
inline int pool_threads() {
  const int set = num_threads();
  if (set > 0) return set;
  static const int default_threads = [] {
    if (const char* env = std::getenv("HL_NUM_THREADS")) {
      const int n = std::atoi(env);
      if (n > 0) return n;
    }
    const unsigned hw = std::thread::hardware_concurrency();
    return hw > 0 ? static_cast<int>(hw) : 1;
  }();
  return default_threads;
}

// Runs f(task) for every task in [0, tasks) on the pool (thread_pool.h; inline for a
// single task). The first exception a task throws is rethrown here once every task has
// finished.
template <typename F>
void parallel_for(int tasks, F&& f) {
  if (tasks <= 1) {
    if (tasks == 1) f(0);
    return;
  }
  struct Closure {
    F* f;
    std::exception_ptr error;
    std::atomic<bool> failed{false};
  } closure{&f, nullptr};
  auto task = [](void* raw, int t) {
    auto* c = static_cast<Closure*>(raw);
    try {
      (*c->f)(t);
    } catch (...) {
      if (!c->failed.exchange(true)) c->error = std::current_exception();
    }
  };
  thread_pool().run(tasks, pool_threads(), task, &closure);
  if (closure.error) std::rethrow_exception(closure.error);
}

}  // namespace qembed::detail
