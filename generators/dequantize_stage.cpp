#include "dequantize_stage.h"

#include <stdexcept>
#include <string>

#include "llvm_helpers.h"
#include "scale_bias_stage.h"
#include "unpack_codes.h"

namespace qembed::stages {

using namespace Halide;

namespace {

// A little-endian float32 stored as four bytes starting at element e of a byte row.
Expr f32_from_bytes(const Func& table, const Expr& e, const Expr& row) {
  Expr bits = cast<uint32_t>(table(e, row)) | (cast<uint32_t>(table(e + 1, row)) << 8) |
              (cast<uint32_t>(table(e + 2, row)) << 16) | (cast<uint32_t>(table(e + 3, row)) << 24);
  return reinterpret(Float(32), bits);
}

// The integer code of column c, widened to int32.
Expr code_of(const StoredTable& t, const Expr& c, const Expr& row, const Target& target) {
  switch (t.format.codes) {
    case fmt::Codes::U8:
      return cast<int32_t>(t.table(c, row));
    case fmt::Codes::I8:
      return cast<int32_t>(reinterpret(Int(8), t.table(c, row)));
    case fmt::Codes::U4:
      if (u4_widened(t.format, target)) return u4_code_widened(t, c, row);
      return cast<int32_t>(unpack_bits(t.table, c, row, 4));
    case fmt::Codes::I32:
      return t.table(c, row);
    default:
      throw std::invalid_argument(std::string("format ") + t.format.name + " has no integer codes");
  }
}

}  // namespace

bool u4_lookup(const fmt::Format& f, const Target& target) {
  return f.codes == fmt::Codes::U4 && f.layout == fmt::QParamLayout::Row && x86_avx512(target);
}

bool u4_widened(const fmt::Format& f, const Target& target) {
  // Measured on AVX2 (u4_row; even on the x86-64 baseline); the per-column layout,
  // whose qparams are vectors too, spilled more registers with the widened unpack.
  return f.codes == fmt::Codes::U4 && f.layout == fmt::QParamLayout::Row &&
         target.arch == Target::X86 && !u4_lookup(f, target);
}

StoredTable stored_table(const fmt::Format& f, ImageParam table, const Expr& dim,
                         const Func& col_scale, const Func& col_zero_point, const Target& target) {
  table.dim(1).set_stride(table.dim(0).extent());
  const Expr extent = table.dim(0).extent();
  // The widened 4-bit unpack is the exception, counted under qemu-x86_64 (AVX2, 4-bit
  // D=128: 173.9 instructions a row with the extent, 185.9 with the dim): without the
  // second multiply LLVM allocated that loop's registers worse (two accumulators spilled,
  // more copies), which cost more than the multiply saved.
  const Expr row_elems = u4_widened(f, target) ? extent : fmt::row_elements(f, dim);
  return StoredTable{f, table, row_elems, extent, col_scale, col_zero_point};
}

Func dequantize(const StoredTable& t, const Target& target) {
  Var c("c"), row("row");
  Func deq("dequantized");
  const fmt::Codes codes = t.format.codes;
  if (fmt::prepacked(t.format.layout)) {  // a row on its own: what it adds to an empty bag
    const ScaleBiasRows sb = scale_bias_rows(t, target);
    deq(c, row) =
        scale_bias_accumulate(0.0f, sb.code(c, row), sb.scale(row), sb.bias(row), 1.0f, target);
    return deq;
  }
  if (codes == fmt::Codes::F32) {
    deq(c, row) = t.table(c, row);
    return deq;
  }
  if (codes == fmt::Codes::F16) {
    deq(c, row) = f16_to_f32(t.table(c, row), target);
    return deq;
  }

  Expr scale, zero_point;
  if (t.format.layout == fmt::QParamLayout::Row) {
    if (codes == fmt::Codes::I32) {
      scale = reinterpret(Float(32), t.table(t.row_elems - 2, row));
      zero_point = reinterpret(Float(32), t.table(t.row_elems - 1, row));
    } else {
      scale = f32_from_bytes(t.table, t.row_elems - 8, row);
      zero_point = f32_from_bytes(t.table, t.row_elems - 4, row);
    }
  } else {
    scale = t.col_scale(c);
    zero_point = t.col_zero_point(c);
  }

  if (u4_lookup(t.format, target)) {
    // The row's 16 values, looked up (u4_lut_avx512.ll): fl(fl(q - zp) * scale) as below.
    deq(c, row) = Internal::Call::make(Float(32), "qembed_dequant_u4",
                                       {u4_lookup_index(t, c, row), zero_point, scale},
                                       Internal::Call::PureExtern);
    return deq;
  }
  Expr q = code_of(t, c, row, target);
  Expr centered;
  if (codes == fmt::Codes::I32) {
    // 32-bit codes: subtract in exact integer arithmetic (the runtime only accepts
    // integral zero points with |zp| <= 2^24 here, so the float -> int64 cast is exact).
    centered = cast<float>(cast<int64_t>(q) - cast<int64_t>(zero_point));
  } else {
    // 8/4-bit codes: q and an integral zp are exact in float32, so fl(q - zp) equals the
    // integer difference; for float zero points this IS the contract's fl(q - zp).
    centered = cast<float>(q) - zero_point;
  }
  deq(c, row) = strict_float(centered * scale);
  return deq;
}

Expr quantize(const Expr& x, const Expr& scale, const Expr& zero_point, bool float_zero_point,
              const Expr& qmin, const Expr& qmax) {
  // inv = fl(1 / s), then MULTIPLY: x / s rounds differently (contract section 2).
  Expr inv = strict_float(1.0f / scale);
  Expr v;
  if (float_zero_point) {
    // q = clamp(lrintf(fl(fl(x * inv) + zp))): two roundings, no FMA.
    v = cast<double>(round(strict_float(x * inv + zero_point)));
  } else {
    // q = clamp(zp + nearbyint(fl(x * inv))): the sum is exact in float64 for every
    // zero point the runtime accepts, so huge x saturate instead of wrapping.
    v = cast<double>(round(strict_float(x * inv))) + cast<double>(zero_point);
  }
  return cast<int32_t>(clamp(v, cast<double>(qmin), cast<double>(qmax)));
}

}  // namespace qembed::stages
