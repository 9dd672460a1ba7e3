// qembed C++ API: quantized Embedding / EmbeddingBag modules with the semantics of
// PyTorch 1.13.1's reference quantized modules (torch.ao.nn.quantized.reference), served
// by Halide kernels compiled ahead of time for this CPU.
//
// Every entry point validates its inputs before any kernel runs and throws one of the
// exceptions below (naming the argument and the rule it broke); outputs and modules are
// left untouched on failure. Modules are immutable after from_float: concurrent forward
// calls from many threads are safe.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "qembed/qembed.h"

namespace qembed {

enum class QScheme {
  None = 0,
  PerTensorAffine = 1,
  PerChannelAffine = 2,
  PerChannelAffineFloatQParams = 3
};
enum class DType { Float32 = 0, Float16 = 1, QUInt8 = 2, QInt8 = 3, QUInt4x2 = 4, QInt32 = 5 };
enum class Mode { Sum = 0, Mean = 1, Max = 2 };
enum class IndexType { Int32 = 0, Int64 = 1 };

// Base of every error qembed throws; status() is the matching C ABI code.
class QEMBED_API Error : public std::runtime_error {
 public:
  Error(qembed_status status, const std::string& what)
      : std::runtime_error(what), status_(status) {}
  qembed_status status() const { return status_; }

 private:
  qembed_status status_;
};
// A malformed argument: bad option, qparams, shape, offsets or null pointer.
struct QEMBED_API InvalidArgument : Error {
  explicit InvalidArgument(const std::string& w) : Error(QEMBED_ERR_INVALID_ARGUMENT, w) {}
};
// An index outside [0, num_embeddings).
struct QEMBED_API OutOfRange : Error {
  explicit OutOfRange(const std::string& w) : Error(QEMBED_ERR_OUT_OF_RANGE, w) {}
};
// Valid in PyTorch but not served by this build (e.g. more memory than the machine has).
struct QEMBED_API Unsupported : Error {
  explicit Unsupported(const std::string& w) : Error(QEMBED_ERR_UNSUPPORTED, w) {}
};
// A kernel failed after validation passed (a bug: please report it).
struct QEMBED_API InternalError : Error {
  explicit InternalError(const std::string& w) : Error(QEMBED_ERR_INTERNAL, w) {}
};

// The weight_qparams dict of the reference modules. The default is PyTorch's default
// (per_tensor_affine quint8, scale 1, zero_point 0: negative weights become 0).
struct QEMBED_API QParams {
  QScheme qscheme = QScheme::PerTensorAffine;
  DType dtype = DType::QUInt8;
  std::vector<float> scale{1.0f};       // one value, or one per channel along `axis`
  std::vector<float> zero_point{0.0f};  // integral for the two affine schemes
  int64_t axis = 0;                     // per-channel only: 0 (per row) or 1 (per column)

  static QParams none();     // qscheme None: the float weight is used as is
  static QParams float16();  // an fp16 round trip
  static QParams per_tensor(DType dtype, float scale, float zero_point);
  static QParams per_channel(DType dtype, std::vector<float> scale, std::vector<float> zero_point,
                             int64_t axis);
  static QParams per_channel_float(DType dtype, std::vector<float> scale,
                                   std::vector<float> zero_point, int64_t axis);
  // PyTorch's FX qparams for embeddings (float_qparams_weight_only_qconfig): per row,
  // scale = (max - min) / (qmax - qmin) (1 if <= float eps), zero_point = -min / scale.
  static QParams row_wise_float(DType dtype, const float* weight, int64_t rows, int64_t cols);
};

struct EmbeddingOptions {
  int64_t num_embeddings = 0;
  int64_t embedding_dim = 0;
  std::optional<int64_t> padding_idx;  // in [-num_embeddings, num_embeddings); no effect on forward
  std::optional<double> max_norm;      // renormalize looked-up rows (never the stored weights)
  double norm_type = 2.0;              // p > 0, or +infinity
  bool scale_grad_by_freq = false;     // training-only: accepted for parity, no effect
  bool sparse = false;                 // training-only: accepted for parity, no effect
};

struct EmbeddingBagOptions : EmbeddingOptions {
  Mode mode = Mode::Mean;  // PyTorch's default
  bool include_last_offset = false;
};

// A view of caller-owned int32 or int64 indices (or offsets).
struct Indices {
  const void* data = nullptr;
  IndexType type = IndexType::Int64;
  int64_t size = 0;

