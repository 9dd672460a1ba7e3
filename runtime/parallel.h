// Work spread over the kernels' thread pool (Halide's, sized by qembed::set_num_threads),
// so a forward's chunks run on the same threads a parallel kernel would use.
#pragma once

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <exception>
#include <string>
#include <thread>

#include "HalideRuntime.h"
#include "qembed/qembed.hpp"

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

// Runs f(task) for every task in [0, tasks) on the pool (inline for a single task). The
// first exception a task throws is rethrown here once every task has finished.
template <typename F>
void parallel_for(int tasks, F&& f) {
  if (tasks <= 1) {
    if (tasks == 1) f(0);
    return;
  }
  // Halide's pool orders the tasks against this call with its own (uninstrumented)
  // synchronization; the two atomics below state the same ordering in C++, so that
  // ThreadSanitizer (the tsan preset) sees it: everything before the call happens before
  // every task, and every task before the return.
  struct Closure {
    F* f;
    std::exception_ptr error;
    std::atomic<bool> failed{false};
    std::atomic<int> published{0}, finished{0};
  } closure{&f, nullptr};
  auto task = [](void*, int t, uint8_t* raw) -> int {
    auto* c = reinterpret_cast<Closure*>(raw);
    (void)c->published.load(std::memory_order_acquire);
    try {
      (*c->f)(t);
    } catch (...) {
      if (!c->failed.exchange(true)) c->error = std::current_exception();
    }
    c->finished.fetch_add(1, std::memory_order_acq_rel);
    return 0;  // keep the other tasks running; the error is rethrown below
  };
  closure.published.store(1, std::memory_order_release);
  const int rc = halide_do_par_for(nullptr, task, 0, tasks, reinterpret_cast<uint8_t*>(&closure));
  (void)closure.finished.load(std::memory_order_acquire);
  if (closure.error) std::rethrow_exception(closure.error);
  if (rc != 0)
    throw InternalError("thread pool: halide_do_par_for failed (" + std::to_string(rc) + ")");
}

}  // namespace qembed::detail
