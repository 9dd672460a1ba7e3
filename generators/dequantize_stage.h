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
  Halide::Func table;  // table(e, row): element e of a stored row (type per format)
  // Elements of a row's codes and fused qparams (stored_table): fmt::row_elements of the
  // dim rather than the buffer's extent, which is the same for the runtime's tables (the
  // extent stays the stride). From the dim, the qparams' address shares the codes' row
  // multiply: with the extent, Halide's simplifier folds row * extent + extent into
  // (row + 1) * extent, a second multiply per entry, and the prefetch's tests of the row's
  // length stay in the loop (counted under qemu-x86_64, AVX2: 8-bit D=128 178.4 -> 168.4
  // instructions a row).
  Halide::Expr row_elems;
  // The buffer's row extent (at least row_elems): a value the simplifier cannot see through,
  // for constants LLVM must not fold (unpack_codes.cpp).
  Halide::Expr row_extent;
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

// Whether dequantize() widens format f's 4-bit codes to dwords before unpacking them.
bool u4_widened(const fmt::Format& f, const Halide::Target& target);

// The StoredTable of a generator's `table` input in format f: requires dense rows (the row
// stride is the extent; prefetch_stage.cpp relies on it) and sets row_elems to
// fmt::row_elements of the dim, or to the buffer's row extent where that measured better.
StoredTable stored_table(const fmt::Format& f, Halide::ImageParam table, const Halide::Expr& dim,
                         const Halide::Func& col_scale, const Halide::Func& col_zero_point,
                         const Halide::Target& target);

// The float -> code rule of the contract (section 2), as an int32 code in [qmin, qmax].
// float_zero_point selects per_channel_affine_float_qparams (zp added before rounding)
// over the integral-zero-point schemes (zp added after rounding).
Halide::Expr quantize(const Halide::Expr& x, const Halide::Expr& scale,
                      const Halide::Expr& zero_point, bool float_zero_point,
                      const Halide::Expr& qmin, const Halide::Expr& qmax);

}  // namespace qembed::stages
