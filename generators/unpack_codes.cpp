#include "unpack_codes.h"

#include "formats.h"

namespace qembed::stages {

using namespace Halide;

namespace {

// `value` as an expression LLVM cannot fold (a row with fused qparams holds at least their
// bytes; the buffer's extent, not row_elems, which the simplifier bounds from the dim).
// Given a constant mask or shift of the widened dwords, LLVM narrows the unpack back to
// bytes: vpsrlw and vpand, then extracts and re-widens every quarter vector.
Expr unfolded(const StoredTable& t, int value) {
  return select(t.row_extent >= fmt::fused_qparam_bytes(t.format.layout), value, 0);
}

}  // namespace

Expr unpack_bits(const Func& table, const Expr& c, const Expr& row, int bits) {
  if (bits == 8) return table(c, row);
  const int per_byte = 8 / bits;
  Expr byte = table(c / per_byte, row);
  return (byte >> cast<uint8_t>((c % per_byte) * bits)) & cast<uint8_t>((1 << bits) - 1);
}

Expr u4_lookup_index(const StoredTable& t, const Expr& c, const Expr& row) {
  // Even columns share the widened dwords as they are; odd ones shift them (one vpsrld).
  return cast<int32_t>(t.table(c / 2, row)) >> ((c % 2) * unfolded(t, 4));
}

Expr u4_code_widened(const StoredTable& t, const Expr& c, const Expr& row) {
  // A mask for even columns, a shift for odd ones (a byte shifted by 4 needs no mask).
  Expr dw = cast<int32_t>(t.table(c / 2, row));
  return select(c % 2 == 0, dw & unfolded(t, 15), dw >> unfolded(t, 4));
}

}  // namespace qembed::stages
