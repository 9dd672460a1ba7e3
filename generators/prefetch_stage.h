// In-kernel software prefetch of the rows of upcoming indices, as FBGEMM's kernels do
// (prefetch row indices[j + distance] while reducing row j). Halide's prefetch directive
// cannot express this: bounds inference of a data-dependent gather covers the whole
// table. So the request is an expression: Halide's prefetch intrinsic on the table's
// host pointer (lowered to prefetcht0 / pldl1keep by prefetch_line.ll, which
// add_llvm_helpers adds; Halide 14's own helper asks for a non-temporal line), attached to a
// value the loop computes anyway (return_second), which puts it in the innermost loop
// over a bag's entries and costs a few scalar instructions.
#pragma once

#include <functional>

#include "Halide.h"
#include "dequantize_stage.h"

namespace qembed::stages {

// Requests (into L1) the lines of stored row `row` that column `col`'s pass reads: the
// line of col's code, the line `span_bytes` - 1 bytes later (a tile of codes may straddle
// two lines; rows are not line-aligned), and, for fused qparams, the row's last line.
// `table` must be the pipeline's table input (its host pointer is what is prefetched);
// offsets are 64-bit on `target`s with large_buffers, else 32-bit.
Halide::Expr prefetch_row(const StoredTable& t, const Halide::ImageParam& table,
                          const Halide::Expr& row, const Halide::Expr& col, int span_bytes,
                          const Halide::Target& target);

// prefetch(j, c): requests what entry j + distance reads at column c, as prefetch_row
// does; entry_rows (gather_stage.h) holds rows past the last entry. `distance` is a
// runtime input: the best one depends on the row size and the machine
// (runtime/row_prefetch.h picks it).
using RowsAhead = std::function<Halide::Expr(const Halide::Expr& j, const Halide::Expr& c)>;
RowsAhead rows_ahead(const StoredTable& t, const Halide::ImageParam& table,
                     const Halide::Func& entry_rows, const Halide::Expr& distance, int span_bytes,
                     const Halide::Target& target);

// `value`, evaluated after `side_effect` (which must stay in the loop computing value).
Halide::Expr after(const Halide::Expr& side_effect, const Halide::Expr& value);

// A prefetch request made only where `condition` holds (a branch, not a select: a
// select would make both).
Halide::Expr request_if(const Halide::Expr& condition, const Halide::Expr& request);

}  // namespace qembed::stages
