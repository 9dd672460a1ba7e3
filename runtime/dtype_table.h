// The qscheme x dtype table: the one place that says which combinations exist, their
// code range, and which stored format serves them.
#pragma once

#include <cstdint>

#include "formats.h"
#include "qembed/qembed.hpp"

namespace qembed::detail {

struct DTypeInfo {
  const char* name;
  int64_t qmin, qmax;  // the clamp range (always the dtype's full range)
  fmt::Codes codes;    // how codes are stored
};

const DTypeInfo& dtype_info(DType d);
const char* qscheme_name(QScheme q);

// Whether `dtype` is valid with `qscheme` (contract section 1).
bool qscheme_accepts(QScheme qscheme, DType dtype);

// The stored format for validated qparams.
fmt::FormatId stored_format(const QParams& q);

}  // namespace qembed::detail
