// Stage 3: bag reduction (F.embedding_bag). Bag b covers indices [begin(b), end(b));
// entries equal to padding_idx are skipped (their weights too) and excluded from the
// mean's count; an empty or all-padding bag yields zeros in every mode.
#pragma once

#include <functional>

#include "Halide.h"

namespace qembed::stages {

enum class BagMode { SumOrMean, Max };

struct BagInputs {
  Halide::Func rows;         // rows(c, j): gathered (and renormalized) row of entry j
  Halide::Func indices;      // indices(j), any integer type
  Halide::Func offsets;      // offsets(b): begin of bag b, num_bags entries
  Halide::Func weights;      // weights(j): per_sample_weights (read when has_weights)
  Halide::Expr num_indices;  // entries in `indices`
  Halide::Expr num_bags;     // bags in the output; the last one ends at num_indices
  Halide::Expr num_weights;  // entries in `weights` (for the access clamp only)
  Halide::Expr padding_idx;  // int64; -1 when the module has none; undefined where the
                             // format has none (the prepacked family): nothing is skipped
  Halide::Expr has_weights;  // bool
  Halide::Expr mean;         // bool: divide the sum by max(count, 1)
  // Optional: prefetch(j, c) is a side effect requesting what a later entry will read at
  // column c (prefetch_stage.h); it runs in the loop over a bag's entries.
  std::function<Halide::Expr(const Halide::Expr& j, const Halide::Expr& c)> prefetch;
  // Optional (sum only): accumulate(acc, j, c, w) is the new sum after entry j with weight
  // w (1 without weights), for formats whose numerics fuse the dequantize into the sum
  // (scale_bias_stage.h); `rows` is then not read. Default: fl(acc + fl(rows * w)).
  std::function<Halide::Expr(const Halide::Expr& acc, const Halide::Expr& j, const Halide::Expr& c,
                             const Halide::Expr& w)>
      accumulate;
};

struct BagReduce {
  Halide::RDom r;       // r over one bag's entries (its where() bounds it by the bag)
  Halide::Func acc;     // acc(c, b), or acc(k, p, b) for c = 2k + p: the running sum or max
  Halide::Func count;   // count(b): non-padding entries
  Halide::Func bounds;  // bounds(b) = {first entry, entry count}: bag b's entries
  Halide::Func out;     // out(c, b): the finished bag
  bool column_pairs = false;
  // Sum/mean only (undefined for max): the inputs' has_weights and mean, for schedules
  // to specialize on (an unweighted sum multiplies by no weight, a sum divides by nothing).
  Halide::Expr has_weights, mean;
};

// column_pairs: accumulate column c = 2k + p as acc(k, p, b), even and odd columns apart
// (for 4-bit codes, whose two nibbles of a byte are two columns: a vector of bytes feeds
// an even and an odd accumulator directly, and the columns are interleaved once per bag
// instead of on every row).
BagReduce bag_reduce(const BagInputs& in, BagMode mode, bool column_pairs = false);

}  // namespace qembed::stages
