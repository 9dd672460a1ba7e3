// EmbeddingBag pipelines: dequantize -> gather -> (max_norm) -> bag reduction, with the
// rows of upcoming entries prefetched from inside the bag loop.
// `mode` picks the reduction (sum, which also serves mean, or max); everything cheaper
// (weights, padding_idx, mean, max_norm) is a runtime parameter.
#include "bag_reduce_stage.h"
#include "dequantize_stage.h"
#include "gather_stage.h"
#include "llvm_helpers.h"
#include "lookup_common.h"
#include "prefetch_stage.h"
#include "renorm_stage.h"
#include "scale_bias_stage.h"
#include "schedules.h"

namespace qembed {

using namespace Halide;

class EmbeddingBagGenerator : public Generator<EmbeddingBagGenerator> {
 public:
  GeneratorParam<std::string> format{"format", "u8_row"};
  GeneratorParam<std::string> index_type{"index_type", "int64"};
  GeneratorParam<stages::BagMode> mode{
      "mode",
      stages::BagMode::SumOrMean,
      {{"sum", stages::BagMode::SumOrMean}, {"max", stages::BagMode::Max}}};
  GeneratorParam<int> vectors_per_tile{"vectors_per_tile", 0};  // 0: the target's default
  GeneratorParam<std::string> schedules{"schedules", ""};       // a schedule file (schedule_file.h)
  // Estimates for auto_schedule=true (Halide's autoschedulers); see lookup_common.h.
  GeneratorParam<int> est_dim{"est_dim", Estimates{}.dim};
  GeneratorParam<int> est_rows{"est_rows", Estimates{}.rows};
  GeneratorParam<int> est_indices{"est_indices", Estimates{}.indices};
  GeneratorParam<int> est_bags{"est_bags", Estimates{}.bags};

  // The embedding dim: RDom bounds (max_norm's norm) need a parameter; the output's
  // extent is constrained to it.
  Input<int32_t> dim{"dim"};
  Input<Buffer<>> table{"table", 2};  // (row element, row); type set from `format`
  Input<Buffer<float, 1>> col_scale{"col_scale"};
  Input<Buffer<float, 1>> col_zero_point{"col_zero_point"};
  Input<Buffer<>> indices{"indices", 1};
  Input<Buffer<>> offsets{"offsets", 1};  // begin of each bag (one per output bag); the last
                                          // bag ends at the end of `indices`
  Input<Buffer<float, 1>> weights{"weights"};
  Input<int64_t> padding_idx{"padding_idx"};  // -1: none
  Input<bool> has_weights{"has_weights"};
  Input<bool> mean{"mean"};
  Input<bool> has_max_norm{"has_max_norm"};
  Input<double> max_norm{"max_norm"};
  Input<double> norm_type{"norm_type"};
  Input<int32_t> prefetch_distance{"prefetch_distance"};  // entries ahead to prefetch rows of
  Output<Buffer<float, 2>> out{"out"};                    // (c, b)

  void configure() {
    table.set_type(table_type(format_param(format)));
    indices.set_type(index_type_param(index_type));
    offsets.set_type(index_type_param(index_type));
  }

  void generate() {
    Var c("c"), j("j");
    const stages::StoredTable t = stages::stored_table(format_param(format), table, dim, col_scale,
                                                       col_zero_point, get_target());
    stages::add_llvm_helpers(*get_externs_map(), get_target());
    const Expr num_rows = table.dim(1).extent();
    Func entry_rows = stages::entry_rows(indices, indices.dim(0).extent(), num_rows);
    Func rows = stages::gather(stages::dequantize(t, get_target()), entry_rows, num_rows);
    stages::Renorm renorm = stages::renorm(rows, dim, has_max_norm, max_norm, norm_type);

    stages::BagInputs in;
    in.rows = renorm.looked_up;
    in.indices = indices;
    in.offsets = offsets;
    in.weights = weights;
    in.num_indices = indices.dim(0).extent();
    in.num_bags = offsets.dim(0).extent();
    in.num_weights = weights.dim(0).extent();
    // PyTorch's prepacked ops have no padding_idx: without one the per-entry test folds.
    const bool prepacked = fmt::prepacked(t.format.layout);
    if (!prepacked) in.padding_idx = padding_idx;
    in.has_weights = has_weights;
    in.mean = mean;
    const schedules::ScheduleParams p =
        schedules::params_for(get_target(), vectors_per_tile, schedules,
                              std::string(mode == stages::BagMode::Max ? "bag_max_" : "bag_sum_") +
                                  std::string(format) + "_" + std::string(index_type));
    if (!get_auto_schedule()) {  // the autoschedulers cannot plan around a raw pointer
      in.prefetch =
          stages::rows_ahead(t, table, entry_rows, prefetch_distance,
                             schedules::tile_code_bytes(t.format, get_target(), p), get_target());
    }
    if (prepacked) {  // PyTorch's prepacked numerics (sum only)
      const Target target = get_target();
      const stages::ScaleBiasRows sb = stages::scale_bias_rows(t, target);
      in.accumulate = [=](const Expr& acc, const Expr& j, const Expr& c, const Expr& w) {
        Expr row = stages::row_at(entry_rows, j, num_rows);
        return stages::scale_bias_accumulate(acc, sb.code(c, row), sb.scale(row), sb.bias(row), w,
                                             target);
      };
    }
    const bool pairs = format_param(format).codes == fmt::Codes::U4;
    stages::BagReduce bag = stages::bag_reduce(in, mode, pairs);
    out(c, j) = bag.out(c, j);

    out.dim(0).set_min(0).set_extent(dim);  // min 0: column pairs start even
    out.dim(1).set_extent(offsets.dim(0).extent());

    set_estimates(t.format);
    if (!get_auto_schedule()) {
      schedules::schedule_bag(bag, out, renorm, has_max_norm, dim, get_target(), p);
      schedules::schedule_entry_rows(entry_rows, get_target());
    }
  }

  void set_estimates(const fmt::Format& f) {
    dim.set_estimate(est_dim);
    table.set_estimates({{0, fmt::row_elements(f, static_cast<int>(est_dim))}, {0, est_rows}});
    col_scale.set_estimates({{0, est_dim}});
    col_zero_point.set_estimates({{0, est_dim}});
    indices.set_estimates({{0, est_indices}});
    offsets.set_estimates({{0, est_bags}});
    weights.set_estimates({{0, est_indices}});
    padding_idx.set_estimate(-1);
    has_weights.set_estimate(false);
    mean.set_estimate(false);
    has_max_norm.set_estimate(false);
    max_norm.set_estimate(0.0);
    norm_type.set_estimate(2.0);
    prefetch_distance.set_estimate(64);
    out.set_estimates({{0, est_dim}, {0, est_bags}});
  }
};

}  // namespace qembed

HALIDE_REGISTER_GENERATOR(qembed::EmbeddingBagGenerator, qembed_embedding_bag)
