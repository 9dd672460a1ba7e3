#include "reference.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

namespace ref {

using qembed::DType;
using qembed::QScheme;

namespace {

void range_of(DType d, double* lo, double* hi) {
  switch (d) {
    case DType::QUInt8:
      *lo = 0;
      *hi = 255;
      break;
    case DType::QInt8:
      *lo = -128;
      *hi = 127;
      break;
    case DType::QUInt4x2:
      *lo = 0;
      *hi = 15;
      break;
    default:
      *lo = -2147483648.0;
      *hi = 2147483647.0;
      break;
  }
}

}  // namespace

uint16_t float_to_half(float f) {
  // Independent of the runtime's bit-twiddling: round through double arithmetic.
  if (std::isnan(f)) return 0x7e00;
  const uint16_t sign = std::signbit(f) ? 0x8000 : 0;
  double a = std::fabs(static_cast<double>(f));
  if (a >= 65520.0) return sign | 0x7c00;
  if (a < std::ldexp(1.0, -14)) {  // subnormal: multiples of 2^-24
    const double m = std::nearbyint(a * std::ldexp(1.0, 24));
    return static_cast<uint16_t>(sign | static_cast<uint16_t>(m));
  }
  int e;
  std::frexp(a, &e);                            // a = f * 2^e, f in [0.5, 1)
  const double unit = std::ldexp(1.0, e - 11);  // 11 significant bits
  const double r = std::nearbyint(a / unit) * unit;
  std::frexp(r, &e);
  const int biased = e - 1 + 15;
  if (biased >= 31) return sign | 0x7c00;
  const uint16_t mant = static_cast<uint16_t>(std::ldexp(r, -(e - 1)) * 1024.0 - 1024.0);
  return static_cast<uint16_t>(sign | (biased << 10) | mant);
}

float half_to_float(uint16_t h) {
  const int e = (h >> 10) & 31, m = h & 1023;
  const float sign = (h & 0x8000) ? -1.0f : 1.0f;
  if (e == 0) return sign * std::ldexp(static_cast<float>(m), -24);
  if (e == 31) return m ? std::numeric_limits<float>::quiet_NaN() : sign * INFINITY;
  return sign * std::ldexp(static_cast<float>(m + 1024), e - 25);
}

Quantized quantize_dequantize(const std::vector<float>& w, int64_t rows, int64_t cols,
                              const qembed::QParams& q) {
  Quantized out;
  out.weight.resize(w.size());
  if (q.qscheme == QScheme::None) {
    out.weight = w;
    return out;
  }
  if (q.dtype == DType::Float16) {
    for (size_t i = 0; i < w.size(); ++i) out.weight[i] = half_to_float(float_to_half(w[i]));
    return out;
  }
  double qmin, qmax;
  range_of(q.dtype, &qmin, &qmax);
  out.codes.resize(w.size());
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t c = 0; c < cols; ++c) {
      const size_t k = q.qscheme == QScheme::PerTensorAffine ? 0 : (q.axis == 0 ? r : c);
      const float s = q.scale[k], zp = q.zero_point[k], x = w[r * cols + c];
      float deq;
      int64_t code;
      if (q.qscheme == QScheme::PerChannelAffineFloatQParams) {
        const float inv = s == 0 ? 1.0f : 1.0f / s;
        const float t = x * inv;
        const float v = t + zp;
        code = static_cast<int64_t>(std::clamp(static_cast<double>(std::nearbyint(v)), qmin, qmax));
        const float centered = static_cast<float>(code) - zp;
        deq = centered * s;
      } else {
        const float inv = 1.0f / s;
        const float t = x * inv;
        const double v = static_cast<double>(std::nearbyint(t)) + static_cast<double>(zp);
        code = static_cast<int64_t>(std::clamp(v, qmin, qmax));
        deq = s * static_cast<float>(code - static_cast<int64_t>(zp));
      }
      out.codes[r * cols + c] = static_cast<int32_t>(code);
      out.weight[r * cols + c] = deq;
    }
  }
  return out;
}

