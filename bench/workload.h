// Benchmark workloads shared by qembed_bench (the full suite) and qembed_demo (the main
// job's short table): a quantized table, index sets (warm or truly cold, uniform or Zipf),
// and three ways to run them on the same data:
//   qembed     the library's forward (public API, validation included);
//   roofline   a plain loop touching exactly the same rows (same bytes, same prefetch),
//              no arithmetic: the memory limit for this workload on this machine;
//   reference  PyTorch's reference-module path in plain C++: fake-quantize the whole
//              float table, then gather and reduce.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "formats.h"
#include "qembed/qembed.hpp"

namespace qbench {

enum class Dist { Uniform, Zipf };

struct Workload {
  std::string group;  // "fbgemm", "tbe", "mt", ... (the anchor it reproduces)
  int bits = 8;       // 8 (quint8 per-row), 4 (quint4x2 per-row) or 16 (float16, no qscheme)
  int64_t rows = 0, dim = 0, batch = 0, avg_len = 0;
  bool fixed_len = false;  // every bag exactly avg_len, else uniform in [1, 2 avg_len + 1]
  qembed::IndexType index_type = qembed::IndexType::Int64;
  qembed::Mode mode = qembed::Mode::Sum;
  bool weighted = false;  // per_sample_weights (sum only)
  int threads = 1;        // 0: every core
  bool cold = true;       // distinct index sets touching > 2x the last-level cache
  Dist dist = Dist::Uniform;
  // Rows as PyTorch's embedding_bag_{byte,4bit}_prepack lay them out, served by
  // EmbeddingBag::from_prepacked (the rowwise ops' numerics; sum only).
  bool prepacked = false;
  // Embedding lookups of every entry instead of bags (the bags only size the calls): the
  // `lookup` group, which qembed_calls counts; no roofline or reference path.
  bool lookup = false;

  std::string name() const;  // a stable, readable benchmark name
};

// The stored format a workload's table uses.
qembed::fmt::FormatId format_of(const Workload& w);

// The anchor workloads (../shared/spec/performance-anchors.md), one entry per workload
// and variant: FBGEMM's bench shape on `big_rows` rows (D sweep; warm, Zipf, int32, mean,
// max, weighted), TBE inference, multi-thread. `quick` keeps a small subset.
std::vector<Workload> anchor_workloads(int64_t big_rows, bool quick);
// Embedding lookups on the FBGEMM bench shape's calls (10 x ~100 entries, `big_rows`
// rows): 8-bit and 4-bit, D in {32, 128, 512}.
std::vector<Workload> lookup_workloads(int64_t big_rows);
// The reference-module path's workload: 100k x 128, 10 bags of ~100 (the anchor's).
Workload reference_workload();

// The last-level cache size of this machine, in bytes.
size_t last_level_cache_bytes();

// Bytes of this process's anonymous memory backed by transparent huge pages (Linux's
// /proc/self/smaps_rollup), or -1 where that is not readable: whether the tables, which
// ask for them, got them (a table in 4 KiB pages misses the TLB on nearly every row).
int64_t huge_page_bytes();

// One workload's data: the table (quantized by qembed, plus a same-geometry byte copy
// for the roofline), and the index sets a run cycles through.
class Prepared {
 public:
  explicit Prepared(const Workload& w);
  ~Prepared();

  void run_qembed(size_t call);
  void run_roofline(size_t call);
  void run_reference(size_t call);  // needs the float table: small tables only

  const Workload& workload() const { return w_; }
  // Threads of the calls that follow (0: every core); the data does not depend on them.
  void set_threads(int threads) { w_.threads = threads; }
  size_t num_sets() const;
  double rows_per_call() const { return rows_per_call_; }
  double lines_per_call() const { return lines_per_call_; }  // 64-byte lines touched
  int64_t row_bytes() const { return row_bytes_; }
  // Bytes of the two tables (qembed's stored rows and the roofline's copy).
  int64_t table_bytes() const { return 2 * w_.rows * row_bytes_; }
  // True when the table and the distinct rows the index sets touch exceed twice the
  // last-level cache.
  bool really_cold() const { return really_cold_; }
  // Distinct rows over entries in the sets a run cycles through: 1 when no entry repeats
  // a row, near 0 when a few hot rows take most entries (the rest hit the cache).
  double distinct_share() const { return distinct_share_; }
  // Checks qembed's output against the fake-quantized table, or for prepacked rows the
  // rowwise ops' formula on them (a sanity check that the timed calls compute what they
  // claim). Returns the number of differing floats, or -1 when the table is too large
  // to expand.
  int64_t verify(size_t call);

 private:
  struct Data;
  Workload w_;
  std::unique_ptr<Data> d_;
  int64_t row_bytes_ = 0;
  double rows_per_call_ = 0, lines_per_call_ = 0;
  double distinct_share_ = 0;
  bool really_cold_ = false;
};

// Mean seconds per call of f(call) over at least min_seconds (and at least min_calls),
// after one warm-up pass over every index set.
template <typename F>
double seconds_per_call(F&& f, size_t warmup_calls, double min_seconds, size_t min_calls);

}  // namespace qbench

#include "workload_timing.h"
