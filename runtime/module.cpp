#include "module.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <numeric>

#include "call_tasks.h"
#include "dispatch.h"
#include "dtype_table.h"
#include "float16.h"
#include "halide_buffers.h"
#include "parallel.h"
#include "row_prefetch.h"
#include "table_memory.h"
#include "validate.h"

namespace qembed::detail {

namespace {

// Rows quantized per from_float kernel call: bounds the int32 code scratch buffer.
constexpr int64_t kQuantizeChunkRows = 4096;
// Rows dequantized per get_weight kernel call (an Embedding lookup of every row).
constexpr int32_t kWeightChunkRows = 4096;

thread_local std::string t_halide_error;

void halide_error_to_thread(void*, const char* msg) { t_halide_error = msg; }

// Kernels report through Halide's error handler; route it to the calling thread.
void install_error_handler() {
  static std::once_flag once;
  std::call_once(once, [] { halide_set_error_handler(halide_error_to_thread); });
}

void check_kernel(int status, const char* kernel) {
  if (status != 0) {
    throw InternalError(std::string(kernel) + " kernel failed (" + std::to_string(status) +
                        "): " + t_halide_error);
  }
}

halide_type_t table_type(fmt::Codes c) {
  switch (c) {
    case fmt::Codes::F32:
      return f32_type();
    case fmt::Codes::F16:
      return halide_type_t(halide_type_uint, 16);
    case fmt::Codes::I32:
      return i32_type();
    default:
      return halide_type_t(halide_type_uint, 8);
  }
}

int slot(IndexType t) { return t == IndexType::Int32 ? kSlot_int32 : kSlot_int64; }

halide_type_t index_halide_type(IndexType t) {
  return t == IndexType::Int32 ? i32_type() : i64_type();
}

}  // namespace

// Views of the stored table and its column qparams, as the lookup kernels take them.
struct Module::TableViews {
  float dummy = 0.0f;  // stands in for the column vectors of layouts without them
  BufferView<2> table;
  BufferView<1> col_scale, col_zero_point;
  explicit TableViews(const Module& m)
      : table(m.table_.data.get(), table_type(fmt::format(m.format_).codes),
              {static_cast<int32_t>(m.row_elems_), static_cast<int32_t>(m.rows())}),
        col_scale(m.col_scale_.empty() ? &dummy : m.col_scale_.data(), f32_type(),
                  {static_cast<int32_t>(std::max<size_t>(m.col_scale_.size(), 1))}),
        col_zero_point(m.col_zero_point_.empty() ? &dummy : m.col_zero_point_.data(), f32_type(),
                       {static_cast<int32_t>(std::max<size_t>(m.col_zero_point_.size(), 1))}) {}
};

void AlignedBytes::Free::operator()(uint8_t* p) const { std::free(p); }

AlignedBytes AlignedBytes::allocate(size_t size) {
  AlignedBytes b;
  void* p = allocate_table_memory(size);
  if (p == nullptr)
    throw Unsupported("out of memory allocating " + std::to_string(size) + " bytes");
  std::memset(p, 0, size == 0 ? 64 : size);
  b.data.reset(static_cast<uint8_t*>(p));
  b.size = size;
  return b;
}

std::shared_ptr<Module> Module::allocate(Kind kind, const EmbeddingBagOptions& options,
                                         const QParams& q, fmt::FormatId format) {
  install_error_handler();
  const int64_t rows = options.num_embeddings, dim = options.embedding_dim;
  std::shared_ptr<Module> m(new Module());
  m->kind_ = kind;
  m->options_ = options;
  if (kind == Kind::Embedding) {
    m->options_.mode = Mode::Mean;
    m->options_.include_last_offset = false;
  }
  m->qparams_ = q;
  if (options.padding_idx) {
    m->padding_row_ = *options.padding_idx < 0 ? *options.padding_idx + rows : *options.padding_idx;
  }
  m->format_ = format;
  const fmt::Format& f = fmt::format(m->format_);
  m->row_elems_ = fmt::row_elements(f, dim);
  // The kernels take a row as one int32-extent buffer dimension; the table as a whole may
  // pass 2 GiB (served by the large-addressing kernels, dispatch.h).
  if (m->row_elems_ > kMaxExtent) {
    throw Unsupported("options.embedding_dim: a stored row of " + std::to_string(m->row_elems_) +
                      " elements exceeds 2^31 - 1");
  }
  const int64_t bytes = checked_mul(rows, m->stored_row_bytes(), "weight");
  m->large_table_ = bytes > kMaxSmallTableBytes;
  if (m->large_table_ && active_kernels().large == nullptr) {
    throw Unsupported("weight: the stored table needs " + std::to_string(bytes) +
                      " bytes; this build has no kernels for tables over 2 GiB "
                      "(QEMBED_LARGE_BUFFERS=OFF)");
  }
  m->table_ = AlignedBytes::allocate(static_cast<size_t>(bytes));
  if (f.layout == fmt::QParamLayout::Col) {
    const bool per_tensor = q.qscheme == QScheme::PerTensorAffine;
    m->col_scale_.assign(dim, q.scale[0]);
    m->col_zero_point_.assign(dim, q.zero_point[0]);
    if (!per_tensor) {
      m->col_scale_ = q.scale;
      m->col_zero_point_ = q.zero_point;
    }
    if (f.codes == fmt::Codes::U4) {
      // The 4-bit bag kernels accumulate column pairs; for an odd D the last pair's
      // second column (never stored) reads one qparam past the row.
      m->col_scale_.push_back(m->col_scale_.back());
      m->col_zero_point_.push_back(m->col_zero_point_.back());
    }
  }
  return m;
}

void Module::store_row(int64_t r, const int32_t* codes) {
  const fmt::Format& f = fmt::format(format_);
  const int64_t row_bytes = stored_row_bytes();
  uint8_t* row = table_.data.get() + r * row_bytes;
  switch (f.codes) {
    case fmt::Codes::U8:
    case fmt::Codes::I8:
      for (int64_t j = 0; j < dim(); ++j) row[j] = static_cast<uint8_t>(codes[j]);
      break;
    case fmt::Codes::U4:  // the 4-bit pack: two codes per byte, low nibble first
      for (int64_t j = 0; j < dim(); ++j)
        row[j / 2] |= static_cast<uint8_t>((codes[j] & 15) << (4 * (j % 2)));
      break;
    default:
      std::memcpy(row, codes, static_cast<size_t>(dim()) * 4);
      break;
  }
  store_qparams(r);
}

void Module::store_qparams(int64_t r) {
  if (fmt::format(format_).layout != fmt::QParamLayout::Row) return;
  // Fused qparams after the codes.
  uint8_t* qp = table_.data.get() + (r + 1) * stored_row_bytes() - 8;
  std::memcpy(qp, &qparams_.scale[r], 4);
  std::memcpy(qp + 4, &qparams_.zero_point[r], 4);
}

int64_t Module::int_repr_row_bytes() const {
  const fmt::Codes c = fmt::format(format_).codes;
  if (c == fmt::Codes::U4 && dim() % 2 != 0) return 0;  // odd D: rows share a byte
  if (c != fmt::Codes::U8 && c != fmt::Codes::I8 && c != fmt::Codes::U4 && c != fmt::Codes::I32) {
    return 0;
  }
  return fmt::code_elements(c, dim()) * fmt::element_bytes(c);
}

std::shared_ptr<const Module> Module::from_float(Kind kind, const float* weight,
                                                 const EmbeddingBagOptions& options,
                                                 const QParams* qparams) {
  validate_options(options, kind == Kind::EmbeddingBag);
  const int64_t rows = options.num_embeddings, dim = options.embedding_dim;
  const QParams q = validate_qparams(qparams, rows, dim);
  validate_weight(weight, rows, dim);
  std::shared_ptr<Module> m = allocate(kind, options, q, stored_format(q));
  uint8_t* table = m->table_.data.get();

  const fmt::Format& f = fmt::format(m->format_);
  if (f.codes == fmt::Codes::F32) {
    std::memcpy(table, weight, m->table_.size);
    return m;
  }
  if (f.codes == fmt::Codes::F16) {
    for (int64_t i = 0; i < rows * dim; ++i) {
      const uint16_t h = float_to_half_bits(weight[i]);
      std::memcpy(table + 2 * i, &h, 2);
    }
    return m;
  }

  // Quantize through the Halide kernel in row chunks, then pack the int32 codes.
  const KernelSet& k = active_kernels();
  const bool float_zp = q.qscheme == QScheme::PerChannelAffineFloatQParams;
  const QuantizeKernel quantize = float_zp ? k.quantize_float_zp : k.quantize_int_zp;
  const int32_t axis = q.qscheme == QScheme::PerTensorAffine ? 2 : static_cast<int32_t>(q.axis);
  const DTypeInfo& info = dtype_info(q.dtype);
  std::vector<int32_t> codes(static_cast<size_t>(std::min(rows, kQuantizeChunkRows) * dim));
  for (int64_t r0 = 0; r0 < rows; r0 += kQuantizeChunkRows) {
    const int32_t n = static_cast<int32_t>(std::min(kQuantizeChunkRows, rows - r0));
    const int32_t d = static_cast<int32_t>(dim);
    const bool by_row = axis == 0;
    const float* s = q.scale.data() + (by_row ? r0 : 0);
    const float* z = q.zero_point.data() + (by_row ? r0 : 0);
    const int32_t nq = by_row ? n : static_cast<int32_t>(q.scale.size());
    BufferView<2> wbuf(weight + r0 * dim, f32_type(), {d, n});
    BufferView<1> sbuf(s, f32_type(), {nq});
    BufferView<1> zbuf(z, f32_type(), {nq});
    BufferView<2> cbuf(codes.data(), i32_type(), {d, n});
    check_kernel(quantize(wbuf.get(), sbuf.get(), zbuf.get(), axis, static_cast<int32_t>(info.qmin),
                          static_cast<int32_t>(info.qmax), cbuf.get()),
                 "quantize");
    for (int32_t i = 0; i < n; ++i) m->store_row(r0 + i, codes.data() + int64_t{i} * dim);
  }
  return m;
}

std::shared_ptr<const Module> Module::from_quantized(Kind kind, const QParams& qparams,
                                                     const uint8_t* data, uint64_t size,
                                                     const EmbeddingBagOptions& options) {
  validate_options(options, kind == Kind::EmbeddingBag);
  const int64_t rows = options.num_embeddings, dim = options.embedding_dim;
  const QParams q = validate_qparams(&qparams, rows, dim);
  const fmt::Codes codes = fmt::format(stored_format(q)).codes;
  const int64_t n = rows * dim;  // validate_options bounds both
  const int64_t expected = codes == fmt::Codes::U4 ? (n + 1) / 2 : n * fmt::element_bytes(codes);
  if (size != static_cast<uint64_t>(expected)) {
    throw InvalidArgument("weight: " + std::string(dtype_info(q.dtype).name) + " codes of a " +
                          std::to_string(rows) + " x " + std::to_string(dim) + " weight take " +
                          std::to_string(expected) + " bytes, got " + std::to_string(size));
  }
  if (data == nullptr) throw InvalidArgument("weight must not be NULL");
  // Float weights must be finite, as from_float requires (an all-ones exponent is inf/NaN).
  if (codes == fmt::Codes::F32 || codes == fmt::Codes::F16) {
    const bool f32 = codes == fmt::Codes::F32;
    for (int64_t i = 0; i < n; ++i) {
      uint32_t bits = 0;
      std::memcpy(&bits, data + (f32 ? 4 : 2) * i, f32 ? 4 : 2);
      const uint32_t exp_mask = f32 ? 0x7F800000u : 0x7C00u;
      if ((bits & exp_mask) == exp_mask) {
        throw InvalidArgument("weight must be finite, but weight[" + std::to_string(i / dim) +
                              "][" + std::to_string(i % dim) + "] is inf or NaN");
      }
    }
  }
  std::shared_ptr<Module> m = allocate(kind, options, q, stored_format(q));
  if (codes == fmt::Codes::F32 || codes == fmt::Codes::F16) {  // stored as given
    std::memcpy(m->table_.data.get(), data, size);
    return m;
  }
  // Whole rows of bytes when int_repr's rows are the stored codes already.
  if (const int64_t code_bytes = m->int_repr_row_bytes(); code_bytes > 0) {
    uint8_t* table = m->table_.data.get();
    const int64_t row_bytes = m->stored_row_bytes();
    for (int64_t r = 0; r < rows; ++r) {
      std::memcpy(table + r * row_bytes, data + r * code_bytes, static_cast<size_t>(code_bytes));
      m->store_qparams(r);
    }
    return m;
  }
  std::vector<int32_t> row(static_cast<size_t>(dim));
  const uint8_t* src = data;
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t c = 0; c < dim; ++c) {
      const int64_t i = r * dim + c;
      switch (codes) {
        case fmt::Codes::U8:
          row[c] = src[i];
          break;
        case fmt::Codes::I8:
          row[c] = static_cast<int8_t>(src[i]);
          break;
        case fmt::Codes::U4:  // PyTorch packs the flattened tensor: rows may share bytes
          row[c] = (src[i / 2] >> (4 * (i % 2))) & 15;
          break;
        default:
          std::memcpy(&row[c], src + 4 * i, 4);
          break;
      }
    }
    m->store_row(r, row.data());
  }
  return m;
}

