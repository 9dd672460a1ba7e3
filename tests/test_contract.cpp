// The contract's worked examples and edge rules (reference-semantics.md), through the
// C++ API, on every kernel target this CPU runs.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "reference.h"
#include "test_util.h"

namespace {

using qembed::DType;
using qembed::Embedding;
using qembed::EmbeddingBag;
using qembed::Mode;
using qembed::QParams;

qembed::EmbeddingBagOptions opts(int64_t rows, int64_t dim, Mode mode = Mode::Sum) {
  qembed::EmbeddingBagOptions o;
  o.num_embeddings = rows;
  o.embedding_dim = dim;
  o.mode = mode;
  return o;
}

class Contract : public qtest::PerTarget {};

TEST_P(Contract, QuantizeMultipliesByTheReciprocal) {
  // x * fl(1/s) = 127.5 -> 128, while x / s = 127.49999 -> 127.
  const float w[] = {0.273939937f};
  const auto m =
      Embedding::from_float(w, opts(1, 1), QParams::per_tensor(DType::QUInt8, 0.00214854861f, 0));
  EXPECT_EQ(m.get_quantized_weight().data.at(0), 128);
}

TEST_P(Contract, IntegralZeroPointTiesRoundToEvenBeforeAddingZp) {
  const float w[] = {0.5f, 1.5f, 2.5f, -0.5f};
  const auto m = Embedding::from_float(w, opts(1, 4), QParams::per_tensor(DType::QUInt8, 1, 1));
  EXPECT_EQ(m.get_quantized_weight().data, (std::vector<uint8_t>{1, 3, 3, 1}));
}

TEST_P(Contract, FloatZeroPointTiesRoundAfterAddingZp) {
  const float w[] = {0.5f, 1.5f, 2.5f, -0.5f, 3.5f};
  const auto m =
      Embedding::from_float(w, opts(1, 5), QParams::per_channel_float(DType::QUInt8, {1}, {1}, 0));
  EXPECT_EQ(m.get_quantized_weight().data, (std::vector<uint8_t>{2, 2, 4, 0, 4}));
}

TEST_P(Contract, Quint4x2PacksTheFlattenedTensor) {
  // 3 x 3 with odd D: element i of the flattened tensor in byte i / 2, low nibble first.
  const float w[] = {0, 1, 2, 3, 4, 5, 6, 7, 8};
  const auto m = Embedding::from_float(
      w, opts(3, 3), QParams::per_channel_float(DType::QUInt4x2, {1, 1, 1}, {0, 0, 0}, 0));
  EXPECT_EQ(m.get_quantized_weight().data, (std::vector<uint8_t>{0x10, 0x32, 0x54, 0x76, 0x08}));
  EXPECT_TRUE(qtest::bits_equal(m.get_weight(), std::vector<float>(w, w + 9)));
  // And rows come back right through the lookup (rows are stored byte-aligned).
  EXPECT_TRUE(qtest::bits_equal(m.forward(std::vector<int64_t>{2, 1}),
                                std::vector<float>{6, 7, 8, 3, 4, 5}));
}

TEST_P(Contract, Float16RoundTripIsExactForEveryHalf) {
  // Every finite half value round-trips exactly; floats between halves round to nearest even.
  std::vector<float> w;
  for (uint32_t h = 0; h < 0x10000; ++h) {
    if (((h >> 10) & 31) != 31) w.push_back(ref::half_to_float(static_cast<uint16_t>(h)));
  }
  const int64_t rows = static_cast<int64_t>(w.size()) / 16;
  w.resize(rows * 16);
  const auto m = Embedding::from_float(w.data(), opts(rows, 16), QParams::float16());
  EXPECT_TRUE(qtest::bits_equal(m.get_weight(), w));

  std::mt19937 rng(5);
  std::vector<float> x = qtest::random_table(rng, 1000, 16, 70000.0f);
  for (int i = 0; i < 200; ++i) x[i] = std::ldexp(x[i], -30);  // subnormal halves and zeros
  const auto m2 = Embedding::from_float(x.data(), opts(1000, 16), QParams::float16());
  EXPECT_TRUE(qtest::bits_equal(m2.get_weight(),
                                ref::quantize_dequantize(x, 1000, 16, QParams::float16()).weight));
}

TEST_P(Contract, PaddingIdxDoesNotChangeEmbeddingForward) {
  std::mt19937 rng(11);
  const auto w = qtest::random_table(rng, 6, 8);
  auto o = opts(6, 8);
  const auto plain = Embedding::from_float(w.data(), o);
  o.padding_idx = -2;  // wraps to 4
  const auto padded = Embedding::from_float(w.data(), o);
  const std::vector<int32_t> idx = {4, 0, 4};
  EXPECT_TRUE(qtest::bits_equal(padded.forward(idx), plain.forward(idx)));
}

TEST_P(Contract, MaxKeepsTheFirstOfEqualRowsIncludingSignedZero) {
  // Narrow rows (scalar code) and wide ones (vector max instructions, whose operand
  // order decides which zero they keep).
  for (const int64_t dim : {2, 64}) {
    SCOPED_TRACE("D " + std::to_string(dim));
    std::vector<float> w(static_cast<size_t>(2 * dim), 1.0f);
    for (int64_t c = 0; c < dim; c += 2) {
      w[static_cast<size_t>(c)] = -0.0f;       // row 0: -0, 1, -0, 1, ...
      w[static_cast<size_t>(dim + c)] = 0.0f;  // row 1: +0, 1, +0, 1, ...
    }
    const auto m = EmbeddingBag::from_float(w.data(), opts(2, dim, Mode::Max), QParams::none());
    const auto out = m.forward(std::vector<int64_t>{0, 1}, std::vector<int64_t>{0});
    const auto out2 = m.forward(std::vector<int64_t>{1, 0}, std::vector<int64_t>{0});
    for (int64_t c = 0; c < dim; c += 2) {
      EXPECT_TRUE(std::signbit(out[static_cast<size_t>(c)]))
          << "+0 > -0 is false: the first row's -0 stays (column " << c << ")";
      EXPECT_FALSE(std::signbit(out2[static_cast<size_t>(c)])) << "column " << c;
    }
  }
}

TEST_P(Contract, EmptyAndAllPaddingBagsAreZeroInEveryMode) {
  std::mt19937 rng(2);
  const auto w = qtest::random_table(rng, 5, 3);
  for (Mode mode : {Mode::Sum, Mode::Mean, Mode::Max}) {
    auto o = opts(5, 3, mode);
    o.padding_idx = 1;
    const auto m = EmbeddingBag::from_float(w.data(), o, QParams::none());
    const auto out = m.forward(std::vector<int64_t>{1, 1, 2}, std::vector<int64_t>{0, 0, 2});
    for (int c = 0; c < 6; ++c) EXPECT_EQ(out[c], 0.0f) << "mode " << static_cast<int>(mode);
    EXPECT_EQ(out[6], w[6]);  // bag 2 holds row 2 alone
  }
}

TEST_P(Contract, TwoDimensionalInputIsFixedLengthBags) {
  std::mt19937 rng(8);
  const auto w = qtest::random_table(rng, 50, 16);
  const auto m = EmbeddingBag::from_float(w.data(), opts(50, 16, Mode::Mean));
  std::vector<int32_t> idx(12);
  for (auto& i : idx) i = static_cast<int32_t>(rng() % 50);
  EXPECT_TRUE(
      qtest::bits_equal(m.forward_2d(idx, 3, 4), m.forward(idx, std::vector<int32_t>{0, 4, 8})));
  EXPECT_THROW(m.forward_2d(idx, 5, 4), qembed::InvalidArgument);
}

TEST_P(Contract, NameMatchesTheReferenceModules) {
  EXPECT_EQ(Embedding::name(), "QuantizedEmbedding(Reference)");
  EXPECT_EQ(EmbeddingBag::name(), "QuantizedEmbedding(Reference)");
}

QTEST_FOR_EVERY_TARGET(Contract);

}  // namespace
