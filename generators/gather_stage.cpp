#include "gather_stage.h"

namespace qembed::stages {

using namespace Halide;

namespace {

// The table row named by indices(j), as int32: one unsigned min (a negative index wraps
// high) instead of a clamp's two keeps the row inside the table whatever the index, at
// one compare and move per entry (kernels never run on an empty table; rows fit int32).
Expr row_of(const Func& indices, const Expr& j, const Expr& num_rows) {
  Expr idx = indices(j);
  Type u = idx.type().with_code(Type::UInt);
  return cast<int32_t>(min(cast(u, idx), cast(u, num_rows - 1)));
}

}  // namespace

Func entry_rows(const Func& indices, const Expr& num_indices, const Expr& num_rows) {
  Var e("e");
  Func rows("entry_rows");
  Expr row = row_of(indices, clamp(e, 0, num_indices - 1), num_rows);
  rows(e) = reinterpret<int32_t>(cast<uint32_t>(row));  // bounds hidden (see the header)
  return rows;
}

Expr row_at(const Func& entry_rows, const Expr& j, const Expr& num_rows) {
  return unsafe_promise_clamped(entry_rows(j), 0, num_rows - 1);
}

Func gather(const Func& dequantized, const Func& entry_rows, const Expr& num_rows) {
  Var c("c"), j("j");
  Func rows("gathered");
  rows(c, j) = dequantized(c, row_at(entry_rows, j, num_rows));
  return rows;
}

}  // namespace qembed::stages