std::shared_ptr<const Module> Module::from_prepacked(const uint8_t* packed, uint64_t size, int bits,
                                                     const EmbeddingBagOptions& options) {
  if (bits != 8 && bits != 4 && bits != 2) {
    throw InvalidArgument("bits must be 8, 4 or 2 (embedding_bag_{byte,4bit,2bit}_prepack), got " +
                          std::to_string(bits));
  }
  validate_options(options, true);
  // PyTorch's embedding_bag_*_rowwise_offsets always sum, and have no padding_idx or
  // max_norm: a module that asks for them would not be what PyTorch computes.
  if (options.mode != Mode::Sum) {
    throw InvalidArgument(
        "options.mode must be sum for a prepacked table (PyTorch's "
        "embedding_bag_*_rowwise_offsets always sum)");
  }
  if (options.padding_idx) {
    throw InvalidArgument("options.padding_idx must be unset for a prepacked table");
  }
  if (options.max_norm) {
    throw InvalidArgument("options.max_norm must be unset for a prepacked table");
  }
  const fmt::FormatId id = fmt::prepacked_format(bits);
  const fmt::Format& f = fmt::format(id);
  const int per_byte = fmt::codes_per_byte(f.codes);
  const int64_t rows = options.num_embeddings, dim = options.embedding_dim;
  if (dim % per_byte != 0) {
    throw InvalidArgument("options.embedding_dim must be a multiple of " +
                          std::to_string(per_byte) + " for " + std::to_string(bits) +
                          "-bit rows (PyTorch reads D = " + std::to_string(per_byte) +
                          " x code bytes), got " + std::to_string(dim));
  }
  const int64_t row_bytes = fmt::row_elements(f, dim);
  if (size != static_cast<uint64_t>(rows * row_bytes)) {
    throw InvalidArgument("packed: " + std::to_string(rows) + " rows of " + std::to_string(bits) +
                          "-bit, D = " + std::to_string(dim) + " take " +
                          std::to_string(rows * row_bytes) + " bytes (" +
                          std::to_string(row_bytes) + " a row), got " + std::to_string(size));
  }
  if (packed == nullptr) throw InvalidArgument("packed must not be NULL");
  // Every row's scale and bias must be finite (PyTorch would sum NaN or inf silently).
  const int qp = fmt::fused_qparam_bytes(f.layout);
  for (int64_t r = 0; r < rows; ++r) {
    const uint8_t* p = packed + r * row_bytes + row_bytes - qp;
    for (int k = 0; k < 2; ++k) {
      float v;
      if (bits == 8) {
        std::memcpy(&v, p + 4 * k, 4);
      } else {
        uint16_t h;
        std::memcpy(&h, p + 2 * k, 2);
        v = half_bits_to_float(h);
      }
      if (!std::isfinite(v)) {
        throw InvalidArgument(std::string("packed: row ") + std::to_string(r) + " has a " +
                              (k == 0 ? "scale" : "bias") + " that is not finite");
      }
    }
  }
  std::shared_ptr<Module> m = allocate(Kind::EmbeddingBag, options, QParams::none(), id);
  m->packing_bits_ = bits;
  std::memcpy(m->table_.data.get(), packed, static_cast<size_t>(size));
  return m;
}

