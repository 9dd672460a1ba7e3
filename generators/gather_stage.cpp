#include "gather_stage.h"

namespace qembed::stages {

using namespace Halide;

namespace {

// The table row named by indices(j), as uint32: the index's low 32 bits under one
// unsigned min. Whatever the index (a negative one wraps high, an int64 one keeps its low
// 32 bits) the row stays inside the table (kernels never run on an empty one); for the
// indices libqembed passes (validated: in [0, rows), rows < 2^31) it is the index. Narrowing
// first spares int64 indices a 64-bit unsigned min, which AVX2 and NEON lack.
Expr row_of(const Func& indices, const Expr& j, const Expr& num_rows) {
  return min(cast<uint32_t>(indices(j)), cast<uint32_t>(num_rows - 1));
}

}  // namespace

Func entry_rows(const Func& indices, const Expr& num_indices, const Expr& num_rows) {
  Var e("e");
  Func rows("entry_rows");
  Expr row = row_of(indices, clamp(e, 0, num_indices - 1), num_rows);
  rows(e) = reinterpret<int32_t>(row);  // bounds hidden (see the header)
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
