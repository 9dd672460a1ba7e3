// The C ABI (include/qembed/qembed.h): converts arguments, calls the module layer, and
// turns exceptions into status codes plus a per-thread message.
#include <cmath>
#include <cstring>
#include <exception>
#include <new>
#include <string>

#include "dispatch.h"
#include "model_file.h"
#include "module.h"
#include "qembed/qembed.h"

struct qembed_module {
  std::shared_ptr<const qembed::detail::Module> module;
};

namespace {

using namespace qembed;

thread_local std::string t_last_error;

template <typename F>
qembed_status guarded(F&& f) {
  try {
    f();
    return QEMBED_OK;
  } catch (const Error& e) {
    t_last_error = e.what();
    return e.status();
  } catch (const std::bad_alloc&) {
    t_last_error = "out of memory";
    return QEMBED_ERR_INTERNAL;
  } catch (const std::exception& e) {
    t_last_error = std::string("internal error: ") + e.what();
    return QEMBED_ERR_INTERNAL;
  }
}

const detail::Module& module_of(const qembed_module* m) {
  if (m == nullptr) throw InvalidArgument("module must not be NULL");
  return *m->module;
}

// The integer a C caller stored in a C enum. C lets any int through; in C++ reading a
// value outside the enumerators' range through the enum type is undefined (UBSan's
// -fsanitize=enum caught it), so the bytes are copied instead and checked as an int.
template <typename E>
int raw(const E& e) {
  static_assert(sizeof(E) == sizeof(int), "C ABI enums are int-sized");
  int v;
  std::memcpy(&v, &e, sizeof v);
  return v;
}

IndexType index_type_of(const qembed_index_type& type) {
  const int t = raw(type);
  if (t != QEMBED_INT32 && t != QEMBED_INT64) {
    throw InvalidArgument("index_type must be QEMBED_INT32 or QEMBED_INT64, got " +
                          std::to_string(t));
  }
  return t == QEMBED_INT32 ? IndexType::Int32 : IndexType::Int64;
}

EmbeddingBagOptions options_of(const qembed_options* o) {
  if (o == nullptr) throw InvalidArgument("options must not be NULL");
  EmbeddingBagOptions out;
  out.num_embeddings = o->num_embeddings;
  out.embedding_dim = o->embedding_dim;
  if (o->padding_idx != QEMBED_NO_PADDING_IDX) out.padding_idx = o->padding_idx;
  if (o->has_max_norm) out.max_norm = o->max_norm;
  out.norm_type = o->norm_type;
  out.mode = static_cast<Mode>(raw(o->mode));
  if (o->include_last_offset != 0 && o->include_last_offset != 1) {
    throw InvalidArgument("options.include_last_offset must be 0 or 1");
  }
  out.include_last_offset = o->include_last_offset != 0;
  return out;
}

QParams qparams_of(const qembed_qparams* q) {
  QParams out;
  out.qscheme = static_cast<QScheme>(raw(q->qscheme));
  out.dtype = static_cast<DType>(raw(q->dtype));
  out.axis = q->axis;
  if (q->num_qparams < 0 || q->num_qparams > (int64_t{1} << 31)) {
    throw InvalidArgument("qparams.num_qparams must be in [0, 2^31], got " +
                          std::to_string(q->num_qparams));
  }
  if (q->num_qparams > 0 && (q->scale == nullptr || q->zero_point == nullptr)) {
    throw InvalidArgument(
        "qparams.scale and qparams.zero_point must not be NULL when "
        "num_qparams > 0");
  }
  out.scale.assign(q->scale, q->scale + q->num_qparams);
  out.zero_point.assign(q->zero_point, q->zero_point + q->num_qparams);
  return out;
}

qembed_status create(detail::Kind kind, const float* weight, const qembed_options* options,
                     const qembed_qparams* qparams, qembed_module** out) {
  return guarded([&] {
    if (out == nullptr) throw InvalidArgument("out must not be NULL");
    const EmbeddingBagOptions o = options_of(options);
    QParams q;
    if (qparams != nullptr) q = qparams_of(qparams);
    auto m = detail::Module::from_float(kind, weight, o, qparams != nullptr ? &q : nullptr);
    *out = new qembed_module{std::move(m)};
  });
}

}  // namespace

