#include "candidate_kernels.h"

#include <dlfcn.h>
#include <sys/stat.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <vector>

namespace qtune {

namespace {

// Runs a shell command, output to `log`; returns its exit status.
int run(const std::string& cmd, const std::string& log) {
  const std::string full = cmd + " >" + log + " 2>&1";
  return std::system(full.c_str());
}

std::string tail_of(const std::string& path, size_t max_chars = 400) {
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  std::string s = ss.str();
  if (s.size() > max_chars) s = "..." + s.substr(s.size() - max_chars);
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace

std::string Knobs::key() const {
  if (scheduler != "manual") return scheduler + "/pd" + std::to_string(prefetch_distance);
  return "manual/vpt" + std::to_string(vectors_per_tile) + "/pd" +
         std::to_string(prefetch_distance);
}

KernelBuilder::KernelBuilder(std::string work_dir, std::string target)
    : dir_(std::move(work_dir)), target_(std::move(target)) {
  ::mkdir(dir_.c_str(), 0755);
}

KernelBuilder::~KernelBuilder() = default;  // the objects stay loaded until exit

void* KernelBuilder::build(const PipelineSpec& p, const Knobs& k, const Estimates& est) {
  // The prefetch distance is a runtime input: kernels differ by scheduler and tile only.
  std::string key = p.name + "__" + k.scheduler;
  if (k.scheduler == "manual") key += "_vpt" + std::to_string(k.vectors_per_tile);
  if (auto it = loaded_.find(key); it != loaded_.end()) return it->second;
  if (auto it = failed_.find(key); it != failed_.end()) throw std::runtime_error(it->second);

  const auto t0 = std::chrono::steady_clock::now();
  const std::string fn = "qtune_" + key;
  const std::string obj = dir_ + "/" + fn + ".o", so = dir_ + "/" + fn + ".so";
  const std::string log = dir_ + "/" + fn + ".log";
  std::string cmd = std::string("'") + QEMBED_GENERATOR_EXE + "' -g " + p.generator + " -f " + fn +
                    " -o '" + dir_ + "' -e object target=" + target_ + "-no_runtime " + p.params;
  if (k.scheduler == "manual") {
    cmd += " vectors_per_tile=" + std::to_string(k.vectors_per_tile);
  } else {
    // Halide 14: the plugin, its name, auto_schedule and the machine (1 core: the
    // kernels are single-threaded; 32 MB LLC; Halide's default balance).
    cmd += " -p '" + std::string(QEMBED_AUTOSCHEDULER_DIR) + "/libautoschedule_" +
           lower(k.scheduler) + ".so' -s " + k.scheduler +
           " auto_schedule=true machine_params=1,33554432,40";
    cmd += " est_dim=" + std::to_string(est.dim) + " est_rows=" + std::to_string(est.rows) +
           " est_indices=" + std::to_string(est.indices) +
           (p.generator == "qembed_embedding_bag" ? " est_bags=" + std::to_string(est.bags) : "");
  }
  std::string error;
  if (run(cmd, log) != 0) {
    error = k.scheduler + " could not compile " + p.name + ": " + tail_of(log);
  } else if (run(std::string("'") + QEMBED_CC + "' -shared -o '" + so + "' '" + obj + "'", log) !=
             0) {
    error = "linking " + so + " failed: " + tail_of(log);
  }
  void* entry = nullptr;
  if (error.empty()) {
    void* h = dlopen(so.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (h == nullptr) {
      error = std::string("dlopen ") + so + ": " + dlerror();
    } else {
      handles_.push_back(h);
      entry = dlsym(h, fn.c_str());
      if (entry == nullptr) error = "no symbol " + fn + " in " + so;
    }
  }
  compile_seconds_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (!error.empty()) {
    failed_[key] = error;
    throw std::runtime_error(error);
  }
  loaded_[key] = entry;
  return entry;
}

}  // namespace qtune
