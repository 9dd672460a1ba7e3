#include "validate.h"

#include <cmath>
#include <cstdio>
#include <limits>

#include "dtype_table.h"

namespace qembed::detail {

namespace {

std::string num(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.9g", v);
  return buf;
}

// Every call checks every index, so the check is one branch-free pass the compiler
// vectorizes (an index out of [0, rows) is >= rows as unsigned), compiled for AVX-512,
// AVX2 and the baseline and picked once per process: 4x faster than a loop that stops
// at the first bad index (10240 int64 indices, AVX-512 F: 2.45 -> 0.61 us). Only a call
// with a bad index searches again for the first one. (Picked by hand, not by
// target_clones: an ifunc resolver runs before ThreadSanitizer's runtime is up and
// crashes under it.)
template <typename T>
bool scan_out_of_range(const T* p, int64_t n, uint64_t rows) {
  uint64_t bad = 0;
  for (int64_t i = 0; i < n; ++i) {
    bad |= static_cast<uint64_t>(static_cast<int64_t>(p[i])) >= rows;
  }
  return bad != 0;
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
template <typename T>
__attribute__((target("avx512f"))) bool scan_out_of_range_avx512(const T* p, int64_t n,
                                                                 uint64_t rows) {
  return scan_out_of_range(p, n, rows);
}

template <typename T>
__attribute__((target("avx2"))) bool scan_out_of_range_avx2(const T* p, int64_t n, uint64_t rows) {
  return scan_out_of_range(p, n, rows);
}

// This CPU's: 2 AVX-512 F, 1 AVX2, 0 neither (asked once per process).
int vector_level() {
  static const int level = [] {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") ? 2 : __builtin_cpu_supports("avx2") ? 1 : 0;
  }();
  return level;
}
#endif

template <typename T>
bool any_out_of_range(const T* p, int64_t n, uint64_t rows) {
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
  const int level = vector_level();
  if (level == 2) return scan_out_of_range_avx512(p, n, rows);
  if (level == 1) return scan_out_of_range_avx2(p, n, rows);
#endif
  return scan_out_of_range(p, n, rows);
}

// The position of the first index outside [0, rows), or -1.
template <typename T>
int64_t find_out_of_range(const T* p, int64_t n, int64_t rows) {
  if (!any_out_of_range(p, n, static_cast<uint64_t>(rows))) return -1;
  for (int64_t i = 0; i < n; ++i) {
    if (p[i] < 0 || static_cast<int64_t>(p[i]) >= rows) return i;
  }
  return -1;
}

template <typename T>
int64_t offsets_check(const T* p, int64_t n, int64_t num_indices, bool include_last) {
  if (p[0] != 0) {
    throw InvalidArgument("offsets: offsets[0] must be 0, got " + std::to_string(p[0]));
  }
  int64_t longest = 0, longest_bag = 0;  // bag b: [p[b], p[b + 1]), the last to num_indices
  for (int64_t i = 1; i < n; ++i) {
    if (p[i] < p[i - 1]) {
      throw InvalidArgument("offsets: must be non-decreasing, but offsets[" + std::to_string(i) +
                            "] = " + std::to_string(p[i]) + " < offsets[" + std::to_string(i - 1) +
                            "] = " + std::to_string(p[i - 1]));
    }
    // Both in [0, p[i]] here (p[0] = 0, non-decreasing so far): the difference fits.
    const int64_t len = static_cast<int64_t>(p[i]) - static_cast<int64_t>(p[i - 1]);
    if (len > longest) {
      longest = len;
      longest_bag = i - 1;
    }
  }
  const int64_t last = static_cast<int64_t>(p[n - 1]);
  if (last > num_indices) {
    throw InvalidArgument("offsets: the last offset (" + std::to_string(last) +
                          ") must be <= the number of indices (" + std::to_string(num_indices) +
                          ")");
  }
  if (include_last && last != num_indices) {
    throw InvalidArgument("offsets: with include_last_offset the last offset (" +
                          std::to_string(last) + ") must equal the number of indices (" +
                          std::to_string(num_indices) + ")");
  }
  if (!include_last && num_indices - last > longest) {
    longest = num_indices - last;
    longest_bag = n - 1;
  }
  if (longest > kMaxBagEntries) {
    throw Unsupported("offsets: bag " + std::to_string(longest_bag) + " holds " +
                      std::to_string(longest) + " entries, more than the " +
                      std::to_string(kMaxBagEntries) + " (2^28) a bag may hold");
  }
  return include_last ? n - 1 : n;
}

}  // namespace

int64_t checked_mul(int64_t a, int64_t b, const char* what) {
  if (a != 0 && b > std::numeric_limits<int64_t>::max() / a) {
    throw InvalidArgument(std::string(what) + ": size overflows int64");
  }
  return a * b;
}

void validate_options(const EmbeddingBagOptions& o, bool is_bag) {
  if (o.num_embeddings < 1 || o.num_embeddings > kMaxExtent) {
    throw InvalidArgument("options.num_embeddings must be in [1, 2^31 - 1], got " +
                          std::to_string(o.num_embeddings));
  }
  if (o.embedding_dim < 1 || o.embedding_dim > kMaxExtent) {
    throw InvalidArgument("options.embedding_dim must be in [1, 2^31 - 1], got " +
                          std::to_string(o.embedding_dim));
  }
  if (o.padding_idx && (*o.padding_idx < -o.num_embeddings || *o.padding_idx >= o.num_embeddings)) {
    throw InvalidArgument("options.padding_idx must be in [-num_embeddings, num_embeddings) = [" +
                          std::to_string(-o.num_embeddings) + ", " +
                          std::to_string(o.num_embeddings) + "), got " +
                          std::to_string(*o.padding_idx));
  }
  if (o.max_norm) {
    if (!std::isfinite(*o.max_norm) || *o.max_norm < 0) {
      throw InvalidArgument("options.max_norm must be a finite number >= 0, got " +
                            num(*o.max_norm));
    }
    const double p = o.norm_type;
    if (std::isnan(p) || p <= 0) {
      throw InvalidArgument("options.norm_type must be > 0 (or +inf), got " + num(p));
    }
  }
  if (is_bag) {
    const int m = static_cast<int>(o.mode);
    if (m < 0 || m > 2) {
      throw InvalidArgument("options.mode must be sum (0), mean (1) or max (2), got " +
                            std::to_string(m));
    }
  }
}

QParams validate_qparams(const QParams* in, int64_t rows, int64_t cols) {
  QParams q = in != nullptr ? *in : QParams();
  const int qs = static_cast<int>(q.qscheme), dt = static_cast<int>(q.dtype);
  if (qs < 0 || qs > 3) {
    throw InvalidArgument(
        "qparams.qscheme must be None, per_tensor_affine, per_channel_affine or "
        "per_channel_affine_float_qparams, got " +
        std::to_string(qs));
  }
  if (dt < 0 || dt > 5)
    throw InvalidArgument("qparams.dtype is not a dtype: " + std::to_string(dt));
  if (!qscheme_accepts(q.qscheme, q.dtype)) {
    throw InvalidArgument(std::string("qparams: unsupported dtype and qscheme: ") +
                          dtype_info(q.dtype).name + " with " + qscheme_name(q.qscheme));
  }
  // None and float16 carry no scale or zero point (any given are ignored, as in PyTorch).
  if (q.qscheme == QScheme::None || q.dtype == DType::Float16) {
    q.scale.clear();
    q.zero_point.clear();
    q.axis = 0;
    return q;
  }
  int64_t expected = 1;
  if (q.qscheme == QScheme::PerTensorAffine) {
    q.axis = 0;
  } else {
    if (q.axis != 0 && q.axis != 1) {
      throw InvalidArgument("qparams.axis must be 0 or 1 for a 2-D weight, got " +
                            std::to_string(q.axis));
    }
    expected = q.axis == 0 ? rows : cols;
  }
  if (static_cast<int64_t>(q.scale.size()) != expected ||
      static_cast<int64_t>(q.zero_point.size()) != expected) {
    throw InvalidArgument("qparams: num_qparams must be " + std::to_string(expected) + " (" +
                          (q.qscheme == QScheme::PerTensorAffine
                               ? std::string("per tensor")
                               : "the size of axis " + std::to_string(q.axis)) +
                          "), got " + std::to_string(q.scale.size()) + " scales and " +
                          std::to_string(q.zero_point.size()) + " zero points");
  }
  const DTypeInfo& info = dtype_info(q.dtype);
  const bool integral = q.qscheme != QScheme::PerChannelAffineFloatQParams;
  for (int64_t i = 0; i < expected; ++i) {
    const float s = q.scale[i], z = q.zero_point[i];
    if (!std::isfinite(s) || s <= 0) {
      throw InvalidArgument("qparams.scale[" + std::to_string(i) +
                            "] must be finite and > 0, got " + num(s));
    }
    if (!std::isfinite(z)) {
      throw InvalidArgument("qparams.zero_point[" + std::to_string(i) + "] must be finite, got " +
                            num(z));
    }
    if (!integral) continue;
    if (z != std::nearbyint(z)) {
      throw InvalidArgument("qparams.zero_point[" + std::to_string(i) + "] must be integral for " +
                            qscheme_name(q.qscheme) + ", got " + num(z));
    }
    // qint32 zero points are carried as float: |zp| <= 2^24 keeps them exact.
    const double lo = q.dtype == DType::QInt32 ? -16777216.0 : static_cast<double>(info.qmin);
    const double hi = q.dtype == DType::QInt32 ? 16777216.0 : static_cast<double>(info.qmax);
    if (z < lo || z > hi) {
      throw InvalidArgument("qparams.zero_point[" + std::to_string(i) + "] must be in [" + num(lo) +
                            ", " + num(hi) + "] for " + info.name + ", got " + num(z));
    }
  }
  return q;
}

void validate_weight(const float* weight, int64_t rows, int64_t cols) {
  if (weight == nullptr) throw InvalidArgument("weight must not be NULL");
  const int64_t n = rows * cols;
  for (int64_t i = 0; i < n; ++i) {
    if (!std::isfinite(weight[i])) {
      throw InvalidArgument("weight must be finite, but weight[" + std::to_string(i / cols) + "][" +
                            std::to_string(i % cols) + "] = " + num(weight[i]));
    }
  }
}

void validate_indices(const Indices& idx, int64_t rows, const char* name) {
  const int t = static_cast<int>(idx.type);
  if (t != 0 && t != 1) {
    throw InvalidArgument(std::string("index_type must be QEMBED_INT32 or QEMBED_INT64, got ") +
                          std::to_string(t));
  }
  if (idx.size < 0) {
    throw InvalidArgument(std::string("num_") + name + " must be >= 0, got " +
                          std::to_string(idx.size));
  }
  if (idx.size > kMaxExtent) {
    throw Unsupported(std::string("num_") + name + " must be < 2^31, got " +
                      std::to_string(idx.size));
  }
  if (idx.size == 0) return;
  if (idx.data == nullptr) throw InvalidArgument(std::string(name) + " must not be NULL");
  const int64_t bad =
      idx.type == IndexType::Int32
          ? find_out_of_range(static_cast<const int32_t*>(idx.data), idx.size, rows)
          : find_out_of_range(static_cast<const int64_t*>(idx.data), idx.size, rows);
  if (bad >= 0) {
    const int64_t v = idx.type == IndexType::Int32 ? static_cast<const int32_t*>(idx.data)[bad]
                                                   : static_cast<const int64_t*>(idx.data)[bad];
    throw OutOfRange(std::string(name) + ": index out of range: " + name + "[" +
                     std::to_string(bad) + "] = " + std::to_string(v) +
                     " is not in [0, num_embeddings = " + std::to_string(rows) + ")");
  }
}

int64_t validate_offsets(const Indices& off, int64_t num_indices, bool include_last) {
  if (off.size < 0) {
    throw InvalidArgument("num_offsets must be >= 0, got " + std::to_string(off.size));
  }
  if (off.size > kMaxExtent) {
    throw Unsupported("num_offsets must be < 2^31, got " + std::to_string(off.size));
  }
  if (off.size == 0) {
    if (include_last) {
      throw InvalidArgument("offsets: include_last_offset needs at least one offset");
    }
    return 0;
  }
  if (off.data == nullptr) throw InvalidArgument("offsets must not be NULL");
  return off.type == IndexType::Int32 ? offsets_check(static_cast<const int32_t*>(off.data),
                                                      off.size, num_indices, include_last)
                                      : offsets_check(static_cast<const int64_t*>(off.data),
                                                      off.size, num_indices, include_last);
}

void validate_output(const float* out, int64_t out_len, int64_t needed, const char* what) {
  if (out_len < needed) {
    throw InvalidArgument("out_len must be >= " + std::to_string(needed) + " (" + what + "), got " +
                          std::to_string(out_len));
  }
  if (needed > 0 && out == nullptr) throw InvalidArgument("out must not be NULL");
}

}  // namespace qembed::detail
