// The main job: runs the kernels this CPU selected on a built-in workload and prints
// what ran and how fast. Short by design; the full benchmark suite is separate.
#include <chrono>
#include <cstdio>
#include <random>
#include <vector>

#include "qembed/qembed.hpp"

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

  // 2) TBE-style EmbeddingBag: B=512 bags of L=20, 100k rows, D=128, sum; 8- and 4-bit.
  std::printf("EmbeddingBag sum, B=512, L=20, 100k rows, D=128, int32 indices:\n");
  const int64_t rows = 100000, bags = 512, len = 20;
  const auto w = random_weights(rows, dim);
  std::vector<int32_t> idx(bags * len), off(bags);
  for (auto& i : idx) i = static_cast<int32_t>(rng() % rows);
  for (int64_t b = 0; b < bags; ++b) off[b] = static_cast<int32_t>(b * len);
  std::vector<float> out(bags * dim);
  for (auto dtype : {qembed::DType::QUInt8, qembed::DType::QUInt4x2}) {
    qembed::EmbeddingBagOptions o;
    o.num_embeddings = rows;
    o.embedding_dim = dim;
    o.mode = qembed::Mode::Sum;
    const auto m = qembed::EmbeddingBag::from_float(
        w.data(), o, qembed::QParams::row_wise_float(dtype, w.data(), rows, dim));
    const double us = time_us(200, [&](int) {
      m.forward(idx, off, nullptr, out.data(), static_cast<int64_t>(out.size()));
    });
    print({dtype == qembed::DType::QUInt8 ? "quint8 (fused rows: 128 B codes + 8 B qparams)"
                                          : "quint4x2 (fused rows: 64 B codes + 8 B qparams)",
           us, bags * len});
  }
  return 0;
}
