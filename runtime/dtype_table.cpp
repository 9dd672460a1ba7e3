#include "dtype_table.h"

namespace qembed::detail {

namespace {
constexpr int64_t kI32Min = -2147483648LL, kI32Max = 2147483647LL;
// Indexed by DType.
constexpr DTypeInfo kDTypes[] = {
    {"float32", 0, 0, fmt::Codes::F32},  {"float16", 0, 0, fmt::Codes::F16},
    {"quint8", 0, 255, fmt::Codes::U8},  {"qint8", -128, 127, fmt::Codes::I8},
    {"quint4x2", 0, 15, fmt::Codes::U4}, {"qint32", kI32Min, kI32Max, fmt::Codes::I32},
};
}  // namespace

const DTypeInfo& dtype_info(DType d) { return kDTypes[static_cast<int>(d)]; }

const char* qscheme_name(QScheme q) {
  switch (q) {
    case QScheme::None:
      return "None";
    case QScheme::PerTensorAffine:
      return "per_tensor_affine";
    case QScheme::PerChannelAffine:
      return "per_channel_affine";
    case QScheme::PerChannelAffineFloatQParams:
      return "per_channel_affine_float_qparams";
  }
  return "?";
}

bool qscheme_accepts(QScheme qscheme, DType dtype) {
  switch (qscheme) {
    case QScheme::None:  // the float weight as is
      return dtype == DType::Float32 || dtype == DType::Float16;
    case QScheme::PerTensorAffine:
    case QScheme::PerChannelAffine:  // integral zero points; float16 = fp16 round trip
      return dtype == DType::QUInt8 || dtype == DType::QInt8 || dtype == DType::QInt32 ||
             dtype == DType::Float16;
    case QScheme::PerChannelAffineFloatQParams:
      return dtype == DType::QUInt8 || dtype == DType::QInt8 || dtype == DType::QUInt4x2 ||
             dtype == DType::Float16;
  }
  return false;
}

fmt::FormatId stored_format(const QParams& q) {
  if (q.qscheme == QScheme::None) return fmt::FormatId::f32;
  if (q.dtype == DType::Float16) return fmt::FormatId::f16;
  // Per-row schemes fuse their qparams into the row; per-tensor and per-column keep
  // codes-only rows.
  const bool row = q.qscheme != QScheme::PerTensorAffine && q.axis == 0;
  switch (dtype_info(q.dtype).codes) {
    case fmt::Codes::U8:
      return row ? fmt::FormatId::u8_row : fmt::FormatId::u8_col;
    case fmt::Codes::I8:
      return row ? fmt::FormatId::i8_row : fmt::FormatId::i8_col;
    case fmt::Codes::U4:
      return row ? fmt::FormatId::u4_row : fmt::FormatId::u4_col;
    default:
      return row ? fmt::FormatId::i32_row : fmt::FormatId::i32_col;
  }
}

}  // namespace qembed::detail
