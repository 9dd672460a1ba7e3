// The prepacked family (EmbeddingBag::from_prepacked): every target against the scalar
// reference of PyTorch's rowwise ops (reference/reference.cpp) bit for bit, on random packed
// rows of 8, 4 and 2 bits; calls split over threads; get_weight; module files; and
// every rejection (the golden test checks PyTorch's own prepacks and outputs).
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <random>

#include "formats.h"
#include "qembed/qembed.h"
#include "qembed/qembed.hpp"
#include "reference.h"
#include "test_util.h"

namespace {

using qembed::EmbeddingBag;
using qembed::EmbeddingBagOptions;
using qembed::Mode;

int64_t row_bytes(int bits, int64_t dim) {
  return qembed::fmt::row_elements(qembed::fmt::format(qembed::fmt::prepacked_format(bits)), dim);
}

// Random rows: any codes, finite scales and biases of both signs (fp32 or fp16).
std::vector<uint8_t> random_packed(std::mt19937& rng, int bits, int64_t rows, int64_t dim) {
  const int64_t rb = row_bytes(bits, dim);
  std::vector<uint8_t> p(static_cast<size_t>(rows * rb));
  std::uniform_int_distribution<int> byte(0, 255);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  for (int64_t r = 0; r < rows; ++r) {
    uint8_t* row = p.data() + r * rb;
    for (int64_t i = 0; i < rb; ++i) row[i] = static_cast<uint8_t>(byte(rng));
    const float scale = u(rng) * 0.05f, bias = u(rng) * 3.0f;
    if (bits == 8) {
      std::memcpy(row + rb - 8, &scale, 4);
      std::memcpy(row + rb - 4, &bias, 4);
    } else {
      const uint16_t s = ref::float_to_half(scale), b = ref::float_to_half(bias);
      std::memcpy(row + rb - 4, &s, 2);
      std::memcpy(row + rb - 2, &b, 2);
    }
  }
  return p;
}

EmbeddingBagOptions bag_options(int64_t rows, int64_t dim, bool include_last) {
  EmbeddingBagOptions o;
  o.num_embeddings = rows;
  o.embedding_dim = dim;
  o.mode = Mode::Sum;
  o.include_last_offset = include_last;
  return o;
}

class Prepacked : public qtest::PerTarget {};

TEST_P(Prepacked, MatchesTheRowwiseOpsReference) {
  struct Threads {  // 4 threads: large calls split into tasks
    Threads() { qembed::set_num_threads(4); }
    ~Threads() { qembed::set_num_threads(0); }
  } threads;
  std::mt19937 rng(17);
  for (const int bits : {8, 4, 2}) {
    for (const int64_t dim : {4, 8, 12, 16, 24, 64, 100, 128, 256, 512}) {
      for (const int64_t rows : {int64_t{3}, int64_t{5000}}) {
        for (int flags = 0; flags < 4; ++flags) {
          const bool weighted = flags & 1, include_last = flags & 2;
          SCOPED_TRACE("bits " + std::to_string(bits) + " D " + std::to_string(dim) + " rows " +
                       std::to_string(rows) + " flags " + std::to_string(flags));
          const std::vector<uint8_t> packed = random_packed(rng, bits, rows, dim);
          const auto bag =
              EmbeddingBag::from_prepacked(packed.data(), static_cast<int64_t>(packed.size()), bits,
                                           bag_options(rows, dim, include_last));
          // Bags of random lengths, some empty; large tables get long calls.
          const int64_t n = rows > 100 ? 3000 : 20;
          std::vector<int64_t> idx(static_cast<size_t>(n));
          for (int64_t& i : idx) i = static_cast<int64_t>(rng() % rows);
          std::vector<int64_t> begins, ends;
          for (int64_t e = 0; e < n;) {
            const int64_t len = std::min<int64_t>(n - e, rng() % 9 == 0 ? 0 : rng() % 40);
            begins.push_back(e);
            ends.push_back(e + len);
            e += len;
          }
          std::vector<float> psw(static_cast<size_t>(n));
          for (float& w : psw) w = static_cast<float>(rng() % 1000) / 250.0f - 1.0f;
          const float* w = weighted ? psw.data() : nullptr;
          const std::vector<float> want =
              ref::prepacked_bag(packed, row_bytes(bits, dim), bits, dim, idx, begins, ends, w);
          std::vector<int64_t> offsets = begins;
          if (include_last) offsets.push_back(n);
          ASSERT_TRUE(qtest::bits_equal(bag.forward(idx, offsets, w), want));
          std::vector<int32_t> idx32(idx.begin(), idx.end()), off32(offsets.begin(), offsets.end());
          ASSERT_TRUE(qtest::bits_equal(bag.forward(idx32, off32, w), want));
        }
      }
    }
  }
}

// A float32 s and code q with fmaf(s, q, 1) != fl32(fl64(s * q + 1)): s * q + 1 lies just
// off a float32 tie that float64 rounds onto (float_ops.ll), so a float32 fma on its own
// would break the rowwise ops' numerics. Found by search, and checked here on this CPU.
struct Tie {
  float scale;
  int code;
};
std::vector<Tie> float32_ties() {
  std::vector<Tie> ties;
  for (int q = 65; q <= 255; ++q) {
    for (const int d : {-3, -1, 1, 3}) {
      const float s = static_cast<float>((std::ldexp(1.0, -24) + d * std::ldexp(1.0, -55)) / q);
      const float single = std::fmaf(s, static_cast<float>(q), 1.0f);
      const float twice = static_cast<float>(std::fma(double{s}, double(q), 1.0));
      if (single != twice) ties.push_back({s, q});
    }
  }
  return ties;
}

// Rows whose sums sit where a float32 fma and the ops' float64 one round apart, or at the
// edges of the window where the kernels trust the float32 one: ties, zero scales (x = a),
// zero and negative-zero biases (a = 0), a bias cancelling the sum, subnormal, tiny and
// huge biases against the scale, and random rows in between; 8-bit rows (fp32 qparams),
// as one-entry bags (a = bias) and after a row that sets every column to 1 or -1.
TEST_P(Prepacked, MatchesTheRowwiseOpsWhereFloat32WouldRoundApart) {
  const std::vector<Tie> ties = float32_ties();
  ASSERT_GE(ties.size(), 8u);  // the search must find what this test is about
  std::mt19937 rng(23);
  for (const int64_t dim : {20, 64}) {
    const int64_t rb = row_bytes(8, dim);
    std::vector<uint8_t> packed;
    auto add_row = [&](float scale, float bias, auto code_of) {
      std::vector<uint8_t> row(static_cast<size_t>(rb));
      for (int64_t c = 0; c < dim; ++c) row[static_cast<size_t>(c)] = code_of(c);
      std::memcpy(&row[static_cast<size_t>(dim)], &scale, 4);
      std::memcpy(&row[static_cast<size_t>(dim) + 4], &bias, 4);
      packed.insert(packed.end(), row.begin(), row.end());
    };
    auto any_code = [&](int64_t) { return static_cast<uint8_t>(rng()); };
    add_row(0.0f, 1.0f, any_code);    // row 0: every column 1 (s = 0)
    add_row(-0.0f, -1.0f, any_code);  // row 1: every column -1
    for (const Tie& t : ties) {
      // The tie's code in most columns, others random: after row 0, a = 1 + 0.
      auto tie_code = [&](int64_t c) { return c % 5 == 4 ? any_code(c) : uint8_t(t.code); };
      add_row(t.scale, 0.0f, tie_code);
      add_row(t.scale, 1.0f, tie_code);    // alone: a = 1
      add_row(-t.scale, -1.0f, tie_code);  // mirrored
    }
    const float biases[] = {0.0f, -0.0f, -1.0f, 1e-40f, -1e-38f, 1e-12f, 3e9f, -1e30f};
    const float scales[] = {1e-3f, 2.5e-2f, 1e-10f, 1e-30f, 7e5f};
    for (const float b : biases) {
      for (const float s : scales) add_row(s, b, any_code);
    }
    const int64_t rows = static_cast<int64_t>(packed.size()) / rb;
    SCOPED_TRACE("D " + std::to_string(dim) + " rows " + std::to_string(rows));
    const auto bag = EmbeddingBag::from_prepacked(
        packed.data(), static_cast<int64_t>(packed.size()), 8, bag_options(rows, dim, false));
    std::vector<int64_t> idx, begins, ends;
    for (int64_t r = 0; r < rows; ++r) {
      for (const int64_t first : {int64_t{-1}, int64_t{0}, int64_t{1}}) {
        begins.push_back(static_cast<int64_t>(idx.size()));
        if (first >= 0) idx.push_back(first);
        idx.push_back(r);
        if (r % 3 == 0) idx.push_back(static_cast<int64_t>(rng() % rows));
        ends.push_back(static_cast<int64_t>(idx.size()));
      }
    }
    const std::vector<float> want =
        ref::prepacked_bag(packed, rb, 8, dim, idx, begins, ends, nullptr);
    EXPECT_TRUE(qtest::bits_equal(bag.forward(idx, begins), want));
    // The same sums with a float32 fma, as a kernel without the window would add them:
    // they must differ from the ops' somewhere, or this test could not fail.
    std::vector<float> single(want.size(), 0.0f);
    for (size_t b = 0; b < begins.size(); ++b) {
      for (int64_t e = begins[b]; e < ends[b]; ++e) {
        const uint8_t* row = packed.data() + idx[static_cast<size_t>(e)] * rb;
        float scale, bias;
        std::memcpy(&scale, row + dim, 4);
        std::memcpy(&bias, row + dim + 4, 4);
        for (int64_t c = 0; c < dim; ++c) {
          float& acc = single[b * static_cast<size_t>(dim) + static_cast<size_t>(c)];
          acc = std::fmaf(scale, static_cast<float>(row[c]), acc + bias);
        }
      }
    }
    EXPECT_FALSE(qtest::bits_equal(single, want));
    // Weights scale s and b; -1 and 1 keep the ties, 2^-20 moves them.
    std::vector<float> w(idx.size());
    for (size_t e = 0; e < w.size(); ++e) w[e] = e % 3 == 0 ? -1.0f : e % 3 == 1 ? 1.0f : 0x1p-20f;
    EXPECT_TRUE(
        qtest::bits_equal(bag.forward(idx, begins, w.data()),
                          ref::prepacked_bag(packed, rb, 8, dim, idx, begins, ends, w.data())));
  }
}

QTEST_FOR_EVERY_TARGET(Prepacked);

TEST(PrepackedModule, GetWeightSaveLoadAndQuantizedWeight) {
  std::mt19937 rng(3);
  const std::string path =
      "/tmp/qembed_test_" + std::to_string(::getpid()) + "_prepacked.safetensors";
  for (const int bits : {8, 4, 2}) {
    const int64_t rows = 9, dim = 12;
    const std::vector<uint8_t> packed = random_packed(rng, bits, rows, dim);
    const auto bag = EmbeddingBag::from_prepacked(
        packed.data(), static_cast<int64_t>(packed.size()), bits, bag_options(rows, dim, false));
    // get_weight: each row as it adds to an empty bag.
    std::vector<int64_t> all(rows), begins(rows), ends(rows);
    for (int64_t r = 0; r < rows; ++r) all[r] = begins[r] = r, ends[r] = r + 1;
    const std::vector<float> want =
        ref::prepacked_bag(packed, row_bytes(bits, dim), bits, dim, all, begins, ends, nullptr);
    EXPECT_TRUE(qtest::bits_equal(bag.get_weight(), want));
    const qembed::QuantizedWeight q = bag.get_quantized_weight();
    EXPECT_EQ(q.packing_bits, bits);
    EXPECT_EQ(q.data, packed);
    // Module files keep the rows as PyTorch packed them.
    bag.save(path);
    const auto back = EmbeddingBag::load(path);
    EXPECT_EQ(back.get_quantized_weight().data, packed);
    EXPECT_EQ(back.get_quantized_weight().packing_bits, bits);
    const std::vector<int64_t> idx = {8, 0, 0, 5}, off = {0, 1};
    EXPECT_TRUE(qtest::bits_equal(back.forward(idx, off), bag.forward(idx, off)));
    // from_quantized with the prepacked weight rebuilds the same module.
    EXPECT_TRUE(
        qtest::bits_equal(EmbeddingBag::from_quantized(q, bag.options()).get_weight(), want));
  }
  std::remove(path.c_str());
}

TEST(PrepackedModule, RejectsWhatPyTorchsOpsWouldNotCompute) {
  std::mt19937 rng(5);
  std::vector<uint8_t> p = random_packed(rng, 4, 3, 8);
  const int64_t size = static_cast<int64_t>(p.size());
  const qembed_options o = qtest::options(3, 8);
  auto refused = [&](const uint8_t* data, int64_t n, int bits, const qembed_options& opts,
                     const std::string& needle) {
    qembed_module* m = nullptr;
    EXPECT_NE(qembed_embedding_bag_from_prepacked(data, n, bits, &opts, &m), QEMBED_OK) << needle;
    EXPECT_EQ(m, nullptr);
    EXPECT_NE(std::string(qembed_last_error()).find(needle), std::string::npos)
        << qembed_last_error() << "\nexpected: " << needle;
  };
  refused(p.data(), size, 3, o, "bits must be 8, 4 or 2");
  refused(p.data(), size - 1, 4, o, "take 24 bytes (8 a row), got 23");
  refused(nullptr, size, 4, o, "packed must not be NULL");
  qembed_options mean = o;
  mean.mode = QEMBED_MODE_MEAN;
  refused(p.data(), size, 4, mean, "options.mode must be sum");
  qembed_options pad = o;
  pad.padding_idx = 1;
  refused(p.data(), size, 4, pad, "padding_idx must be unset");
  qembed_options norm = o;
  norm.has_max_norm = 1;
  norm.max_norm = 1.0;
  refused(p.data(), size, 4, norm, "max_norm must be unset");
  qembed_options odd = o;
  odd.embedding_dim = 6;
  refused(p.data(), size, 2, odd, "multiple of 4");
  std::vector<uint8_t> nan_scale = p;
  const uint16_t nan16 = 0x7e00;
  std::memcpy(&nan_scale[8 + 4], &nan16, 2);  // row 1's scale
  refused(nan_scale.data(), size, 4, o, "row 1 has a scale that is not finite");
  qembed_module* m = nullptr;
  ASSERT_EQ(qembed_embedding_bag_from_prepacked(p.data(), size, 4, &o, &m), QEMBED_OK)
      << qembed_last_error();
  qembed_module_free(m);
}

}  // namespace
