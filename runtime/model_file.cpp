#include "model_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <set>

#include "dtype_table.h"
#include "safetensors.h"
#include "validate.h"

namespace qembed::detail {

namespace {

constexpr const char* kFormat = "qembed.module";
constexpr const char* kFormatVersion = "1";

// PyTorch's names (str(torch.quint8), str(torch.per_channel_affine)), indexed by the enums.
constexpr const char* kTorchDTypes[] = {"torch.float32", "torch.float16",  "torch.quint8",
                                        "torch.qint8",   "torch.quint4x2", "torch.qint32"};
constexpr const char* kTorchQSchemes[] = {"None", "torch.per_tensor_affine",
                                          "torch.per_channel_affine",
                                          "torch.per_channel_affine_float_qparams"};
constexpr const char* kModes[] = {"sum", "mean", "max"};
// Prepacked tables: the PyTorch op that wrote the rows, by code bits.
constexpr const char* kPackings[] = {"embedding_bag_2bit_prepack", "embedding_bag_4bit_prepack",
                                     "embedding_bag_byte_prepack"};
int packing_index(int bits) { return bits == 2 ? 0 : bits == 4 ? 1 : 2; }
int packing_bits(int index) { return index == 0 ? 2 : index == 1 ? 4 : 8; }
// The safetensors dtype of the `weight` tensor, indexed by fmt::Codes.
constexpr const char* kCodeDTypes[] = {"F32", "F16", "U8", "I8", "U8", "I32", "U8"};

// The `weight` tensor's shape: int_repr()'s, flat for quint4x2 (two codes per byte).
std::vector<int64_t> weight_shape(fmt::Codes codes, int64_t rows, int64_t dim) {
  if (codes == fmt::Codes::U4) return {(rows * dim + 1) / 2};
  return {rows, dim};
}

std::string py_bool(bool b) { return b ? "True" : "False"; }

// Shortest text that reads back to the same double (Python's repr spelling of inf).
std::string py_float(double v) {
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  char buf[64];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  std::string s(buf, r.ptr);
  if (s.find_first_of(".e") == std::string::npos) s += ".0";
  return s;
}

class Metadata {
 public:
  Metadata(const std::map<std::string, std::string>& m, const std::string& source)
      : m_(m), source_(source) {}

  const std::string& get(const std::string& key) const {
    const auto it = m_.find(key);
    if (it == m_.end()) fail("metadata key \"" + key + "\" is missing");
    return it->second;
  }
  template <size_t N>
  int choice(const std::string& key, const char* const (&names)[N]) const {
    const std::string& v = get(key);
    for (size_t i = 0; i < N; ++i)
      if (v == names[i]) return static_cast<int>(i);
    std::string all;
    for (size_t i = 0; i < N; ++i) all += (i ? ", " : "") + std::string(names[i]);
    fail("metadata " + key + " must be one of " + all + ", got \"" + v + "\"");
  }
  int64_t integer(const std::string& key) const { return number<int64_t>(key, "an integer"); }
  double real(const std::string& key) const { return number<double>(key, "a number"); }
  bool boolean(const std::string& key) const {
    static const char* const kBools[] = {"False", "True"};
    return choice(key, kBools) == 1;
  }
  bool is_none(const std::string& key) const { return get(key) == "None"; }
  [[noreturn]] void fail(const std::string& what) const {
    throw InvalidArgument(source_ + ": " + what);
  }

 private:
  // The whole value as a T (std::from_chars: no locale, no leading '+' or spaces).
  template <typename T>
  T number(const std::string& key, const char* what) const {
    const std::string& v = get(key);
    T x{};
    const auto r = std::from_chars(v.data(), v.data() + v.size(), x);
    if (v.empty() || r.ec != std::errc() || r.ptr != v.data() + v.size()) {
      fail("metadata " + key + " must be " + what + ", got \"" + v + "\"");
    }
    return x;
  }

