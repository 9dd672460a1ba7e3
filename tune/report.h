// qembed-tune's outputs: the schedule file (the winners, which the build reads), a table
// per pipeline on stdout, a CSV of every candidate and workload, and an SVG of the scores.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "tuning.h"

namespace qtune {

struct ReportInfo {
  std::string out, csv, svg, log, target, strategy, workloads;
  double budget = 0;
  int64_t rows = 0;
};

// "vpt=8 pd=64", "Adams2019", "default (build)".
std::string describe(const Knobs& k);

// Picks each pipeline's winner (a confirmed finalist that beat the default's geometric
// mean by > 3% and slowed no workload by > 2%, else the default) and writes every output.
void write_report(const ReportInfo& info, const std::vector<Pipeline>& pipes,
                  std::map<std::string, std::vector<Result>>& results);

}  // namespace qtune
