// Stage 2: gather. rows(c, j) is column c of the table row named by indices(j), for
// int32 or int64 indices. The runtime validated every index already; the bound (one
// unsigned min) keeps the access inside the table by construction and lets bounds
// inference size it, it never changes a result.
#pragma once

#include "Halide.h"

namespace qembed::stages {

// entry_rows(e): the table row of entry e (its index's low 32 bits under one unsigned
// min; past the last entry, the last entry's row), as int32 (tables are below 2^31 rows).
// The schedules compute it once per call, so a row's column tiles and the prefetch ahead
// read it with no index load, clamp or bound of their own. Its value's bounds are hidden
// from Halide (row_at promises them): with bounds narrower than int32, Halide's
// clamp_unsafe_accesses pass clamped every use again. Needs at least one index (libqembed
// never calls a kernel without one).
Halide::Func entry_rows(const Halide::Func& indices, const Halide::Expr& num_indices,
                        const Halide::Expr& num_rows);

// The row of entry j from entry_rows, promised to lie in [0, num_rows) for bounds inference.
Halide::Expr row_at(const Halide::Func& entry_rows, const Halide::Expr& j,
                    const Halide::Expr& num_rows);

// rows(c, j) = dequantized(c, row_at(entry_rows, j, num_rows)).
Halide::Func gather(const Halide::Func& dequantized, const Halide::Func& entry_rows,
                    const Halide::Expr& num_rows);

}  // namespace qembed::stages
