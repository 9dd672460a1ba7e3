// max_norm renormalization of gathered rows (F.embedding's max_norm): a row whose
// p-norm n exceeds max_norm is scaled by (float)(max_norm / (n + 1e-7)). It acts on
// the looked-up copy only; stored codes never change.
#pragma once

#include "Halide.h"

namespace qembed::stages {

struct Renorm {
  Halide::Func power_sum;  // power_sum(j): sum over the row of |x|^p, in float64
  Halide::Func abs_max;    // abs_max(j): max over the row of |x| (the p = inf norm)
  Halide::Expr norm_type;
  Halide::Func factor;  // factor(j): the float32 scale for row j (1 when within max_norm)
  Halide::Func rows;    // rows(c, j) after renormalization
  // looked_up(c, j): what a lookup reads, rows renormalized when has_max_norm. Chosen on
  // the bits: inside a consumer's strict_float (a bag's sum) Halide's simplifier does not
  // fold a float select, so in branches specialized on !has_max_norm the factors would
  // stay referenced, and allocated (a malloc per call); an integer select folds.
  Halide::Func looked_up;
};

// norm_type p: finite p > 0 (p == 1 and p == 2 take exact fast forms after
// specialization) or +inf (the max norm). The runtime rejects other values.
Renorm renorm(const Halide::Func& rows, const Halide::Expr& dim, const Halide::Expr& has_max_norm,
              const Halide::Expr& max_norm, const Halide::Expr& norm_type);

}  // namespace qembed::stages
