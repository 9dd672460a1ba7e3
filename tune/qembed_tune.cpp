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
#include <cmath>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "qembed/qembed.hpp"
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

std::string describe(const qtune::Knobs& k) {
  if (k.scheduler == "default") return "default (build)";
  if (k.scheduler != "manual") return k.scheduler;
  return "vpt=" + std::to_string(k.vectors_per_tile) + " pd=" + std::to_string(k.prefetch_distance);
}

// Score bars per pipeline, one bar per candidate in search order (1.0 = the default).
void write_svg(const std::string& path, const std::vector<qtune::Pipeline>& pipes,
               const std::map<std::string, std::vector<qtune::Result>>& results) {
  const int w = 900, row_h = 170, left = 60;
  std::ofstream f(path);
  f << "<svg xmlns='http://www.w3.org/2000/svg' width='" << w << "' height='"
    << row_h * pipes.size() + 30 << "' font-family='sans-serif' font-size='11'>\n";
  f << "<text x='10' y='16'>qembed-tune: time / default time per candidate, in search "
       "order (lower is better; grey: the build's kernel, blue: manual schedules, green: "
       "autoschedulers, red: failed its check or could not compile)</text>\n";
  for (size_t pi = 0; pi < pipes.size(); ++pi) {
    const auto it = results.find(pipes[pi].spec.name);
    if (it == results.end()) continue;
    const auto& rs = it->second;
    const int y0 = 30 + static_cast<int>(pi) * row_h, h = row_h - 40;
    double top = 1.5;
    for (const auto& r : rs) {
      if (r.ok) top = std::max(top, std::min(r.score, 4.0));
    }
    const double bw = (w - left - 10) / std::max<double>(1, static_cast<double>(rs.size()));
    f << "<text x='" << left << "' y='" << y0 + 12 << "'>" << pipes[pi].spec.name << "</text>\n";
    const double y1 = y0 + 20 + h - h / top;
    f << "<line x1='" << left << "' x2='" << w - 10 << "' y1='" << y1 << "' y2='" << y1
      << "' stroke='black' stroke-dasharray='4'/>\n<text x='5' y='" << y1 + 4 << "'>1.0x</text>\n";
    for (size_t i = 0; i < rs.size(); ++i) {
      const double s = rs[i].ok ? std::min(rs[i].score, top) : top;
      const double bh = h * s / top;
      f << "<rect x='" << left + bw * static_cast<double>(i) << "' y='" << y0 + 20 + h - bh
        << "' width='" << std::max(1.0, bw - 1) << "' height='" << bh << "' fill='"
        << (!rs[i].ok                           ? "#d62728"
            : rs[i].knobs.scheduler == "manual" ? "#1f77b4"
                                                : "#2ca02c")
        << "'><title>" << describe(rs[i].knobs) << ": " << rs[i].score << "</title></rect>\n";
    }
  }
  f << "</svg>\n";
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
    const int seed_vpt = target.rfind("x86", 0) == 0 ? 8 : 4;
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
                 p.spec.name + " " + describe(next) + " (best " +
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

    // Report and schedule file.
    std::ofstream out(o.out), csv(o.csv);
    if (!out || !csv) throw std::runtime_error("cannot write " + o.out + " or " + o.csv);
    char date[64];
    const std::time_t now = std::time(nullptr);
    std::strftime(date, sizeof date, "%Y-%m-%d %H:%M UTC", std::gmtime(&now));
    out << "# qembed schedules, written by qembed-tune on " << date << "\n# target " << target
        << "; budget " << o.budget << " s; " << o.strategy << " search; rows " << o.rows
        << (o.workloads.empty() ? "" : "; workloads " + o.workloads) << "\n"
        << "# <target> <pipeline> knobs... (generators/schedule_file.h). speedup = the default's\n"
        << "# time / the winner's (geometric mean over the pipeline's workloads).\n";
    csv << "pipeline,candidate,scheduler,vectors_per_tile,prefetch_distance,ok,score,workload,us,"
           "note\n";
    int auto_tried = 0, auto_ok = 0, auto_won = 0;
    for (const qtune::Pipeline& p : pipes) {
      const auto& rs = results[p.spec.name];
      // The winner: the confirmed finalist with the best geometric mean that beat the
      // default by more than 1% and slowed no workload by more than 2% (search-phase
      // scores are single samples against a default timed once), else the default.
      auto confirmed = [](const qtune::Result& r) { return r.note.rfind("confirmed", 0) == 0; };
      const qtune::Result* best = &rs.front();
      const qtune::Result* best_auto = nullptr;
      for (const auto& r : rs) {
        const bool autosched = r.knobs.scheduler != "manual" && r.knobs.scheduler != "default";
        if (autosched) {
          ++auto_tried;
          auto_ok += r.ok;
          if (r.ok && (!best_auto || r.score < best_auto->score)) best_auto = &r;
        }
        if (r.ok && confirmed(r) && r.score < 0.99 && r.score < best->score &&
            qtune::worst_ratio(r.us, rs.front().us) <= 1.02) {
          best = &r;
        }
        if (!r.ok) continue;
        for (size_t i = 0; i < r.us.size() && i < p.workloads.size(); ++i) {
          csv << p.spec.name << "," << describe(r.knobs) << "," << r.knobs.scheduler << ","
              << r.knobs.vectors_per_tile << "," << r.knobs.prefetch_distance << ",1," << r.score
              << "," << p.workloads[i].name() << "," << r.us[i] << "," << r.note << "\n";
        }
      }
      for (const auto& r : rs) {
        if (!r.ok) {
          std::string n = r.note;
          std::replace(n.begin(), n.end(), ',', ';');
          csv << p.spec.name << "," << describe(r.knobs) << "," << r.knobs.scheduler << ","
              << r.knobs.vectors_per_tile << "," << r.knobs.prefetch_distance << ",0,,,,\"" << n
              << "\"\n";
        }
      }
      if (best_auto && best_auto->score < best->score) ++auto_won;

      std::printf("\n%s (%zu candidates, %zu workloads)\n", p.spec.name.c_str(), rs.size(),
                  p.workloads.size());
      std::printf("  %-26s %12s %10s  %s\n", "candidate", "geomean us", "vs default", "status");
      std::vector<const qtune::Result*> sorted;
      for (const auto& r : rs) sorted.push_back(&r);
      // Confirmed finalists and the default first, then the search samples.
      auto rank = [&](const qtune::Result* r) {
        return !r->ok ? 2 : (confirmed(*r) || r == &rs.front()) ? 0 : 1;
      };
      std::stable_sort(sorted.begin(), sorted.end(), [&](auto* a, auto* b) {
        return rank(a) != rank(b) ? rank(a) < rank(b) : a->score < b->score;
      });
      for (size_t i = 0; i < sorted.size() && i < 12; ++i) {
        const qtune::Result& r = *sorted[i];
        double gm = 0;
        for (double u : r.us) gm += std::log(u);
        gm = r.us.empty() ? 0 : std::exp(gm / static_cast<double>(r.us.size()));
        std::printf(
            "  %-26s %12.2f %9.3fx  %s\n", describe(r.knobs).c_str(), gm,
            r.ok ? 1.0 / r.score : 0.0,
            r.ok ? (r.note.empty() ? (&r == &rs.front() ? "the build's kernel" : "search sample")
                                   : r.note.substr(0, 60).c_str())
                 : ("FAILED: " + r.note.substr(0, 70)).c_str());
      }
      if (sorted.size() > 12)
        std::printf("  ... %zu more in %s\n", sorted.size() - 12, o.csv.c_str());
      for (size_t i = 0; i < p.workloads.size(); ++i) {
        std::printf("    %-70s default %9.2f us, winner %9.2f us\n", p.workloads[i].name().c_str(),
                    rs.front().us[i], best->us.empty() ? 0.0 : best->us[i]);
      }

      // The build compiles manual schedules: an autoscheduler that beat the winner in the
      // search is recorded as a comment.
      if (best_auto && best_auto->score < best->score) {
        out << "# " << p.spec.name << ": " << best_auto->knobs.scheduler << " scored "
            << 1.0 / best_auto->score << "x in the search (unconfirmed); the build compiles "
            << "manual schedules only\n";
      }
      const qtune::Result* entry = best != &rs.front() ? best : nullptr;
      qembed::sched::Entry e;
      e.target = target.substr(0, target.find("-no_runtime"));
      e.pipeline = p.spec.name;
      if (entry != nullptr) {
        e.knobs["vectors_per_tile"] = std::to_string(entry->knobs.vectors_per_tile);
        e.knobs["prefetch_distance"] = std::to_string(entry->knobs.prefetch_distance);
        e.knobs["speedup"] = std::to_string(1.0 / entry->score).substr(0, 5);
        out << qembed::sched::format(e) << "\n";
      } else {
        out << "# " << p.spec.name << ": no candidate beat the build's default by 1% without "
            << "slowing a workload by 2%; it stays\n";
      }
      for (size_t i = 0; i < p.workloads.size(); ++i) {
        out << "#   " << p.workloads[i].name() << ": default " << rs.front().us[i] << " us";
        if (entry != nullptr) out << ", tuned " << entry->us[i] << " us";
        out << "\n";
      }
    }
    std::printf("\nautoschedulers: %d tried, %d passed the check, %d won a pipeline\n", auto_tried,
                auto_ok, auto_won);
    write_svg(o.svg, pipes, results);
    std::printf("wrote %s, %s, %s (log %s)\n", o.out.c_str(), o.csv.c_str(), o.svg.c_str(),
                o.log.c_str());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "\nqembed-tune: %s\n", e.what());
    return 1;
  }
  return 0;
}
