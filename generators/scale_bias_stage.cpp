#include "scale_bias_stage.h"

#include "llvm_helpers.h"
#include "unpack_codes.h"

namespace qembed::stages {

using namespace Halide;

namespace {

// A little-endian value of `bytes` bytes starting at element e of a byte row, as uint32.
Expr le_bits(const Func& table, const Expr& e, const Expr& row, int bytes) {
  Expr bits = cast<uint32_t>(table(e, row));
  for (int i = 1; i < bytes; ++i) bits = bits | (cast<uint32_t>(table(e + i, row)) << (8 * i));
  return bits;
}

}  // namespace

ScaleBiasRows scale_bias_rows(const StoredTable& t, const Target& target) {
  Var c("c"), row("row");
  ScaleBiasRows s{Func("sb_code"), Func("sb_scale"), Func("sb_bias")};
  if (t.format.codes == fmt::Codes::U4 && x86_avx512(target)) {
    // Looked up (u4_lut_avx512.ll) from a 0..15 table.
    s.code(c, row) = Internal::Call::make(Float(32), "qembed_u4_code", {u4_lookup_index(t, c, row)},
                                          Internal::Call::PureExtern);
  } else {
    // (u4_code_widened measured even here on AVX2: the registers it takes cost spills.)
    s.code(c, row) = cast<float>(unpack_bits(t.table, c, row, fmt::code_bits(t.format.codes)));
  }
  if (t.format.layout == fmt::QParamLayout::ScaleBiasF32) {
    s.scale(row) = reinterpret(Float(32), le_bits(t.table, t.row_elems - 8, row, 4));
    s.bias(row) = reinterpret(Float(32), le_bits(t.table, t.row_elems - 4, row, 4));
  } else {  // fp16 -> fp32 is exact
    s.scale(row) = f16_to_f32(le_bits(t.table, t.row_elems - 4, row, 2), target);
    s.bias(row) = f16_to_f32(le_bits(t.table, t.row_elems - 2, row, 2), target);
  }
  return s;
}

Expr scale_bias_accumulate(const Expr& acc, const Expr& q, const Expr& scale, const Expr& bias,
                           const Expr& w, const Target& target) {
  return rowwise_accumulate(acc, q, strict_float(w * scale), strict_float(w * bias), target);
}

}  // namespace qembed::stages