  const std::map<std::string, std::string>& m_;
  const std::string& source_;
};

// A tensor's values as float (F32, or integers that a float holds exactly).
std::vector<float> floats_of(const safetensors::File& f, const std::string& name,
                             const std::set<std::string>& dtypes, const std::string& source) {
  const safetensors::TensorInfo& t = f.tensors.at(name);
  if (dtypes.count(t.dtype) == 0 || t.shape.size() > 1) {
    std::string all;
    for (const std::string& d : dtypes) all += (all.empty() ? "" : " or ") + d;
    throw InvalidArgument(source + ": tensor \"" + name + "\" must be a 0-d or 1-d " + all +
                          " tensor, got " + t.dtype + " of rank " + std::to_string(t.shape.size()));
  }
  const uint8_t* p = f.bytes_of(t);
  std::vector<float> v(static_cast<size_t>(t.numel()));
  for (size_t i = 0; i < v.size(); ++i) {
    if (t.dtype == "F32") {
      std::memcpy(&v[i], p + 4 * i, 4);
    } else if (t.dtype == "I32") {
      int32_t x;
      std::memcpy(&x, p + 4 * i, 4);
      v[i] = static_cast<float>(x);
    } else {  // I64
      int64_t x;
      std::memcpy(&x, p + 8 * i, 8);
      if (x < -(int64_t{1} << 24) || x > (int64_t{1} << 24)) {
        throw InvalidArgument(source + ": tensor \"" + name + "\"[" + std::to_string(i) +
                              "] = " + std::to_string(x) + " is outside +-2^24");
      }
      v[i] = static_cast<float>(x);
    }
  }
  return v;
}

// A mapped, read-only file; unmapped when it goes out of scope.
class MappedFile {
 public:
  explicit MappedFile(const std::string& path) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) throw InvalidArgument("path: cannot open '" + path + "': " + std::strerror(errno));
    struct stat st {};
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
      ::close(fd);
      throw InvalidArgument("path: '" + path + "' is not a regular file");
    }
    size_ = static_cast<uint64_t>(st.st_size);
    if (size_ > 0) {
      void* p = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd, 0);
      if (p == MAP_FAILED) {
        const int err = errno;
        ::close(fd);
        throw InvalidArgument("path: cannot map '" + path + "': " + std::strerror(err));
      }
      data_ = static_cast<const uint8_t*>(p);
    }
    ::close(fd);
  }
  ~MappedFile() {
    if (data_ != nullptr) ::munmap(const_cast<uint8_t*>(data_), size_);
  }
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  const uint8_t* data() const { return data_; }
  uint64_t size() const { return size_; }

 private:
  const uint8_t* data_ = nullptr;
  uint64_t size_ = 0;
};

// Writes header and tensors to a temporary file renamed into place: a failed save leaves
// no partial file under `path`.
void write_file(const std::string& path, const std::map<std::string, std::string>& meta,
                const std::vector<safetensors::TensorData>& tensors) {
  const std::string head = safetensors::header(meta, tensors);

  const std::string tmp = path + ".tmp" + std::to_string(::getpid());
  std::FILE* f = std::fopen(tmp.c_str(), "wb");
  if (f == nullptr) {
    throw InvalidArgument("path: cannot create '" + tmp + "': " + std::strerror(errno));
  }
  bool ok = std::fwrite(head.data(), 1, head.size(), f) == head.size();
  for (const safetensors::TensorData& t : tensors) {
    ok = ok && std::fwrite(t.data, 1, t.bytes, f) == t.bytes;
  }
  const int err = errno;
  ok = (std::fclose(f) == 0) && ok;
  if (!ok || std::rename(tmp.c_str(), path.c_str()) != 0) {
    const int e = ok ? errno : err;
    std::remove(tmp.c_str());
    throw InvalidArgument("path: cannot write '" + path + "': " + std::strerror(e));
  }
}

}  // namespace

