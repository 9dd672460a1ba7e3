// The benchmark suite (Google Benchmark): the anchor workloads of
// ../shared/spec/performance-anchors.md, each run by qembed and by the roofline loop on
// the same data (and by the reference-module path where it fits), then a summary of the
// ratios, a CSV and an SVG plot (rows/s against D).
//   qembed_bench [--rows=N] [--csv=FILE] [--svg=FILE] [--quick] [--mt-threads=1,4,...]
//                [--rounds=N] [--paired] [benchmark flags]
// --rows scales the 4M-row tables (memory: rows x (D + 8) bytes twice, plus the float
// table while quantizing); --quick runs a small subset; --mt-threads also runs the
// multi-thread workloads on each thread count listed (a scaling sweep); --rounds=N times
// each workload's qembed and baselines N times, alternating, and the summary takes each
// one's fastest round (a machine whose memory bandwidth drifts moves both alike).
// --paired times each single-thread workload's qembed and roofline call by call in turn
// (qembed on one index set, the roofline on the next, so neither finds the other's rows
// cached) and takes each one's median call: both sample the same seconds of a drifting
// machine, not two benchmarks a second apart.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "plot_svg.h"
#include "workload.h"

namespace {

using qbench::Prepared;
using qbench::Workload;

// The prepared data of the workload being run (qembed and its baselines share it, and so
// do runs of one workload on different thread counts).
Prepared& prepared(const Workload& w) {
  static std::unique_ptr<Prepared> current;
  static std::string current_name;
  Workload data = w;
  data.threads = -1;
  if (!current || current_name != data.name()) {
    current.reset();  // free the previous tables first
    current = std::make_unique<Prepared>(w);
    current_name = data.name();
    const int64_t bad = current->verify(0);
    if (bad > 0) {
      std::fprintf(stderr, "%s: qembed output differs from the table in %lld floats\n",
                   current_name.c_str(), static_cast<long long>(bad));
      std::exit(1);
    }
  }
  current->set_threads(w.threads);
  return *current;
}

// What a run's data was: cold only where the rows touched really exceed the cache. Where
// most entries repeat rows of the cycle (Zipf: under half distinct), the share of distinct
// ones too: the rest come from the cache, so such a run is not DRAM-bound throughout.
std::string label_of(const Workload& w, const Prepared& p) {
  std::string label = w.cold ? (p.really_cold() ? "cold" : "cold-impossible(fits LLC)") : "warm";
  if (w.cold && p.distinct_share() < 0.5) {
    char share[64];
    std::snprintf(share, sizeof share, " %.0f%% distinct rows", 100.0 * p.distinct_share());
    label += share;
  }
  return label;
}

void run(benchmark::State& state, const Workload& w, const std::string& impl) {
  Prepared& p = prepared(w);
  qembed::set_num_threads(w.threads);
  size_t call = 0;
  // One pass over every index set first: page faults and the thread pool are set up.
  for (size_t i = 0; i < p.num_sets(); ++i) {
    impl == "qembed"     ? p.run_qembed(i)
    : impl == "roofline" ? p.run_roofline(i)
                         : p.run_reference(i);
  }
  for (auto _ : state) {
    if (impl == "qembed") {
      p.run_qembed(call++);
    } else if (impl == "roofline") {
      p.run_roofline(call++);
    } else {
      p.run_reference(call++);
    }
  }
  const double n = static_cast<double>(state.iterations());
  state.counters["rows/s"] = benchmark::Counter(p.rows_per_call() * n, benchmark::Counter::kIsRate);
  state.counters["GB/s"] = benchmark::Counter(
      p.lines_per_call() * 64.0 * n, benchmark::Counter::kIsRate, benchmark::Counter::kIs1000);
  state.counters["sets"] = static_cast<double>(p.num_sets());
  // The process's memory in huge pages beside the two tables' size: whether the tables
  // got them (other memory, such as a small table's float copy, counts too).
  const int64_t huge = qbench::huge_page_bytes();
  if (huge >= 0) state.counters["hugeMB"] = static_cast<double>(huge >> 20);
  state.counters["tablesMB"] = static_cast<double>(p.table_bytes() >> 20);
  state.SetLabel(label_of(w, p));
  qembed::set_num_threads(0);
}

// qembed and the roofline in turn, one call each, each call timed alone; the counters
// carry each one's median call (Collector splits them into two results).
void run_paired(benchmark::State& state, const Workload& w) {
  using Clock = std::chrono::steady_clock;
  Prepared& p = prepared(w);
  qembed::set_num_threads(w.threads);
  for (size_t i = 0; i < p.num_sets(); ++i) {
    p.run_qembed(i);
    p.run_roofline(i);
  }
  std::vector<double> q_us, r_us;
  size_t call = 0;
  for (auto _ : state) {
    const auto t0 = Clock::now();
    p.run_qembed(call++);
    const auto t1 = Clock::now();
    p.run_roofline(call++);
    const auto t2 = Clock::now();
    q_us.push_back(std::chrono::duration<double, std::micro>(t1 - t0).count());
    r_us.push_back(std::chrono::duration<double, std::micro>(t2 - t1).count());
  }
  auto median = [](std::vector<double>& v) {
    std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(v.size() / 2), v.end());
    return v[v.size() / 2];
  };
  state.counters["qembed_us"] = median(q_us);
  state.counters["roofline_us"] = median(r_us);
  state.counters["rows_per_call"] = p.rows_per_call();
  state.counters["lines_per_call"] = p.lines_per_call();
  state.counters["sets"] = static_cast<double>(p.num_sets());
  state.SetLabel(label_of(w, p));
  qembed::set_num_threads(0);
}

