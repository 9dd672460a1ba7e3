#include "gather_stage.h"

namespace qembed::stages {

using namespace Halide;

Expr row_of(const Func& indices, const Expr& j, const Expr& num_rows) {
  Expr idx = indices(j);
  return cast<int32_t>(clamp(idx, cast(idx.type(), 0), cast(idx.type(), num_rows - 1)));
}

Func gather(const Func& dequantized, const Func& indices, const Expr& num_rows) {
  Var c("c"), j("j");
  Func rows("gathered");
  rows(c, j) = dequantized(c, row_of(indices, j, num_rows));
  return rows;
}

}  // namespace qembed::stages
