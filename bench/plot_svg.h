// A dependency-free SVG line plot of the suite's rows/s against D.
#pragma once

#include <string>
#include <vector>

namespace qbench {

struct PlotPoint {
  std::string workload;  // Workload::name()
  std::string impl;      // qembed, roofline, reference, ...
  double rows_per_s = 0;
};

// Plots the FBGEMM-shape sweep (group fbgemm, plain cold uniform sums, int64): one series
// per (implementation, bit width), x = D on a log2 axis, y = million rows/s.
void write_rows_per_s_svg(const std::string& path, const std::vector<PlotPoint>& points);

}  // namespace qbench
