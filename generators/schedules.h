// Target-aware schedules for the lookup pipelines. Every tunable choice is a field of
// ScheduleParams (set from GeneratorParams), so a tuner can vary them per target
// without touching the algorithm.
#pragma once

#include <string>

#include "Halide.h"
#include "bag_reduce_stage.h"
#include "formats.h"
#include "renorm_stage.h"

namespace qembed::schedules {

// The lookup kernels are single-threaded: the runtime splits a call into chunks (to
// prefetch their rows) and spreads the chunks over threads (runtime/call_tasks.h).
struct ScheduleParams {
  int vectors_per_tile = 0;  // columns accumulated at once, in native float vectors
};

// The defaults for a target, with any knob a generator was given (> 0) in their place.
// x86 and ARM take 8 vectors per tile (sched::default_vectors_per_tile). x86
// (bench/qembed_bench, cold 4M-row tables, 2-core EPYC, in-loop prefetch): AVX-512 8-bit
// D=128 11.6 -> 9.8 us, D=256 21.4 -> 16.8 us, warm 6.7 -> 4.9 us against 4; AVX2 8-bit
// D=128 18.8 -> 15.9 us, D=512 86.7 -> 59.8 us. 16 lost on both (AVX2 spills; AVX-512 4-bit
// D<=64 slowed 2x). ARM, counted, not timed (no ARM machine: tools/insns_per_row.sh, guest
// instructions per looked-up row under qemu-aarch64), 4 -> 8: 8-bit D=32/128/512
// 139 -> 104, 537 -> 397, 2129 -> 1566; 4-bit D=128 545 -> 429. 16 counts another 3-25%
// fewer (8-bit D=128: 368) but spills vector registers in the per-column layouts' loops
// (u4_col: 30 and more a tile), which a count does not price: a schedule entry's choice,
// per pipeline, best made by qembed-tune on the machine.
// `schedules` (optional) is a schedule file (schedule_file.h): its entry for (target,
// pipeline) replaces the defaults; an explicit vectors_per_tile (> 0) wins over both.
ScheduleParams params_for(const Halide::Target& target, int vectors_per_tile,
                          const std::string& schedules = "", const std::string& pipeline = "");

// Bytes of codes one column tile reads from a row (what one pass must prefetch).
int tile_code_bytes(const fmt::Format& f, const Halide::Target& target, const ScheduleParams& p);

// out(c, i): one dequantized (renormalized) row per index. column_pairs (4-bit codes;
// undefined otherwise): out(c, i) = select(dim % 2 == 0, column_pairs(c / 2, c % 2, i),
// column c read alone), one tile of pairs computed per column tile of an even width.
void schedule_embedding(Halide::Func out, Halide::Func column_pairs, stages::Renorm renorm,
                        const Halide::Expr& has_max_norm, const Halide::Expr& dim,
                        const Halide::Target& target, const ScheduleParams& p);

// out(c, b): the bags (bag.out, inlined into the output). Accumulators for one column
// tile stay in registers across a bag.
void schedule_bag(stages::BagReduce bag, Halide::Func out, stages::Renorm renorm,
                  const Halide::Expr& has_max_norm, const Halide::Expr& dim,
                  const Halide::Target& target, const ScheduleParams& p);

// The entries' rows (stages::entry_rows) once per call, before the pipeline: the column
// tiles and the prefetch ahead then read each entry's row from it (AVX2, 8-bit D=128: the
// per-tile work of an entry fell from 22 instructions before the dequantize to 12).
void schedule_entry_rows(Halide::Func entry_rows, const Halide::Target& target);

// quantized(c, row): from_float's elementwise quantization.
void schedule_quantize(Halide::Func out, const Halide::Target& target);

}  // namespace qembed::schedules
