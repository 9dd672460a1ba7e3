// How many threads a forward call may use: the forwards' pool (thread_pool.h) follows
// num_threads() on its next call; Halide's pool (the quantize kernel's parallel rows) is
// resized here.
#include <atomic>
#include <mutex>
#include <string>

#include "HalideRuntime.h"
#include "qembed/qembed.hpp"

namespace qembed {

namespace {
std::mutex g_threads_mutex;
std::atomic<int> g_num_threads{0};  // 0: Halide's default (one per core, or HL_NUM_THREADS)
}  // namespace

void set_num_threads(int num_threads) {
  if (num_threads < 0 || num_threads > kMaxThreads) {
    throw InvalidArgument("num_threads: must be in [0, " + std::to_string(kMaxThreads) +
                          "] (0 = one per core), got " + std::to_string(num_threads));
  }
  std::lock_guard<std::mutex> lock(g_threads_mutex);
  // Halide sizes its pool once; a new count takes a fresh pool.
  halide_shutdown_thread_pool();
  halide_set_num_threads(num_threads);
  g_num_threads = num_threads;
}

int num_threads() { return g_num_threads.load(std::memory_order_relaxed); }  // read per forward

}  // namespace qembed
