// Target-aware schedules for the lookup pipelines. Every tunable choice is a field of
// ScheduleParams (set from GeneratorParams), so a tuner can vary them per target
// without touching the algorithm.
#pragma once

#include "Halide.h"
#include "bag_reduce_stage.h"
#include "renorm_stage.h"

namespace qembed::schedules {

// The lookup kernels are single-threaded: the runtime splits a call into chunks (to
// prefetch their rows) and spreads the chunks over threads (runtime/row_prefetch.h).
struct ScheduleParams {
  int vectors_per_tile = 4;  // columns accumulated at once, in native float vectors
};

// out(c, i): one dequantized (renormalized) row per index.
void schedule_embedding(Halide::Func out, stages::Renorm renorm, const Halide::Expr& has_max_norm,
                        const Halide::Expr& dim, const Halide::Target& target,
                        const ScheduleParams& p);

// out(c, b): the bags (bag.out, inlined into the output). Accumulators for one column
// tile stay in registers across a bag.
void schedule_bag(stages::BagReduce bag, Halide::Func out, stages::Renorm renorm,
                  const Halide::Expr& has_max_norm, const Halide::Expr& dim,
                  const Halide::Target& target, const ScheduleParams& p);

// quantized(c, row): from_float's elementwise quantization.
void schedule_quantize(Halide::Func out, const Halide::Target& target);

}  // namespace qembed::schedules
