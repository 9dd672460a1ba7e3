// Tables over 2 GiB (the kernels are compiled with large_buffers). Opt-in: it needs about
// 6 GB of memory and a minute, so it runs only with QEMBED_TEST_LARGE=1:
//   QEMBED_TEST_LARGE=1 build/default/tests/qembed_tests --gtest_filter='LargeTable*'
// 20M rows x 128 at 8 bits with per-row qparams store 2.72 GB (136-byte rows); the table
// is built from codes (from_quantized: a float weight would be 10 GB). Rows past the 2 GiB
// mark are looked up by every op on every target and compared with (code - zp) * scale
// and with a small module holding only those rows.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>

#include "dispatch.h"
#include "qembed/qembed.hpp"
#include "test_util.h"

namespace {

using qembed::DType;
using qembed::IndexType;
using qembed::Mode;

constexpr int64_t kRows = 20'000'000, kDim = 128;

uint8_t code(int64_t r, int64_t c) { return static_cast<uint8_t>((r * 131 + c * 7) ^ (r >> 9)); }
float scale_of(int64_t r) { return 0.001f * static_cast<float>(1 + r % 97); }
float zp_of(int64_t r) { return static_cast<float>(r % 255) + 0.25f; }

class LargeTable : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* on = std::getenv("QEMBED_TEST_LARGE");
    if (on == nullptr || std::string(on) != "1") GTEST_SKIP() << "set QEMBED_TEST_LARGE=1";
    if (qembed::detail::all_kernel_sets()[0].large == nullptr) {
      GTEST_SKIP() << "built with QEMBED_LARGE_BUFFERS=OFF";
    }
  }
};

qembed::QuantizedWeight make_weight(const std::vector<int64_t>& rows, int64_t num_rows) {
  qembed::QuantizedWeight w;
  w.rows = num_rows;
  w.cols = kDim;
  w.qparams = qembed::QParams::per_channel_float(DType::QUInt8, {}, {}, 0);
  w.qparams.scale.resize(static_cast<size_t>(num_rows));
  w.qparams.zero_point.resize(static_cast<size_t>(num_rows));
  w.data.resize(static_cast<size_t>(num_rows * kDim));
  for (int64_t i = 0; i < num_rows; ++i) {
    const int64_t r = rows.empty() ? i : rows[static_cast<size_t>(i)];
    w.qparams.scale[static_cast<size_t>(i)] = scale_of(r);
    w.qparams.zero_point[static_cast<size_t>(i)] = zp_of(r);
    for (int64_t c = 0; c < kDim; ++c) w.data[static_cast<size_t>(i * kDim + c)] = code(r, c);
  }
  return w;
}

TEST_F(LargeTable, RowsPastTwoGiBOnEveryTargetAndOp) {
  // Rows at the far end of the table (row 15.8M is the 2 GiB mark), some repeated, plus
  // row 0; and a long call that splits into tasks.
  std::vector<int64_t> rows = {kRows - 1, 0, 19'000'000, kRows - 1, 15'790'321, 17'500'001};
  std::vector<int64_t> idx(100'000);
  std::mt19937_64 rng(11);
  for (int64_t& i : idx) i = 15'000'000 + static_cast<int64_t>(rng() % (kRows - 15'000'000));
  idx.insert(idx.begin(), rows.begin(), rows.end());
  std::vector<int32_t> idx32(idx.begin(), idx.end());
  std::vector<int64_t> offsets;
  for (int64_t b = 0; b < static_cast<int64_t>(idx.size()); b += 37) offsets.push_back(b);
  std::vector<float> psw(idx.size());
  for (size_t i = 0; i < psw.size(); ++i) psw[i] = 0.5f + static_cast<float>(i % 5);

  // The small module: only the looked-up rows, indices renumbered.
  std::vector<int64_t> distinct = idx;
  std::sort(distinct.begin(), distinct.end());
  distinct.erase(std::unique(distinct.begin(), distinct.end()), distinct.end());
  std::vector<int64_t> small_idx(idx.size());
  for (size_t i = 0; i < idx.size(); ++i) {
    small_idx[i] = std::lower_bound(distinct.begin(), distinct.end(), idx[i]) - distinct.begin();
  }
  const int64_t n_small = static_cast<int64_t>(distinct.size());
  const qembed::QuantizedWeight small_w = make_weight(distinct, n_small);

  const qembed::QuantizedWeight big_w = make_weight({}, kRows);
  const std::vector<std::string> targets = qembed::supported_kernel_targets();
  {
    qembed::EmbeddingOptions o;
    o.num_embeddings = kRows;
    o.embedding_dim = kDim;
    const auto big = qembed::Embedding::from_quantized(big_w, o);
    o.num_embeddings = n_small;
    const auto small = qembed::Embedding::from_quantized(small_w, o);
    for (const std::string& target : targets) {
      SCOPED_TRACE(target);
      qembed::set_kernel_target(target);
      const std::vector<float> out = big.forward(idx32);
      for (size_t i = 0; i < rows.size(); ++i) {  // the formula, on the far rows
        for (int64_t c = 0; c < kDim; ++c) {
          const int64_t r = idx[i];
          const float want = (static_cast<float>(code(r, c)) - zp_of(r)) * scale_of(r);
          ASSERT_EQ(out[i * kDim + c], want) << "row " << r << " col " << c;
        }
      }
      EXPECT_TRUE(qtest::bits_equal(out, small.forward(small_idx)));
      EXPECT_TRUE(qtest::bits_equal(big.forward(idx), out));  // int64 indices
    }
  }
  for (const Mode mode : {Mode::Sum, Mode::Max}) {
    qembed::EmbeddingBagOptions o;
    o.num_embeddings = kRows;
    o.embedding_dim = kDim;
    o.mode = mode;
    const auto big = qembed::EmbeddingBag::from_quantized(big_w, o);
    o.num_embeddings = n_small;
    const auto small = qembed::EmbeddingBag::from_quantized(small_w, o);
    const float* w = mode == Mode::Sum ? psw.data() : nullptr;
    for (const std::string& target : targets) {
      SCOPED_TRACE(target + (mode == Mode::Sum ? " weighted sum" : " max"));
      qembed::set_kernel_target(target);
      EXPECT_TRUE(
          qtest::bits_equal(big.forward(idx, offsets, w), small.forward(small_idx, offsets, w)));
    }
  }
  qembed::set_kernel_target(qembed::supported_kernel_targets()[0]);
}

}  // namespace
