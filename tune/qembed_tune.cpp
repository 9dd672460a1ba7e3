// qembed-tune: searches schedule knobs (vectors per column tile, prefetch distance) and
// Halide's autoschedulers for the bag pipelines on this machine, checks every candidate
// against the scalar reference, times it beside the build's own kernel, and writes the
// winners as a schedule file the build consumes (cmake -DQEMBED_SCHEDULES=FILE).
//
//   qembed-tune --budget-seconds N --out FILE [--target T] [--workloads FILE] [--rows N]
//               [--strategy hill|random] [--seed N] [--log FILE] [--fresh]
//               [--csv FILE] [--svg FILE] [--work-dir DIR] [--seconds-per-workload S]
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "qembed/qembed.hpp"
#include "report.h"
#include "schedule_file.h"
#include "tuning.h"

namespace {

using Clock = std::chrono::steady_clock;

struct Options {
  double budget = 120;
  std::string out, target, workloads, strategy = "hill", log, csv, svg, work_dir;
  int64_t rows = 4000000;  // the anchors' table size
  unsigned seed = 1;
  bool fresh = false;
  double seconds_per_workload = 0.05;
};

[[noreturn]] void usage(const std::string& why) {
  std::fprintf(stderr,
               "qembed-tune: %s\n"
               "usage: qembed-tune --budget-seconds N --out FILE [--target T] [--workloads FILE]\n"
               "       [--rows N] [--strategy hill|random] [--seed N] [--log FILE] [--fresh]\n"
               "       [--csv FILE] [--svg FILE] [--work-dir DIR] [--seconds-per-workload S]\n",
               why.c_str());
  std::exit(2);
}

Options parse(int argc, char** argv) {
  Options o;
  bool have_budget = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) usage(a + " needs a value");
      return argv[++i];
    };
    auto number = [&](const std::string& v) {
      char* end = nullptr;
      const double x = std::strtod(v.c_str(), &end);
      if (end == v.c_str() || *end != '\0' || !(x > 0))
        usage(a + ": '" + v + "' is not a positive number");
      return x;
    };
    if (a == "--budget-seconds") {
      o.budget = number(value());
      have_budget = true;
    } else if (a == "--out") {
      o.out = value();
    } else if (a == "--target") {
      o.target = value();
    } else if (a == "--workloads") {
      o.workloads = value();
    } else if (a == "--rows") {
      o.rows = static_cast<int64_t>(number(value()));
    } else if (a == "--strategy") {
      o.strategy = value();
      if (o.strategy != "hill" && o.strategy != "random")
        usage("--strategy must be hill or random");
    } else if (a == "--seed") {
      o.seed = static_cast<unsigned>(number(value()));
    } else if (a == "--log") {
      o.log = value();
    } else if (a == "--fresh") {
      o.fresh = true;
    } else if (a == "--csv") {
      o.csv = value();
    } else if (a == "--svg") {
      o.svg = value();
    } else if (a == "--work-dir") {
      o.work_dir = value();
    } else if (a == "--seconds-per-workload") {
      o.seconds_per_workload = number(value());
    } else if (a == "--help" || a == "-h") {
      usage("tunes the bag kernels' schedules for this machine");
    } else {
      usage("unknown argument '" + a + "'");
    }
  }
  if (!have_budget) usage("--budget-seconds is required");
  if (o.out.empty()) usage("--out is required");
  if (o.log.empty()) o.log = o.out + ".log";
  if (o.csv.empty()) o.csv = o.out + ".csv";
  if (o.svg.empty()) o.svg = o.out + ".svg";
  if (o.work_dir.empty()) o.work_dir = o.out + ".work";
  return o;
}

// One line of progress: a bar, elapsed / budget, the ETA, what is running.
void progress(double elapsed, double budget, const std::string& what) {
  const int width = 30;
  const double f = std::min(1.0, elapsed / budget);
  const int fill = static_cast<int>(f * width);
  std::string bar(static_cast<size_t>(fill), '#');
  bar.resize(width, '-');
  const bool tty = isatty(fileno(stderr));
  std::fprintf(stderr, "%s[%s] %3.0f%% %4.0fs/%.0fs ETA %3.0fs  %-60.60s%s", tty ? "\r" : "",
               bar.c_str(), 100 * f, elapsed, budget, std::max(0.0, budget - elapsed), what.c_str(),
               tty ? "" : "\n");
  std::fflush(stderr);
}

}  // namespace

