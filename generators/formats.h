// The stored table formats: one definition shared by the Halide generators (which
// read these layouts) and the runtime (which writes them). Plain C++17, no Halide.
//
// A stored row holds the codes of one embedding row. Per-row quantization schemes
// (per_channel_affine*, axis 0) fuse the row's qparams after its codes, as FBGEMM
// does, so one lookup touches the fewest cache lines:
//     [codes: code_bytes(D)][scale: f32][zero_point: f32]      (8/4-bit codes)
//     [codes: D x i32][scale bits: i32][zero_point bits: i32]  (32-bit codes)
// Per-tensor and per-column (axis 1) schemes store codes only; their qparams are two
// small D-long vectors (a per-tensor value is broadcast over D) that stay in cache.
//
// The prepacked family holds rows exactly as PyTorch's embedding_bag_{byte,4bit,2bit}_prepack
// write them, and is served with their own numerics (scale * q + bias, the contract's
// section 6; generators/scale_bias_stage.h):
//     [codes: D x u8][scale: f32][bias: f32]                 (byte)
//     [codes: ceil(D*b/8) bytes, low bits first][scale: f16][bias: f16]  (4 and 2 bits)
#pragma once

#include <cstdint>
#include <cstring>

namespace qembed::fmt {

// How one code is stored.
enum class Codes : int { F32, F16, U8, I8, U4, I32, U2 };

// Where the dequantization parameters live.
enum class QParamLayout : int {
  None,          // float32 / float16: no qparams
  Row,           // fused at the end of each stored row
  Col,           // one (scale, zero_point) per column, in separate vectors
  ScaleBiasF32,  // prepacked: fp32 (scale, bias) at the end of each row
  ScaleBiasF16,  // prepacked: fp16 (scale, bias) at the end of each row
};

// Whether each stored row ends with its own qparams (fused rows).
inline constexpr bool fused_qparams(QParamLayout l) {
  return l == QParamLayout::Row || l == QParamLayout::ScaleBiasF32 ||
         l == QParamLayout::ScaleBiasF16;
}

// Whether a layout belongs to the prepacked family (PyTorch's numerics, bag sums only).
inline constexpr bool prepacked(QParamLayout l) {
  return l == QParamLayout::ScaleBiasF32 || l == QParamLayout::ScaleBiasF16;
}

struct Format {
  const char* name;  // the name used by CMake's variant table and the generators
  Codes codes;
  QParamLayout layout;
};

// X-macro: every format the kernels implement (name, codes, layout).
#define QEMBED_FORMAT_LIST(X)  \
  X(f32, F32, None)            \
  X(f16, F16, None)            \
  X(u8_row, U8, Row)           \
  X(i8_row, I8, Row)           \
  X(u4_row, U4, Row)           \
  X(i32_row, I32, Row)         \
  X(u8_col, U8, Col)           \
  X(i8_col, I8, Col)           \
  X(u4_col, U4, Col)           \
  X(i32_col, I32, Col)         \
  X(u8_sb32, U8, ScaleBiasF32) \
  X(u4_sb16, U4, ScaleBiasF16) \
  X(u2_sb16, U2, ScaleBiasF16)

enum class FormatId : int {
#define QEMBED_X(name, codes, layout) name,
  QEMBED_FORMAT_LIST(QEMBED_X)
#undef QEMBED_X
      count
};

inline constexpr Format kFormats[] = {
#define QEMBED_X(name, codes, layout) {#name, Codes::codes, QParamLayout::layout},
    QEMBED_FORMAT_LIST(QEMBED_X)
#undef QEMBED_X
};

inline constexpr const Format& format(FormatId id) { return kFormats[static_cast<int>(id)]; }

// The prepacked family's format for rows of PyTorch's embedding_bag_{byte,4bit,2bit}_prepack
// (bits 8, 4 or 2; the caller checks bits).
inline constexpr FormatId prepacked_format(int bits) {
  return bits == 8 ? FormatId::u8_sb32 : bits == 4 ? FormatId::u4_sb16 : FormatId::u2_sb16;
}

// Returns false when `name` is not a known format.
inline bool format_from_name(const char* name, FormatId* out) {
  for (int i = 0; i < static_cast<int>(FormatId::count); ++i) {
    if (std::strcmp(kFormats[i].name, name) == 0) {
      *out = static_cast<FormatId>(i);
      return true;
    }
  }
  return false;
}

// Size in bytes of one stored element of the table buffer (the Halide buffer's type).
inline constexpr int element_bytes(Codes c) {
  return c == Codes::F32 || c == Codes::I32 ? 4 : c == Codes::F16 ? 2 : 1;
}

// Bits of one code.
inline constexpr int code_bits(Codes c) {
  return c == Codes::U4 ? 4 : c == Codes::U2 ? 2 : 8 * element_bytes(c);
}

// Codes per byte of a sub-byte format (1 for the others).
inline constexpr int codes_per_byte(Codes c) { return c == Codes::U4 ? 2 : c == Codes::U2 ? 4 : 1; }

// Number of table-buffer elements that hold the codes of a D-wide row. T: an integer, or
// a Halide Expr in the generators (the kernels locate the fused qparams from the dim).
template <typename T>
inline constexpr T code_elements(Codes c, T d) {
  return (d + (codes_per_byte(c) - 1)) / codes_per_byte(c);
}

// Bytes of a row's fused qparams (0 when they are not in the row).
inline constexpr int fused_qparam_bytes(QParamLayout l) {
  return l == QParamLayout::ScaleBiasF16 ? 4 : fused_qparams(l) ? 8 : 0;
}

// Number of table-buffer elements in one stored row, fused qparams included.
template <typename T>
inline constexpr T row_elements(const Format& f, T d) {
  return code_elements(f.codes, d) + fused_qparam_bytes(f.layout) / element_bytes(f.codes);
}

}  // namespace qembed::fmt
