// Stage 1: quant-dequant. Codes -> float32 for every stored format, and the forward
// direction float32 -> codes used by from_float. Every float operation is wrapped in
// strict_float: Halide's default fast-math would fuse (q - zp) * s into an FMA or
// reassociate it, and the contract is bit-exact with PyTorch.
#pragma once

#include "Halide.h"
#include "formats.h"

namespace qembed::stages {

// The stored table and, for per-column layouts, the column qparam vectors.
struct StoredTable {
  fmt::Format format;
  Halide::Func table;      // table(e, row): element e of a stored row (type per format)
  Halide::Expr row_elems;  // elements per stored row (codes + fused qparams)
  Halide::Func col_scale;  // col_scale(c), col_zero_point(c): used by QParamLayout::Col
  Halide::Func col_zero_point;
};

// dequantized(c, row): the float32 value of column c of table row `row`, exactly as
// PyTorch 1.13.1's reference module's get_weight() computes it. On AVX-512 targets the
// 4-bit codes of rows with fused qparams are looked up in a per-row table of their 16
// values (u4_lookup). The generator must add_llvm_helpers (llvm_helpers.h).
Halide::Func dequantize(const StoredTable& t, const Halide::Target& target);

// Whether dequantize() looks format f's codes up (one vpermps per 16 columns).
bool u4_lookup(const fmt::Format& f, const Halide::Target& target);

// The float -> code rule of the contract (section 2), as an int32 code in [qmin, qmax].
// float_zero_point selects per_channel_affine_float_qparams (zp added before rounding)
// over the integral-zero-point schemes (zp added after rounding).
Halide::Expr quantize(const Halide::Expr& x, const Halide::Expr& scale,
                      const Halide::Expr& zero_point, bool float_zero_point,
                      const Halide::Expr& qmin, const Halide::Expr& qmax);

}  // namespace qembed::stages