float renorm_factor(const float* row, int64_t dim, double max_norm, double p) {
  double norm = 0;
  if (std::isinf(p)) {
    for (int64_t c = 0; c < dim; ++c) norm = std::max(norm, std::fabs(static_cast<double>(row[c])));
  } else {
    for (int64_t c = 0; c < dim; ++c) norm += std::pow(std::fabs(static_cast<double>(row[c])), p);
    norm = std::pow(norm, 1.0 / p);
  }
  return norm > max_norm ? static_cast<float>(max_norm / (norm + 1e-7)) : 1.0f;
}

std::vector<float> embedding(const std::vector<float>& table, int64_t dim,
                             const std::vector<int64_t>& indices, std::optional<double> max_norm,
                             double norm_type) {
  std::vector<float> out(indices.size() * dim);
  for (size_t i = 0; i < indices.size(); ++i) {
    const float* row = &table[indices[i] * dim];
    const float f = max_norm ? renorm_factor(row, dim, *max_norm, norm_type) : 1.0f;
    for (int64_t c = 0; c < dim; ++c) out[i * dim + c] = max_norm ? row[c] * f : row[c];
  }
  return out;
}

std::vector<float> embedding_bag(const std::vector<float>& table, int64_t dim,
                                 const std::vector<int64_t>& indices,
                                 const std::vector<int64_t>& begins,
                                 const std::vector<int64_t>& ends, qembed::Mode mode,
                                 const float* psw, std::optional<int64_t> padding_row,
                                 std::optional<double> max_norm, double norm_type) {
  const size_t bags = begins.size();
  std::vector<float> out(bags * dim, 0.0f);
  std::vector<float> row(dim);
  for (size_t b = 0; b < bags; ++b) {
    float* o = &out[b * dim];
    int64_t count = 0;
    for (int64_t j = begins[b]; j < ends[b]; ++j) {
      const int64_t idx = indices[j];
      if (padding_row && idx == *padding_row) continue;
      const float* src = &table[idx * dim];
      const float f = max_norm ? renorm_factor(src, dim, *max_norm, norm_type) : 1.0f;
      for (int64_t c = 0; c < dim; ++c) row[c] = max_norm ? src[c] * f : src[c];
      for (int64_t c = 0; c < dim; ++c) {
        if (mode == qembed::Mode::Max) {
          if (count == 0 || row[c] > o[c]) o[c] = row[c];
        } else {
          const float term = psw ? psw[j] * row[c] : row[c];
          o[c] = o[c] + term;
        }
      }
      ++count;
    }
    if (mode == qembed::Mode::Mean) {
      for (int64_t c = 0; c < dim; ++c)
        o[c] = o[c] / static_cast<float>(std::max<int64_t>(count, 1));
    }
  }
  return out;
}

std::vector<float> prepacked_bag(const std::vector<uint8_t>& packed, int64_t row_bytes, int bits,
                                 int64_t dim, const std::vector<int64_t>& indices,
                                 const std::vector<int64_t>& begins,
                                 const std::vector<int64_t>& ends,
                                 const float* per_sample_weights) {
  std::vector<float> out(begins.size() * static_cast<size_t>(dim), 0.0f);
  const int per_byte = 8 / bits;
  for (size_t b = 0; b < begins.size(); ++b) {
    float* acc = out.data() + b * static_cast<size_t>(dim);
    for (int64_t e = begins[b]; e < ends[b]; ++e) {
      const uint8_t* row = packed.data() + indices[static_cast<size_t>(e)] * row_bytes;
      float scale, bias;
      if (bits == 8) {
        std::memcpy(&scale, row + row_bytes - 8, 4);
        std::memcpy(&bias, row + row_bytes - 4, 4);
      } else {
        uint16_t s16, b16;
        std::memcpy(&s16, row + row_bytes - 4, 2);
        std::memcpy(&b16, row + row_bytes - 2, 2);
        scale = half_to_float(s16);
        bias = half_to_float(b16);
      }
      const float w = per_sample_weights ? per_sample_weights[e] : 1.0f;
      const float scale_w = w * scale, bias_w = w * bias;
      for (int64_t c = 0; c < dim; ++c) {
        const int q = (row[c / per_byte] >> ((c % per_byte) * bits)) & ((1 << bits) - 1);
        acc[c] = static_cast<float>(std::fma(static_cast<double>(scale_w), static_cast<double>(q),
                                             static_cast<double>(acc[c] + bias_w)));
      }
    }
  }
  return out;
}

}  // namespace ref
