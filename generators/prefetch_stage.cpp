#include "prefetch_stage.h"

namespace qembed::stages {

using namespace Halide;
using Halide::Internal::Call;

namespace {

// prefetch(&table[element e of row `row`]): one cache line. The request addresses
// bytes (a uint8 prefetch) whatever the table's type. `tag` fills the request's stride,
// which codegen ignores for a one-line request: distinct for each request of a row, it
// keeps two requests whose addresses simplify alike (narrow tiles at a row's end) from
// being bound to one let by Halide's CSE, which Halide 14 cannot codegen for a prefetch.
Expr prefetch_element(const ImageParam& table, const Expr& row, const Expr& e, bool wide, int tag) {
  Expr base = Internal::Variable::make(Handle(), table.name(), table.parameter());
  // Rows are dense (the generators constrain stride 1 to extent 0): no stride variable, so
  // the autoschedulers, which need an estimate for every variable, can plan the pipeline.
  // `wide` (targets with large_buffers): a table over 2 GiB has offsets past int32. Not
  // otherwise: the 64-bit multiply cost 3.6% on 8-bit D=128 cold bags (AVX-512).
  Expr elements = (e - table.dim(0).min()) + (row - table.dim(1).min()) * table.dim(0).extent();
  if (wide) {
    elements = cast<int64_t>(e - table.dim(0).min()) +
               cast<int64_t>(row - table.dim(1).min()) * table.dim(0).extent();
  }
  Expr request = Call::make(UInt(8), Call::prefetch,
                            {base, elements * table.type().bytes(), 1, tag}, Call::Intrinsic);
  // Codegen returns the runtime helper's int32: the cast makes the types agree once the
  // vectorizer broadcasts the request to a vector's lanes.
  return cast<int32_t>(request);
}

}  // namespace

Expr prefetch_row(const StoredTable& t, const ImageParam& table, const Expr& row, const Expr& col,
                  int span_bytes, const Target& target) {
  const bool wide = target.has_feature(Target::LargeBuffers);
  const int elem_bytes = fmt::element_bytes(t.format.codes);
  Expr first = col / fmt::codes_per_byte(t.format.codes);
  Expr last = t.row_elems - 1;
  // One request per line of the span, plus its last byte (the span may straddle a line).
  // A span sized for the widest tile would repeat the row's last line on short rows (4
  // extra requests a row for D=32 at 8 bits with 256-byte spans), so requests `offset`
  // bytes into the span are skipped when the row is shorter than that: a condition on the
  // row length only, the same for every lane and entry (a well-predicted branch). Each
  // request gets its own tag (prefetch_element).
  int tag = 1;
  auto within_row = [&](int offset) {
    Expr e = min(first + offset / elem_bytes, last);
    return request_if(offset / elem_bytes < last, prefetch_element(table, row, e, wide, ++tag));
  };
  Expr req = prefetch_element(table, row, first, wide, tag);
  for (int b = 64; b < span_bytes; b += 64) req = after(req, within_row(b));
  req = after(req, within_row(span_bytes - 1));
  // The row's last element: its fused qparams, or the end of a row shorter than the span.
  req = after(req, prefetch_element(table, row, last, wide, ++tag));
  return req;
}

RowsAhead rows_ahead(const StoredTable& t, const ImageParam& table, const Func& entry_rows,
                     const Expr& distance, int span_bytes, const Target& target) {
  return [=](const Expr& j, const Expr& c) {
    return prefetch_row(t, table, entry_rows(j + distance), c, span_bytes, target);
  };
}

Expr after(const Expr& side_effect, const Expr& value) {
  return Call::make(value.type(), Call::return_second, {side_effect, value}, Call::PureIntrinsic);
}

Expr request_if(const Expr& condition, const Expr& request) {
  return Call::make(Int(32), Call::if_then_else, {condition, request, 0}, Call::PureIntrinsic);
}

}  // namespace qembed::stages
