#include "gather_stage.h"

namespace qembed::stages {

using namespace Halide;

Expr row_of(const Func& indices, const Expr& j, const Expr& num_rows) {
  Expr idx = indices(j);
  // One unsigned min (a negative index wraps high) instead of a clamp's two: the row
  // stays inside the table whatever the index, at one compare and move per entry. The
  // promise only tells bounds inference what the min guarantees (kernels never run on
  // an empty table; rows fit int32), which it cannot see through the casts.
  Type u = idx.type().with_code(Type::UInt);
  Expr row = cast<int32_t>(min(cast(u, idx), cast(u, num_rows - 1)));
  return unsafe_promise_clamped(row, 0, num_rows - 1);
}

Func gather(const Func& dequantized, const Func& indices, const Expr& num_rows) {
  Var c("c"), j("j");
  Func rows("gathered");
  rows(c, j) = dequantized(c, row_of(indices, j, num_rows));
  return rows;
}

}  // namespace qembed::stages
