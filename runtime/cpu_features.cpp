#include "cpu_features.h"

#include <sstream>
#include <vector>

#if defined(__x86_64__)
#include <cpuid.h>
#endif
#if defined(__aarch64__) && defined(__linux__)
#include <sys/auxv.h>
#endif

namespace qembed::detail {

namespace {

std::vector<std::string> split_dashes(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  std::string tok;
  while (std::getline(ss, tok, '-')) out.push_back(tok);
  return out;
}

// Target features that are not CPU features (code generation or runtime options).
bool is_codegen_option(const std::string& f) {
  static const char* kOptions[] = {"no_runtime",
                                   "large_buffers",
                                   "strict_float",
                                   "no_asserts",
                                   "no_bounds_query",
                                   "debug",
                                   "profile",
                                   "trace_all",
                                   "embed_bitcode",
                                   "enable_llvm_loop_opt",
                                   "disable_llvm_loop_opt"};
  for (const char* o : kOptions) {
    if (f == o) return true;
  }
  return false;
}

#if defined(__x86_64__)
// F16C from CPUID leaf 1 (ECX bit 29): clang 14's __builtin_cpu_supports has no "f16c".
bool x86_has_f16c() {
  unsigned a = 0, b = 0, c = 0, d = 0;
  return __get_cpuid(1, &a, &b, &c, &d) != 0 && (c & (1u << 29)) != 0;
}

// The CPU features each Halide x86 feature token implies (as Halide's own runtime check).
bool x86_supports(const std::string& f) {
  __builtin_cpu_init();
  const bool skylake = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512cd") &&
                       __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq") &&
                       __builtin_cpu_supports("avx512vl");
  if (f == "sse41") return __builtin_cpu_supports("sse4.1");
  if (f == "avx") return __builtin_cpu_supports("avx");
  if (f == "avx2") return __builtin_cpu_supports("avx2");
  if (f == "fma") return __builtin_cpu_supports("fma");
  if (f == "f16c") return __builtin_cpu_supports("avx") && x86_has_f16c();
  if (f == "avx512") return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512cd");
  if (f == "avx512_skylake") return skylake;
  if (f == "avx512_cannonlake") {
    return skylake && __builtin_cpu_supports("avx512ifma") && __builtin_cpu_supports("avx512vbmi");
  }
  if (f == "avx512_sapphirerapids") {
    return skylake && __builtin_cpu_supports("avx512ifma") &&
           __builtin_cpu_supports("avx512vbmi") && __builtin_cpu_supports("avx512vnni") &&
           __builtin_cpu_supports("avx512bf16");
  }
  return false;
}
#endif

#if defined(__aarch64__) && defined(__linux__)
bool arm_supports(const std::string& f) {
  const unsigned long hw = getauxval(AT_HWCAP);
  if (f == "arm_dot_prod") return (hw & (1UL << 20)) != 0;              // HWCAP_ASIMDDP
  if (f == "arm_fp16") return (hw & (1UL << 9)) && (hw & (1UL << 10));  // FPHP, ASIMDHP
  return false;
}
#endif

}  // namespace

bool cpu_supports_target(const std::string& target, std::string* why) {
  std::vector<std::string> t = split_dashes(target);
  if (t.size() < 3) {
    *why = "'" + target + "' is not an arch-bits-os Halide target";
    return false;
  }
#if defined(__x86_64__)
  const bool arch_ok = t[0] == "x86" && t[1] == "64";
#elif defined(__aarch64__)
  const bool arch_ok = t[0] == "arm" && t[1] == "64";
#else
  const bool arch_ok = false;
#endif
  if (!arch_ok) {
    *why = "target " + target + " is for another architecture";
    return false;
  }
  for (size_t i = 3; i < t.size(); ++i) {
    const std::string& f = t[i];
    if (is_codegen_option(f)) continue;
#if defined(__x86_64__)
    const bool ok = x86_supports(f);
#elif defined(__aarch64__) && defined(__linux__)
    const bool ok = arm_supports(f);
#else
    const bool ok = false;
#endif
    if (!ok) {
      *why = "this CPU lacks feature '" + f + "' of target " + target;
      return false;
    }
  }
  return true;
}

}  // namespace qembed::detail