void save_module(const Module& m, const std::string& path) {
  if (path.empty()) throw InvalidArgument("path must not be empty");
  const QuantizedWeight w = m.quantized_weight();
  const QParams& q = m.qparams();
  const EmbeddingBagOptions& o = m.options();
  const bool bag = m.kind() == Kind::EmbeddingBag;

  std::map<std::string, std::string> meta = {
      {"format", kFormat},
      {"format_version", kFormatVersion},
      {"module", bag ? "EmbeddingBag" : "Embedding"},
      {"num_embeddings", std::to_string(o.num_embeddings)},
      {"embedding_dim", std::to_string(o.embedding_dim)},
      {"padding_idx", o.padding_idx ? std::to_string(*o.padding_idx) : "None"},
      {"max_norm", o.max_norm ? py_float(*o.max_norm) : "None"},
      {"norm_type", py_float(o.norm_type)},
      {"scale_grad_by_freq", py_bool(o.scale_grad_by_freq)},
      {"sparse", py_bool(o.sparse)}};
  if (bag) {
    meta["mode"] = kModes[static_cast<int>(o.mode)];
    meta["include_last_offset"] = py_bool(o.include_last_offset);
  }
  std::vector<safetensors::TensorData> tensors;
  if (w.packing_bits != 0) {  // the prepacked rows as they came: U8 [R, row bytes]
    meta["packing"] = kPackings[packing_index(w.packing_bits)];
    tensors.push_back({"weight",
                       "U8",
                       {m.rows(), static_cast<int64_t>(w.data.size()) / m.rows()},
                       w.data.data(),
                       w.data.size()});
    write_file(path, meta, tensors);
    return;
  }
  meta["weight_qscheme"] = kTorchQSchemes[static_cast<int>(q.qscheme)];
  meta["weight_dtype"] = kTorchDTypes[static_cast<int>(q.dtype)];

  const fmt::Codes codes = fmt::format(stored_format(q)).codes;  // qscheme None: F32
  // The qparams first (4-byte values), so the weight starts 4-byte aligned after them.
  std::vector<float> scale = q.scale, float_zp = q.zero_point;
  std::vector<int32_t> int_zp, axis{static_cast<int32_t>(q.axis)};
  const bool per_channel =
      q.qscheme == QScheme::PerChannelAffine || q.qscheme == QScheme::PerChannelAffineFloatQParams;
  if (q.qscheme != QScheme::None) {
    if (q.dtype == DType::Float16) {  // PyTorch keeps placeholder qparams for float16
      scale = {1.0f};
      float_zp = {0.0f};
    }
    const bool float_qparams = q.qscheme == QScheme::PerChannelAffineFloatQParams;
    if (!float_qparams) {  // integral and within +-2^24 (validate_qparams)
      for (const float z : float_zp) int_zp.push_back(static_cast<int32_t>(z));
    }
    const std::vector<int64_t> shape =
        per_channel ? std::vector<int64_t>{static_cast<int64_t>(scale.size())}
                    : std::vector<int64_t>{};
    tensors.push_back({"weight_scale", "F32", shape, scale.data(), scale.size() * 4});
    if (float_qparams) {
      tensors.push_back({"weight_zero_point", "F32", shape, float_zp.data(), float_zp.size() * 4});
    } else {
      tensors.push_back({"weight_zero_point", "I32", shape, int_zp.data(), int_zp.size() * 4});
    }
    if (per_channel) tensors.push_back({"weight_axis", "I32", {}, axis.data(), 4});
  }
  tensors.push_back({"weight", kCodeDTypes[static_cast<int>(codes)],
                     weight_shape(codes, m.rows(), m.dim()), w.data.data(), w.data.size()});
  write_file(path, meta, tensors);
}