struct Result {
  double us = 0, rows_per_s = 0, gbps = 0;
  std::string label;
};

// Console output as usual, plus every run's figures kept for the summary.
class Collector : public benchmark::ConsoleReporter {
 public:
  Collector() : ConsoleReporter(OO_None) {}  // plain text: the output is often a log file
  std::map<std::string, std::map<std::string, Result>> results;  // workload -> impl -> result
  void ReportRuns(const std::vector<Run>& runs) override {
    ConsoleReporter::ReportRuns(runs);
    for (const Run& r : runs) {
      if (r.run_type != Run::RT_Iteration || r.iterations == 0) continue;
      const std::string name = r.benchmark_name();
      const auto slash = name.rfind("/impl:");
      if (slash == std::string::npos) continue;
      std::string impl = name.substr(slash + 6);
      impl = impl.substr(0, impl.find('/'));
      auto keep = [&](const std::string& which, const Result& res) {
        auto [it, first] = results[name.substr(0, slash)].try_emplace(which, res);
        if (!first && res.us < it->second.us) it->second = res;  // the fastest round counts
      };
      if (impl == "paired") {
        for (const char* which : {"qembed", "roofline"}) {
          Result res;
          res.us = r.counters.at(std::string(which) + "_us");
          res.rows_per_s = r.counters.at("rows_per_call") / res.us * 1e6;
          res.gbps = r.counters.at("lines_per_call") * 64.0 / res.us / 1e3;
          res.label = r.report_label;
          keep(which, res);
        }
        continue;
      }
      Result res;
      res.us = r.real_accumulated_time / static_cast<double>(r.iterations) * 1e6;
      res.rows_per_s = r.counters.at("rows/s");
      res.gbps = r.counters.at("GB/s") / 1e9;
      res.label = r.report_label;
      keep(impl, res);
    }
  }
};

std::string flag_value(int& argc, char** argv, const char* flag) {
  const size_t n = std::strlen(flag);
  for (int i = 1; i < argc; ++i) {
    if (std::strncmp(argv[i], flag, n) == 0) {
      std::string v = argv[i] + n;
      for (int j = i; j + 1 < argc; ++j) argv[j] = argv[j + 1];
      --argc;
      return v.empty() ? "1" : v;
    }
  }
  return "";
}

}  // namespace

