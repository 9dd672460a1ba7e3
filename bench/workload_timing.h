// The simple timer the demo uses (Google Benchmark times the full suite).
#pragma once

#include <chrono>

namespace qbench {

template <typename F>
double seconds_per_call(F&& f, size_t warmup_calls, double min_seconds, size_t min_calls) {
  using Clock = std::chrono::steady_clock;
  for (size_t i = 0; i < warmup_calls; ++i) f(i);
  size_t calls = 0;
  const auto t0 = Clock::now();
  double elapsed = 0;
  do {
    f(warmup_calls + calls);
    ++calls;
    elapsed = std::chrono::duration<double>(Clock::now() - t0).count();
  } while (elapsed < min_seconds || calls < min_calls);
  return elapsed / static_cast<double>(calls);
}

}  // namespace qbench
