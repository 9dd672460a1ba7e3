// A fixed number of forward calls on the single-thread anchor workloads and the lookup
// workloads (workload.h), for counting what a call executes where it cannot be timed
// (kernels under qemu-user: tools/insns_per_row.sh counts the guest instructions of a run
// with one pass and one with two, and divides the difference by the rows of a pass).
//   qembed_calls [--filter=SUBSTRING | --name=NAME] [--rows=N] [--passes=K] [--list] [--verify]
// Each matching workload is prepared, then called once per index set, K times over (the
// sets qembed_bench cycles through). Prints one line per workload: its name, the kernel
// target that ran, index sets, calls made and rows those calls looked up; with --verify,
// also the floats of the first set's call that differ from the reference (verify()).
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "qembed/qembed.hpp"
#include "workload.h"

namespace {

bool flag(const std::string& arg, const char* name, std::string* value) {
  const std::string prefix = std::string(name) + "=";
  if (arg.rfind(prefix, 0) != 0) return false;
  *value = arg.substr(prefix.size());
  return true;
}

int usage(const char* argv0, const std::string& bad) {
  std::fprintf(stderr,
               "%s: bad argument '%s'\nusage: %s [--filter=SUBSTRING | --name=NAME] "
               "[--rows=N] [--passes=K] [--list] [--verify]\n",
               argv0, bad.c_str(), argv0);
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  std::string filter, name, v;
  int64_t rows = 200000;
  long passes = 1;
  bool list = false, verify = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    char* end = nullptr;
    if (flag(a, "--filter", &v)) {
      filter = v;
    } else if (flag(a, "--name", &v)) {
      name = v;
    } else if (flag(a, "--rows", &v)) {
      rows = std::strtoll(v.c_str(), &end, 10);
      if (end == v.c_str() || *end != '\0' || rows < 1) return usage(argv[0], a);
    } else if (flag(a, "--passes", &v)) {
      passes = std::strtol(v.c_str(), &end, 10);
      if (end == v.c_str() || *end != '\0' || passes < 0) return usage(argv[0], a);
    } else if (a == "--list") {
      list = true;
    } else if (a == "--verify") {
      verify = true;
    } else {
      return usage(argv[0], a);
    }
  }
  // Every call on this thread, table setup included: a thread pool splits work by who is
  // free first, which would make this thread's instruction count depend on time.
  qembed::set_num_threads(1);
  int matched = 0;
  std::vector<qbench::Workload> workloads = qbench::anchor_workloads(rows, false);
  for (const qbench::Workload& w : qbench::lookup_workloads(rows)) workloads.push_back(w);
  for (const qbench::Workload& w : workloads) {
    if (w.threads != 1 || w.name().find(filter) == std::string::npos) continue;
    if (!name.empty() && w.name() != name) continue;
    ++matched;
    if (list) {
      std::printf("%s\n", w.name().c_str());
      continue;
    }
    qbench::Prepared p(w);
    const size_t n = static_cast<size_t>(passes) * p.num_sets();
    for (size_t c = 0; c < n; ++c) p.run_qembed(c);
    // rows_per_call is the mean over the sets: exact for whole passes.
    std::printf("%s target=%s sets=%zu calls=%zu rows=%.0f", w.name().c_str(),
                qembed::kernel_target().c_str(), p.num_sets(), n,
                p.rows_per_call() * static_cast<double>(n));
    if (verify) std::printf(" mismatches=%lld", static_cast<long long>(p.verify(0)));
    std::printf("\n");
  }
  if (matched == 0) {
    std::fprintf(stderr, "%s: no single-thread workload matches '%s'\n", argv[0],
                 name.empty() ? filter.c_str() : name.c_str());
    return 1;
  }
  return 0;
}