const KernelSet& Module::kernels() const {
  const KernelSet& k = active_kernels();
  if (!large_table_) return k;
  if (k.large == nullptr) {  // the tuner's candidate kernels have no large twin
    throw Unsupported(std::string("the active kernels (") + k.target +
                      ") have no variant for tables over 2 GiB");
  }
  return *k.large;
}

void Module::embedding_forward(const Indices& indices, float* out, int64_t out_len) const {
  if (kind_ != Kind::Embedding) {
    throw InvalidArgument(
        "module: embedding forward needs an Embedding module, got an EmbeddingBag");
  }
  validate_indices(indices, rows());
  const int64_t needed = checked_mul(indices.size, dim(), "out");
  validate_output(out, out_len, needed, "num_indices x embedding_dim");
  if (indices.size == 0) return;

  if (indices.type == IndexType::Int32) {
    run_lookup_tasks(static_cast<const int32_t*>(indices.data), indices.type, indices.size, out);
  } else {
    run_lookup_tasks(static_cast<const int64_t*>(indices.data), indices.type, indices.size, out);
  }
}

template <typename I>
void Module::run_lookup_tasks(const I* idx, IndexType type, int64_t n, float* out) const {
  const int32_t d = static_cast<int32_t>(dim());
  const KernelSet& k = kernels();
  const int fi = static_cast<int>(format_), si = slot(type);
  const EmbeddingKernel kernel = k.embedding[fi][si];
  const int32_t dist = k.prefetch_distance[kOp_embedding][fi][si];
  const uint8_t* table = table_.data.get();
  const int64_t row_bytes = stored_row_bytes();
  const int64_t tasks = task_count(n, pool_threads());
  parallel_for(static_cast<int>(tasks), [&](int task) {
    TableViews t(*this);
    const int64_t i0 = n * task / tasks, i1 = n * (task + 1) / tasks;
    const int32_t m = static_cast<int32_t>(i1 - i0);
    prefetch_head(table, row_bytes, idx, i0, std::min(i1, i0 + dist));
    BufferView<1> task_idx(idx + i0, index_halide_type(type), {m});
    BufferView<2> o(out + i0 * dim(), f32_type(), {d, m});
    check_kernel(kernel(d, t.table.get(), t.col_scale.get(), t.col_zero_point.get(), task_idx.get(),
                        options_.max_norm.has_value(), options_.max_norm.value_or(0.0),
                        options_.norm_type, dist, o.get()),
                 "embedding");
  });
}

