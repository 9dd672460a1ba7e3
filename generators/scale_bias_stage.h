// The prepacked family's stage (formats u8_sb32, u4_sb16, u2_sb16: rows as PyTorch's
// embedding_bag_{byte,4bit,2bit}_prepack write them), served with those ops' own numerics
// (the contract's section 6), not the reference module's. PyTorch 1.13's
// embedding_bag_{byte,4bit,2bit}_rowwise_offsets add each entry's row as
//     scale_w = fl(w * scale), bias_w = fl(w * bias)          (w = 1 without weights)
//     acc[c]  = fl32(fma(scale_w, q[c], fl(acc[c] + bias_w)))
// where fma takes a uint8 code and so runs in float64. A float times a code is exact in
// float64, so a float64 multiply-add rounds exactly where that fma does: once to float64,
// then once to float32. Where the target has float_ops (llvm_helpers.h) one float32 fma
// gives those bits in every lane but those where float64 rounds x onto a float32 tie,
// which the kernel checks for and sends through the float64 one (float_ops.ll).
#pragma once

#include "Halide.h"
#include "dequantize_stage.h"

namespace qembed::stages {

struct ScaleBiasRows {
  Halide::Func code;   // code(c, row): the unsigned code of column c, as float32 (exact)
  Halide::Func scale;  // scale(row), bias(row): the row's fused fp32 or fp16 qparams,
  Halide::Func bias;   // as float32
};

ScaleBiasRows scale_bias_rows(const StoredTable& t, const Halide::Target& target);

// One entry's contribution: the new acc for code q of a row with (scale, bias), weight w.
Halide::Expr scale_bias_accumulate(const Halide::Expr& acc, const Halide::Expr& q,
                                   const Halide::Expr& scale, const Halide::Expr& bias,
                                   const Halide::Expr& w, const Halide::Target& target);

}  // namespace qembed::stages
