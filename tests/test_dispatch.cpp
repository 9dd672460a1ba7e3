// Kernel target dispatch: what runs is reported, and a user can force a lower target
// through the API or the QEMBED_FORCE_TARGET environment variable.
#include <algorithm>
#include <cstdlib>
#include <random>

#include "qembed/qembed.h"
#include "reference.h"
#include "test_util.h"

namespace {

bool contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

// One 8-bit per-row EmbeddingBag sum through whatever target is active, against the
// scalar reference.
void expect_bag_matches_reference() {
  std::mt19937 rng(7);
  const int64_t rows = 300, dim = 77;  // a D that is no multiple of any vector width
  const auto w = qtest::random_table(rng, rows, dim);
  const auto q = qembed::QParams::row_wise_float(qembed::DType::QUInt8, w.data(), rows,
                                                 static_cast<int64_t>(dim));
  qembed::EmbeddingBagOptions opt;
  opt.num_embeddings = rows;
  opt.embedding_dim = dim;
  opt.mode = qembed::Mode::Sum;
  const auto bag = qembed::EmbeddingBag::from_float(w.data(), opt, q);
  std::vector<int64_t> idx(500);
  for (auto& i : idx) i = static_cast<int64_t>(rng() % rows);
  const std::vector<int64_t> begins = {0, 1, 200, 200}, ends = {1, 200, 200, 500};
  const auto want = ref::embedding_bag(bag.get_weight(), dim, idx, begins, ends, qembed::Mode::Sum,
                                       nullptr, std::nullopt, std::nullopt, 2.0);
  EXPECT_TRUE(qtest::bits_equal(bag.forward(idx, begins), want)) << qembed::kernel_target();
}

TEST(KernelTargets, ReportsAndForcesTargets) {
  if (std::getenv("QEMBED_FORCE_TARGET") != nullptr) GTEST_SKIP() << "a target is forced";
  const auto compiled = qembed::compiled_kernel_targets();
  const auto supported = qembed::supported_kernel_targets();
  ASSERT_FALSE(supported.empty());
  EXPECT_EQ(qembed::kernel_target(), supported.front()) << "the best supported target runs";
  EXPECT_STREQ(qembed_kernel_target(), supported.front().c_str());
  qembed::set_kernel_target("baseline");
  EXPECT_EQ(qembed::kernel_target(), compiled.back());
  EXPECT_THROW(qembed::set_kernel_target("no_such_feature"), qembed::Unsupported);
  EXPECT_EQ(qembed::kernel_target(), compiled.back()) << "a failed set changes nothing";
  for (const auto& t : compiled) {
    if (!contains(supported, t)) {
      EXPECT_THROW(qembed::set_kernel_target(t), qembed::Unsupported) << t;
    }
  }
  qembed::set_kernel_target(supported.front());
}

// Every supported target, forced through the API, computes the reference's bits.
TEST(KernelTargets, EveryForcedTargetMatchesReference) {
  for (const auto& t : qembed::supported_kernel_targets()) {
    qembed::set_kernel_target(t);
    ASSERT_EQ(qembed::kernel_target(), t);
    expect_bag_matches_reference();
  }
  qembed::set_kernel_target(qembed::supported_kernel_targets().front());
}

// Run by ctest once per compiled target (and with "baseline") with QEMBED_FORCE_TARGET
// set: the variable alone picks the target, or, where this CPU cannot run it, calls fail
// with Unsupported naming it.
TEST(KernelTargets, EnvironmentForcesTarget) {
  const char* forced = std::getenv("QEMBED_FORCE_TARGET");
  if (forced == nullptr) GTEST_SKIP() << "ctest runs this with QEMBED_FORCE_TARGET set";
  const std::string name = forced;
  const auto compiled = qembed::compiled_kernel_targets();
  const std::string expect = name == "baseline" ? compiled.back() : name;
  ASSERT_TRUE(contains(compiled, expect)) << name << " is not a compiled target";
  if (!contains(qembed::supported_kernel_targets(), expect)) {
    try {
      qembed::kernel_target();
      ADD_FAILURE() << "forcing " << name << ", which this CPU cannot run, did not fail";
    } catch (const qembed::Unsupported& e) {
      EXPECT_NE(std::string(e.what()).find(name), std::string::npos) << e.what();
    }
    return;  // this CPU cannot run it: the refusal is what was checked
  }
  EXPECT_EQ(qembed::kernel_target(), expect);
  EXPECT_STREQ(qembed_kernel_target(), expect.c_str());
  expect_bag_matches_reference();
}

// The thread count changes how bags are spread, never the bits.
TEST(Threads, CountIsSetAndValidatedAndKeepsResults) {
  for (int n : {1, 2, 3, 0}) {
    qembed::set_num_threads(n);
    EXPECT_EQ(qembed::num_threads(), n);
    expect_bag_matches_reference();
  }
  EXPECT_THROW(qembed::set_num_threads(-1), qembed::InvalidArgument);
  EXPECT_THROW(qembed::set_num_threads(qembed::kMaxThreads + 1), qembed::InvalidArgument);
  EXPECT_EQ(qembed_set_num_threads(-1), QEMBED_ERR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(qembed_last_error()).find("num_threads"), std::string::npos);
  EXPECT_EQ(qembed::num_threads(), 0) << "a rejected count changes nothing";
  EXPECT_EQ(qembed_set_num_threads(1), QEMBED_OK);
  EXPECT_EQ(qembed_set_num_threads(0), QEMBED_OK);
}

}  // namespace