int64_t Module::num_bags(int64_t num_offsets) const {
  return options_.include_last_offset ? std::max<int64_t>(num_offsets - 1, 0) : num_offsets;
}

void Module::bag_forward(const Indices& indices, const Indices& offsets,
                         const float* per_sample_weights, float* out, int64_t out_len) const {
  if (kind_ != Kind::EmbeddingBag) {
    throw InvalidArgument(
        "module: embedding_bag forward needs an EmbeddingBag module, got an "
        "Embedding");
  }
  validate_indices(indices, rows());
  if (offsets.size > 0 && offsets.type != indices.type) {
    throw InvalidArgument("offsets must have the same index type as indices");
  }
  const int64_t bags = validate_offsets(offsets, indices.size, options_.include_last_offset);
  if (per_sample_weights != nullptr && options_.mode != Mode::Sum) {
    throw InvalidArgument(
        std::string("per_sample_weights: only supported with mode sum, got mode ") +
        (options_.mode == Mode::Mean ? "mean" : "max"));
  }
  const int64_t needed = checked_mul(bags, dim(), "out");
  validate_output(out, out_len, needed, "num_bags x embedding_dim");
  run_bags(indices, offsets.data, bags, per_sample_weights, out);
}

void Module::run_bags(const Indices& indices, const void* begins, int64_t num_bags,
                      const float* per_sample_weights, float* out) const {
  if (num_bags == 0) return;
  if (indices.size == 0) {  // every bag is empty: zeros in every mode
    std::fill(out, out + num_bags * dim(), 0.0f);
    return;
  }
  if (indices.type == IndexType::Int32) {
    run_bag_tasks(indices, static_cast<const int32_t*>(indices.data),
                  static_cast<const int32_t*>(begins), num_bags, per_sample_weights, out);
  } else {
    run_bag_tasks(indices, static_cast<const int64_t*>(indices.data),
                  static_cast<const int64_t*>(begins), num_bags, per_sample_weights, out);
  }
}

