#include "tuning.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <set>
#include <sstream>
#include <stdexcept>

#include "dispatch.h"
#include "workload_timing.h"

namespace qtune {

namespace qd = qembed::detail;

// ---- pipelines and workloads -------------------------------------------------------

std::vector<Pipeline> pipelines_for(const std::vector<qbench::Workload>& workloads) {
  std::vector<Pipeline> out;
  for (const qbench::Workload& w : workloads) {
    const bool max = w.mode == qembed::Mode::Max;
    const std::string format = qembed::fmt::format(qbench::format_of(w)).name;
    const std::string itype = w.index_type == qembed::IndexType::Int32 ? "int32" : "int64";
    const std::string name = std::string(max ? "bag_max_" : "bag_sum_") + format + "_" + itype;
    auto it = std::find_if(out.begin(), out.end(),
                           [&](const Pipeline& p) { return p.spec.name == name; });
    if (it == out.end()) {
      Pipeline p;
      p.spec = {name, "qembed_embedding_bag",
                "format=" + format + " index_type=" + itype + " mode=" + (max ? "max" : "sum")};
      p.bits = w.bits;
      p.index_type = w.index_type;
      p.max = max;
      out.push_back(p);
      it = out.end() - 1;
    }
    it->workloads.push_back(w);
  }
  return out;
}

std::vector<qbench::Workload> default_workloads(int64_t rows) {
  // A subset of the benchmark's anchors (one definition, bench/workload.cpp): the plain
  // FBGEMM shapes at D = 32, 128, 512, and TBE.
  std::vector<qbench::Workload> out;
  for (const qbench::Workload& w : qbench::anchor_workloads(rows, false)) {
    const bool plain = w.cold && w.dist == qbench::Dist::Uniform && !w.weighted && !w.prepacked &&
                       w.mode == qembed::Mode::Sum && w.index_type == qembed::IndexType::Int64;
    const bool fbgemm = w.group == "fbgemm" && (w.dim == 32 || w.dim == 128 || w.dim == 512);
    if (plain && (fbgemm || w.group == "tbe")) out.push_back(w);
  }
  return out;
}

std::vector<qbench::Workload> read_workloads(const std::string& path) {
  std::ifstream f(path);
  if (!f) throw std::runtime_error("--workloads " + path + ": cannot open");
  std::vector<qbench::Workload> out;
  std::string line;
  for (int n = 1; std::getline(f, line); ++n) {
    std::istringstream in(line.substr(0, line.find('#')));
    std::string kv;
    qbench::Workload w;
    w.group = "user";
    bool any = false;
    auto fail = [&](const std::string& why) {
      throw std::runtime_error(path + ":" + std::to_string(n) + ": " + why);
    };
    while (in >> kv) {
      any = true;
      const auto eq = kv.find('=');
      if (eq == std::string::npos) fail("'" + kv + "' is not key=value");
      const std::string k = kv.substr(0, eq), v = kv.substr(eq + 1);
      auto num = [&] {
        try {
          return std::stoll(v);
        } catch (const std::exception&) {
          fail(k + ": '" + v + "' is not a number");
        }
        return 0LL;
      };
      if (k == "bits") {
        w.bits = static_cast<int>(num());
        if (w.bits != 8 && w.bits != 4) fail("bits must be 8 or 4");
      } else if (k == "dim") {
        w.dim = num();
      } else if (k == "rows") {
        w.rows = num();
      } else if (k == "batch") {
        w.batch = num();
      } else if (k == "avg_len") {
        w.avg_len = num();
      } else if (k == "fixed_len") {
        w.fixed_len = num() != 0;
      } else if (k == "cold") {
        w.cold = num() != 0;
      } else if (k == "index") {
        if (v != "int32" && v != "int64") fail("index must be int32 or int64");
        w.index_type = v == "int32" ? qembed::IndexType::Int32 : qembed::IndexType::Int64;
      } else if (k == "mode") {
        if (v != "sum" && v != "mean" && v != "max") fail("mode must be sum, mean or max");
        w.mode = v == "sum"    ? qembed::Mode::Sum
                 : v == "mean" ? qembed::Mode::Mean
                               : qembed::Mode::Max;
      } else if (k == "dist") {
        if (v != "uniform" && v != "zipf") fail("dist must be uniform or zipf");
        w.dist = v == "zipf" ? qbench::Dist::Zipf : qbench::Dist::Uniform;
      } else if (k == "prepacked") {  // PyTorch's packed rows: the u8_sb32 / u4_sb16 formats
        w.prepacked = num() != 0;
      } else if (k == "group") {
        w.group = v;
      } else {
        fail("unknown key '" + k + "'");
      }
    }
    if (!any) continue;
    if (w.dim < 1 || w.rows < 1 || w.batch < 1 || w.avg_len < 1) {
      fail("dim, rows, batch and avg_len must all be given and positive");
    }
    out.push_back(w);
  }
  if (out.empty()) throw std::runtime_error("--workloads " + path + ": no workload in it");
  return out;
}

// ---- results and the log -----------------------------------------------------------

std::string Result::line() const {
  std::ostringstream s;
  s << pipeline << " scheduler=" << knobs.scheduler
    << " vectors_per_tile=" << knobs.vectors_per_tile
    << " prefetch_distance=" << knobs.prefetch_distance << " ok=" << (ok ? 1 : 0)
    << " score=" << score << " elapsed=" << elapsed_s << " us=";
  for (size_t i = 0; i < us.size(); ++i) s << (i ? "," : "") << us[i];
  std::string n = note;
  std::replace(n.begin(), n.end(), '\n', ' ');
  s << " note=" << n;
  return s.str();
}

bool Result::parse(const std::string& line, Result* out) {
  std::istringstream in(line);
  Result r;
  if (!(in >> r.pipeline)) return false;
  std::string kv;
  while (in >> kv) {
    const auto eq = kv.find('=');
    if (eq == std::string::npos) return false;
    const std::string k = kv.substr(0, eq), v = kv.substr(eq + 1);
    if (k == "scheduler") r.knobs.scheduler = v;
    if (k == "vectors_per_tile") r.knobs.vectors_per_tile = std::stoi(v);
    if (k == "prefetch_distance") r.knobs.prefetch_distance = std::stoi(v);
    if (k == "ok") r.ok = v == "1";
    if (k == "score") r.score = std::stod(v);
    if (k == "elapsed") r.elapsed_s = std::stod(v);
    if (k == "us") {
      std::istringstream list(v);
      std::string x;
      while (std::getline(list, x, ',')) r.us.push_back(std::stod(x));
    }
    if (k == "note") {
      std::string rest;
      std::getline(in, rest);
      r.note = v + rest;
      break;
    }
  }
  *out = r;
  return true;
}

double worst_ratio(const std::vector<double>& us, const std::vector<double>& base) {
  double worst = 0;
  for (size_t i = 0; i < us.size() && i < base.size(); ++i)
    worst = std::max(worst, us[i] / base[i]);
  return worst;
}

// ---- search ------------------------------------------------------------------------

bool propose(const std::string& strategy, const Space& space, const std::vector<Result>& done,
             int seed_vpt, std::mt19937& rng, Knobs* next) {
  std::set<std::string> seen;
  for (const Result& r : done) seen.insert(r.knobs.key());
  std::vector<Knobs> all;
  for (int v : space.vectors_per_tile) {
    for (int d : space.prefetch_distance) {
      Knobs k;
      k.vectors_per_tile = v;
      k.prefetch_distance = d;
      all.push_back(k);
    }
  }
  for (const std::string& s : space.autoschedulers) {
    Knobs k;
    k.scheduler = s;
    all.push_back(k);
  }
  std::vector<Knobs> left;
  for (const Knobs& k : all) {
    if (!seen.count(k.key())) left.push_back(k);
  }
  if (left.empty()) return false;
  if (strategy == "random") {
    *next = left[std::uniform_int_distribution<size_t>(0, left.size() - 1)(rng)];
    return true;
  }
  // hill: start at the seed; then the unvisited neighbours of the best manual point
  // (nearest first), the autoschedulers once each, then a random restart.
  const Result* best = nullptr;
  for (const Result& r : done) {
    if (r.ok && r.knobs.scheduler == "manual" && (!best || r.score < best->score)) best = &r;
  }
  Knobs seed;
  seed.vectors_per_tile = seed_vpt;
  seed.prefetch_distance = 64;
  if (best == nullptr && !seen.count(seed.key())) {
    *next = seed;
    return true;
  }
  if (best != nullptr) {
    auto index_of = [](const std::vector<int>& v, int x) {
      return static_cast<int>(std::find(v.begin(), v.end(), x) - v.begin());
    };
    const int vi = index_of(space.vectors_per_tile, best->knobs.vectors_per_tile);
    const int di = index_of(space.prefetch_distance, best->knobs.prefetch_distance);
    const int nv = static_cast<int>(space.vectors_per_tile.size());
    const int nd = static_cast<int>(space.prefetch_distance.size());
    for (int step = 1; step < std::max(nv, nd); ++step) {
      std::vector<Knobs> ring;
      for (int sv : {-step, 0, step}) {
        for (int sd : {-step, 0, step}) {
          if ((sv == 0) == (sd == 0) && !(std::abs(sv) == step && std::abs(sd) == step)) continue;
          if (vi + sv < 0 || vi + sv >= nv || di + sd < 0 || di + sd >= nd) continue;
          Knobs k;
          k.vectors_per_tile = space.vectors_per_tile[vi + sv];
          k.prefetch_distance = space.prefetch_distance[di + sd];
          if (!seen.count(k.key())) ring.push_back(k);
        }
      }
      // One knob at a time first (sv or sd zero), the diagonal after.
      std::stable_sort(ring.begin(), ring.end(), [&](const Knobs& a, const Knobs& b) {
        const bool a1 = a.vectors_per_tile == best->knobs.vectors_per_tile ||
                        a.prefetch_distance == best->knobs.prefetch_distance;
        const bool b1 = b.vectors_per_tile == best->knobs.vectors_per_tile ||
                        b.prefetch_distance == best->knobs.prefetch_distance;
        return a1 && !b1;
      });
      if (!ring.empty()) {
        *next = ring.front();
        return true;
      }
      if (step == 1) {  // the neighbourhood is spent: try each autoscheduler once
        for (const Knobs& k : left) {
          if (k.scheduler != "manual") {
            *next = k;
            return true;
          }
        }
      }
    }
  }
  *next = left[std::uniform_int_distribution<size_t>(0, left.size() - 1)(rng)];
  return true;
}

// ---- evaluation --------------------------------------------------------------------

namespace {

// The guard of an autoscheduled candidate: calls smaller than the sizes it was planned
// for go to the build's kernel (Halide 14's autoschedulers produced kernels that read
// out of bounds below their estimates; ../shared/spec/halide14-notes.md).
struct Guard {
  qd::BagKernel candidate = nullptr, fallback = nullptr;
  int32_t min_dim = 0, min_indices = 0, min_bags = 0;
} g_guard;

int guarded_bag(int32_t dim, halide_buffer_t* table, halide_buffer_t* col_scale,
                halide_buffer_t* col_zero_point, halide_buffer_t* indices, halide_buffer_t* offsets,
                halide_buffer_t* weights, int64_t padding_idx, bool has_weights, bool mean,
                bool has_max_norm, double max_norm, double norm_type, int32_t prefetch_distance,
                halide_buffer_t* out) {
  const bool small = dim < g_guard.min_dim || indices->dim[0].extent < g_guard.min_indices ||
                     offsets->dim[0].extent < g_guard.min_bags;
  return (small ? g_guard.fallback : g_guard.candidate)(
      dim, table, col_scale, col_zero_point, indices, offsets, weights, padding_idx, has_weights,
      mean, has_max_norm, max_norm, norm_type, prefetch_distance, out);
}

double geomean_ratio(const std::vector<double>& a, const std::vector<double>& b) {
  double s = 0;
  for (size_t i = 0; i < a.size(); ++i) s += std::log(a[i] / b[i]);
  return std::exp(s / static_cast<double>(a.size()));
}

}  // namespace

struct Evaluator::Impl {
  Pipeline p;
  KernelBuilder& builder;
  double seconds;
  const qd::KernelSet* original;  // the build's set (lives in the static dispatch table)
  qd::KernelSet baseline, custom;
  int fi = 0, si = 0, op = 0;
  std::vector<std::unique_ptr<qbench::Prepared>> timed, checks;
  std::vector<double> default_us;