int main(int argc, char** argv) {
  const Options o = parse(argc, argv);
  const auto start = Clock::now();
  auto elapsed = [&] { return std::chrono::duration<double>(Clock::now() - start).count(); };
  try {
    const auto out_dir = std::filesystem::path(o.out).parent_path();
    if (!out_dir.empty()) std::filesystem::create_directories(out_dir);
    if (!o.target.empty()) qembed::set_kernel_target(o.target);
    const std::string target = qembed::kernel_target();
    const std::vector<qbench::Workload> workloads =
        o.workloads.empty() ? qtune::default_workloads(o.rows) : qtune::read_workloads(o.workloads);
    const std::vector<qtune::Pipeline> pipes = qtune::pipelines_for(workloads);
    std::fprintf(stderr,
                 "qembed-tune: target %s, %zu pipelines, %zu workloads, budget %.0f s, %s search\n",
                 target.c_str(), pipes.size(), workloads.size(), o.budget, o.strategy.c_str());

    // Resume: every candidate the log holds counts as done, and its time as spent.
    std::map<std::string, std::vector<qtune::Result>> results;
    double resumed_s = 0;
    if (!o.fresh) {
      std::ifstream in(o.log);
      std::string line;
      int n = 0;
      while (std::getline(in, line)) {
        qtune::Result r;
        if (line.rfind("# target ", 0) == 0 && line.substr(9) != target) {
          throw std::runtime_error("log " + o.log + " is for " + line.substr(9) + ", not " +
                                   target + " (use --fresh or another --log)");
        }
        if (line.empty() || line[0] == '#' || !qtune::Result::parse(line, &r)) continue;
        auto& v = results[r.pipeline];  // a later line (a confirmation) replaces an earlier one
        auto same = std::find_if(v.begin(), v.end(), [&](const qtune::Result& x) {
          return x.knobs.key() == r.knobs.key();
        });
        if (same != v.end())
          *same = r;
        else
          v.push_back(r);
        resumed_s = std::max(resumed_s, r.elapsed_s);
        ++n;
      }
      if (n > 0)
        std::fprintf(stderr, "qembed-tune: resuming %d candidates (%.0f s) from %s\n", n, resumed_s,
                     o.log.c_str());
    }
    std::ofstream log(o.log, o.fresh || results.empty() ? std::ios::trunc : std::ios::app);
    if (o.fresh || results.empty()) log << "# target " << target << "\n";
    auto spent = [&] { return resumed_s + elapsed(); };

    qtune::KernelBuilder builder(o.work_dir, target);
    const qtune::Space space;
    std::mt19937 rng(o.seed);
    const int seed_vpt = qembed::sched::default_vectors_per_tile(target);
    for (size_t pi = 0; pi < pipes.size(); ++pi) {
      const qtune::Pipeline& p = pipes[pi];
      // Each pipeline gets an equal share of what is left.
      const double share = (o.budget - spent()) / static_cast<double>(pipes.size() - pi);
      const double stop_at = spent() + share;
      progress(spent(), o.budget, p.spec.name + ": preparing workloads");
      qtune::Evaluator ev(p, builder, o.seconds_per_workload);
      auto& done = results[p.spec.name];
      // The default is re-timed every run (timings from another run are not comparable).
      done.erase(
          std::remove_if(done.begin(), done.end(),
                         [](const qtune::Result& r) { return r.knobs.scheduler == "default"; }),
          done.end());
      const double t0 = spent();
      qtune::Result base = ev.evaluate_default();
      base.elapsed_s = spent();
      // Keep time to confirm the finalists: 3 rounds of the default and 5 finalists.
      const int rounds = 3;
      const size_t finalists = 5;
      const double reserve = rounds * (finalists + 1) * (spent() - t0);
      log << base.line() << "\n" << std::flush;
      done.insert(done.begin(), base);
      qtune::Knobs next;
      while (spent() < stop_at - reserve &&
             qtune::propose(o.strategy, space, done, seed_vpt, rng, &next)) {
        double best = 1.0;
        for (const auto& r : done) {
          if (r.ok) best = std::min(best, r.score);
        }
        progress(spent(), o.budget,
                 p.spec.name + " " + qtune::describe(next) + " (best " +
                     std::to_string(best).substr(0, 5) + "x)");
        qtune::Result r = ev.evaluate(next);
        r.elapsed_s = spent();
        log << r.line() << "\n" << std::flush;
        done.push_back(r);
      }
      // Rank the checked manual candidates, then re-time the best against the default in
      // alternation, so that the winner is not a lucky sample.
      // Finalists: the best geometric means among candidates that slowed no workload by
      // more than 5% in the search (a single sample), then the best of the rest.
      std::vector<qtune::Result*> ranked;
      for (auto& r : done) {
        if (r.ok && r.knobs.scheduler == "manual") ranked.push_back(&r);
      }
      const std::vector<double> base_us = done.front().us;
      auto within = [&](const qtune::Result* r, double limit) {
        return qtune::worst_ratio(r->us, base_us) <= limit;
      };
      std::sort(ranked.begin(), ranked.end(), [&](auto* a, auto* b) {
        const bool wa = within(a, 1.05), wb = within(b, 1.05);
        return wa != wb ? wa : a->score < b->score;
      });
      if (ranked.size() > finalists) ranked.resize(finalists);
      if (!ranked.empty()) {
        progress(spent(), o.budget, p.spec.name + ": confirming the finalists");
        ev.confirm(&done.front(), ranked, rounds);
        for (auto* r : ranked) log << r->line() << "\n";
        log << std::flush;
      }
    }
    progress(spent(), o.budget, "done");
    std::fprintf(stderr, "\n");

    qtune::ReportInfo info{o.out,      o.csv,       o.svg,    o.log, target,
                           o.strategy, o.workloads, o.budget, o.rows};
    qtune::write_report(info, pipes, results);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "\nqembed-tune: %s\n", e.what());
    return 1;
  }
  return 0;
}
