// Property tests: every kernel variant this CPU runs, against the scalar reference, on
// random shapes, schemes, modes and options. Exact where the contract is exact.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "call_tasks.h"
#include "reference.h"
#include "test_util.h"

namespace {

using qembed::DType;
using qembed::IndexType;
using qembed::Mode;
using qembed::QParams;
using qembed::QScheme;

using qtest::all_schemes;
using qtest::Scheme;

const int64_t kDims[] = {1, 2, 3, 7, 8, 16, 31, 64, 100, 128, 257};

struct Case {
  Scheme scheme;
  int64_t rows, dim;
  IndexType itype;
  Mode mode;
  bool weighted, include_last, padding, max_norm;
  double norm_type;
  bool large = false;     // a call the runtime splits into many tasks (call_tasks.h)
  bool over_cap = false;  // bags over a kernel call's entry cap (call_tasks.h)
};

std::string describe(const Case& c) {
  return "qscheme=" + std::to_string(static_cast<int>(c.scheme.qscheme)) +
         " dtype=" + std::to_string(static_cast<int>(c.scheme.dtype)) +
         " axis=" + std::to_string(c.scheme.axis) + " rows=" + std::to_string(c.rows) +
         " D=" + std::to_string(c.dim) + " int" + (c.itype == IndexType::Int32 ? "32" : "64") +
         " mode=" + std::to_string(static_cast<int>(c.mode)) +
         " weighted=" + std::to_string(c.weighted) +
         " include_last=" + std::to_string(c.include_last) +
         " padding=" + std::to_string(c.padding) + " max_norm=" + std::to_string(c.max_norm) +
         " p=" + std::to_string(c.norm_type);
}

template <typename T>
std::vector<T> cast_all(const std::vector<int64_t>& v) {
  return std::vector<T>(v.begin(), v.end());
}

void run_case(std::mt19937& rng, const Case& c) {
  SCOPED_TRACE(describe(c));
  const std::vector<float> w = qtest::random_table(rng, c.rows, c.dim);
  const QParams q =
      qtest::make_qparams(rng, c.scheme.qscheme, c.scheme.dtype, c.scheme.axis, w, c.rows, c.dim);
  const ref::Quantized expect = ref::quantize_dequantize(w, c.rows, c.dim, q);

  qembed::EmbeddingBagOptions o;
  o.num_embeddings = c.rows;
  o.embedding_dim = c.dim;
  std::uniform_int_distribution<int64_t> row_dist(0, c.rows - 1);
  if (c.padding) o.padding_idx = row_dist(rng) - (rng() % 2 ? c.rows : 0);  // negative wraps
  if (c.max_norm) o.max_norm = 0.5 + (rng() % 4);
  o.norm_type = c.norm_type;
  o.mode = c.mode;
  o.include_last_offset = c.include_last;
  const std::optional<int64_t> pad_row =
      o.padding_idx
          ? std::optional<int64_t>(*o.padding_idx < 0 ? *o.padding_idx + c.rows : *o.padding_idx)
          : std::nullopt;

  // Bags: some empty, one all-padding (when there is padding), lengths 0..12. Large
  // calls: 120 bags of 0..60 with a run of empty bags right before a bag bigger than a
  // task (so a task holds only empty bags), and empty bags at the end.
  // Over the cap: 40 bags, two of them over kMaxCallEntries, the rest 0..3000.
  const int num_bags = c.large ? 120 : c.over_cap ? 40 : 1 + static_cast<int>(rng() % 9);
  auto bag_len = [&](int b) {
    if (c.over_cap) {
      if (b == 5 || b == 30) return static_cast<int>(qembed::detail::kMaxCallEntries) + 5;
      return (b >= 10 && b < 13) ? 0 : static_cast<int>(rng() % 3001);
    }
    if (!c.large) return (b == 1) ? 0 : static_cast<int>(rng() % 13);
    if (b == 1 || (b >= 60 && b < 66) || b >= num_bags - 3) return 0;
    if (b == 66 || b == 90) return 3000;
    return static_cast<int>(rng() % 61);
  };
  std::vector<int64_t> indices, begins, ends;
  for (int b = 0; b < num_bags; ++b) {
    begins.push_back(static_cast<int64_t>(indices.size()));
    const int len = bag_len(b);
    for (int k = 0; k < len; ++k) {
      const bool use_pad = pad_row && (b == 2 || rng() % 4 == 0);
      indices.push_back(use_pad ? *pad_row : row_dist(rng));
    }
    ends.push_back(static_cast<int64_t>(indices.size()));
  }
  std::vector<float> psw(indices.size());
  std::uniform_real_distribution<float> wd(-1.5f, 1.5f);
  for (float& x : psw) x = wd(rng);
  std::vector<int64_t> offsets = begins;
  if (c.include_last) offsets.push_back(static_cast<int64_t>(indices.size()));

  const auto bag = qembed::EmbeddingBag::from_float(w.data(), o, q);
  const auto emb = qembed::Embedding::from_float(w.data(), o, q);
  // get_weight: exact.
  ASSERT_TRUE(qtest::bits_equal(bag.get_weight(), expect.weight));

  const bool exact = !c.max_norm;
  const std::vector<float> want_emb =
      ref::embedding(expect.weight, c.dim, indices, o.max_norm, c.norm_type);
  const std::vector<float> want_bag =
      ref::embedding_bag(expect.weight, c.dim, indices, begins, ends, c.mode,
                         c.weighted ? psw.data() : nullptr, pad_row, o.max_norm, c.norm_type);
  std::vector<float> got_emb, got_bag;
  const float* weights = c.weighted ? psw.data() : nullptr;
  if (c.itype == IndexType::Int32) {
    const auto i32 = cast_all<int32_t>(indices);
    const auto o32 = cast_all<int32_t>(offsets);
    got_emb = emb.forward(i32);
    got_bag = bag.forward(i32, o32, weights);
  } else {
    got_emb = emb.forward(indices);
    got_bag = bag.forward(indices, offsets, weights);
  }
  if (exact) {
    EXPECT_TRUE(qtest::bits_equal(got_emb, want_emb)) << "embedding";
    EXPECT_TRUE(qtest::bits_equal(got_bag, want_bag)) << "embedding_bag";
  } else {
    // max_norm: 1e-5 of the bag's sum of |row| (per element), as the contract allows.
    std::vector<float> tol_emb(want_emb.size()), tol_bag(want_bag.size(), 0.0f);
    for (size_t i = 0; i < want_emb.size(); ++i)
      tol_emb[i] = 1e-5f * std::fabs(want_emb[i]) + 1e-30f;
    for (size_t b = 0; b < begins.size(); ++b) {
      for (int64_t j = begins[b]; j < ends[b]; ++j) {
        for (int64_t d = 0; d < c.dim; ++d) {
          const float wj = c.weighted ? std::fabs(psw[j]) : 1.0f;
          tol_bag[b * c.dim + d] += 1e-5f * wj * std::fabs(expect.weight[indices[j] * c.dim + d]);
        }
      }
    }
    for (float& t : tol_bag) t += 1e-30f;
    EXPECT_TRUE(qtest::within(got_emb, want_emb, tol_emb)) << "embedding (max_norm)";
    EXPECT_TRUE(qtest::within(got_bag, want_bag, tol_bag)) << "embedding_bag (max_norm)";
  }
}

class EveryTarget : public qtest::PerTarget {};

// Every scheme x every D, with a random mix of the other options.
TEST_P(EveryTarget, MatchesReferenceForEverySchemeAndDim) {
  std::mt19937 rng(1234);
  const Mode modes[] = {Mode::Sum, Mode::Mean, Mode::Max};
  int k = 0;
  for (const Scheme& s : all_schemes()) {
    for (int64_t d : kDims) {
      Case c;
      c.scheme = s;
      c.dim = d;
      c.rows = 1 + static_cast<int64_t>(rng() % 300);
      c.itype = (k % 2) ? IndexType::Int32 : IndexType::Int64;
      c.mode = modes[k % 3];
      c.weighted = c.mode == Mode::Sum && rng() % 2;
      c.include_last = rng() % 2;
      c.padding = rng() % 2;
      c.max_norm = rng() % 5 == 0;
      const double ps[] = {2.0, 1.0, 3.0, INFINITY};
      c.norm_type = ps[rng() % 4];
      run_case(rng, c);
      ++k;
      if (HasFatalFailure()) return;
    }
  }
}

// Large and tiny tables, every mode and option combination.
TEST_P(EveryTarget, MatchesReferenceOnTableSizesAndOptions) {
  std::mt19937 rng(99);
  const std::vector<Scheme> schemes = all_schemes();
  const int64_t rows[] = {1, 2, 1000, 100000};
  for (int64_t r : rows) {
    for (Mode m : {Mode::Sum, Mode::Mean, Mode::Max}) {
      for (int flags = 0; flags < 8; ++flags) {
        Case c;
        c.scheme = schemes[rng() % schemes.size()];
        c.rows = r;
        c.dim = r == 100000 ? kDims[rng() % 6] : kDims[rng() % 11];
        c.itype = (flags & 1) ? IndexType::Int32 : IndexType::Int64;
        c.mode = m;
        c.weighted = m == Mode::Sum && (flags & 2);
        c.include_last = flags & 4;
        c.padding = (flags & 2) || r == 1;
        c.max_norm = flags == 5;
        c.norm_type = 2.0;
        run_case(rng, c);
        if (HasFatalFailure()) return;
      }
    }
  }
}

// 4-bit lookups take even widths as column pairs and odd ones column by column, in tiles
// of every width from the target's widest down to one pair (schedule_embedding): every
// width up to two of the widest tiles (AVX-512: 128 columns) plus a shifted tail, with
// and without max_norm, meets each branch and each tail on every target.
TEST_P(EveryTarget, FourBitLookupsMatchAtEveryWidth) {
  std::mt19937 rng(4242);
  for (const Scheme& s : all_schemes()) {
    if (s.dtype != qembed::DType::QUInt4x2) continue;
    for (int64_t d = 1; d <= 2 * 128 + 3; ++d) {
      Case c;
      c.scheme = s;
      c.dim = d;
      c.rows = 1 + static_cast<int64_t>(rng() % 40);
      c.itype = (d / 2) % 2 ? IndexType::Int32 : IndexType::Int64;  // both, odd and even
      c.mode = Mode::Sum;
      c.weighted = false;
      c.include_last = rng() % 2;
      c.padding = rng() % 2;
      c.max_norm = d % 3 == 0;
      c.norm_type = 2.0;
      run_case(rng, c);
      if (HasFatalFailure()) return;
    }
  }
}

// Calls the runtime splits into many tasks over the thread pool (call_tasks.h), each a
// kernel call with its own head prefetch: every bag must get the bits of one whole call.
TEST_P(EveryTarget, LargeCallsSplitIntoTasks) {
  struct Threads {  // 4 threads: up to 16 tasks, whatever this machine's core count
    Threads() { qembed::set_num_threads(4); }
    ~Threads() { qembed::set_num_threads(0); }
  } threads;
  std::mt19937 rng(7);
  const std::vector<Scheme> schemes = all_schemes();
  for (int64_t dim : {7, 512}) {
    for (Mode m : {Mode::Sum, Mode::Mean, Mode::Max}) {
      for (int flags = 0; flags < 4; ++flags) {
        Case c;
        c.scheme = schemes[rng() % schemes.size()];
        c.rows = 5000;
        c.dim = dim;
        c.itype = (flags & 1) ? IndexType::Int32 : IndexType::Int64;
        c.mode = m;
        c.weighted = m == Mode::Sum && (flags & 2);
        c.include_last = flags == 3;
        c.padding = flags & 2;
        c.max_norm = flags == 1 && dim == 7;
        c.norm_type = 2.0;
        c.large = true;
        run_case(rng, c);
        if (HasFatalFailure()) return;
      }
    }
  }
}

// Calls over a kernel call's entry cap on one thread: the runtime cuts them into several
// kernel calls (lookups anywhere, bags between bags; a bag over the cap is a call alone).
TEST_P(EveryTarget, CallsOverTheEntryCapSplitIntoKernelCalls) {
  struct Threads {
    Threads() { qembed::set_num_threads(1); }
    ~Threads() { qembed::set_num_threads(0); }
  } threads;
  std::mt19937 rng(11);
  const std::vector<Scheme> schemes = all_schemes();
  for (Mode m : {Mode::Sum, Mode::Max}) {
    for (int flags = 0; flags < 2; ++flags) {
      Case c;
      c.scheme = schemes[rng() % schemes.size()];
      c.rows = 3000;
      c.dim = 7;
      c.itype = flags ? IndexType::Int32 : IndexType::Int64;
      c.mode = m;
      c.weighted = m == Mode::Sum && flags;
      c.include_last = flags;
      c.padding = !flags;
      c.max_norm = false;
      c.norm_type = 2.0;
      c.over_cap = true;
      run_case(rng, c);
      if (HasFatalFailure()) return;
    }
  }
}

QTEST_FOR_EVERY_TARGET(EveryTarget);

}  // namespace
