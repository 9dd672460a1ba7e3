// The main job: runs the kernels this CPU selected on built-in workloads and prints what
// ran and how fast, against the memory roofline. Short by design; the full suite is
// qembed_bench (bench/qembed_bench.cpp) and bench/torch_compare.py.
#include <chrono>
#include <cstdio>
#include <random>
#include <vector>

#include "qembed/qembed.hpp"
#include "workload.h"

namespace {

using Clock = std::chrono::steady_clock;

// Mean microseconds per call of f(i) over `iters` calls, after one warm-up call.
template <typename F>
double time_us(int iters, F&& f) {
  f(0);
  const auto t0 = Clock::now();
  for (int i = 0; i < iters; ++i) f(i);
  return std::chrono::duration<double, std::micro>(Clock::now() - t0).count() / iters;
}

std::vector<float> random_weights(int64_t rows, int64_t dim) {
  std::mt19937 rng(1);
  std::normal_distribution<float> n(0.0f, 1.0f);
  std::vector<float> w(static_cast<size_t>(rows * dim));
  for (float& x : w) x = n(rng);
  return w;
}

struct Row {
  const char* name;
  double us;
  int64_t rows_per_call;
};

void print(const Row& r) {
  std::printf("  %-52s %10.2f us/call %10.1f M rows/s\n", r.name, r.us, r.rows_per_call / r.us);
}

}  // namespace

int main() {
  std::printf("qembed demo: kernels for %s (compiled:", qembed::kernel_target().c_str());
  for (const auto& t : qembed::compiled_kernel_targets()) std::printf(" %s", t.c_str());
  std::printf(")\n");
  std::mt19937 rng(42);
  const int64_t dim = 128;

  // 1) Embedding forward on 100 indices: a 1k-row vs a 1M-row table (8-bit rowwise).
  //    The forward reads only the looked-up rows, so cost must not grow with the table.
  std::printf("Embedding, 100 indices, quint8 per-row float qparams, D=%lld:\n",
              static_cast<long long>(dim));
  for (int64_t rows : {int64_t{1000}, int64_t{1000000}}) {
    const auto w = random_weights(rows, dim);
    qembed::EmbeddingOptions o;
    o.num_embeddings = rows;
    o.embedding_dim = dim;
    const auto m = qembed::Embedding::from_float(
        w.data(), o, qembed::QParams::row_wise_float(qembed::DType::QUInt8, w.data(), rows, dim));
    // Cold: a fresh index set per call; on the 1M table the 4000 x 100 rows touched
    // (~80 MB) exceed the last-level cache, so those rows come from DRAM. Warm: 16 sets
    // cycled, so the rows stay cached and only the table size differs between tables.
    const int calls = 4000;
    std::vector<int64_t> all(static_cast<size_t>(calls + 1) * 100);
    for (auto& i : all) i = static_cast<int64_t>(rng() % rows);
    std::vector<float> out(100 * dim);
    for (int sets : {16, calls}) {
      const double us = time_us(calls, [&](int i) {
        m.forward(qembed::Indices(all.data() + 100 * (i % sets + 1), 100), out.data(),
                  static_cast<int64_t>(out.size()));
      });
      char name[96];
      std::snprintf(name, sizeof name, "table %7lld rows, %s", static_cast<long long>(rows),
                    sets == calls ? "fresh rows every call" : "16 index sets cycled (warm)");
      print({name, us, 100});
    }
  }

  // 2) EmbeddingBag on the anchor workloads (short runs), each against the roofline copy
  //    loop on the same rows, and the reference-module path. The full suite: qembed_bench.
  std::printf("\nEmbeddingBag sum, last-level cache %zu MB (cold = index sets touching > 2x it):\n",
              qbench::last_level_cache_bytes() >> 20);
  std::printf("  %-44s %10s %9s %7s %11s %10s\n", "workload", "us/call", "M rows/s", "GB/s",
              "roofline us", "time/roof");
  // The quick anchor set on 1M-row tables, D=128 uniform int64 only (six workloads).
  std::vector<qbench::Workload> ws;
  for (const qbench::Workload& w : qbench::anchor_workloads(1000000, true)) {
    if (w.dim == 128 && w.dist == qbench::Dist::Uniform &&
        w.index_type == qembed::IndexType::Int64) {
      ws.push_back(w);
    }
  }
  int checked = 0, differing = 0;
  for (const qbench::Workload& w : ws) {
    qbench::Prepared p(w);
    const int64_t bad = p.verify(0);  // -1: table too large to expand, not checked
    checked += bad >= 0;
    differing += bad > 0;
    qembed::set_num_threads(w.threads);
    const double q =
        qbench::seconds_per_call([&](size_t i) { p.run_qembed(i); }, p.num_sets(), 0.3, 20);
    const double r =
        qbench::seconds_per_call([&](size_t i) { p.run_roofline(i); }, p.num_sets(), 0.3, 20);
    qembed::set_num_threads(0);
    char name[128];
    std::snprintf(name, sizeof name, "%s %d-bit D=%lld %s%s", w.group.c_str(), w.bits,
                  static_cast<long long>(w.dim), w.threads == 1 ? "1 thread " : "all cores ",
                  !w.cold           ? "warm"
                  : p.really_cold() ? "cold"
                                    : "(fits LLC)");
    std::printf("  %-44s %10.2f %9.1f %7.2f %11.2f %9.2fx\n", name, q * 1e6,
                p.rows_per_call() / q / 1e6, p.lines_per_call() * 64 / q / 1e9, r * 1e6, q / r);
  }
  {
    const qbench::Workload w = qbench::reference_workload();
    qbench::Prepared p(w);
    const double q = qbench::seconds_per_call([&](size_t i) { p.run_qembed(i); }, 1, 0.3, 20);
    const double r = qbench::seconds_per_call([&](size_t i) { p.run_reference(i); }, 1, 0.3, 3);
    std::printf(
        "  reference-module path (fake-quantize all 100k x 128, then gather): %.0f us/call,"
        " qembed %.2f us: %.0fx faster\n",
        r * 1e6, q * 1e6, r / q);
  }
  std::printf("%d of %d workloads checked against the fake-quantized table: %s\n", checked,
              static_cast<int>(ws.size()), differing == 0 ? "bit-identical" : "OUTPUTS DIFFER");
  return differing == 0 ? 0 : 1;
}
