// Embedding pipeline: dequantize -> gather -> (max_norm) -> out(c, i), with the rows of
// upcoming indices prefetched.
#include "dequantize_stage.h"
#include "formats.h"
#include "gather_stage.h"
#include "llvm_helpers.h"
#include "lookup_common.h"
#include "prefetch_stage.h"
#include "renorm_stage.h"
#include "schedules.h"

namespace qembed {

using namespace Halide;

class EmbeddingGenerator : public Generator<EmbeddingGenerator> {
 public:
  GeneratorParam<std::string> format{"format", "u8_row"};
  GeneratorParam<std::string> index_type{"index_type", "int64"};
  GeneratorParam<int> vectors_per_tile{"vectors_per_tile", 0};  // 0: the target's default
  GeneratorParam<std::string> schedules{"schedules", ""};       // a schedule file (schedule_file.h)
  // Estimates for auto_schedule=true (Halide's autoschedulers); see lookup_common.h.
  GeneratorParam<int> est_dim{"est_dim", Estimates{}.dim};
  GeneratorParam<int> est_rows{"est_rows", Estimates{}.rows};
  GeneratorParam<int> est_indices{"est_indices", Estimates{}.indices};

  // The embedding dim: RDom bounds (max_norm's norm) need a parameter; the output's
  // extent is constrained to it.
  Input<int32_t> dim{"dim"};
  Input<Buffer<>> table{"table", 2};  // (row element, row); type set from `format`
  Input<Buffer<float, 1>> col_scale{"col_scale"};
  Input<Buffer<float, 1>> col_zero_point{"col_zero_point"};
  Input<Buffer<>> indices{"indices", 1};
  Input<bool> has_max_norm{"has_max_norm"};
  Input<double> max_norm{"max_norm"};
  Input<double> norm_type{"norm_type"};
  Input<int32_t> prefetch_distance{"prefetch_distance"};  // entries ahead to prefetch rows of
  Output<Buffer<float, 2>> out{"out"};                    // (c, i)

  void configure() {
    table.set_type(table_type(format_param(format)));
    indices.set_type(index_type_param(index_type));
  }

  void generate() {
    Var c("c"), i("i");
    const stages::StoredTable t = stages::stored_table(format_param(format), table, dim, col_scale,
                                                       col_zero_point, get_target());
    stages::add_llvm_helpers(*get_externs_map(), get_target());
    const Expr num_rows = table.dim(1).extent();
    Func entry_rows = stages::entry_rows(indices, indices.dim(0).extent(), num_rows);
    Func rows = stages::gather(stages::dequantize(t, get_target()), entry_rows, num_rows);
    stages::Renorm renorm = stages::renorm(rows, dim, has_max_norm, max_norm, norm_type);
    const schedules::ScheduleParams p =
        schedules::params_for(get_target(), vectors_per_tile, schedules,
                              "embedding_" + std::string(format) + "_" + std::string(index_type));
    stages::RowsAhead prefetch;
    if (!get_auto_schedule()) {  // the autoschedulers cannot plan around a raw pointer
      prefetch =
          stages::rows_ahead(t, table, entry_rows, prefetch_distance,
                             schedules::tile_code_bytes(t.format, get_target(), p), get_target());
    }
    // Column `col` of entry i's row; where `asks` holds, it also requests the same tile
    // of the row `prefetch_distance` entries ahead.
    auto looked_up = [&](const Expr& col, const Expr& asks) {
      Expr value = renorm.looked_up(col, i);
      return prefetch ? stages::after(stages::request_if(asks, prefetch(i, col)), value) : value;
    };
    // 4-bit codes: a byte holds columns 2k and 2k + 1, so even widths compute the even and
    // the odd columns of a tile apart, as column_pairs(k, p, i) (a vector of bytes feeds
    // both directly; only the even column asks for the row ahead), and interleave them in
    // the output. Odd widths read column by column (schedule_embedding: the select folds to
    // one side in each branch).
    Func column_pairs;
    if (format_param(format).codes == fmt::Codes::U4) {
      Var k("k"), pc("p");
      column_pairs = Func("column_pairs");
      column_pairs(k, pc, i) = looked_up(2 * k + pc, pc == 0);
      out(c, i) = select(dim % 2 == 0, column_pairs(c / 2, c % 2, i), looked_up(c, true));
      out.dim(0).set_min(0);  // pairs start at even columns
    } else {
      out(c, i) = looked_up(c, true);
    }

    out.dim(0).set_extent(dim);

    dim.set_estimate(est_dim);
    table.set_estimates(
        {{0, fmt::row_elements(t.format, static_cast<int>(est_dim))}, {0, est_rows}});
    col_scale.set_estimates({{0, est_dim}});
    col_zero_point.set_estimates({{0, est_dim}});
    indices.set_estimates({{0, est_indices}});
    has_max_norm.set_estimate(false);
    max_norm.set_estimate(0.0);
    norm_type.set_estimate(2.0);
    prefetch_distance.set_estimate(64);
    out.set_estimates({{0, est_dim}, {0, est_indices}});
    if (!get_auto_schedule()) {
      schedules::schedule_embedding(out, column_pairs, renorm, has_max_norm, dim, get_target(), p);
      schedules::schedule_entry_rows(entry_rows, get_target());
    }
  }
};

}  // namespace qembed

HALIDE_REGISTER_GENERATOR(qembed::EmbeddingGenerator, qembed_embedding)
