#include "schedules.h"

#include <stdexcept>
#include <vector>

#include "schedule_file.h"

namespace qembed::schedules {

using namespace Halide;

namespace {

// Column tile widths, widest first: `tile`, then halved down to one native vector, so
// a row narrower than the widest tile still takes as few passes as possible.
std::vector<int> tile_widths(int vec, int tile) {
  std::vector<int> widths;
  for (int t = tile; t >= vec; t /= 2) widths.push_back(t);
  return widths;
}

// The column loop of an output stage, split into tiles (tile_widths). Rows at least one
// tile wide use whole vector tiles (ShiftInwards keeps every access inside the row);
// rows narrower than a vector run scalar. Every branch names the tile loop `co` so
// producers can be computed at it.
void tile_columns(Stage s, const Var& c, const Var& co, const Var& ci, const Expr& dim, int vec,
                  int tile) {
  for (int t : tile_widths(vec, tile)) {
    s.specialize(dim >= t).split(c, co, ci, t, TailStrategy::ShiftInwards).vectorize(ci);
  }
  s.split(c, co, ci, 1);
}

// The column loop of an output stage whose columns come in pairs (4-bit codes: column
// c = 2k + p), in tiles of whole pairs: a tile of `t` columns covers exactly t / 2 values
// of k (pairs are split off first; ShiftInwards acts on pairs). `even`: the condition
// each branch adds for the width to be even (bags), or undefined where `s` is already the
// even widths' branch (lookups): there each branch's condition is `dim >= t` alone, so
// the next one knows the width is even and under `t` (the tile loop of a row under two
// tiles runs once, unlooped), and rows under a vector go one pair a step (a column a step
// would make the pair's region depend on the column). The rest run column by column.
// Every branch names the tile loop `co`.
void pair_tiles(Stage s, const Var& c, const Var& co, const Var& ci, const Expr& dim,
                const Expr& even, int vec, int tile) {
  for (int t : tile_widths(vec, tile)) {
    Var c2("c2"), cp("cp"), c2i("c2i");
    s.specialize(even.defined() ? (dim >= t && even) : dim >= t)
        .split(c, c2, cp, 2, TailStrategy::RoundUp)
        .split(c2, co, c2i, t / 2, TailStrategy::ShiftInwards)
        .reorder(cp, c2i, co)
        .fuse(cp, c2i, ci)
        .vectorize(ci);
  }
  if (even.defined()) {
    s.split(c, co, ci, 1);
  } else {
    s.split(c, co, ci, 2, TailStrategy::RoundUp).vectorize(ci);
  }
}

// max_norm's factor, computed once per looked-up row at `at` (one row's norm is a
// scalar loop over D inside it). Specializing on the norm type drops the unused
// reduction and turns pow(|x|, 2) into |x| * |x|.
void schedule_renorm(stages::Renorm renorm, const LoopLevel& at, const Var& j) {
  const Expr& p = renorm.norm_type;
  renorm.factor.compute_at(at).specialize(is_inf(p));
  renorm.power_sum.compute_at(renorm.factor, j);
  renorm.abs_max.compute_at(renorm.factor, j);
  renorm.power_sum.update().specialize(p == Expr(2.0));
  renorm.power_sum.update().specialize(p == Expr(1.0));
}

}  // namespace

ScheduleParams params_for(const Target& target, int vectors_per_tile, const std::string& schedules,
                          const std::string& pipeline) {
  ScheduleParams p;
  p.vectors_per_tile = sched::default_vectors_per_tile(target.to_string());
  if (!schedules.empty()) {
    // Entries name the CPU target; the build adds code generation options (no_runtime,
    // large_buffers) that do not select a schedule.
    auto cpu_target = [](const Target& t) {
      return t.without_feature(Target::NoRuntime).without_feature(Target::LargeBuffers);
    };
    const Target mine = cpu_target(target);
    for (const sched::Entry& e : sched::read(schedules)) {
      if (e.pipeline != pipeline || cpu_target(Target(e.target)) != mine) {
        continue;
      }
      p.vectors_per_tile = e.get_int("vectors_per_tile", p.vectors_per_tile);
    }
  }
  if (vectors_per_tile > 0) p.vectors_per_tile = vectors_per_tile;
  if (p.vectors_per_tile < 1 || p.vectors_per_tile > 64) {
    throw std::invalid_argument("vectors_per_tile must be in [1, 64], got " +
                                std::to_string(p.vectors_per_tile));
  }
  return p;
}

int tile_code_bytes(const fmt::Format& f, const Target& target, const ScheduleParams& p) {
  return target.natural_vector_size<float>() * p.vectors_per_tile * fmt::code_bits(f.codes) / 8;
}

void schedule_embedding(Func out, Func column_pairs, stages::Renorm renorm,
                        const Expr& has_max_norm, const Expr& dim, const Target& target,
                        const ScheduleParams& p) {
  Var c = out.args()[0], i = out.args()[1];
  Var co("co"), ci("ci");
  const int vec = target.natural_vector_size<float>();
  const int tile = vec * p.vectors_per_tile;
  Stage renormed = out.specialize(has_max_norm);
  for (Stage s : {renormed, Stage(out)}) {
    if (!column_pairs.defined()) {
      tile_columns(s, c, co, ci, dim, vec, tile);
      continue;
    }
    // Even widths: pairs, in branches nested inside the evenness test, so each knows the
    // width is even and under the wider branches' tile. The output's select folds to the
    // pairs there and to the single column in the odd widths' branch.
    pair_tiles(s.specialize(dim % 2 == 0), c, co, ci, dim, Expr(), vec, tile);
    tile_columns(s, c, co, ci, dim, vec, tile);
  }
  if (column_pairs.defined()) {
    Var k = column_pairs.args()[0], pc = column_pairs.args()[1];
    column_pairs.compute_at(out, co).store_in(MemoryType::Register).vectorize(k).unroll(pc);
  }
  schedule_renorm(renorm, LoopLevel(out, i), renorm.factor.args()[0]);
}

void schedule_entry_rows(Func entry_rows, const Target& target) {
  entry_rows.compute_root().vectorize(entry_rows.args()[0], target.natural_vector_size<int32_t>());
}

void schedule_bag(stages::BagReduce bag, Func out, stages::Renorm renorm, const Expr& has_max_norm,
                  const Expr& dim, const Target& target, const ScheduleParams& p) {
  Func acc = bag.acc;
  Var c = out.args()[0], b = out.args()[1];
  Var co("co"), ci("ci");
  const int vec = target.natural_vector_size<float>();
  const int tile = vec * p.vectors_per_tile;
  // Branches, in order: max_norm; (sum or mean only) mean, whose bags end with a division;
  // the rest, where the sum needs no division (in the else branch the simplifier knows
  // !mean). Each has the same column tiles.
  std::vector<Stage> branches{out.specialize(has_max_norm)};
  if (bag.mean.defined()) branches.push_back(out.specialize(bag.mean));
  branches.push_back(out);
  for (Stage s : branches) {
    if (bag.column_pairs) {
      pair_tiles(s, c, co, ci, dim, dim % 2 == 0, vec, tile);
    } else {
      tile_columns(s, c, co, ci, dim, vec, tile);
    }
  }

  // One tile of accumulators lives in registers while the bag's rows stream past.
  bag.count.compute_at(out, b);
  bag.bounds.compute_at(out, b);
  acc.compute_at(out, co).store_in(MemoryType::Register);
  Var ac = acc.args()[0], ab = acc.args().back();
  if (!bag.column_pairs) {
    acc.vectorize(ac);
    acc.update().reorder(ac, bag.r, ab).vectorize(ac);
  } else {
    Var ap = acc.args()[1];
    acc.vectorize(ac).unroll(ap);
    acc.update().reorder(ac, ap, bag.r, ab).vectorize(ac).unroll(ap);
  }
  // Weighted sums get their own loop over a bag's entries (after the schedule above, which
  // it copies): the unweighted one multiplies each row by no weight of 1.
  if (bag.has_weights.defined()) acc.update().specialize(bag.has_weights);
  // max_norm: the factor of every looked-up row in one pass before the bags (bounds
  // inference cannot narrow a data-dependent bag to its own rows).
  Var j = renorm.factor.args()[0];
  schedule_renorm(renorm, LoopLevel::root(), j);
}

void schedule_quantize(Func out, const Target& target) {
  Var c = out.args()[0], row = out.args()[1];
  Var co("co"), ci("ci"), ro("ro"), ri("ri");
  const int vec = target.natural_vector_size<float>();
  out.split(row, ro, ri, 16, TailStrategy::GuardWithIf).parallel(ro);
  out.split(c, co, ci, vec, TailStrategy::GuardWithIf).vectorize(ci);
}

}  // namespace qembed::schedules
