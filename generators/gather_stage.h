// Stage 2: gather. rows(c, j) is column c of the table row named by indices(j), for
// int32 or int64 indices. The runtime validated every index already; the bound (one
// unsigned min) keeps the access inside the table by construction and lets bounds
// inference size it, it never changes a result.
#pragma once

#include "Halide.h"

namespace qembed::stages {

Halide::Func gather(const Halide::Func& dequantized, const Halide::Func& indices,
                    const Halide::Expr& num_rows);

// The table row named by indices(j), as int32 (tables are below 2^31 rows).
Halide::Expr row_of(const Halide::Func& indices, const Halide::Expr& j,
                    const Halide::Expr& num_rows);

}  // namespace qembed::stages
