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
#pragma once

#include <cstdint>
#include <cstring>

namespace qembed::fmt {

// How one code is stored.
enum class Codes : int { F32, F16, U8, I8, U4, I32 };

// Where the dequantization parameters live.
enum class QParamLayout : int {
  None,  // float32 / float16: no qparams
  Row,   // fused at the end of each stored row
  Col,   // one (scale, zero_point) per column, in separate vectors
};

struct Format {
  const char* name;  // the name used by CMake's variant table and the generators
  Codes codes;
  QParamLayout layout;
};

// X-macro: every format the kernels implement (name, codes, layout).
#define QEMBED_FORMAT_LIST(X) \
  X(f32, F32, None)           \
  X(f16, F16, None)           \
  X(u8_row, U8, Row)          \
  X(i8_row, I8, Row)          \
  X(u4_row, U4, Row)          \
  X(i32_row, I32, Row)        \
  X(u8_col, U8, Col)          \
  X(i8_col, I8, Col)          \
  X(u4_col, U4, Col)          \
  X(i32_col, I32, Col)

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
inline constexpr int code_bits(Codes c) { return c == Codes::U4 ? 4 : 8 * element_bytes(c); }

// Number of table-buffer elements that hold the codes of a D-wide row.
inline constexpr int64_t code_elements(Codes c, int64_t d) {
  return c == Codes::U4 ? (d + 1) / 2 : d;
}

// Number of table-buffer elements in one stored row, fused qparams included.
inline constexpr int64_t row_elements(const Format& f, int64_t d) {
  const int64_t qparam_elements = f.layout == QParamLayout::Row ? 8 / element_bytes(f.codes) : 0;
  return code_elements(f.codes, d) + qparam_elements;
}

}  // namespace qembed::fmt