  Impl(const Pipeline& pipeline, KernelBuilder& b, double s) : p(pipeline), builder(b), seconds(s) {
    original = &qd::active_kernels();
    baseline = *original;
    fi = static_cast<int>(qbench::format_of(p.workloads.front()));
    si = p.index_type == qembed::IndexType::Int32 ? qd::kSlot_int32 : qd::kSlot_int64;
    op = p.max ? qd::kOp_bag_max : qd::kOp_bag_sum;
    for (const qbench::Workload& w : p.workloads) {
      timed.push_back(std::make_unique<qbench::Prepared>(w));
      // The check: the same shape on a table small enough to expand, warm; and a call
      // of one or two short bags (below any estimate).
      qbench::Workload c = w;
      c.rows = std::min<int64_t>(w.rows, 20000);
      c.cold = false;
      c.threads = 1;
      checks.push_back(std::make_unique<qbench::Prepared>(c));
      c.batch = 2;
      c.avg_len = 1;
      c.fixed_len = false;
      checks.push_back(std::make_unique<qbench::Prepared>(c));
    }
  }

  // What the autoschedulers plan for: the pipeline's first workload (its representative).
  Estimates estimates() const {
    const qbench::Workload& w = p.workloads.front();
    Estimates est;
    est.dim = static_cast<int>(w.dim);
    est.rows = static_cast<int>(w.rows);
    est.bags = static_cast<int>(w.batch);
    est.indices = static_cast<int>(w.batch * w.avg_len);
    return est;
  }