template <typename I>
void Module::run_bag_tasks(const Indices& indices, const I* idx, const I* begins, int64_t num_bags,
                           const float* per_sample_weights, float* out) const {
  const int32_t d = static_cast<int32_t>(dim());
  const int64_t n = indices.size;
  const float dummy = 0.0f;
  const bool weighted = per_sample_weights != nullptr;
  const KernelSet& k = kernels();
  const int fi = static_cast<int>(format_), si = slot(indices.type);
  const bool max = options_.mode == Mode::Max;
  const BagKernel kernel = max ? k.bag_max[fi][si] : k.bag_sum[fi][si];
  const int32_t dist = k.prefetch_distance[max ? kOp_bag_max : kOp_bag_sum][fi][si];
  const uint8_t* table = table_.data.get();
  const int64_t row_bytes = stored_row_bytes();

  // Task t is bags [cuts[t], cuts[t + 1]), entries [entry(cuts[t]), entry(cuts[t + 1])).
  auto entry = [&](int64_t bag) { return bag < num_bags ? static_cast<int64_t>(begins[bag]) : n; };
  const std::vector<int64_t> cuts =
      cut_bag_tasks(begins, num_bags, n, task_count(n, pool_threads()));
  parallel_for(static_cast<int>(cuts.size()) - 1, [&](int task) {
    const int64_t b0 = cuts[task], b1 = cuts[task + 1], e0 = entry(b0), e1 = entry(b1);
    if (e1 == e0) {  // only empty bags: zeros in every mode
      std::fill(out + b0 * dim(), out + b1 * dim(), 0.0f);
      return;
    }
    TableViews t(*this);
    prefetch_head(table, row_bytes, idx, e0, std::min(e1, e0 + dist));
    // The task as a call of its own: entries [e0, e1), bag begins rebased to e0 (the
    // kernel ends the last bag at the end of `indices`), its weights, its output. The
    // first task's begins need no rebasing (e0 = 0).
    std::vector<I> rebased;
    const I* task_begins = begins + b0;
    if (e0 != 0) {
      rebased.assign(begins + b0, begins + b1);
      for (I& x : rebased) x = static_cast<I>(x - e0);
      task_begins = rebased.data();
    }
    const int32_t m = static_cast<int32_t>(e1 - e0);
    BufferView<1> task_idx(idx + e0, index_halide_type(indices.type), {m});
    BufferView<1> task_off(task_begins, index_halide_type(indices.type),
                           {static_cast<int32_t>(b1 - b0)});
    BufferView<1> task_w(weighted ? per_sample_weights + e0 : &dummy, f32_type(),
                         {weighted ? m : 1});
    BufferView<2> o(out + b0 * dim(), f32_type(), {d, static_cast<int32_t>(b1 - b0)});
    check_kernel(kernel(d, t.table.get(), t.col_scale.get(), t.col_zero_point.get(), task_idx.get(),
                        task_off.get(), task_w.get(), padding_row_, weighted,
                        options_.mode == Mode::Mean, options_.max_norm.has_value(),
                        options_.max_norm.value_or(0.0), options_.norm_type, dist, o.get()),
                 "embedding_bag");
  });
}

