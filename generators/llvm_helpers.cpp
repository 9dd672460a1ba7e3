#include "llvm_helpers.h"

#include <string>
#include <vector>

namespace qembed::stages {

using namespace Halide;
using Halide::Internal::Call;

namespace {

// The helpers as bitcode, per data layout (cmake/embed_bitcode.cmake).
const uint8_t kPrefetchLineX86_64[] = {
#include "prefetch_line_x86_64.inc"
};
const uint8_t kPrefetchLineArm64[] = {
#include "prefetch_line_arm_64.inc"
};
const uint8_t kU4LutAvx512X86_64[] = {
#include "u4_lut_avx512_x86_64.inc"
};
const uint8_t kFloatOpsX86_64[] = {
#include "float_ops_x86_64.inc"
};
const uint8_t kFloatOpsArm64[] = {
#include "float_ops_arm_64.inc"
};

template <size_t N>
void add_bitcode(GeneratorContext::ExternsMap& externs, const Target& target,
                 const std::string& name, const uint8_t (&code)[N]) {
  externs.emplace(
      name, ExternalCode::bitcode_wrapper(target, std::vector<uint8_t>(code, code + N), name));
}

}  // namespace

bool x86_avx512(const Target& target) {
  return target.arch == Target::X86 && target.bits == 64 &&
         target.features_any_of({Target::AVX512, Target::AVX512_KNL, Target::AVX512_Skylake,
                                 Target::AVX512_Cannonlake, Target::AVX512_SapphireRapids});
}

bool has_float_ops(const Target& target) {
  if (target.bits != 64) return false;
  if (target.arch == Target::ARM) return true;
  return target.arch == Target::X86 &&
         (x86_avx512(target) || target.features_all_of({Target::FMA, Target::F16C}));
}

void add_llvm_helpers(GeneratorContext::ExternsMap& externs, const Target& target) {
  if (target.bits != 64) return;  // other targets keep Halide's own code
  const bool float_ops = has_float_ops(target);
  if (target.arch == Target::X86) {
    add_bitcode(externs, target, "qembed.prefetch_line", kPrefetchLineX86_64);
    if (x86_avx512(target))
      add_bitcode(externs, target, "qembed.u4_lut_avx512", kU4LutAvx512X86_64);
    if (float_ops) add_bitcode(externs, target, "qembed.float_ops", kFloatOpsX86_64);
  } else if (target.arch == Target::ARM) {
    add_bitcode(externs, target, "qembed.prefetch_line", kPrefetchLineArm64);
    if (float_ops) add_bitcode(externs, target, "qembed.float_ops", kFloatOpsArm64);
  }
}

Expr rowwise_accumulate(const Expr& acc, const Expr& q, const Expr& s, const Expr& b,
                        const Target& target) {
  if (has_float_ops(target)) {
    // The window of |a|'s bits where float_ops.ll's float32 fma is exact: biased
    // exponents from e(s) - 20 to e(s) + 28 (for zero and subnormal s, e = 0 here where
    // the derivation allows 1: a narrower window, still exact); every finite a where
    // s = 0 (x = a). Computed once per row.
    Expr s_bits = reinterpret(Int(32), s);
    Expr e = s_bits & 0x7f800000;  // the biased exponent, << 23
    Expr lo = max(e - (20 << 23), 0);
    // e + (29 << 23) overflows int32 from e = 227 << 23: clamp e first (Halide's int32
    // arithmetic assumes no overflow; LLVM happened to rewrite the sum this way itself).
    Expr hi = min(e, (255 - 29) << 23) + (29 << 23);
    Expr s_zero = (s_bits & 0x7fffffff) == 0;
    hi = select(s_zero, 255 << 23, hi);  // lo is 0 there already
    // x86 without AVX-512: the 8-lane family (float_ops.ll).
    const bool ymm = target.arch == Target::X86 && !x86_avx512(target);
    return Call::make(Float(32), ymm ? "qembed_rowwise_acc8" : "qembed_rowwise_acc",
                      {acc, q, s, b, lo, hi - lo}, Call::PureExtern);
  }
  // s * q is exact in float64, so the multiply-add rounds once, like the fma it stands for.
  Expr shifted = strict_float(acc + b);
  return cast<float>(strict_float(cast<double>(s) * cast<double>(q) + cast<double>(shifted)));
}

Expr f16_to_f32(const Expr& bits, const Target& target) {
  if (!has_float_ops(target)) return cast<float>(reinterpret(Float(16), cast<uint16_t>(bits)));
  return Call::make(Float(32), "qembed_f16_to_f32", {cast<uint16_t>(bits)}, Call::PureExtern);
}

}  // namespace qembed::stages
