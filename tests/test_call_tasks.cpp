// How forwards are cut into kernel calls (runtime/call_tasks.h), and the bag limit that
// follows from it (validate.h): no kernel call over kMaxCallEntries entries unless it is
// a single bag, every bag in exactly one call, in order.
#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "call_tasks.h"
#include "qembed/qembed.hpp"
#include "validate.h"

namespace {

namespace d = qembed::detail;

TEST(CallTasks, LookupTasksStayUnderTheCapAtEveryThreadCount) {
  for (int threads : {1, 2, 16, 64}) {
    for (int64_t n : {int64_t{1}, int64_t{255}, int64_t{5000}, d::kMaxCallEntries,
                      d::kMaxCallEntries + 1, 3 * d::kMaxCallEntries + 17, int64_t{2147483647}}) {
      SCOPED_TRACE("threads=" + std::to_string(threads) + " n=" + std::to_string(n));
      const int64_t tasks = d::task_count(n, threads);
      ASSERT_GE(tasks, 1);
      // run_lookup_tasks: task t is entries [n t / tasks, n (t + 1) / tasks).
      const int64_t largest = (n + tasks - 1) / tasks;
      EXPECT_LE(largest, d::kMaxCallEntries);
      if (threads == 1) {
        EXPECT_EQ(tasks, (n + d::kMaxCallEntries - 1) / d::kMaxCallEntries);
      }
      if (n < 2 * d::kMinTaskEntries) {
        EXPECT_EQ(tasks, 1);
      }
    }
  }
}

TEST(CallTasks, BagTasksCoverEveryBagOnceAndOnlyABagOverTheCapExceedsIt) {
  std::mt19937 rng(5);
  for (int round = 0; round < 20; ++round) {
    // Bags of 0..3000 entries, a few over the cap, and runs of empty bags.
    const int64_t num_bags = 50 + static_cast<int64_t>(rng() % 200);
    std::vector<int64_t> begins;
    int64_t n = 0;
    for (int64_t b = 0; b < num_bags; ++b) {
      begins.push_back(n);
      const unsigned kind = rng() % 20;
      n += kind == 0  ? d::kMaxCallEntries + static_cast<int64_t>(rng() % 1000)
           : kind < 4 ? 0
                      : static_cast<int64_t>(rng() % 3001);
    }
    auto entry = [&](int64_t bag) { return bag < num_bags ? begins[bag] : n; };
    for (int threads : {1, 4, 16}) {
      SCOPED_TRACE("round=" + std::to_string(round) + " threads=" + std::to_string(threads));
      const std::vector<int64_t> cuts =
          d::cut_bag_tasks(begins.data(), num_bags, n, d::task_count(n, threads));
      ASSERT_GE(cuts.size(), 2u);
      EXPECT_EQ(cuts.front(), 0);
      EXPECT_EQ(cuts.back(), num_bags);
      for (size_t t = 0; t + 1 < cuts.size(); ++t) {
        ASSERT_LT(cuts[t], cuts[t + 1]) << "task " << t << " is empty or out of order";
        const int64_t entries = entry(cuts[t + 1]) - entry(cuts[t]);
        if (cuts[t + 1] - cuts[t] > 1) {
          EXPECT_LE(entries, d::kMaxCallEntries) << "task " << t << " of several bags";
        }
      }
    }
  }
}

TEST(CallTasks, ABagOverTheLimitIsRejectedNamingIt) {
  // Only the offsets are read: a bag's length is the gap to the next offset (or to the
  // end of the indices), so no table or index array is needed.
  const int64_t limit = d::kMaxBagEntries;
  const std::vector<int64_t> two{0, 10};
  EXPECT_EQ(d::validate_offsets(qembed::Indices(two), 10 + limit, false), 2);
  try {
    d::validate_offsets(qembed::Indices(two), 11 + limit, false);
    ADD_FAILURE() << "a last bag of 2^28 + 1 entries was accepted";
  } catch (const qembed::Unsupported& e) {
    EXPECT_NE(std::string(e.what()).find("bag 1 holds 268435457 entries"), std::string::npos)
        << e.what();
  }
  const std::vector<int64_t> inner{0, 3, 4 + limit, 5 + limit};
  EXPECT_THROW(d::validate_offsets(qembed::Indices(inner), 5 + limit, true), qembed::Unsupported);
  const std::vector<int64_t> at_limit{0, 3, 3 + limit, 5 + limit};
  EXPECT_EQ(d::validate_offsets(qembed::Indices(at_limit), 5 + limit, true), 3);
}

TEST(CallTasks, BagLengthsAreTakenOnlyOnceOffsetsAreKnownInOrder) {
  // fuzz.c_abi found it: the length of a "bag" between a very negative offset and a big
  // one overflowed int64 (undefined behaviour, flagged by UBSan) before the order check
  // threw. The order check comes first: a clean InvalidArgument.
  const std::vector<int64_t> wild{0, -9222809088075781719, 3026418275283107840};
  EXPECT_THROW(d::validate_offsets(qembed::Indices(wild), 10, false), qembed::InvalidArgument);
}

}  // namespace
