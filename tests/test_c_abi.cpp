// The C ABI: happy path, and every rejection of the contract — a non-zero status, a
// message naming the argument, an untouched output and an unchanged module.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <thread>
#include <vector>

#include "qembed/qembed.h"
#include "reference.h"
#include "test_util.h"

namespace {

constexpr float kSentinel = 12345.0f;

using qtest::options;

struct Table {
  int64_t rows = 10, dim = 4;
  std::vector<float> w;
  Table() {
    std::mt19937 rng(7);
    w = qtest::random_table(rng, rows, dim);
  }
};

// Asserts a failed call: the status, a message containing `needle`, an untouched `out`.
void expect_rejected(qembed_status got, qembed_status want, const char* needle,
                     const std::vector<float>& out) {
  EXPECT_EQ(got, want);
  const std::string msg = qembed_last_error();
  EXPECT_NE(msg.find(needle), std::string::npos) << "message: " << msg;
  for (float x : out) ASSERT_EQ(x, kSentinel) << "output written by a failed call";
}

class CAbi : public ::testing::Test {
 protected:
  void SetUp() override {
    qembed_options o = options(t.rows, t.dim);
    ASSERT_EQ(qembed_embedding_from_float(t.w.data(), &o, nullptr, &emb), QEMBED_OK);
    ASSERT_EQ(qembed_embedding_bag_from_float(t.w.data(), &o, nullptr, &bag), QEMBED_OK);
    weight_before = weight_of(bag);
  }
  void TearDown() override {
    // Nothing stored changed, whatever was rejected.
    EXPECT_TRUE(qtest::bits_equal(weight_of(bag), weight_before));
    qembed_module_free(emb);
    qembed_module_free(bag);
  }
  std::vector<float> weight_of(const qembed_module* m) {
    std::vector<float> out(t.rows * t.dim);
    EXPECT_EQ(qembed_get_weight(m, out.data(), static_cast<int64_t>(out.size())), QEMBED_OK);
    return out;
  }
  Table t;
  qembed_module* emb = nullptr;
  qembed_module* bag = nullptr;
  std::vector<float> weight_before;
  std::vector<float> out = std::vector<float>(64, kSentinel);
};

TEST_F(CAbi, DefaultQParamsAreQuint8ScaleOneZeroPoint) {
  // PyTorch's default: per_tensor_affine quint8, scale 1, zp 0 — negatives become 0.
  qembed::QParams q = qembed::QParams();
  const ref::Quantized want = ref::quantize_dequantize(t.w, t.rows, t.dim, q);
  EXPECT_TRUE(qtest::bits_equal(weight_before, want.weight));
  for (float x : weight_before) EXPECT_GE(x, 0.0f);
}

TEST_F(CAbi, ForwardsMatchReference) {
  const int64_t idx[] = {3, 0, 9, 3};
  const int64_t off[] = {0, 1, 1};
  ASSERT_EQ(qembed_embedding_forward(emb, idx, QEMBED_INT64, 4, out.data(), 16), QEMBED_OK);
  std::vector<float> got(out.begin(), out.begin() + 16);
  EXPECT_TRUE(qtest::bits_equal(got, ref::embedding(weight_before, t.dim, {3, 0, 9, 3}, {}, 2)));
  ASSERT_EQ(
      qembed_embedding_bag_forward(bag, idx, 4, off, 3, QEMBED_INT64, nullptr, out.data(), 12),
      QEMBED_OK);
  got.assign(out.begin(), out.begin() + 12);
  EXPECT_TRUE(
      qtest::bits_equal(got, ref::embedding_bag(weight_before, t.dim, {3, 0, 9, 3}, {0, 1, 1},
                                                {1, 1, 4}, qembed::Mode::Sum, nullptr, {}, {}, 2)));
  EXPECT_STRNE(qembed_kernel_target(), "none");
}

TEST_F(CAbi, ZeroCountsAcceptNullPointers) {
  EXPECT_EQ(qembed_embedding_forward(emb, nullptr, QEMBED_INT32, 0, nullptr, 0), QEMBED_OK);
  // Empty offsets without include_last_offset: zero bags.
  EXPECT_EQ(
      qembed_embedding_bag_forward(bag, nullptr, 0, nullptr, 0, QEMBED_INT64, nullptr, nullptr, 0),
      QEMBED_OK);
  // Bags but no indices: every bag empty, zeros.
  const int64_t off[] = {0, 0};
  ASSERT_EQ(
      qembed_embedding_bag_forward(bag, nullptr, 0, off, 2, QEMBED_INT64, nullptr, out.data(), 8),
      QEMBED_OK);
  for (int i = 0; i < 8; ++i) EXPECT_EQ(out[i], 0.0f);
}

TEST_F(CAbi, RejectsIndexOutOfRange) {
  const int64_t neg[] = {1, -1};
  expect_rejected(qembed_embedding_forward(emb, neg, QEMBED_INT64, 2, out.data(), 64),
                  QEMBED_ERR_OUT_OF_RANGE, "index out of range", out);
  const int32_t big[] = {10};
  expect_rejected(qembed_embedding_forward(emb, big, QEMBED_INT32, 1, out.data(), 64),
                  QEMBED_ERR_OUT_OF_RANGE, "indices[0] = 10", out);
  const int64_t off[] = {0};
  const int64_t bad[] = {0, 99};
  expect_rejected(
      qembed_embedding_bag_forward(bag, bad, 2, off, 1, QEMBED_INT64, nullptr, out.data(), 64),
      QEMBED_ERR_OUT_OF_RANGE, "index out of range", out);
  // Indices are range-checked even when there are no bags.
  expect_rejected(
      qembed_embedding_bag_forward(bag, bad, 2, nullptr, 0, QEMBED_INT64, nullptr, out.data(), 64),
      QEMBED_ERR_OUT_OF_RANGE, "index out of range", out);
}

// The range check runs as a vectorized pass over all indices: one bad index anywhere in a
// long call (vector body or tail, each index type, each side of the range) is found and
// named at its own position.
TEST_F(CAbi, FindsTheOneBadIndexOfALongCall) {
  constexpr int64_t kCount = 301;  // not a multiple of any vector width
  const int64_t off[] = {0};
  std::vector<float> big_out(static_cast<size_t>(t.dim), kSentinel);
  const int64_t bad_values[] = {-1, t.rows, std::numeric_limits<int32_t>::min(),
                                std::numeric_limits<int32_t>::max()};
  for (int64_t pos : {int64_t{0}, int64_t{7}, int64_t{150}, kCount - 1}) {
    for (int64_t v : bad_values) {
      std::vector<int64_t> i64(kCount);
      std::vector<int32_t> i32(kCount);
      for (int64_t k = 0; k < kCount; ++k) i32[k] = static_cast<int32_t>(i64[k] = k % t.rows);
      i64[pos] = v;
      i32[pos] = static_cast<int32_t>(v);
      const std::string want = "indices[" + std::to_string(pos) + "] = " + std::to_string(v);
      SCOPED_TRACE(want);
      expect_rejected(qembed_embedding_bag_forward(bag, i64.data(), kCount, off, 1, QEMBED_INT64,
                                                   nullptr, big_out.data(), t.dim),
                      QEMBED_ERR_OUT_OF_RANGE, want.c_str(), big_out);
      expect_rejected(qembed_embedding_bag_forward(bag, i32.data(), kCount, off, 1, QEMBED_INT32,
                                                   nullptr, big_out.data(), t.dim),
                      QEMBED_ERR_OUT_OF_RANGE, want.c_str(), big_out);
    }
  }
  // A 64-bit index whose low 32 bits are in range is still out of range.
  std::vector<int64_t> wide(kCount, 1);
  wide[200] = (int64_t{1} << 32) + 1;
  expect_rejected(qembed_embedding_bag_forward(bag, wide.data(), kCount, off, 1, QEMBED_INT64,
                                               nullptr, big_out.data(), t.dim),
                  QEMBED_ERR_OUT_OF_RANGE, "indices[200] = 4294967297", big_out);
  // And the same call with every index in range runs.
  wide[200] = t.rows - 1;
  EXPECT_EQ(qembed_embedding_bag_forward(bag, wide.data(), kCount, off, 1, QEMBED_INT64, nullptr,
                                         big_out.data(), t.dim),
            QEMBED_OK);
}

TEST_F(CAbi, RejectsMalformedOffsets) {
  const int64_t idx[] = {1, 2, 3};
  const int64_t first_not_zero[] = {1, 2};
  expect_rejected(qembed_embedding_bag_forward(bag, idx, 3, first_not_zero, 2, QEMBED_INT64,
                                               nullptr, out.data(), 64),
                  QEMBED_ERR_INVALID_ARGUMENT, "offsets[0] must be 0", out);
  const int64_t decreasing[] = {0, 2, 1};
  expect_rejected(qembed_embedding_bag_forward(bag, idx, 3, decreasing, 3, QEMBED_INT64, nullptr,
                                               out.data(), 64),
                  QEMBED_ERR_INVALID_ARGUMENT, "non-decreasing", out);
  const int64_t past_end[] = {0, 4};
  expect_rejected(
      qembed_embedding_bag_forward(bag, idx, 3, past_end, 2, QEMBED_INT64, nullptr, out.data(), 64),
      QEMBED_ERR_INVALID_ARGUMENT, "last offset", out);
  expect_rejected(
      qembed_embedding_bag_forward(bag, idx, 3, nullptr, 2, QEMBED_INT64, nullptr, out.data(), 64),
      QEMBED_ERR_INVALID_ARGUMENT, "offsets must not be NULL", out);
}

TEST(CAbiOptions, IncludeLastOffsetRules) {
  Table t;
  qembed_options o = options(t.rows, t.dim);
  o.include_last_offset = 1;
  qembed_module* m = nullptr;
  ASSERT_EQ(qembed_embedding_bag_from_float(t.w.data(), &o, nullptr, &m), QEMBED_OK);
  std::vector<float> out(64, kSentinel);
  const int64_t idx[] = {1, 2, 3};
  const int64_t short_last[] = {0, 2};
  expect_rejected(
      qembed_embedding_bag_forward(m, idx, 3, short_last, 2, QEMBED_INT64, nullptr, out.data(), 64),
      QEMBED_ERR_INVALID_ARGUMENT, "must equal the number of indices", out);
  expect_rejected(
      qembed_embedding_bag_forward(m, idx, 3, nullptr, 0, QEMBED_INT64, nullptr, out.data(), 64),
      QEMBED_ERR_INVALID_ARGUMENT, "at least one offset", out);
  const int64_t ok[] = {0, 2, 3};
  EXPECT_EQ(qembed_embedding_bag_forward(m, idx, 3, ok, 3, QEMBED_INT64, nullptr, out.data(), 8),
            QEMBED_OK);
  qembed_module_free(m);
}

TEST_F(CAbi, RejectsBadForwardArguments) {
  const int64_t idx[] = {1, 2};
  const int64_t off[] = {0};
  expect_rejected(qembed_embedding_forward(emb, idx, QEMBED_INT64, 2, out.data(), 7),
                  QEMBED_ERR_INVALID_ARGUMENT, "out_len", out);
  expect_rejected(qembed_embedding_forward(emb, idx, QEMBED_INT64, 2, nullptr, 64),
                  QEMBED_ERR_INVALID_ARGUMENT, "out must not be NULL", out);
  expect_rejected(qembed_embedding_forward(emb, nullptr, QEMBED_INT64, 2, out.data(), 64),
                  QEMBED_ERR_INVALID_ARGUMENT, "indices must not be NULL", out);
  expect_rejected(qembed_embedding_forward(emb, idx, QEMBED_INT64, -1, out.data(), 64),
                  QEMBED_ERR_INVALID_ARGUMENT, "num_indices", out);
  expect_rejected(
      qembed_embedding_forward(emb, idx, static_cast<qembed_index_type>(7), 2, out.data(), 64),
      QEMBED_ERR_INVALID_ARGUMENT, "index_type", out);
  expect_rejected(qembed_embedding_forward(nullptr, idx, QEMBED_INT64, 2, out.data(), 64),
                  QEMBED_ERR_INVALID_ARGUMENT, "module", out);
  expect_rejected(qembed_embedding_forward(bag, idx, QEMBED_INT64, 2, out.data(), 64),
                  QEMBED_ERR_INVALID_ARGUMENT, "Embedding module", out);
  expect_rejected(
      qembed_embedding_bag_forward(emb, idx, 2, off, 1, QEMBED_INT64, nullptr, out.data(), 64),
      QEMBED_ERR_INVALID_ARGUMENT, "EmbeddingBag module", out);
  expect_rejected(qembed_get_weight(bag, out.data(), 39), QEMBED_ERR_INVALID_ARGUMENT, "out_len",
                  out);
}

TEST(CAbiOptions, PerSampleWeightsOnlyWithSum) {
  Table t;
  for (qembed_mode mode : {QEMBED_MODE_MEAN, QEMBED_MODE_MAX}) {
    qembed_options o = options(t.rows, t.dim, mode);
    qembed_module* m = nullptr;
    ASSERT_EQ(qembed_embedding_bag_from_float(t.w.data(), &o, nullptr, &m), QEMBED_OK);
    std::vector<float> out(64, kSentinel);
    const int64_t idx[] = {1, 2};
    const int64_t off[] = {0};
    const float psw[] = {0.5f, 2.0f};
    expect_rejected(
        qembed_embedding_bag_forward(m, idx, 2, off, 1, QEMBED_INT64, psw, out.data(), 64),
        QEMBED_ERR_INVALID_ARGUMENT, "per_sample_weights", out);
    qembed_module_free(m);
  }
}

// from_float rejections: no module is created, *out stays as it was.
void expect_create_rejected(const float* w, const qembed_options* o, const qembed_qparams* q,
                            const char* needle, bool bag = true) {
  qembed_module* m = reinterpret_cast<qembed_module*>(0x1);
  const qembed_status s =
      bag ? qembed_embedding_bag_from_float(w, o, q, &m) : qembed_embedding_from_float(w, o, q, &m);
  EXPECT_NE(s, QEMBED_OK) << needle;
  EXPECT_NE(std::string(qembed_last_error()).find(needle), std::string::npos)
      << "message: " << qembed_last_error();
  EXPECT_EQ(m, reinterpret_cast<qembed_module*>(0x1));
}

TEST(CAbiCreate, RejectsBadOptions) {
  Table t;
  qembed_options o = options(0, 4);
  expect_create_rejected(t.w.data(), &o, nullptr, "num_embeddings");
  o = options(10, 0);
  expect_create_rejected(t.w.data(), &o, nullptr, "embedding_dim");
  o = options(10, 4);
  o.padding_idx = 10;
  expect_create_rejected(t.w.data(), &o, nullptr, "padding_idx");
  o.padding_idx = -11;
  expect_create_rejected(t.w.data(), &o, nullptr, "padding_idx", false);
  o = options(10, 4);
  o.has_max_norm = 1;
  o.max_norm = -1;
  expect_create_rejected(t.w.data(), &o, nullptr, "max_norm");
  o.max_norm = 1;
  o.norm_type = 0;
  expect_create_rejected(t.w.data(), &o, nullptr, "norm_type");
  o = options(10, 4);
  o.mode = static_cast<qembed_mode>(9);
  expect_create_rejected(t.w.data(), &o, nullptr, "mode");
  o = options(10, 4);
  o.include_last_offset = 2;
  expect_create_rejected(t.w.data(), &o, nullptr, "include_last_offset");
  expect_create_rejected(t.w.data(), nullptr, nullptr, "options");
  o = options(10, 4);
  expect_create_rejected(nullptr, &o, nullptr, "weight");
  qembed_module* m = nullptr;
  EXPECT_EQ(qembed_embedding_from_float(t.w.data(), &o, nullptr, nullptr),
            QEMBED_ERR_INVALID_ARGUMENT);
  (void)m;
}

TEST(CAbiCreate, RejectsNonFiniteWeights) {
  Table t;
  qembed_options o = options(t.rows, t.dim);
  for (float bad : {NAN, INFINITY, -INFINITY}) {
    std::vector<float> w = t.w;
    w[7] = bad;
    expect_create_rejected(w.data(), &o, nullptr, "weight[1][3]");
  }
}

TEST(CAbiCreate, RejectsBadQParams) {
  Table t;
  qembed_options o = options(t.rows, t.dim);
  const float one = 1.0f, zero = 0.0f, half = 0.5f, neg = -1.0f, nan = NAN, big = 300.0f;
  qembed_qparams q{QEMBED_PER_TENSOR_AFFINE, QEMBED_QUINT4X2, &one, &zero, 1, 0};
  expect_create_rejected(t.w.data(), &o, &q, "unsupported dtype and qscheme");
  q = {QEMBED_PER_CHANNEL_AFFINE, QEMBED_QUINT4X2, &one, &zero, 1, 0};
  expect_create_rejected(t.w.data(), &o, &q, "unsupported dtype and qscheme");
  q = {QEMBED_PER_CHANNEL_AFFINE_FLOAT_QPARAMS, QEMBED_QINT32, &one, &zero, 1, 0};
  expect_create_rejected(t.w.data(), &o, &q, "unsupported dtype and qscheme");
  q = {QEMBED_PER_TENSOR_AFFINE, QEMBED_FLOAT32, &one, &zero, 1, 0};
  expect_create_rejected(t.w.data(), &o, &q, "unsupported dtype and qscheme");
  q = {static_cast<qembed_qscheme>(8), QEMBED_QUINT8, &one, &zero, 1, 0};
  expect_create_rejected(t.w.data(), &o, &q, "qscheme");
  q = {QEMBED_PER_TENSOR_AFFINE, static_cast<qembed_dtype>(9), &one, &zero, 1, 0};
  expect_create_rejected(t.w.data(), &o, &q, "dtype");
  q = {QEMBED_PER_TENSOR_AFFINE, QEMBED_QUINT8, &zero, &zero, 1, 0};
  expect_create_rejected(t.w.data(), &o, &q, "scale[0] must be finite and > 0");
  q = {QEMBED_PER_TENSOR_AFFINE, QEMBED_QUINT8, &neg, &zero, 1, 0};
  expect_create_rejected(t.w.data(), &o, &q, "scale[0]");
  q = {QEMBED_PER_TENSOR_AFFINE, QEMBED_QUINT8, &nan, &zero, 1, 0};
  expect_create_rejected(t.w.data(), &o, &q, "scale[0]");
  q = {QEMBED_PER_TENSOR_AFFINE, QEMBED_QUINT8, &one, &half, 1, 0};
  expect_create_rejected(t.w.data(), &o, &q, "must be integral");
  q = {QEMBED_PER_TENSOR_AFFINE, QEMBED_QUINT8, &one, &big, 1, 0};
  expect_create_rejected(t.w.data(), &o, &q, "zero_point[0] must be in [0, 255]");
  const float huge_zp = 3.0e7f;
  q = {QEMBED_PER_TENSOR_AFFINE, QEMBED_QINT32, &one, &huge_zp, 1, 0};
  expect_create_rejected(t.w.data(), &o, &q, "zero_point[0] must be in");
  q = {QEMBED_PER_TENSOR_AFFINE, QEMBED_QUINT8, &one, &zero, 2, 0};
  expect_create_rejected(t.w.data(), &o, &q, "num_qparams must be 1");
  q = {QEMBED_PER_TENSOR_AFFINE, QEMBED_QUINT8, nullptr, &zero, 1, 0};
  expect_create_rejected(t.w.data(), &o, &q, "must not be NULL");
  std::vector<float> s4(4, 0.1f), z4(4, 0.0f), s10(10, 0.1f), z10(10, 0.0f);
  q = {QEMBED_PER_CHANNEL_AFFINE, QEMBED_QUINT8, s4.data(), z4.data(), 4, 0};
  expect_create_rejected(t.w.data(), &o, &q, "num_qparams must be 10");
  q = {QEMBED_PER_CHANNEL_AFFINE, QEMBED_QUINT8, s4.data(), z4.data(), 4, 2};
  expect_create_rejected(t.w.data(), &o, &q, "axis must be 0 or 1");
  z10[3] = NAN;
  q = {QEMBED_PER_CHANNEL_AFFINE_FLOAT_QPARAMS, QEMBED_QUINT8, s10.data(), z10.data(), 10, 0};
  expect_create_rejected(t.w.data(), &o, &q, "zero_point[3] must be finite");
  // Per column (axis 1) takes embedding_dim qparams.
  q = {QEMBED_PER_CHANNEL_AFFINE, QEMBED_QUINT8, s4.data(), z4.data(), 4, 1};
  qembed_module* m = nullptr;
  ASSERT_EQ(qembed_embedding_bag_from_float(t.w.data(), &o, &q, &m), QEMBED_OK);
  qembed_module_free(m);
}

// Many threads calling forward on one module agree with a single-threaded run.
TEST(CAbiThreads, ConcurrentForwardOnOneModule) {
  std::mt19937 rng(3);
  const int64_t rows = 5000, dim = 64;
  const std::vector<float> w = qtest::random_table(rng, rows, dim);
  qembed_options o = options(rows, dim, QEMBED_MODE_MEAN);
  qembed_module* m = nullptr;
  ASSERT_EQ(qembed_embedding_bag_from_float(w.data(), &o, nullptr, &m), QEMBED_OK);
  std::vector<int64_t> idx(4000), off(200);
  for (auto& i : idx) i = static_cast<int64_t>(rng() % rows);
  for (size_t b = 0; b < off.size(); ++b) off[b] = static_cast<int64_t>(b * 20);
  std::vector<float> want(off.size() * dim);
  ASSERT_EQ(qembed_embedding_bag_forward(m, idx.data(), 4000, off.data(), 200, QEMBED_INT64,
                                         nullptr, want.data(), static_cast<int64_t>(want.size())),
            QEMBED_OK);
  std::vector<std::thread> threads;
  std::vector<int> failures(8, 0);
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      std::vector<float> got(want.size());
      for (int it = 0; it < 50; ++it) {
        if (qembed_embedding_bag_forward(m, idx.data(), 4000, off.data(), 200, QEMBED_INT64,
                                         nullptr, got.data(),
                                         static_cast<int64_t>(got.size())) != QEMBED_OK ||
            std::memcmp(got.data(), want.data(), want.size() * 4) != 0) {
          ++failures[t];
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int f : failures) EXPECT_EQ(f, 0);
  qembed_module_free(m);
}

}  // namespace
