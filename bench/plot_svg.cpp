#include "plot_svg.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>

namespace qbench {

void write_rows_per_s_svg(const std::string& path, const std::vector<PlotPoint>& points) {
  // fbgemm/<bits>bit/D<d>/.../i64/sum/cold/uniform/t1 (parsed by hand: std::regex
  // trips GCC 12's -Wmaybe-uninitialized inside libstdc++ in sanitizer builds)
  const std::string suffix = "/i64/sum/cold/uniform/t1";
  std::map<std::string, std::map<int, double>> series;  // "impl, N-bit" -> D -> M rows/s
  double ymax = 0;
  for (const PlotPoint& p : points) {
    const std::string& w = p.workload;
    int bits = 0, d = 0;
    if (std::sscanf(w.c_str(), "fbgemm/%dbit/D%d/", &bits, &d) != 2) continue;
    if (w.size() < suffix.size() || w.compare(w.size() - suffix.size(), suffix.size(), suffix)) {
      continue;
    }
    const double y = p.rows_per_s / 1e6;
    series[p.impl + ", " + std::to_string(bits) + "-bit"][d] = y;
    ymax = std::max(ymax, y);
  }
  std::FILE* f = std::fopen(path.c_str(), "w");
  if (f == nullptr || series.empty()) {
    if (f) std::fclose(f);
    std::fprintf(stderr, "plot: nothing to plot or cannot write %s\n", path.c_str());
    return;
  }
  const double W = 720, H = 440, L = 70, R = 200, T = 30, B = 50;
  const double xmin = std::log2(32.0), xmax = std::log2(512.0);
  ymax = ymax > 0 ? ymax * 1.1 : 1;
  auto px = [&](int d) { return L + (std::log2(d) - xmin) / (xmax - xmin) * (W - L - R); };
  auto py = [&](double y) { return H - B - y / ymax * (H - T - B); };
  std::fprintf(f,
               "<svg xmlns='http://www.w3.org/2000/svg' width='%.0f' height='%.0f' "
               "font-family='sans-serif' font-size='12'>\n<rect width='100%%' height='100%%' "
               "fill='white'/>\n",
               W, H);
  std::fprintf(f,
               "<text x='%.0f' y='18'>EmbeddingBag sum, 10 bags x ~100 rows, cold, 1 thread: M "
               "rows/s vs D</text>\n",
               L);
  std::fprintf(f, "<line x1='%.0f' y1='%.0f' x2='%.0f' y2='%.0f' stroke='black'/>\n", L, H - B,
               W - R, H - B);
  std::fprintf(f, "<line x1='%.0f' y1='%.0f' x2='%.0f' y2='%.0f' stroke='black'/>\n", L, T, L,
               H - B);
  for (int d = 32; d <= 512; d *= 2) {
    std::fprintf(f, "<text x='%.1f' y='%.0f' text-anchor='middle'>%d</text>\n", px(d), H - B + 16,
                 d);
  }
  std::fprintf(f, "<text x='%.0f' y='%.0f' text-anchor='middle'>D</text>\n", (L + W - R) / 2,
               H - 12);
  for (int i = 0; i <= 5; ++i) {
    const double y = ymax * i / 5;
    std::fprintf(f, "<text x='%.0f' y='%.1f' text-anchor='end'>%.0f</text>\n", L - 6, py(y) + 4, y);
    std::fprintf(f, "<line x1='%.0f' y1='%.1f' x2='%.0f' y2='%.1f' stroke='#ddd'/>\n", L, py(y),
                 W - R, py(y));
  }
  const char* colors[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b"};
  int k = 0;
  for (const auto& [name, pts] : series) {
    const char* c = colors[k % 6];
    const bool dashed = name.find("qembed") == std::string::npos;
    std::fprintf(f, "<polyline fill='none' stroke='%s' stroke-width='2'%s points='", c,
                 dashed ? " stroke-dasharray='6,4'" : "");
    for (const auto& [d, y] : pts) std::fprintf(f, "%.1f,%.1f ", px(d), py(y));
    std::fprintf(f, "'/>\n");
    for (const auto& [d, y] : pts)
      std::fprintf(f, "<circle cx='%.1f' cy='%.1f' r='3' fill='%s'/>\n", px(d), py(y), c);
    std::fprintf(f,
                 "<line x1='%.0f' y1='%.0f' x2='%.0f' y2='%.0f' stroke='%s' stroke-width='2'%s/>\n",
                 W - R + 15, T + 20.0 * k + 10, W - R + 40, T + 20.0 * k + 10, c,
                 dashed ? " stroke-dasharray='6,4'" : "");
    std::fprintf(f, "<text x='%.0f' y='%.0f'>%s</text>\n", W - R + 45, T + 20.0 * k + 14,
                 name.c_str());
    ++k;
  }
  std::fprintf(f, "<text x='%.0f' y='%.0f'>M rows/s</text>\n</svg>\n", 8.0, T - 8);
  std::fclose(f);
}

}  // namespace qbench
