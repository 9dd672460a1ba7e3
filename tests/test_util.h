// Helpers shared by the tests: random tables and qparams, bitwise comparison.
#pragma once

#include <gtest/gtest.h>

#include <cctype>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "qembed/qembed.hpp"

namespace qtest {

// Bitwise equality of two float arrays, reporting the first difference.
inline ::testing::AssertionResult bits_equal(const std::vector<float>& got,
                                             const std::vector<float>& want) {
  if (got.size() != want.size()) {
    return ::testing::AssertionFailure() << "size " << got.size() << " != expected " << want.size();
  }
  for (size_t i = 0; i < got.size(); ++i) {
    if (std::memcmp(&got[i], &want[i], 4) != 0) {
      return ::testing::AssertionFailure() << "element " << i << ": got " << got[i] << " expected "
                                           << want[i] << " (bits differ)";
    }
  }
  return ::testing::AssertionSuccess();
}

// |got - want| <= tol[i] element-wise.
inline ::testing::AssertionResult within(const std::vector<float>& got,
                                         const std::vector<float>& want,
                                         const std::vector<float>& tol) {
  if (got.size() != want.size()) return ::testing::AssertionFailure() << "size mismatch";
  for (size_t i = 0; i < got.size(); ++i) {
    if (!(std::fabs(got[i] - want[i]) <= tol[i])) {
      return ::testing::AssertionFailure() << "element " << i << ": got " << got[i] << " expected "
                                           << want[i] << " tol " << tol[i];
    }
  }
  return ::testing::AssertionSuccess();
}

inline std::vector<float> random_table(std::mt19937& rng, int64_t rows, int64_t cols,
                                       float range = 2.0f) {
  std::uniform_real_distribution<float> u(-range, range);
  std::vector<float> w(static_cast<size_t>(rows * cols));
  for (float& x : w) x = u(rng);
  // A few exact zeros and negative zeros: sign-of-zero handling is part of the contract.
  if (w.size() > 4) {
    w[1] = 0.0f;
    w[3] = -0.0f;
  }
  return w;
}

// qparams for `w` under a scheme: sensible scales from the data, random zero points.
inline qembed::QParams make_qparams(std::mt19937& rng, qembed::QScheme qs, qembed::DType dt,
                                    int64_t axis, const std::vector<float>& w, int64_t rows,
                                    int64_t cols) {
  using qembed::DType;
  using qembed::QParams;
  using qembed::QScheme;
  if (qs == QScheme::None) return QParams::none();
  if (dt == DType::Float16) return QParams{qs, dt, {}, {}, axis};
  const double qmin = dt == DType::QUInt8     ? 0
                      : dt == DType::QInt8    ? -128
                      : dt == DType::QUInt4x2 ? 0
                                              : -1000;
  const double qmax = dt == DType::QUInt8     ? 255
                      : dt == DType::QInt8    ? 127
                      : dt == DType::QUInt4x2 ? 15
                                              : 1000;
  const int64_t n = qs == QScheme::PerTensorAffine ? 1 : (axis == 0 ? rows : cols);
  QParams q{qs, dt, {}, {}, axis};
  std::uniform_real_distribution<float> jitter(0.8f, 1.2f);
  // min / max of each channel (0 included, as PyTorch's observers do), in one pass.
  std::vector<float> lo(n, 0.0f), hi(n, 0.0f);
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t c = 0; c < cols; ++c) {
      const int64_t k = qs == QScheme::PerTensorAffine ? 0 : (axis == 0 ? r : c);
      lo[k] = std::min(lo[k], w[r * cols + c]);
      hi[k] = std::max(hi[k], w[r * cols + c]);
    }
  }
  for (int64_t k = 0; k < n; ++k) {
    float s = (hi[k] - lo[k]) / static_cast<float>(qmax - qmin) * jitter(rng);
    if (dt == DType::QInt32) s *= 0.5f;  // exercise clamping less, precision more
    if (!(s > 1e-6f)) s = 1.0f;
    float zp = -lo[k] / s + static_cast<float>(qmin);
    if (qs != QScheme::PerChannelAffineFloatQParams) {
      zp = std::nearbyint(std::clamp(zp, static_cast<float>(qmin), static_cast<float>(qmax)));
    }
    q.scale.push_back(s);
    q.zero_point.push_back(zp);
  }
  return q;
}

struct Scheme {
  qembed::QScheme qscheme;
  qembed::DType dtype;
  int64_t axis;
};

// Every qscheme x dtype x axis of the contract.
inline std::vector<Scheme> all_schemes() {
  std::vector<Scheme> s = {
      {qembed::QScheme::None, qembed::DType::Float32, 0},
      {qembed::QScheme::PerTensorAffine, qembed::DType::Float16, 0},
      {qembed::QScheme::PerChannelAffineFloatQParams, qembed::DType::Float16, 0}};
  for (qembed::DType d : {qembed::DType::QUInt8, qembed::DType::QInt8, qembed::DType::QInt32}) {
    s.push_back({qembed::QScheme::PerTensorAffine, d, 0});
    s.push_back({qembed::QScheme::PerChannelAffine, d, 0});
    s.push_back({qembed::QScheme::PerChannelAffine, d, 1});
  }
  for (qembed::DType d : {qembed::DType::QUInt8, qembed::DType::QInt8, qembed::DType::QUInt4x2}) {
    s.push_back({qembed::QScheme::PerChannelAffineFloatQParams, d, 0});
    s.push_back({qembed::QScheme::PerChannelAffineFloatQParams, d, 1});
  }
  return s;
}

// C ABI options with PyTorch's defaults: no padding_idx, no max_norm, p = 2.
inline qembed_options options(int64_t rows, int64_t dim, qembed_mode mode = QEMBED_MODE_SUM) {
  qembed_options o{};
  o.num_embeddings = rows;
  o.embedding_dim = dim;
  o.padding_idx = QEMBED_NO_PADDING_IDX;
  o.norm_type = 2.0;
  o.mode = mode;
  return o;
}

// Base of the tests that run once per kernel target this CPU supports: forces the target
// for the test, restores the best one after.
class PerTarget : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override { qembed::set_kernel_target(GetParam()); }
  void TearDown() override { qembed::set_kernel_target(qembed::supported_kernel_targets()[0]); }
};

// gtest's name for a target's instance: the target string with '_' for punctuation.
inline std::string target_test_name(const ::testing::TestParamInfo<std::string>& info) {
  std::string n = info.param;
  for (char& ch : n) {
    if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
  }
  return n;
}

}  // namespace qtest

// Instantiates a qtest::PerTarget-derived suite for every target this CPU supports.
#define QTEST_FOR_EVERY_TARGET(Suite)                                               \
  INSTANTIATE_TEST_SUITE_P(Targets, Suite,                                          \
                           ::testing::ValuesIn(qembed::supported_kernel_targets()), \
                           qtest::target_test_name)
