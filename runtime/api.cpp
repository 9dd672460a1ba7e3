// The public C++ classes: thin, immutable handles over detail::Module.
#include <cfloat>
#include <cmath>

#include "dtype_table.h"
#include "model_file.h"
#include "module.h"
#include "validate.h"

namespace qembed {

using detail::Kind;
using detail::Module;

QParams QParams::none() { return QParams{QScheme::None, DType::Float32, {}, {}, 0}; }
QParams QParams::float16() { return QParams{QScheme::PerTensorAffine, DType::Float16, {}, {}, 0}; }
QParams QParams::per_tensor(DType dtype, float scale, float zero_point) {
  return QParams{QScheme::PerTensorAffine, dtype, {scale}, {zero_point}, 0};
}
QParams QParams::per_channel(DType dtype, std::vector<float> scale, std::vector<float> zero_point,
                             int64_t axis) {
  return QParams{QScheme::PerChannelAffine, dtype, std::move(scale), std::move(zero_point), axis};
}
QParams QParams::per_channel_float(DType dtype, std::vector<float> scale,
                                   std::vector<float> zero_point, int64_t axis) {
  return QParams{QScheme::PerChannelAffineFloatQParams, dtype, std::move(scale),
                 std::move(zero_point), axis};
}

QParams QParams::row_wise_float(DType dtype, const float* weight, int64_t rows, int64_t cols) {
  if (weight == nullptr && rows * cols > 0) throw InvalidArgument("weight must not be NULL");
  const detail::DTypeInfo& info = detail::dtype_info(dtype);
  QParams q = per_channel_float(dtype, {}, {}, 0);
  for (int64_t r = 0; r < rows; ++r) {
    float lo = weight[r * cols], hi = lo;
    for (int64_t c = 1; c < cols; ++c) {
      lo = std::min(lo, weight[r * cols + c]);
      hi = std::max(hi, weight[r * cols + c]);
    }
    float s = (hi - lo) / static_cast<float>(info.qmax - info.qmin);
    if (s <= FLT_EPSILON) s = 1.0f;
    q.scale.push_back(s);
    q.zero_point.push_back(-lo / s);
  }
  return q;
}

Embedding::Embedding(std::shared_ptr<const Module> m) : m_(std::move(m)) {}

Embedding Embedding::from_float(const float* weight, const EmbeddingOptions& options,
                                const QParams& weight_qparams) {
  EmbeddingBagOptions o;
  static_cast<EmbeddingOptions&>(o) = options;
  return Embedding(Module::from_float(Kind::Embedding, weight, o, &weight_qparams));
}

void Embedding::forward(Indices indices, float* out, int64_t out_len) const {
  m_->embedding_forward(indices, out, out_len);
}

std::vector<float> Embedding::forward(Indices indices) const {
  detail::validate_indices(indices, m_->rows());
  std::vector<float> out(static_cast<size_t>(detail::checked_mul(indices.size, m_->dim(), "out")));
  m_->embedding_forward(indices, out.data(), static_cast<int64_t>(out.size()));
  return out;
}

std::vector<float> Embedding::get_weight() const {
  std::vector<float> out(static_cast<size_t>(m_->rows() * m_->dim()));
  m_->get_weight(out.data(), static_cast<int64_t>(out.size()));
  return out;
}

QuantizedWeight Embedding::get_quantized_weight() const { return m_->quantized_weight(); }
const EmbeddingOptions& Embedding::options() const { return m_->options(); }

namespace {

std::shared_ptr<const Module> from_quantized(Kind kind, const QuantizedWeight& w,
                                             const EmbeddingBagOptions& o) {
  if (w.rows != o.num_embeddings || w.cols != o.embedding_dim) {
    throw InvalidArgument("weight: a " + std::to_string(w.rows) + " x " + std::to_string(w.cols) +
                          " weight does not match options " + std::to_string(o.num_embeddings) +
                          " x " + std::to_string(o.embedding_dim));
  }
  if (w.packing_bits != 0) {
    if (kind != Kind::EmbeddingBag) {
      throw InvalidArgument("weight: prepacked rows serve an EmbeddingBag only");
    }
    return Module::from_prepacked(w.data.data(), w.data.size(), w.packing_bits, o);
  }
  return Module::from_quantized(kind, w.qparams, w.data.data(), w.data.size(), o);
}

// A loaded module of the kind the caller asked for.
std::shared_ptr<const Module> load_kind(Kind kind, const std::string& path) {
  std::shared_ptr<const Module> m = detail::load_module(path);
  if (m->kind() != kind) {
    const bool bag = m->kind() == Kind::EmbeddingBag;
    throw InvalidArgument(
        "path: '" + path + "' holds an " +
        (bag ? "EmbeddingBag; use EmbeddingBag::load" : "Embedding; use Embedding::load"));
  }
  return m;
}

}  // namespace

Embedding Embedding::from_quantized(const QuantizedWeight& weight,
                                    const EmbeddingOptions& options) {
  EmbeddingBagOptions o;
  static_cast<EmbeddingOptions&>(o) = options;
  return Embedding(qembed::from_quantized(Kind::Embedding, weight, o));
}
void Embedding::save(const std::string& path) const { detail::save_module(*m_, path); }
Embedding Embedding::load(const std::string& path) {
  return Embedding(load_kind(Kind::Embedding, path));
}

EmbeddingBag::EmbeddingBag(std::shared_ptr<const Module> m) : m_(std::move(m)) {}

EmbeddingBag EmbeddingBag::from_float(const float* weight, const EmbeddingBagOptions& options,
                                      const QParams& weight_qparams) {
  return EmbeddingBag(Module::from_float(Kind::EmbeddingBag, weight, options, &weight_qparams));
}

void EmbeddingBag::forward(Indices indices, Indices offsets, const float* per_sample_weights,
                           float* out, int64_t out_len) const {
  m_->bag_forward(indices, offsets, per_sample_weights, out, out_len);
}

int64_t EmbeddingBag::num_bags(int64_t num_offsets) const { return m_->num_bags(num_offsets); }

std::vector<float> EmbeddingBag::forward(Indices indices, Indices offsets,
                                         const float* per_sample_weights) const {
  const int64_t bags = std::max<int64_t>(m_->num_bags(offsets.size), 0);
  std::vector<float> out(static_cast<size_t>(detail::checked_mul(bags, m_->dim(), "out")));
  m_->bag_forward(indices, offsets, per_sample_weights, out.data(),
                  static_cast<int64_t>(out.size()));
  return out;
}

std::vector<float> EmbeddingBag::forward_2d(Indices indices, int64_t num_bags, int64_t bag_size,
                                            const float* per_sample_weights) const {
  if (num_bags < 0 || bag_size < 0) {
    throw InvalidArgument("forward_2d: num_bags and bag_size must be >= 0, got " +
                          std::to_string(num_bags) + " and " + std::to_string(bag_size));
  }
  if (detail::checked_mul(num_bags, bag_size, "indices") != indices.size) {
    throw InvalidArgument("indices: a 2-D input of " + std::to_string(num_bags) + " x " +
                          std::to_string(bag_size) + " needs " +
                          std::to_string(num_bags * bag_size) + " indices, got " +
                          std::to_string(indices.size));
  }
  if (m_->options().include_last_offset) {
    throw InvalidArgument(
        "indices: a 2-D input takes no offsets, so include_last_offset must be "
        "false");
  }
  // B bags of N: offsets b * N, in the indices' own type.
  std::vector<int32_t> o32;
  std::vector<int64_t> o64;
  Indices offsets;
  if (indices.type == IndexType::Int32) {
    for (int64_t b = 0; b < num_bags; ++b) o32.push_back(static_cast<int32_t>(b * bag_size));
    offsets = Indices(o32);
  } else {
    for (int64_t b = 0; b < num_bags; ++b) o64.push_back(b * bag_size);
    offsets = Indices(o64);
  }
  return forward(indices, offsets, per_sample_weights);
}

std::vector<float> EmbeddingBag::get_weight() const {
  std::vector<float> out(static_cast<size_t>(m_->rows() * m_->dim()));
  m_->get_weight(out.data(), static_cast<int64_t>(out.size()));
  return out;
}

QuantizedWeight EmbeddingBag::get_quantized_weight() const { return m_->quantized_weight(); }
const EmbeddingBagOptions& EmbeddingBag::options() const { return m_->options(); }

EmbeddingBag EmbeddingBag::from_quantized(const QuantizedWeight& weight,
                                          const EmbeddingBagOptions& options) {
  return EmbeddingBag(qembed::from_quantized(Kind::EmbeddingBag, weight, options));
}
EmbeddingBag EmbeddingBag::from_prepacked(const uint8_t* packed, int64_t size, int bits,
                                          const EmbeddingBagOptions& options) {
  if (size < 0) throw InvalidArgument("size must be >= 0, got " + std::to_string(size));
  return EmbeddingBag(Module::from_prepacked(packed, static_cast<uint64_t>(size), bits, options));
}
void EmbeddingBag::save(const std::string& path) const { detail::save_module(*m_, path); }
EmbeddingBag EmbeddingBag::load(const std::string& path) {
  return EmbeddingBag(load_kind(Kind::EmbeddingBag, path));
}

}  // namespace qembed
