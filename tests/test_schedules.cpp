// The schedule file (generators/schedule_file.h): its parser, and that the build's merged
// schedules reached the dispatch table (cmake/kernels.cmake reads prefetch_distance from
// the same file the generators read the kernel knobs from).
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <string>

#include "dispatch.h"
#include "schedule_file.h"

namespace {

namespace qd = qembed::detail;

TEST(ScheduleFile, ParsesEntriesAndSkipsComments) {
  qembed::sched::Entry e;
  EXPECT_FALSE(qembed::sched::parse_line("   # a comment", &e));
  EXPECT_FALSE(qembed::sched::parse_line("", &e));
  ASSERT_TRUE(qembed::sched::parse_line(
      "x86-64-linux-avx2-fma-f16c bag_sum_u8_row_int64 vectors_per_tile=8 prefetch_distance=48 "
      "# tuned",
      &e));
  EXPECT_EQ(e.target, "x86-64-linux-avx2-fma-f16c");
  EXPECT_EQ(e.pipeline, "bag_sum_u8_row_int64");
  EXPECT_EQ(e.get_int("vectors_per_tile", 0), 8);
  EXPECT_EQ(e.get_int("prefetch_distance", 0), 48);
  EXPECT_EQ(e.get_int("absent", 7), 7);
  EXPECT_EQ(qembed::sched::format(e),
            "x86-64-linux-avx2-fma-f16c bag_sum_u8_row_int64 prefetch_distance=48 "
            "vectors_per_tile=8");
}

TEST(ScheduleFile, RejectsMalformedLinesNamingTheLine) {
  qembed::sched::Entry e;
  EXPECT_THROW(qembed::sched::parse_line("x86-64-linux", &e), std::invalid_argument);
  EXPECT_THROW(qembed::sched::parse_line("x86-64-linux bag_sum_u8_row_int64 vpt", &e),
               std::invalid_argument);
  EXPECT_THROW(qembed::sched::parse_line("x86-64-linux bag_sum_u8_row_int64 =8", &e),
               std::invalid_argument);
  const std::string path = testing::TempDir() + "/bad_schedule.txt";
  {
    std::ofstream f(path);
    f << "# fine\nx86-64-linux embedding_f32_int32 vectors_per_tile=2\nx86-64-linux oops vpt\n";
  }
  try {
    qembed::sched::read(path);
    FAIL() << "a malformed schedule file was accepted";
  } catch (const std::runtime_error& err) {
    EXPECT_NE(std::string(err.what()).find(path + ":3:"), std::string::npos) << err.what();
  }
  std::remove(path.c_str());
}

TEST(ScheduleFile, DefaultVectorsPerTileByArchitecture) {
  // 8 on x86 (measured) and ARM (counted): generators/schedules.h; 4 on any other arch.
  EXPECT_EQ(qembed::sched::default_vectors_per_tile("x86-64-linux-avx2-fma-f16c"), 8);
  EXPECT_EQ(qembed::sched::default_vectors_per_tile("x86-64-linux"), 8);
  EXPECT_EQ(qembed::sched::default_vectors_per_tile("arm-64-linux"), 8);
  EXPECT_EQ(qembed::sched::default_vectors_per_tile("riscv-64-linux"), 4);
}

// Every entry of the merged schedule file the kernels were built with has its
// prefetch_distance (or the default, 64) in the dispatch table.
TEST(ScheduleFile, BuildSchedulesReachTheDispatchTable) {
  const auto entries = qembed::sched::read(QEMBED_SCHEDULE_FILE);
  const char* ops[] = {"embedding_", "bag_sum_", "bag_max_"};
  const char* itypes[] = {"int32", "int64"};
  int checked = 0;
  for (const qd::KernelSet& k : qd::all_kernel_sets()) {
    for (int op = 0; op < qd::kOpCount; ++op) {
      for (int f = 0; f < qd::kFormatCount; ++f) {
        for (int s = 0; s < 2; ++s) {
          const std::string pipeline =
              std::string(ops[op]) + qembed::fmt::kFormats[f].name + "_" + itypes[s];
          // The prepacked family has bag sums only (cmake/kernels.cmake).
          if (op != qd::kOp_bag_sum && qembed::fmt::prepacked(qembed::fmt::kFormats[f].layout)) {
            EXPECT_EQ(k.prefetch_distance[op][f][s], 0) << k.target << " " << pipeline;
            continue;
          }
          const auto* e = qembed::sched::find(entries, k.target, pipeline);
          const int want = e ? e->get_int("prefetch_distance", 64) : 64;
          EXPECT_EQ(k.prefetch_distance[op][f][s], want) << k.target << " " << pipeline;
          if (k.large != nullptr) {  // the large-addressing twin reads the same entry
            EXPECT_EQ(k.large->prefetch_distance[op][f][s], want) << k.target << " " << pipeline;
          }
          ++checked;
        }
      }
    }
  }
  int prepacked_formats = 0;
  for (const auto& f : qembed::fmt::kFormats) prepacked_formats += qembed::fmt::prepacked(f.layout);
  EXPECT_EQ(checked, static_cast<int>(qd::all_kernel_sets().size()) * 2 *
                         (3 * qd::kFormatCount - 2 * prepacked_formats));
}

}  // namespace
