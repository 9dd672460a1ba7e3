// Candidate kernels for qembed-tune: one lookup pipeline compiled with given schedule
// knobs by the project's own generator executable (the same generators the build runs),
// linked into a shared object and loaded into this process. The object's Halide runtime
// calls resolve to qembed-tune's own (it exports them), so candidates share its thread
// pool and error handler.
#pragma once

#include <map>
#include <string>
#include <vector>

namespace qtune {

struct Knobs {
  std::string scheduler = "manual";  // manual | Adams2019 | Li2018 | Mullapudi2016
  int vectors_per_tile = 0;          // manual schedules only
  int prefetch_distance = 64;        // a runtime input of the kernel
  std::string key() const;           // readable and unique: "manual/vpt8/pd64"
};

// The sizes an autoscheduler plans for (the generators' est_* params).
struct Estimates {
  int dim = 128, rows = 1000000, indices = 1000, bags = 10;
};

// What a pipeline is: generator and params (as cmake/kernels.cmake names them).
struct PipelineSpec {
  std::string name;       // e.g. bag_sum_u8_row_int64
  std::string generator;  // qembed_embedding_bag
  std::string params;     // "format=u8_row index_type=int64 mode=sum"
};

class KernelBuilder {
 public:
  // work_dir: where objects and shared objects go (created); target: a Halide target.
  KernelBuilder(std::string work_dir, std::string target);
  ~KernelBuilder();
  // The candidate's entry point (the pipeline's C signature), compiled on first use.
  // Throws std::runtime_error with the tail of the generator's output when it fails.
  void* build(const PipelineSpec& p, const Knobs& k, const Estimates& est);
  // Seconds spent compiling so far.
  double compile_seconds() const { return compile_seconds_; }

 private:
  std::string dir_, target_;
  std::map<std::string, void*> loaded_;  // key -> entry point
  std::map<std::string, std::string> failed_;
  std::vector<void*> handles_;
  double compile_seconds_ = 0;
};

}  // namespace qtune