  Indices() = default;
  Indices(const int32_t* d, int64_t n) : data(d), type(IndexType::Int32), size(n) {}
  Indices(const int64_t* d, int64_t n) : data(d), type(IndexType::Int64), size(n) {}
  Indices(const std::vector<int32_t>& v) : Indices(v.data(), static_cast<int64_t>(v.size())) {}
  Indices(const std::vector<int64_t>& v) : Indices(v.data(), static_cast<int64_t>(v.size())) {}
};

// get_quantized_weight(): the codes as PyTorch's int_repr() lays them out, row-major
// (quint4x2: the flattened tensor two codes per byte, low nibble first; qint32: int32
// little endian; float16: fp16 bits; qscheme None: the float32 weight).
// For a prepacked module (EmbeddingBag::from_prepacked) packing_bits is 8, 4 or 2 and
// data holds the prepacked rows as imported; qparams is then unused.
struct QuantizedWeight {
  QParams qparams;
  int64_t rows = 0, cols = 0;
  std::vector<uint8_t> data;
  int packing_bits = 0;
};

namespace detail {
class Module;
}

class QEMBED_API Embedding {
 public:
  static Embedding from_float(const float* weight, const EmbeddingOptions& options,
                              const QParams& weight_qparams = QParams());

  // out: indices.size x embedding_dim floats (the input's shape + (D,)); out_len >= that.
  void forward(Indices indices, float* out, int64_t out_len) const;
  std::vector<float> forward(Indices indices) const;
  // The fake-quantized float table (num_embeddings x embedding_dim).
  std::vector<float> get_weight() const;
  QuantizedWeight get_quantized_weight() const;
  const EmbeddingOptions& options() const;
  static std::string name() { return "QuantizedEmbedding(Reference)"; }

  // A module from codes in get_quantized_weight()'s layout (a bit-exact round trip).
  static Embedding from_quantized(const QuantizedWeight& weight, const EmbeddingOptions& options);
  // Module files (safetensors, PyTorch's state_dict names; the README's "Module files").
  // save writes through a temporary file renamed into place; load throws InvalidArgument
  // naming the file and the rule a damaged or mismatched file broke, and for a file that
  // holds an EmbeddingBag.
  void save(const std::string& path) const;
  static Embedding load(const std::string& path);

 private:
  explicit Embedding(std::shared_ptr<const detail::Module> m);
  std::shared_ptr<const detail::Module> m_;
};

class QEMBED_API EmbeddingBag {
 public:
  static EmbeddingBag from_float(const float* weight, const EmbeddingBagOptions& options,
                                 const QParams& weight_qparams = QParams());

  // 1-D input + offsets (same index type). per_sample_weights: nullptr, or one weight
  // per index (mode Sum only). out: num_bags x embedding_dim floats.
  void forward(Indices indices, Indices offsets, const float* per_sample_weights, float* out,
               int64_t out_len) const;
  std::vector<float> forward(Indices indices, Indices offsets,
                             const float* per_sample_weights = nullptr) const;
  // 2-D input (num_bags x bag_size, row-major), no offsets.
  std::vector<float> forward_2d(Indices indices, int64_t num_bags, int64_t bag_size,
                                const float* per_sample_weights = nullptr) const;
  // Bags a forward with `num_offsets` offsets produces (include_last_offset aware).
  int64_t num_bags(int64_t num_offsets) const;
  std::vector<float> get_weight() const;
  QuantizedWeight get_quantized_weight() const;
  const EmbeddingBagOptions& options() const;
  static std::string name() { return "QuantizedEmbedding(Reference)"; }

  static EmbeddingBag from_quantized(const QuantizedWeight& weight,
                                     const EmbeddingBagOptions& options);
  // A table prepacked by PyTorch's embedding_bag_{byte,4bit,2bit}_prepack (bits = 8, 4,
  // 2): num_embeddings rows of [codes][scale][bias] (fp32 qparams for 8 bits, fp16 for 4
  // and 2), `size` bytes in all. Served with the numerics of PyTorch's
  // embedding_bag_{byte,4bit,2bit}_rowwise_offsets, not the reference module's: mode must
  // be sum, padding_idx and max_norm unset, embedding_dim a multiple of 8 / bits.
  static EmbeddingBag from_prepacked(const uint8_t* packed, int64_t size, int bits,
                                     const EmbeddingBagOptions& options);
  void save(const std::string& path) const;
  static EmbeddingBag load(const std::string& path);  // throws for a file holding an Embedding

 private:
  explicit EmbeddingBag(std::shared_ptr<const detail::Module> m);
  std::shared_ptr<const detail::Module> m_;
};

// Kernel targets. The library holds kernels for several Halide targets (best first) and
// runs the best one this CPU supports, unless QEMBED_FORCE_TARGET (environment, read
// once) or set_kernel_target picks another.
QEMBED_API std::vector<std::string> compiled_kernel_targets();
QEMBED_API std::vector<std::string>
supported_kernel_targets();              // the compiled ones this CPU can run
QEMBED_API std::string kernel_target();  // the one forward calls use now
// Accepts a full target string or a feature token ("avx2", "avx512_skylake"), or
// "baseline" for the last target. Throws Unsupported if this CPU cannot run it.
QEMBED_API void set_kernel_target(const std::string& target);

// Threads a forward call may use (the kernels' pool): 0 = one per core (or HL_NUM_THREADS),
// the default. Not to be called while a forward runs on another thread.
constexpr int kMaxThreads = 256;
QEMBED_API void set_num_threads(int num_threads);
QEMBED_API int num_threads();  // the last value set (0 = default)

}  // namespace qembed