void Module::get_weight(float* out, int64_t out_len) const {
  const int64_t needed = rows() * dim();
  validate_output(out, out_len, needed, "num_embeddings x embedding_dim");
  // An Embedding lookup of every row, without max_norm (get_weight never renormalizes),
  // in chunks spread over the thread pool (rows are read in order: no prefetch stage).
  // Prepacked tables have bag kernels only: a bag per row gives what each row adds to an
  // empty bag, fl(scale * q + bias).
  const int32_t d = static_cast<int32_t>(dim());
  const int fi = static_cast<int>(format_);
  const EmbeddingKernel kernel = kernels().embedding[fi][kSlot_int32];
  const BagKernel bag_kernel = kernels().bag_sum[fi][kSlot_int32];
  const float no_weights = 0.0f;
  // Bag b of a chunk begins at entry b (the same for every chunk).
  std::vector<int32_t> one_row_bags(
      packing_bits_ != 0 ? static_cast<size_t>(std::min<int64_t>(rows(), kWeightChunkRows)) : 0);
  std::iota(one_row_bags.begin(), one_row_bags.end(), 0);
  const int64_t chunks = (rows() + kWeightChunkRows - 1) / kWeightChunkRows;
  const ChunkGroups groups(chunks, pool_threads());
  parallel_for(groups.tasks, [&](int task) {
    TableViews t(*this);
    std::vector<int32_t> iota(static_cast<size_t>(kWeightChunkRows));
    const auto [c0, c1] = groups.range(task);
    for (int64_t c = c0; c < c1; ++c) {
      const int64_t r0 = c * kWeightChunkRows;
      const int32_t n = static_cast<int32_t>(std::min<int64_t>(kWeightChunkRows, rows() - r0));
      std::iota(iota.begin(), iota.begin() + n, static_cast<int32_t>(r0));
      BufferView<1> idx(iota.data(), i32_type(), {n});
      BufferView<2> o(out + r0 * dim(), f32_type(), {d, n});
      if (packing_bits_ != 0) {
        BufferView<1> off(one_row_bags.data(), i32_type(), {n});
        BufferView<1> w(&no_weights, f32_type(), {1});
        check_kernel(
            bag_kernel(d, t.table.get(), t.col_scale.get(), t.col_zero_point.get(), idx.get(),
                       off.get(), w.get(), -1, false, false, false, 0.0, 2.0, 0, o.get()),
            "get_weight");
        continue;
      }
      check_kernel(kernel(d, t.table.get(), t.col_scale.get(), t.col_zero_point.get(), idx.get(),
                          false, 0.0, 2.0, 0, o.get()),
                   "get_weight");
    }
  });
}

