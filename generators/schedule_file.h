// The schedule file: tuned knobs per (kernel target, pipeline), written by qembed-tune
// and read by the build (`cmake -DQEMBED_SCHEDULES=FILE`; the generators read the kernel
// knobs, cmake/kernels.cmake the runtime's prefetch distance). Plain C++17, no Halide.
//
// A text file; `#` starts a comment. One line per winner:
//     <target> <pipeline> key=value ...
// e.g. `x86-64-linux-avx2-fma-f16c bag_sum_u8_row_int64 vectors_per_tile=8 prefetch_distance=64`
// Keys: vectors_per_tile (kernel build), prefetch_distance (runtime), scheduler (manual |
// Adams2019 | Li2018 | Mullapudi2016: what won; the build compiles `manual` schedules
// only), and informational ones (speedup=, workloads=) that readers ignore.
#pragma once

#include <fstream>
#include <map>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace qembed::sched {

// vectors_per_tile where no schedule entry sets it, for a kernel target (Halide's name:
// "x86-64-linux-avx2-fma-f16c", "arm-64-linux"): 8 on x86 and ARM, 4 elsewhere. What
// measured it: generators/schedules.h. The generators and qembed-tune's search both start
// from it.
inline int default_vectors_per_tile(const std::string& target) {
  return target.rfind("x86", 0) == 0 || target.rfind("arm", 0) == 0 ? 8 : 4;
}

struct Entry {
  std::string target, pipeline;
  std::map<std::string, std::string> knobs;

  // The integer knob `key`, or `fallback` when absent.
  int get_int(const std::string& key, int fallback) const {
    const auto it = knobs.find(key);
    return it == knobs.end() ? fallback : std::stoi(it->second);
  }
};

// Parses one line; returns false for blank and comment lines. Throws on a malformed one.
inline bool parse_line(const std::string& line, Entry* out) {
  const std::string body = line.substr(0, line.find('#'));
  std::istringstream in(body);
  Entry e;
  if (!(in >> e.target)) return false;
  if (!(in >> e.pipeline)) throw std::invalid_argument("missing the pipeline after the target");
  std::string kv;
  while (in >> kv) {
    const auto eq = kv.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == kv.size()) {
      throw std::invalid_argument("'" + kv + "' is not key=value");
    }
    e.knobs[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  *out = e;
  return true;
}

// Reads every entry of `path`; an error names the file and line.
inline std::vector<Entry> read(const std::string& path) {
  std::ifstream f(path);
  if (!f) throw std::runtime_error("schedule file " + path + ": cannot open");
  std::vector<Entry> entries;
  std::string line;
  for (int n = 1; std::getline(f, line); ++n) {
    try {
      Entry e;
      if (parse_line(line, &e)) entries.push_back(e);
    } catch (const std::exception& ex) {
      throw std::runtime_error(path + ":" + std::to_string(n) + ": " + ex.what());
    }
  }
  return entries;
}

// The entry for (target, pipeline), or nullptr. `target` as in QEMBED_TARGETS.
inline const Entry* find(const std::vector<Entry>& entries, const std::string& target,
                         const std::string& pipeline) {
  for (const Entry& e : entries) {
    if (e.target == target && e.pipeline == pipeline) return &e;
  }
  return nullptr;
}

inline std::string format(const Entry& e) {
  std::string s = e.target + " " + e.pipeline;
  for (const auto& [k, v] : e.knobs) s += " " + k + "=" + v;
  return s;
}

}  // namespace qembed::sched