extern "C" {

qembed_status qembed_embedding_from_float(const float* weight, const qembed_options* options,
                                          const qembed_qparams* qparams, qembed_module** out) {
  return create(detail::Kind::Embedding, weight, options, qparams, out);
}

qembed_status qembed_embedding_bag_from_float(const float* weight, const qembed_options* options,
                                              const qembed_qparams* qparams, qembed_module** out) {
  return create(detail::Kind::EmbeddingBag, weight, options, qparams, out);
}

qembed_status qembed_embedding_bag_from_prepacked(const uint8_t* packed, int64_t size, int bits,
                                                  const qembed_options* options,
                                                  qembed_module** out) {
  return guarded([&] {
    if (out == nullptr) throw InvalidArgument("out must not be NULL");
    if (size < 0) throw InvalidArgument("size must be >= 0, got " + std::to_string(size));
    const EmbeddingBagOptions o = options_of(options);
    auto m = detail::Module::from_prepacked(packed, static_cast<uint64_t>(size), bits, o);
    *out = new qembed_module{std::move(m)};
  });
}

void qembed_module_free(qembed_module* module) { delete module; }

qembed_status qembed_embedding_forward(const qembed_module* module, const void* indices,
                                       qembed_index_type index_type, int64_t num_indices,
                                       float* out, int64_t out_len) {
  return guarded([&] {
    const detail::Module& m = module_of(module);
    Indices idx;
    idx.data = indices;
    idx.type = index_type_of(index_type);
    idx.size = num_indices;
    m.embedding_forward(idx, out, out_len);
  });
}

qembed_status qembed_embedding_bag_forward(const qembed_module* module, const void* indices,
                                           int64_t num_indices, const void* offsets,
                                           int64_t num_offsets, qembed_index_type index_type,
                                           const float* per_sample_weights, float* out,
                                           int64_t out_len) {
  return guarded([&] {
    const detail::Module& m = module_of(module);
    const IndexType t = index_type_of(index_type);
    Indices idx, off;
    idx.data = indices;
    idx.type = t;
    idx.size = num_indices;
    off.data = offsets;
    off.type = t;
    off.size = num_offsets;
    m.bag_forward(idx, off, per_sample_weights, out, out_len);
  });
}

qembed_status qembed_get_weight(const qembed_module* module, float* out, int64_t out_len) {
  return guarded([&] { module_of(module).get_weight(out, out_len); });
}

qembed_status qembed_module_save(const qembed_module* module, const char* path) {
  return guarded([&] {
    const detail::Module& m = module_of(module);
    if (path == nullptr) throw InvalidArgument("path must not be NULL");
    detail::save_module(m, path);
  });
}

qembed_status qembed_module_load(const char* path, qembed_module** out) {
  return guarded([&] {
    if (out == nullptr) throw InvalidArgument("out must not be NULL");
    if (path == nullptr) throw InvalidArgument("path must not be NULL");
    auto m = detail::load_module(path);
    *out = new qembed_module{std::move(m)};
  });
}

qembed_status qembed_module_load_buffer(const void* data, int64_t size, qembed_module** out) {
  return guarded([&] {
    if (out == nullptr) throw InvalidArgument("out must not be NULL");
    if (size < 0) throw InvalidArgument("size must be >= 0, got " + std::to_string(size));
    if (data == nullptr && size > 0) throw InvalidArgument("data must not be NULL");
    auto m = detail::load_module(static_cast<const uint8_t*>(data), static_cast<uint64_t>(size),
                                 "buffer");
    *out = new qembed_module{std::move(m)};
  });
}

qembed_status qembed_module_options(const qembed_module* module, qembed_options* out,
                                    int* is_embedding_bag) {
  return guarded([&] {
    const detail::Module& m = module_of(module);
    if (out == nullptr) throw InvalidArgument("out must not be NULL");
    const EmbeddingBagOptions& o = m.options();
    qembed_options r{};
    r.num_embeddings = o.num_embeddings;
    r.embedding_dim = o.embedding_dim;
    r.padding_idx = o.padding_idx ? *o.padding_idx : QEMBED_NO_PADDING_IDX;
    r.has_max_norm = o.max_norm.has_value();
    r.max_norm = o.max_norm.value_or(0.0);
    r.norm_type = o.norm_type;
    r.mode = static_cast<qembed_mode>(o.mode);
    r.include_last_offset = o.include_last_offset;
    *out = r;
    if (is_embedding_bag != nullptr) *is_embedding_bag = m.kind() == detail::Kind::EmbeddingBag;
  });
}

const char* qembed_last_error(void) { return t_last_error.c_str(); }

const char* qembed_kernel_target(void) {
  try {
    return detail::active_kernels().target;
  } catch (const std::exception& e) {
    t_last_error = e.what();
    return "none";
  }
}

qembed_status qembed_set_num_threads(int num_threads) {
  return guarded([&] { qembed::set_num_threads(num_threads); });
}

}  // extern "C"
