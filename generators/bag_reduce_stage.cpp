#include "bag_reduce_stage.h"

namespace qembed::stages {

using namespace Halide;

BagReduce bag_reduce(const BagInputs& in, BagMode mode) {
  Var c("c"), b("b");
  BagReduce br{RDom(0, in.num_indices, "r"), Func("bag_acc"), Func("bag_count"), Func("bag")};

  // Offsets were validated (begin 0, non-decreasing, within the indices); the clamps
  // only bound the accesses for bounds inference.
  // Bag bounds in int32 (the runtime caps index counts below 2^31): where() becomes a
  // loop bound only when it solves to `r < len` with no cast around r.
  Expr begin = cast<int32_t>(in.offsets(b));
  Expr next = cast<int32_t>(in.offsets(clamp(b + 1, 0, in.num_bags - 1)));
  Expr end = select(b + 1 < in.num_bags, next, in.num_indices);
  RDom& r = br.r;
  // A data-dependent RDom extent is not allowed; where() becomes the loop bound, so a
  // bag costs only its own length (check the .stmt: `for (r, 0, len)`, not an `if`).
  r.where(r < end - begin);
  Expr j = clamp(begin + r, 0, in.num_indices - 1);
  Expr is_padding = cast<int64_t>(in.indices(j)) == in.padding_idx;

  br.count(b) = 0;
  br.count(b) += select(is_padding, 0, 1);

  Expr v = in.rows(c, j);
  if (mode == BagMode::SumOrMean) {
    Expr w = in.weights(clamp(j, 0, in.num_weights - 1));
    Expr term = select(in.has_weights, strict_float(v * w), v);
    br.acc(c, b) = 0.0f;
    // acc = fl(acc + term) in index order. Skipping (not adding +0) keeps acc exact.
    br.acc(c, b) = select(is_padding, br.acc(c, b), strict_float(br.acc(c, b) + term));
    Expr divided = strict_float(br.acc(c, b) / cast<float>(max(br.count(b), 1)));
    br.out(c, b) = select(in.mean, divided, br.acc(c, b));
  } else {
    // Start below every value; replace only when new > cur (as PyTorch, which starts
    // from the first non-padding row: the same result for every non-NaN row).
    br.acc(c, b) = cast<float>(-std::numeric_limits<float>::infinity());
    br.acc(c, b) = select(!is_padding && strict_float(v > br.acc(c, b)), v, br.acc(c, b));
    br.out(c, b) = select(br.count(b) == 0, 0.0f, br.acc(c, b));
  }
  return br;
}

}  // namespace qembed::stages