int32_t Module::code_of(int64_t row, int64_t col) const {
  const fmt::Format& f = fmt::format(format_);
  const uint8_t* r = table_.data.get() + row * stored_row_bytes();
  switch (f.codes) {
    case fmt::Codes::U8:
      return r[col];
    case fmt::Codes::I8:
      return static_cast<int8_t>(r[col]);
    case fmt::Codes::U4:
      return (r[col / 2] >> (4 * (col % 2))) & 15;
    default: {
      int32_t v;
      std::memcpy(&v, r + 4 * col, 4);
      return v;
    }
  }
}

QuantizedWeight Module::quantized_weight() const {
  QuantizedWeight w;
  w.qparams = qparams_;
  w.rows = rows();
  w.cols = dim();
  const fmt::Format& f = fmt::format(format_);
  const int64_t n = rows() * dim();
  if (packing_bits_ != 0) {  // the prepacked rows as imported
    w.packing_bits = packing_bits_;
    w.data.assign(table_.data.get(), table_.data.get() + table_.size);
    return w;
  }
  if (f.codes == fmt::Codes::F32 || f.codes == fmt::Codes::F16) {
    const size_t bytes = static_cast<size_t>(n) * fmt::element_bytes(f.codes);
    w.data.assign(table_.data.get(), table_.data.get() + bytes);
    return w;
  }
  if (const int64_t code_bytes = int_repr_row_bytes(); code_bytes > 0) {
    w.data.resize(static_cast<size_t>(rows() * code_bytes));
    for (int64_t r = 0; r < rows(); ++r) {
      std::memcpy(w.data.data() + r * code_bytes, table_.data.get() + r * stored_row_bytes(),
                  static_cast<size_t>(code_bytes));
    }
    return w;
  }
  const int eb = f.codes == fmt::Codes::I32 ? 4 : 1;
  // quint4x2: PyTorch packs the FLATTENED tensor, so odd-D rows share bytes.
  w.data.assign(
      f.codes == fmt::Codes::U4 ? static_cast<size_t>((n + 1) / 2) : static_cast<size_t>(n) * eb,
      0);
  for (int64_t r = 0; r < rows(); ++r) {
    for (int64_t c = 0; c < dim(); ++c) {
      const int64_t i = r * dim() + c;
      const int32_t code = code_of(r, c);
      if (f.codes == fmt::Codes::U4) {
        w.data[i / 2] |= static_cast<uint8_t>(code << (4 * (i % 2)));
      } else if (eb == 4) {
        std::memcpy(&w.data[4 * i], &code, 4);
      } else {
        w.data[i] = static_cast<uint8_t>(code);
      }
    }
  }
  return w;
}

}  // namespace qembed::detail