std::shared_ptr<const Module> load_module(const uint8_t* bytes, uint64_t size,
                                          const std::string& source) {
  const safetensors::File f = safetensors::parse(bytes, size, source);
  const Metadata meta(f.metadata, source);
  if (meta.get("format") != kFormat) {
    meta.fail("metadata format must be \"" + std::string(kFormat) + "\", got \"" +
              meta.get("format") + "\"");
  }
  if (meta.get("format_version") != kFormatVersion) {
    throw Unsupported(source + ": format_version " + meta.get("format_version") +
                      " is not supported (this build reads " + kFormatVersion + ")");
  }
  static const char* const kKinds[] = {"Embedding", "EmbeddingBag"};
  const bool bag = meta.choice("module", kKinds) == 1;

  EmbeddingBagOptions o;
  o.num_embeddings = meta.integer("num_embeddings");
  o.embedding_dim = meta.integer("embedding_dim");
  if (!meta.is_none("padding_idx")) o.padding_idx = meta.integer("padding_idx");
  if (!meta.is_none("max_norm")) o.max_norm = meta.real("max_norm");
  o.norm_type = meta.real("norm_type");
  o.scale_grad_by_freq = meta.boolean("scale_grad_by_freq");
  o.sparse = meta.boolean("sparse");
  if (bag) {
    o.mode = static_cast<Mode>(meta.choice("mode", kModes));
    o.include_last_offset = meta.boolean("include_last_offset");
  }
  validate_options(o, bag);

  if (f.metadata.count("packing") != 0) {  // prepacked rows: one U8 [R, row bytes] tensor
    const int bits = packing_bits(meta.choice("packing", kPackings));
    if (!bag) meta.fail("a prepacked table (metadata packing) must be an EmbeddingBag");
    for (const auto& [name, t] : f.tensors) {
      if (name != "weight") meta.fail("unexpected tensor \"" + name + "\"");
    }
    if (f.tensors.count("weight") == 0) meta.fail("tensor \"weight\" is missing");
    const safetensors::TensorInfo& w = f.tensors.at("weight");
    if (w.dtype != "U8" || w.shape.size() != 2 || w.shape[0] != o.num_embeddings) {
      meta.fail("tensor \"weight\" must be U8 [num_embeddings, packed row bytes]");
    }
    try {
      return Module::from_prepacked(f.bytes_of(w), w.end - w.begin, bits, o);
    } catch (const InvalidArgument& e) {
      throw InvalidArgument(source + ": " + e.what());
    }
  }

  QParams q;
  q.qscheme = static_cast<QScheme>(meta.choice("weight_qscheme", kTorchQSchemes));
  q.dtype = static_cast<DType>(meta.choice("weight_dtype", kTorchDTypes));
  if (!qscheme_accepts(q.qscheme, q.dtype)) {
    meta.fail(std::string("weight_dtype ") + kTorchDTypes[static_cast<int>(q.dtype)] +
              " is not valid with weight_qscheme " + kTorchQSchemes[static_cast<int>(q.qscheme)]);
  }

  // Exactly the tensors this qscheme has (weight_axis optional for float qparams:
  // PyTorch's state_dict leaves it out there; it is then 0, per row).
  const bool quantized = q.qscheme != QScheme::None;
  const bool per_channel =
      q.qscheme == QScheme::PerChannelAffine || q.qscheme == QScheme::PerChannelAffineFloatQParams;
  std::set<std::string> allowed = {"weight"};
  if (quantized) allowed.insert({"weight_scale", "weight_zero_point"});
  if (per_channel) allowed.insert("weight_axis");
  for (const auto& [name, t] : f.tensors) {
    if (allowed.count(name) == 0) meta.fail("unexpected tensor \"" + name + "\"");
  }
  for (const std::string& name : allowed) {
    const bool optional = name == "weight_axis" && q.qscheme != QScheme::PerChannelAffine;
    if (f.tensors.count(name) == 0 && !optional) meta.fail("tensor \"" + name + "\" is missing");
  }
  if (quantized && q.dtype != DType::Float16) {
    q.scale = floats_of(f, "weight_scale", {"F32"}, source);
    q.zero_point = floats_of(f, "weight_zero_point", {"F32", "I32", "I64"}, source);
    if (per_channel && f.tensors.count("weight_axis") != 0) {
      const std::vector<float> axis = floats_of(f, "weight_axis", {"I32", "I64"}, source);
      if (axis.size() != 1) meta.fail("tensor \"weight_axis\" must hold one value");
      q.axis = static_cast<int64_t>(axis[0]);
    }
  }

  const fmt::Codes codes = fmt::format(stored_format(q)).codes;  // qscheme None: F32
  const safetensors::TensorInfo& w = f.tensors.at("weight");
  const std::string want = kCodeDTypes[static_cast<int>(codes)];
  const std::vector<int64_t> wshape = weight_shape(codes, o.num_embeddings, o.embedding_dim);
  if (w.dtype != want || w.shape != wshape) {
    std::string shape;
    for (const int64_t d : wshape) shape += (shape.empty() ? "" : ", ") + std::to_string(d);
    meta.fail("tensor \"weight\" must be " + want + " [" + shape + "] for " +
              kTorchDTypes[static_cast<int>(q.dtype)] + " codes of a " +
              std::to_string(o.num_embeddings) + " x " + std::to_string(o.embedding_dim) +
              " table");
  }
  try {
    return Module::from_quantized(bag ? Kind::EmbeddingBag : Kind::Embedding, q, f.bytes_of(w),
                                  w.end - w.begin, o);
  } catch (const InvalidArgument& e) {
    throw InvalidArgument(source + ": " + e.what());
  }
}

std::shared_ptr<const Module> load_module(const std::string& path) {
  if (path.empty()) throw InvalidArgument("path must not be empty");
  const MappedFile file(path);
  return load_module(file.data(), file.size(), "'" + path + "'");
}

}  // namespace qembed::detail