  qd::BagKernel& slot(qd::KernelSet& k) { return p.max ? k.bag_max[fi][si] : k.bag_sum[fi][si]; }

  // Installs kernel `fn` with distance `d` as the active set for this pipeline.
  void install(qd::BagKernel fn, int d) {
    custom = baseline;
    slot(custom) = fn;
    custom.prefetch_distance[op][fi][si] = d;
    qd::set_active_kernels(custom);
  }

  // Every call of every check workload bit-exact against the reference.
  // Returns "" or what went wrong (a kernel's error included).
  std::string check() {
    for (auto& c : checks) {
      for (size_t call = 0; call < c->num_sets(); ++call) {
        try {
          const int64_t bad = c->verify(call);
          if (bad != 0) return std::to_string(bad) + " wrong floats on " + c->workload().name();
        } catch (const std::exception& e) {
          return c->workload().name() + ": " + e.what();
        }
      }
    }
    return "";
  }

  std::vector<double> time_all() {
    std::vector<double> us;
    for (auto& t : timed) {
      qbench::Prepared& w = *t;
      const double s =
          qbench::seconds_per_call([&](size_t i) { w.run_qembed(i); }, w.num_sets(), seconds, 20);
      us.push_back(s * 1e6);
    }
    return us;
  }
};

Evaluator::Evaluator(const Pipeline& p, KernelBuilder& builder, double seconds_per_workload)
    : impl_(std::make_unique<Impl>(p, builder, seconds_per_workload)) {}

Evaluator::~Evaluator() { qd::set_active_kernels(*impl_->original); }

Result Evaluator::evaluate_default() {
  Impl& m = *impl_;
  Result r;
  r.pipeline = m.p.spec.name;
  r.knobs.scheduler = "default";
  r.knobs.prefetch_distance = m.baseline.prefetch_distance[m.op][m.fi][m.si];
  qd::set_active_kernels(*m.original);
  r.note = m.check();
  r.ok = r.note.empty();
  if (!r.ok) throw std::runtime_error("the build's own kernel failed its check: " + r.note);
  r.us = m.default_us = m.time_all();
  r.score = 1.0;
  return r;
}

Result Evaluator::evaluate(const Knobs& k) {
  Impl& m = *impl_;
  Result r;
  r.pipeline = m.p.spec.name;
  r.knobs = k;
  try {
    const Estimates est = m.estimates();
    auto fn = reinterpret_cast<qd::BagKernel>(m.builder.build(m.p.spec, k, est));
    m.install(fn, k.prefetch_distance);
    r.note = m.check();
    if (!r.note.empty() && k.scheduler != "manual") {
      // Guard it: calls below the estimates take the build's kernel.
      g_guard = {fn, m.slot(m.baseline), est.dim, est.indices, est.bags};
      m.install(&guarded_bag, k.prefetch_distance);
      const std::string unguarded = r.note;
      r.note = m.check();
      if (r.note.empty())
        r.note = "guarded below its estimates (unguarded: " + unguarded + ")";
      else
        r.note = "wrong even when guarded: " + r.note;
      r.ok = r.note.rfind("guarded", 0) == 0;
    } else {
      r.ok = r.note.empty();
    }
    if (r.ok) {
      r.us = m.time_all();
      r.score = geomean_ratio(r.us, m.default_us);
    }
  } catch (const std::exception& e) {
    r.ok = false;
    r.note = e.what();
  }
  qd::set_active_kernels(*m.original);
  return r;
}

void Evaluator::confirm(Result* default_result, std::vector<Result*> finalists, int rounds) {
  Impl& m = *impl_;
  const size_t nw = m.p.workloads.size();
  // times[c][w] over rounds; c = 0 is the default.
  std::vector<std::vector<std::vector<double>>> times(finalists.size() + 1,
                                                      std::vector<std::vector<double>>(nw));
  for (int round = 0; round < rounds; ++round) {
    for (size_t c = 0; c <= finalists.size(); ++c) {
      if (c == 0) {
        qd::set_active_kernels(*m.original);
      } else {
        const Knobs& k = finalists[c - 1]->knobs;
        m.install(reinterpret_cast<qd::BagKernel>(m.builder.build(m.p.spec, k, m.estimates())),
                  k.prefetch_distance);
      }
      const std::vector<double> us = m.time_all();
      for (size_t i = 0; i < nw; ++i) times[c][i].push_back(us[i]);
    }
  }
  qd::set_active_kernels(*m.original);
  auto medians = [&](size_t c) {
    std::vector<double> out;
    for (auto v : times[c]) {
      std::sort(v.begin(), v.end());
      out.push_back(v[v.size() / 2]);
    }
    return out;
  };
  m.default_us = default_result->us = medians(0);
  for (size_t c = 0; c < finalists.size(); ++c) {
    finalists[c]->us = medians(c + 1);
    finalists[c]->score = geomean_ratio(finalists[c]->us, m.default_us);
    finalists[c]->note = "confirmed (" + std::to_string(rounds) + " alternating rounds)";
  }
}

}  // namespace qtune
