// Kernel helpers written in LLVM IR (generators/*.ll), embedded in the generators as
// bitcode for each 64-bit architecture they serve (CMakeLists.txt), and the target tests
// that say which kernels use them.
#pragma once

#include "Halide.h"

namespace qembed::stages {

// Adds to a generator's external code every helper its target uses (each generator that
// compiles lookups calls it once):
//   prefetch_line.ll  64-bit x86 and ARM: the rows' software prefetch (prefetch_stage.h);
//   u4_lut_avx512.ll  x86-64 with AVX-512: the 4-bit lookups (dequantize_stage.h, and the
//                     prepacked codes of scale_bias_stage.h);
//   float_ops.ll      where has_float_ops: the prepacked accumulate, float16 -> float32.
void add_llvm_helpers(Halide::GeneratorContext::ExternsMap& externs, const Halide::Target& target);

// x86-64 with AVX-512 F (every avx512* feature of Halide 14 implies it).
bool x86_avx512(const Halide::Target& target);

// Whether the target has float64 fma and float16 -> float32 instructions (x86-64 with FMA
// and F16C, which every AVX-512 CPU has; 64-bit ARM), so float_ops.ll applies.
bool has_float_ops(const Halide::Target& target);

// One step of PyTorch's rowwise ops on prepacked rows (scale_bias_stage.h): the new
// accumulator fl32(fl64(s * q + fl32(acc + b))) for float32 acc, s, b and a code q in
// [0, 255] (as float32). Where the target has float_ops, one float32 fma in the lanes
// where that rounds the same (nearly all; float_ops.ll says which), else strict float64.
Halide::Expr rowwise_accumulate(const Halide::Expr& acc, const Halide::Expr& q,
                                const Halide::Expr& s, const Halide::Expr& b,
                                const Halide::Target& target);

// The float16 whose bits are the uint16 `bits`, as float32 (exact): one instruction per
// vector where the target converts float16 (Halide 14 emulates the cast on x86).
Halide::Expr f16_to_f32(const Halide::Expr& bits, const Halide::Target& target);

}  // namespace qembed::stages
