// Embedding lookups for counting instructions: argv: dim bits(8|4) passes. 200000 rows,
// 20000 uniform int64 indices a call, one call a pass. Prints rows looked up per pass.
#include <cstdio>
#include <cstdlib>
#include <random>
#include <vector>

#include "qembed/qembed.hpp"
int main(int argc, char** argv) {
  const int64_t rows = 200000, dim = std::atoll(argv[1]), n = 20000;
  const int bits = std::atoi(argv[2]), passes = std::atoi(argv[3]);
  qembed::set_num_threads(1);
  std::mt19937 rng(1);
  std::vector<float> w(rows * dim);
  std::uniform_real_distribution<float> u(-1, 1);
  for (auto& x : w) x = u(rng);
  qembed::EmbeddingBagOptions o;
  o.num_embeddings = rows;
  o.embedding_dim = dim;
  auto q = qembed::QParams::row_wise_float(
      bits == 8 ? qembed::DType::QUInt8 : qembed::DType::QUInt4x2, w.data(), rows, dim);
  auto emb = qembed::Embedding::from_float(w.data(), o, q);
  std::vector<int64_t> idx(n);
  std::uniform_int_distribution<int64_t> r(0, rows - 1);
  for (auto& x : idx) x = r(rng);
  std::vector<float> out(n * dim);
  for (int p = 0; p < passes; ++p) emb.forward(idx, out.data(), out.size());
  std::printf("rows=%ld target=%s\n", (long)n, qembed::kernel_target().c_str());
}
