// Minimal halide_buffer_t views over memory the caller or the module owns (no copies,
// no allocation): dense, dimension 0 innermost.
#pragma once

#include <cstdint>

#include "HalideRuntime.h"

namespace qembed::detail {

template <int Dims>
struct BufferView {
  halide_dimension_t dims[Dims];
  halide_buffer_t buf;

  // extents[0] is innermost; strides are dense unless row_stride is given (2-D only).
  BufferView(const void* host, halide_type_t type, const int32_t (&extents)[Dims],
             int32_t row_stride = 0) {
    int32_t stride = 1;
    for (int d = 0; d < Dims; ++d) {
      dims[d] = halide_dimension_t(0, extents[d], stride);
      stride *= extents[d];
    }
    if (Dims == 2 && row_stride != 0) dims[Dims - 1].stride = row_stride;
    buf = halide_buffer_t();
    buf.host = static_cast<uint8_t*>(const_cast<void*>(host));
    buf.type = type;
    buf.dimensions = Dims;
    buf.dim = dims;
  }
  BufferView(const BufferView&) = delete;
  BufferView& operator=(const BufferView&) = delete;
  halide_buffer_t* get() { return &buf; }
};

inline halide_type_t f32_type() { return halide_type_t(halide_type_float, 32); }
inline halide_type_t i32_type() { return halide_type_t(halide_type_int, 32); }
inline halide_type_t i64_type() { return halide_type_t(halide_type_int, 64); }

}  // namespace qembed::detail
