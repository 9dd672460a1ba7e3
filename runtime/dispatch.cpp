#include "dispatch.h"

#include <atomic>
#include <cstdlib>
#include <mutex>

#include "cpu_features.h"
#include "qembed/qembed.hpp"
// The generated kernel headers declare each pipeline's self-dispatching wrapper; the
// entry points below take the wrapper's exact type, so every kernel's signature is
// checked at compile time against what Halide generated.
#include "qembed_kernel_headers.inc"

// Each pipeline's entry point for one target, declared by its symbol (see
// cmake/kernels.cmake). qembed calls these directly rather than the wrapper, which
// latches its first choice and so could neither report nor switch the target.
// The symbols hold dashes: GCC passes an asm label to the assembler verbatim, which needs
// it quoted; clang names the IR symbol itself (quoting it would make the quotes part of
// the name).
#if defined(__clang__)
#define QEMBED_ASM_LABEL(symbol) __asm__(symbol)
#else
#define QEMBED_ASM_LABEL(symbol) __asm__("\"" symbol "\"")
#endif
#define QEMBED_KERNEL(tid, addr, op, format, itype, symbol, distance) \
  extern "C" decltype(qembed_k_##op##_##format##_##itype)             \
      qembed_e_##tid##_##addr##_##op##_##format##_##itype QEMBED_ASM_LABEL(symbol);
#define QEMBED_QUANTIZE(tid, zp, symbol)                                                       \
  extern "C" decltype(qembed_k_quantize_##zp) qembed_e_##tid##_quantize_##zp QEMBED_ASM_LABEL( \
      symbol);
#include "qembed_kernel_table.inc"
#undef QEMBED_KERNEL
#undef QEMBED_QUANTIZE

namespace qembed::detail {

namespace {

// Compiled targets in QEMBED_TARGETS order (best first).
enum TargetIndex {
#define QEMBED_TARGET(tid, target_string) kTarget_##tid,
#include "qembed_kernel_targets.inc"
#undef QEMBED_TARGET
  kTargetCount
};

// The table: small- and large-addressing sets per target (the large vector stays empty
// when the build has no large kernels).
struct Table {
  std::vector<KernelSet> small, large;
};

Table build_table() {
  Table table;
  std::vector<KernelSet> sets[2] = {std::vector<KernelSet>(kTargetCount),
                                    std::vector<KernelSet>(kTargetCount)};
  enum { kAddr_small = 0, kAddr_large = 1 };
  bool has_large = false;
#define QEMBED_TARGET(tid, target_string) \
  sets[0][kTarget_##tid].target = sets[1][kTarget_##tid].target = target_string;
#include "qembed_kernel_targets.inc"
#undef QEMBED_TARGET
#define QEMBED_KERNEL(tid, addr, op, format, itype, symbol, distance)              \
  {                                                                                \
    KernelSet& k = sets[kAddr_##addr][kTarget_##tid];                              \
    const int f = static_cast<int>(fmt::FormatId::format);                         \
    k.op[f][kSlot_##itype] = &qembed_e_##tid##_##addr##_##op##_##format##_##itype; \
    k.prefetch_distance[kOp_##op][f][kSlot_##itype] = distance;                    \
    has_large = has_large || kAddr_##addr == kAddr_large;                          \
  }
#define QEMBED_QUANTIZE(tid, zp, symbol)                                        \
  sets[0][kTarget_##tid].quantize_##zp = sets[1][kTarget_##tid].quantize_##zp = \
      &qembed_e_##tid##_quantize_##zp;
#include "qembed_kernel_table.inc"
#undef QEMBED_KERNEL
#undef QEMBED_QUANTIZE
  table.small = std::move(sets[0]);
  if (has_large) table.large = std::move(sets[1]);
  return table;
}

// Resolves a user's name for a target: the full string, a feature token, or "baseline".
const KernelSet* find_target(const std::string& name) {
  const auto& sets = all_kernel_sets();
  if (name == "baseline") return &sets.back();
  for (const KernelSet& k : sets) {
    if (name == k.target) return &k;
  }
  for (const KernelSet& k : sets) {
    const std::string t = std::string(k.target) + "-";
    if (t.find("-" + name + "-") != std::string::npos) return &k;
  }
  return nullptr;
}

const KernelSet& checked(const std::string& name) {
  const KernelSet* k = find_target(name);
  if (k == nullptr) {
    std::string all;
    for (const KernelSet& s : all_kernel_sets()) all += std::string(" ") + s.target;
    throw Unsupported("kernel target '" + name + "' is not compiled in; compiled:" + all);
  }
  std::string why;
  if (!cpu_supports_target(k->target, &why)) {
    throw Unsupported("kernel target '" + name + "' cannot run here: " + why);
  }
  return *k;
}

const KernelSet& best_supported() {
  std::string why;
  for (const KernelSet& k : all_kernel_sets()) {
    if (cpu_supports_target(k.target, &why)) return k;
  }
  throw Unsupported("no compiled kernel target runs on this CPU: " + why);
}

std::atomic<const KernelSet*> g_active{nullptr};
std::once_flag g_init;

}  // namespace

const std::vector<KernelSet>& all_kernel_sets() {
  static Table table = build_table();
  static const bool linked = [] {
    for (size_t i = 0; i < table.large.size(); ++i) table.small[i].large = &table.large[i];
    return true;
  }();
  (void)linked;
  return table.small;
}

const KernelSet& active_kernels() {
  std::call_once(g_init, [] {
    const char* forced = std::getenv("QEMBED_FORCE_TARGET");
    const KernelSet* k =
        forced != nullptr && *forced != '\0' ? &checked(forced) : &best_supported();
    g_active.store(k);
  });
  return *g_active.load();
}

void set_active_kernels(const KernelSet& k) {
  active_kernels();  // settle the initial choice first
  g_active.store(&k);
}

}  // namespace qembed::detail

namespace qembed {

std::vector<std::string> compiled_kernel_targets() {
  std::vector<std::string> out;
  for (const auto& k : detail::all_kernel_sets()) out.emplace_back(k.target);
  return out;
}

std::vector<std::string> supported_kernel_targets() {
  std::vector<std::string> out;
  std::string why;
  for (const auto& k : detail::all_kernel_sets()) {
    if (detail::cpu_supports_target(k.target, &why)) out.emplace_back(k.target);
  }
  return out;
}

std::string kernel_target() { return detail::active_kernels().target; }

void set_kernel_target(const std::string& target) {
  detail::active_kernels();  // settle the initial choice first
  detail::g_active.store(&detail::checked(target));
}

}  // namespace qembed
