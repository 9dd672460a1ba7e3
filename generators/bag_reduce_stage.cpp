#include "bag_reduce_stage.h"

#include <vector>

#include "prefetch_stage.h"

namespace qembed::stages {

using namespace Halide;

BagReduce bag_reduce(const BagInputs& in, BagMode mode, bool column_pairs) {
  Var c("c"), b("b"), k("k"), p("p");
  BagReduce br{RDom(0, in.num_indices, "r"),
               Func("bag_acc"),
               Func("bag_count"),
               Func("bag_bounds"),
               Func("bag"),
               false,
               Expr(),
               Expr()};
  br.column_pairs = column_pairs;
  // The accumulator's column coordinates: (c), or (k, p) for column c = 2k + p.
  const std::vector<Var> cols = column_pairs ? std::vector<Var>{k, p} : std::vector<Var>{c};
  const Expr col = column_pairs ? 2 * k + p : Expr(c);
  auto at = [&](const Expr& bag) {  // (cols..., bag)
    std::vector<Expr> args(cols.begin(), cols.end());
    args.push_back(bag);
    return args;
  };
  Func finished("bag_finished");

  // Offsets were validated (begin 0, non-decreasing, within the indices); clamping each
  // bag's bounds once per bag keeps every entry inside the indices whatever they hold, so
  // the entry needs no clamp of its own: the promise only tells bounds inference so.
  // Bag bounds in int32 (the runtime caps index counts below 2^31): where() becomes a
  // loop bound only when it solves to `r < len` with no cast around r.
  Func& bounds = br.bounds;
  {
    Expr begin = clamp(cast<int32_t>(in.offsets(b)), 0, in.num_indices);
    Expr next = cast<int32_t>(in.offsets(clamp(b + 1, 0, in.num_bags - 1)));
    Expr end = clamp(select(b + 1 < in.num_bags, next, in.num_indices), begin, in.num_indices);
    bounds(b) = {begin, max(end - begin, 0)};
  }
  Expr begin = bounds(b)[0], len = bounds(b)[1];
  RDom& r = br.r;
  // A data-dependent RDom extent is not allowed; where() becomes the loop bound, so a
  // bag costs only its own length. With `bounds` realized once per bag (the schedule
  // computes it at the bag loop) the bound and the predicate read the same length, and
  // the simplifier drops the predicate (check the .stmt: `for (r, 0, len)`, no `if`).
  r.where(r < len);
  Expr j = unsafe_promise_clamped(begin + r, 0, in.num_indices - 1);
  Expr is_padding = in.padding_idx.defined() ? cast<int64_t>(in.indices(j)) == in.padding_idx
                                             : Internal::const_false();

  br.count(b) = 0;
  br.count(b) += select(is_padding, 0, 1);

  // The prefetch rides on the value read once per entry and column tile. Both columns of
  // a pair read the same bytes: only the even one asks for them (the odd one's request,
  // unrolled with a constant p, folds away).
  auto with_prefetch = [&](const Expr& e) {
    if (!in.prefetch) return e;
    Expr request = in.prefetch(j, col);
    if (column_pairs) {
      request = request_if(p == 0, request);
    }
    return after(request, e);
  };
  Func& acc = br.acc;
  // The update for an entry: `next`, or for a padding entry acc as it is. A branch
  // (if_then_else), not a select: LLVM turned select(padding, acc, acc + term) into an
  // add of a per-row -0 or term, and Halide merges it into max's own select, whose mask
  // then joined the entry's scalar test to every lane's compare. Padding entries still
  // prefetch the row ahead (both branches ask; LLVM hoists the request above the test).
  auto unless_padding = [&](const Expr& next) {
    return Internal::Call::make(Float(32), Internal::Call::if_then_else,
                                {is_padding, with_prefetch(acc(at(b))), next},
                                Internal::Call::PureIntrinsic);
  };
  if (mode == BagMode::SumOrMean) {
    Expr w = in.weights(clamp(j, 0, in.num_weights - 1));
    acc(at(b)) = 0.0f;
    Expr next;
    if (in.accumulate) {
      next = with_prefetch(in.accumulate(acc(at(b)), j, col, select(in.has_weights, w, 1.0f)));
    } else {
      Expr v = in.rows(col, j);
      Expr term = with_prefetch(select(in.has_weights, strict_float(v * w), v));
      next = strict_float(acc(at(b)) + term);
    }
    // acc = fl(acc + term) in index order. Skipping (not adding +0) keeps acc exact.
    acc(at(b)) = unless_padding(next);
    Expr divided = strict_float(acc(at(b)) / cast<float>(max(br.count(b), 1)));
    finished(at(b)) = select(in.mean, divided, acc(at(b)));
    br.has_weights = in.has_weights;
    br.mean = in.mean;
  } else {
    Expr v = in.rows(col, j);
    // Start below every value; replace only when new > cur (as PyTorch, which starts
    // from the first non-padding row: the same result for every non-NaN row).
    acc(at(b)) = cast<float>(-std::numeric_limits<float>::infinity());
    // new > cur ? new : cur is exactly what x86's maxps does (NaN and zeros included), and
    // LLVM emits it for that select alone (the padding test stays outside it). The select
    // is strict too: with fast-math flags AArch64 makes it an fmaxnm, which orders -0
    // below +0.
    Expr larger = strict_float(select(with_prefetch(v > acc(at(b))), v, acc(at(b))));
    acc(at(b)) = unless_padding(larger);
    finished(at(b)) = select(br.count(b) == 0, 0.0f, acc(at(b)));
  }
  if (column_pairs) {
    br.out(c, b) = finished(c / 2, c % 2, b);
  } else {
    br.out(c, b) = finished(c, b);
  }
  return br;
}

}  // namespace qembed::stages