int main(int argc, char** argv) {
  const std::string rows_flag = flag_value(argc, argv, "--rows=");
  const std::string csv = flag_value(argc, argv, "--csv=");
  const std::string svg = flag_value(argc, argv, "--svg=");
  const bool quick = !flag_value(argc, argv, "--quick").empty();
  const std::string mt_threads = flag_value(argc, argv, "--mt-threads=");
  const std::string rounds_flag = flag_value(argc, argv, "--rounds=");
  const bool paired = !flag_value(argc, argv, "--paired").empty();
  const int64_t big_rows = rows_flag.empty() ? 4000000 : std::stoll(rows_flag);
  const int rounds = rounds_flag.empty() ? 1 : std::atoi(rounds_flag.c_str());
  if (rounds < 1) {
    std::fprintf(stderr, "--rounds: '%s' is not a count >= 1\n", rounds_flag.c_str());
    return 2;
  }

  std::vector<Workload> workloads;
  for (const Workload& w : qbench::anchor_workloads(big_rows, quick)) {
    workloads.push_back(w);
    // A thread-scaling sweep: the multi-thread workloads again on each count given.
    if (w.group != "mt" || mt_threads.empty()) continue;
    std::stringstream list(mt_threads);
    for (std::string item; std::getline(list, item, ',');) {
      Workload t = w;
      t.threads = std::stoi(item);
      if (t.threads < 1) {
        std::fprintf(stderr, "--mt-threads: '%s' is not a thread count >= 1\n", item.c_str());
        return 2;
      }
      workloads.push_back(t);
    }
  }
  // Each workload's runs in a row (they share its prepared tables), alternating per round.
  auto add = [rounds, paired](const Workload& w, const char* baseline) {
    // Paired runs serve single-thread roofline workloads: threaded ones would put the
    // roofline's OpenMP threads, still spinning after their loop, beside qembed's pool.
    const bool pair = paired && w.threads == 1 && std::strcmp(baseline, "roofline") == 0;
    for (int round = 1; round <= rounds; ++round) {
      if (pair) {
        std::string name = w.name() + "/impl:paired";
        if (rounds > 1) name += "/round:" + std::to_string(round);
        benchmark::RegisterBenchmark(name.c_str(), [w](benchmark::State& s) { run_paired(s, w); })
            ->UseRealTime()
            ->Unit(benchmark::kMicrosecond);
        continue;
      }
      for (const char* impl : {"qembed", baseline}) {
        std::string name = w.name() + "/impl:" + impl;
        if (rounds > 1) name += "/round:" + std::to_string(round);
        benchmark::RegisterBenchmark(name.c_str(),
                                     [w, impl](benchmark::State& s) { run(s, w, impl); })
            ->UseRealTime()
            ->Unit(benchmark::kMicrosecond);
      }
    }
  };
  for (const Workload& w : workloads) add(w, "roofline");
  add(qbench::reference_workload(), "reference");

  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  std::printf("qembed_bench: kernels %s, last-level cache %zu MB\n",
              qembed::kernel_target().c_str(), qbench::last_level_cache_bytes() >> 20);
  Collector collector;
  benchmark::RunSpecifiedBenchmarks(&collector);
  benchmark::Shutdown();

  // Summary: qembed against its baselines, measured in this one run.
  std::printf("\n%-72s %10s %10s %8s %10s %12s\n", "workload", "qembed us", "M rows/s", "GB/s",
              "baseline us", "time/base");
  std::FILE* f = csv.empty() ? nullptr : std::fopen(csv.c_str(), "w");
  if (f)
    std::fprintf(
        f,
        "workload,label,qembed_us,qembed_rows_per_s,qembed_GBps,baseline,baseline_us,ratio_time\n");
  std::vector<qbench::PlotPoint> points;
  for (const auto& [name, impls] : collector.results) {
    const auto q = impls.find("qembed");
    if (q == impls.end()) continue;
    for (const auto& [impl, res] : impls) {
      if (impl == "qembed") continue;
      const double ratio = q->second.us / res.us;
      char how[64];
      if (impl == "reference") {
        std::snprintf(how, sizeof how, "%.0fx faster", 1.0 / ratio);
      } else {
        std::snprintf(how, sizeof how, "%.3fx", ratio);
      }
      std::printf("%-72s %10.2f %10.2f %8.2f %10.2f %12s  %s (vs %s)\n", name.c_str(), q->second.us,
                  q->second.rows_per_s / 1e6, q->second.gbps, res.us, how, q->second.label.c_str(),
                  impl.c_str());
      if (f) {
        std::fprintf(f, "%s,%s,%.3f,%.0f,%.3f,%s,%.3f,%.4f\n", name.c_str(),
                     q->second.label.c_str(), q->second.us, q->second.rows_per_s, q->second.gbps,
                     impl.c_str(), res.us, ratio);
      }
    }
    for (const auto& [impl, res] : impls) points.push_back({name, impl, res.rows_per_s});
  }
  if (f) std::fclose(f);
  if (!svg.empty()) qbench::write_rows_per_s_svg(svg, points);
  return 0;
}
