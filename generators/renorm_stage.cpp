#include "renorm_stage.h"

namespace qembed::stages {

using namespace Halide;

Renorm renorm(const Func& rows, const Expr& dim, const Expr& has_max_norm, const Expr& max_norm,
              const Expr& norm_type) {
  Var c("c"), j("j");
  RDom k(0, dim, "k");
  Renorm r{Func("power_sum"),     Func("abs_max"),  norm_type,
           Func("renorm_factor"), Func("renormed"), Func("looked_up")};

  // Sum of |x|^p for finite p, max |x| for p = inf; both in float64.
  // Float64 literals: Expr(double) is a float64 constant.
  const Expr one = Expr(1.0), two = Expr(2.0), eps = Expr(1e-7);
  Expr a = cast<double>(abs(rows(k, j)));
  Func power_sum = r.power_sum, abs_max = r.abs_max;
  power_sum(j) = cast<double>(0);
  power_sum(j) += select(norm_type == one, a, norm_type == two, a * a, pow(a, norm_type));
  abs_max(j) = cast<double>(0);
  abs_max(j) = max(abs_max(j), a);

  Expr finite_norm = select(norm_type == one, power_sum(j), norm_type == two, sqrt(power_sum(j)),
                            pow(power_sum(j), one / norm_type));
  Expr norm = select(is_inf(norm_type), abs_max(j), finite_norm);
  r.factor(j) = select(norm > cast<double>(max_norm),
                       cast<float>(cast<double>(max_norm) / (norm + eps)), 1.0f);
  r.rows(c, j) = strict_float(rows(c, j) * r.factor(j));
  r.looked_up(c, j) = reinterpret(
      Float(32),
      select(has_max_norm, reinterpret(UInt(32), r.rows(c, j)), reinterpret(UInt(32), rows(c, j))));
  return r;
}

}  // namespace qembed::stages
