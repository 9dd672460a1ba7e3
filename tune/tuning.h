// qembed-tune's pieces: the pipelines it tunes and their workloads, the search space and
// strategies, and the evaluation of one candidate (check against the scalar reference,
// then time it beside the build's own kernel).
#pragma once

#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "candidate_kernels.h"
#include "workload.h"

namespace qtune {

// A bag pipeline and the workloads it is tuned on (one workload class each).
struct Pipeline {
  PipelineSpec spec;
  int bits = 8;
  qembed::IndexType index_type = qembed::IndexType::Int64;
  bool max = false;
  std::vector<qbench::Workload> workloads;
};

// Groups workloads by the pipeline that serves them (format, index type, sum or max).
std::vector<Pipeline> pipelines_for(const std::vector<qbench::Workload>& workloads);
// The default workloads: the anchors' FBGEMM shapes (D 32, 128, 512) and TBE, 8 and 4
// bits, on `rows`-row tables.
std::vector<qbench::Workload> default_workloads(int64_t rows);
// Workloads from a file: one per line, `key=value` words (bits dim rows batch avg_len
// fixed_len index mode cold dist group), `#` comments. Throws naming the line.
std::vector<qbench::Workload> read_workloads(const std::string& path);

// One evaluated candidate.
struct Result {
  std::string pipeline;
  Knobs knobs;
  bool ok = false;
  std::string note;          // why it failed, or "guarded below the estimates"
  std::vector<double> us;    // per workload, microseconds per call
  double score = 0;          // geometric mean of time / the default's time (lower wins)
  double elapsed_s = 0;      // run time when it finished (for resuming)
  std::string line() const;  // the log line
  static bool parse(const std::string& line, Result* out);
};

// The largest per-workload ratio of `us` to `base` (how much the worst workload slowed).
double worst_ratio(const std::vector<double>& us, const std::vector<double>& base);

// The search space of a pipeline's candidates.
struct Space {
  std::vector<int> vectors_per_tile{1, 2, 4, 8, 16};
  std::vector<int> prefetch_distance{0, 8, 16, 32, 48, 64, 96, 128, 192, 256};
  std::vector<std::string> autoschedulers{"Adams2019", "Li2018", "Mullapudi2016"};
};

// Proposes the next candidate from what was evaluated so far; false when the space is
// exhausted. "hill": neighbours of the best point first (one knob one step), each
// autoscheduler once, random restarts when the neighbourhood is spent; "random": uniform
// over what is left.
bool propose(const std::string& strategy, const Space& space, const std::vector<Result>& done,
             int seed_vpt, std::mt19937& rng, Knobs* next);

// Checks and times candidates of one pipeline on this machine's kernel target.
class Evaluator {
 public:
  Evaluator(const Pipeline& p, KernelBuilder& builder, double seconds_per_workload);
  ~Evaluator();
  // The build's own kernel and prefetch distance: the reference point of every score.
  Result evaluate_default();
  Result evaluate(const Knobs& k);
  // Confirms a ranking against noise: times the default and `finalists` (checked before)
  // in alternation, `rounds` times, and rescores each finalist by the per-workload
  // medians against the default's medians.
  void confirm(Result* default_result, std::vector<Result*> finalists, int rounds);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace qtune
