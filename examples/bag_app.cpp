// A recommendation-style lookup with qembed's C++ API: quantize a float table to 8-bit
// per-row codes, pool bags of rows, and check one bag against the fake-quantized table.
#include <cmath>
#include <cstdio>
#include <vector>

#include "qembed/qembed.hpp"

int main() {
  const int64_t rows = 1000, dim = 64;
  std::vector<float> weight(rows * dim);
  for (int64_t i = 0; i < rows * dim; ++i) weight[i] = std::sin(0.001f * static_cast<float>(i));

  qembed::EmbeddingBagOptions opt;
  opt.num_embeddings = rows;
  opt.embedding_dim = dim;
  opt.mode = qembed::Mode::Sum;
  const auto qparams =
      qembed::QParams::row_wise_float(qembed::DType::QUInt8, weight.data(), rows, dim);
  const auto bag = qembed::EmbeddingBag::from_float(weight.data(), opt, qparams);

  const std::vector<int64_t> indices = {3, 999, 42, 7, 7, 500};
  const std::vector<int64_t> offsets = {0, 2, 5};  // bags {3,999} {42,7,7} {500}
  const std::vector<float> out = bag.forward(indices, offsets);

  // Bag 1 by hand from the fake-quantized table, summed in the same order.
  const std::vector<float> table = bag.get_weight();
  int mismatches = 0;
  for (int64_t d = 0; d < dim; ++d) {
    const float expect = (table[42 * dim + d] + table[7 * dim + d]) + table[7 * dim + d];
    if (out[1 * dim + d] != expect) ++mismatches;
  }
  std::printf("qembed %s: 3 bags x %lld on %s, bag 1 [0..2] = %.6f %.6f %.6f, %d mismatches\n",
              qembed::EmbeddingBag::name().c_str(), static_cast<long long>(dim),
              qembed::kernel_target().c_str(), out[dim], out[dim + 1], out[dim + 2], mismatches);
  return mismatches == 0 ? 0 : 1;
}
