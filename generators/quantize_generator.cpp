// from_float's quantization: float32 table -> int32 codes in [qmin, qmax]. The runtime
// narrows the codes into the stored format. qparams are one (scale, zero_point) per
// row (axis 0), per column (axis 1), or a single pair (per tensor).
#include "dequantize_stage.h"
#include "schedules.h"

namespace qembed {

using namespace Halide;

class QuantizeGenerator : public Generator<QuantizeGenerator> {
 public:
  GeneratorParam<bool> float_zero_point{"float_zero_point", false};

  Input<Buffer<float, 2>> weight{"weight"};  // (c, row)
  Input<Buffer<float, 1>> scale{"scale"};
  Input<Buffer<float, 1>> zero_point{"zero_point"};
  Input<int> axis{"axis"};  // 0: per row, 1: per column, anything else: per tensor
  Input<int> qmin{"qmin"};
  Input<int> qmax{"qmax"};
  Output<Buffer<int32_t, 2>> codes{"codes"};

  void generate() {
    Var c("c"), row("row");
    Expr q = clamp(select(axis == 0, row, axis == 1, c, 0), 0, scale.dim(0).extent() - 1);
    codes(c, row) =
        stages::quantize(weight(c, row), scale(q), zero_point(q), float_zero_point, qmin, qmax);

    // Each axis gets a branch where the qparam load is a broadcast or a dense vector
    // (specializations inherit the schedule made before them).
    schedules::schedule_quantize(codes, get_target());
    codes.specialize(axis == 0);
    codes.specialize(axis == 1);
  }
};

}  // namespace qembed

HALIDE_REGISTER_GENERATOR(qembed::QuantizeGenerator, qembed_quantize)
