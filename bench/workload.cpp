#include "workload.h"

#include <omp.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <numeric>
#include <stdexcept>

#include "call_tasks.h"
#include "dispatch.h"
#include "float16.h"
#include "formats.h"
#include "reference.h"
#include "row_prefetch.h"
#include "table_memory.h"

namespace qbench {

namespace {

// xorshift64*: fast enough to fill multi-GB tables and index sets.
struct Rng {
  uint64_t s;
  explicit Rng(uint64_t seed) : s(seed * 0x9E3779B97F4A7C15ull + 1) {}
  uint64_t next() {
    s ^= s >> 12;
    s ^= s << 25;
    s ^= s >> 27;
    return s * 0x2545F4914F6CDD1Dull;
  }
  double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }  // [0, 1)
  int64_t below(int64_t n) { return static_cast<int64_t>(next() % static_cast<uint64_t>(n)); }
};

// Rows touched per call and the cold-set count are sized from this; a run's index sets
// hold at most this many indices in all (memory bound for the set storage).
constexpr int64_t kMaxIndicesInSets = 64ll << 20;
// Zipf exponent of the skewed index distribution (recommendation traffic is ~1).
constexpr double kZipfS = 1.05;

// The roofline's table: allocated as qembed allocates its stored tables (same alignment,
// same huge-page policy), so both see the same TLB behaviour.
struct Aligned {
  uint8_t* p = nullptr;
  explicit Aligned(size_t n) {
    p = static_cast<uint8_t*>(qembed::detail::allocate_table_memory(n));
    if (p == nullptr) throw std::bad_alloc();
  }
  ~Aligned() { std::free(p); }
  Aligned(const Aligned&) = delete;
  Aligned& operator=(const Aligned&) = delete;
};

int64_t stored_row_bytes(const Workload& w) {
  using namespace qembed::fmt;
  const Format& f = format(format_of(w));
  return row_elements(f, w.dim) * element_bytes(f.codes);
}

// Rows in PyTorch's prepacked layout (formats.h), quantized per row from min to max:
// 8-bit with fp32 scale and bias, 4-bit with fp16 ones (bench data: PyTorch's exact
// rounding rules do not matter here).
std::vector<uint8_t> prepack_rows(const std::vector<float>& w, int64_t rows, int64_t dim, int bits,
                                  int64_t row_bytes) {
  std::vector<uint8_t> out(static_cast<size_t>(rows * row_bytes), 0);
  const int levels = (1 << bits) - 1, per_byte = 8 / bits;
  for (int64_t r = 0; r < rows; ++r) {
    const float* x = w.data() + r * dim;
    const float lo = *std::min_element(x, x + dim), hi = *std::max_element(x, x + dim);
    const float scale = hi > lo ? (hi - lo) / static_cast<float>(levels) : 1.0f;
    uint8_t* row = out.data() + r * row_bytes;
    for (int64_t c = 0; c < dim; ++c) {
      const int q = std::min(levels, static_cast<int>(std::lrint((x[c] - lo) / scale)));
      row[c / per_byte] |= static_cast<uint8_t>(q << ((c % per_byte) * bits));
    }
    if (bits == 8) {
      std::memcpy(row + row_bytes - 8, &scale, 4);
      std::memcpy(row + row_bytes - 4, &lo, 4);
    } else {
      const uint16_t s = qembed::detail::float_to_half_bits(scale);
      const uint16_t b = qembed::detail::float_to_half_bits(lo);
      std::memcpy(row + row_bytes - 4, &s, 2);
      std::memcpy(row + row_bytes - 2, &b, 2);
    }
  }
  return out;
}

// 64-byte lines a row at byte offset `off` of a line-aligned table spans.
int64_t lines_spanned(int64_t off, int64_t bytes) { return (off + bytes - 1) / 64 - off / 64 + 1; }

}  // namespace

qembed::fmt::FormatId format_of(const Workload& w) {
  using qembed::fmt::FormatId;
  if (w.prepacked) return qembed::fmt::prepacked_format(w.bits);
  if (w.bits == 16) return FormatId::f16;
  return w.bits == 8 ? FormatId::u8_row : FormatId::u4_row;
}

std::string Workload::name() const {
  char buf[256];
  const char* mode_name = lookup                       ? "lookup"
                          : mode == qembed::Mode::Sum  ? (weighted ? "wsum" : "sum")
                          : mode == qembed::Mode::Mean ? "mean"
                                                       : "max";
  char codes[32];
  std::snprintf(codes, sizeof codes, bits == 16 ? "float16" : "%dbit", bits);
  std::snprintf(buf, sizeof buf, "%s/%s%s/D%lld/rows%lld/B%lld/L%lld%s/%s/%s/%s/%s/t%d",
                group.c_str(), codes, prepacked ? "-prepacked" : "", static_cast<long long>(dim),
                static_cast<long long>(rows), static_cast<long long>(batch),
                static_cast<long long>(avg_len), fixed_len ? "" : "avg",
                index_type == qembed::IndexType::Int32 ? "i32" : "i64", mode_name,
                cold ? "cold" : "warm", dist == Dist::Zipf ? "zipf" : "uniform", threads);
  return buf;
}

namespace {

// FBGEMM's bench shape: 10 bags of about 100 entries on `rows` rows.
Workload fbgemm_shape(int bits, int64_t rows, int64_t dim) {
  Workload w;
  w.group = "fbgemm";
  w.bits = bits;
  w.rows = rows;
  w.dim = dim;
  w.batch = 10;
  w.avg_len = 100;
  return w;
}

}  // namespace

std::vector<Workload> anchor_workloads(int64_t big_rows, bool quick) {
  std::vector<Workload> out;
  auto fbgemm = [&](int bits, int64_t dim) { return fbgemm_shape(bits, big_rows, dim); };
  const std::vector<int64_t> dims =
      quick ? std::vector<int64_t>{64, 128} : std::vector<int64_t>{32, 64, 128, 256, 512};
  for (int bits : {8, 4}) {
    for (int64_t d : dims) out.push_back(fbgemm(bits, d));
  }
  // Variants on the D=128 8-bit shape: warm, Zipf, int32, mean, max, weighted sum.
  Workload v = fbgemm(8, 128);
  v.cold = false;
  out.push_back(v);
  v = fbgemm(8, 128);
  v.dist = Dist::Zipf;
  out.push_back(v);
  v = fbgemm(8, 128);
  v.index_type = qembed::IndexType::Int32;
  out.push_back(v);
  if (!quick) {
    for (auto mode : {qembed::Mode::Mean, qembed::Mode::Max}) {
      v = fbgemm(8, 128);
      v.mode = mode;
      out.push_back(v);
    }
    v = fbgemm(8, 128);
    v.weighted = true;
    out.push_back(v);
    v = fbgemm(4, 128);
    v.dist = Dist::Zipf;
    out.push_back(v);
    // PyTorch's own prepacked rows (what FBGEMM's ops read), served with their numerics.
    for (int bits : {8, 4}) {
      v = fbgemm(bits, 128);
      v.prepacked = true;
      out.push_back(v);
    }
    // A float16 table (qscheme None): the fp16 -> fp32 conversion's cost.
    out.push_back(fbgemm(16, 128));
  }
  // TBE inference: B=512 x L=20, D=128, 100k rows, one thread.
  for (int bits : {8, 4}) {
    Workload w;
    w.group = "tbe";
    w.bits = bits;
    w.rows = 100000;
    w.dim = 128;
    w.batch = 512;
    w.avg_len = 20;
    w.fixed_len = true;
    out.push_back(w);
  }
  // Multi-thread: 4M rows, D=128, B=4096 x L=20, every core.
  for (int bits : quick ? std::vector<int>{8} : std::vector<int>{8, 4}) {
    Workload w;
    w.group = "mt";
    w.bits = bits;
    w.rows = big_rows;
    w.dim = 128;
    w.batch = 4096;
    w.avg_len = 20;
    w.fixed_len = true;
    w.threads = 0;
    out.push_back(w);
  }
  return out;
}

std::vector<Workload> lookup_workloads(int64_t big_rows) {
  std::vector<Workload> out;
  for (int bits : {8, 4}) {
    for (int64_t dim : {32, 128, 512}) {
      Workload w = fbgemm_shape(bits, big_rows, dim);
      w.group = "lookup";
      w.lookup = true;
      out.push_back(w);
    }
  }
  return out;
}

Workload reference_workload() {
  Workload w;
  w.group = "refpath";
  w.bits = 8;
  w.rows = 100000;
  w.dim = 128;
  w.batch = 10;
  w.avg_len = 100;
  w.cold = false;
  return w;
}

size_t last_level_cache_bytes() {
  for (const char* idx : {"index3", "index2"}) {
    std::ifstream f(std::string("/sys/devices/system/cpu/cpu0/cache/") + idx + "/size");
    std::string s;
    if (f >> s && !s.empty()) {
      size_t v = std::strtoull(s.c_str(), nullptr, 10);
      if (s.back() == 'K') v <<= 10;
      if (s.back() == 'M') v <<= 20;
      if (v > 0) return v;
    }
  }
  const long v = sysconf(_SC_LEVEL3_CACHE_SIZE);
  return v > 0 ? static_cast<size_t>(v) : size_t{32} << 20;
}

struct Prepared::Data {
  std::vector<float> weight;    // kept for the reference path (small tables only)
  std::vector<uint8_t> packed;  // a prepacked workload's rows (small tables only): verify()
  std::unique_ptr<qembed::EmbeddingBag> bag;
  std::unique_ptr<qembed::Embedding> emb;  // lookup workloads
  std::unique_ptr<Aligned> roof;           // rows x row_bytes, same geometry as qembed's table
  struct Set {
    std::vector<int64_t> idx64, off64;
    std::vector<int32_t> idx32, off32;
    std::vector<float> weights;
  };
  std::vector<Set> sets;
  std::vector<float> out;
  std::vector<float> scale, zero_point, fake_quant;  // the reference path
  volatile uint64_t sink = 0;
};

Prepared::~Prepared() = default;

Prepared::Prepared(const Workload& w) : w_(w), d_(new Data) {
  row_bytes_ = stored_row_bytes(w);
  Rng rng(static_cast<uint64_t>(w.rows * 131 + w.dim));

  // The table: uniform floats, quantized per row by qembed (8-bit or 4-bit codes) or
  // rounded to float16.
  d_->weight.resize(static_cast<size_t>(w.rows * w.dim));
  for (float& x : d_->weight) x = static_cast<float>(rng.uniform() * 2.0 - 1.0);
  const auto dtype = w.bits == 8 ? qembed::DType::QUInt8 : qembed::DType::QUInt4x2;
  const auto q = w.bits == 16
                     ? qembed::QParams::float16()
                     : qembed::QParams::row_wise_float(dtype, d_->weight.data(), w.rows, w.dim);
  qembed::EmbeddingBagOptions o;
  o.num_embeddings = w.rows;
  o.embedding_dim = w.dim;
  o.mode = w.mode;
  // Tables of up to 128M values (512 MB as floats) keep what verify() and the reference
  // path read: the float table, or for prepacked rows (other numerics) the rows.
  const bool keep = w.rows * w.dim <= (int64_t{128} << 20);
  if (w.prepacked) {
    std::vector<uint8_t> packed = prepack_rows(d_->weight, w.rows, w.dim, w.bits, row_bytes_);
    d_->bag = std::make_unique<qembed::EmbeddingBag>(qembed::EmbeddingBag::from_prepacked(
        packed.data(), static_cast<int64_t>(packed.size()), w.bits, o));
    if (keep) d_->packed = std::move(packed);
  } else if (w.lookup) {
    d_->emb =
        std::make_unique<qembed::Embedding>(qembed::Embedding::from_float(d_->weight.data(), o, q));
  } else {
    d_->bag = std::make_unique<qembed::EmbeddingBag>(
        qembed::EmbeddingBag::from_float(d_->weight.data(), o, q));
  }
  if (keep && !w.prepacked) {
    d_->scale = q.scale;
    d_->zero_point = q.zero_point;
  } else {
    std::vector<float>().swap(d_->weight);
  }
  d_->roof = std::make_unique<Aligned>(static_cast<size_t>(w.rows * row_bytes_));
  std::memset(d_->roof->p, 1, static_cast<size_t>(w.rows * row_bytes_));

  // Zipf ranks -> rows through a fixed odd multiplier (a bijection mod rows when
  // coprime), so hot rows are scattered over the table as in real traffic.
  std::vector<double> cdf;
  if (w.dist == Dist::Zipf) {
    cdf.resize(static_cast<size_t>(w.rows));
    double acc = 0;
    for (int64_t r = 0; r < w.rows; ++r)
      cdf[r] = acc += std::pow(static_cast<double>(r + 1), -kZipfS);
    for (double& c : cdf) c /= acc;
  }
  uint64_t mult = 2654435761ull % static_cast<uint64_t>(w.rows);
  while (std::gcd(mult, static_cast<uint64_t>(w.rows)) != 1) ++mult;
  auto draw = [&]() -> int64_t {
    if (w.dist == Dist::Uniform) return rng.below(w.rows);
    const auto rank = std::lower_bound(cdf.begin(), cdf.end(), rng.uniform()) - cdf.begin();
    return static_cast<int64_t>((static_cast<uint64_t>(rank) * mult) %
                                static_cast<uint64_t>(w.rows));
  };

  auto make_set = [&]() {
    Data::Set s;
    int64_t n = 0;
    for (int64_t b = 0; b < w.batch; ++b) {
      s.off64.push_back(n);
      n += w.fixed_len ? w.avg_len : 1 + rng.below(2 * w.avg_len + 1);
    }
    s.idx64.resize(static_cast<size_t>(n));
    for (auto& i : s.idx64) i = draw();
    if (w.index_type == qembed::IndexType::Int32) {
      s.idx32.assign(s.idx64.begin(), s.idx64.end());
      s.off32.assign(s.off64.begin(), s.off64.end());
    }
    if (w.weighted) {
      s.weights.resize(static_cast<size_t>(n));
      for (float& x : s.weights) x = static_cast<float>(rng.uniform());
    }
    return s;
  };

  // Cold: index sets are added until the distinct rows they touch (lines, each row's own
  // alignment) exceed 2.5x the LLC, so a row is out of the cache by the time the cycle
  // comes back to it. Counting every entry instead would call a Zipf cycle cold while
  // most of its entries repeat a few thousand hot rows.
  const size_t llc = last_level_cache_bytes();
  const double cold_lines = 2.5 * static_cast<double>(llc) / 64.0;
  std::vector<bool> seen(static_cast<size_t>(w.rows), false);
  double rows = 0, lines = 0, distinct_lines = 0;
  auto add_set = [&]() {
    d_->sets.push_back(make_set());
    for (int64_t i : d_->sets.back().idx64) {
      const auto spanned = static_cast<double>(lines_spanned((i * row_bytes_) % 64, row_bytes_));
      lines += spanned;
      if (!seen[static_cast<size_t>(i)]) {
        seen[static_cast<size_t>(i)] = true;
        distinct_lines += spanned;
      }
    }
    rows += static_cast<double>(d_->sets.back().idx64.size());
  };
  add_set();
  if (w.cold) {
    const auto cap = static_cast<size_t>(
        std::max<int64_t>(1, kMaxIndicesInSets / static_cast<int64_t>(d_->sets[0].idx64.size())));
    // A table within 2.5x the LLC cannot supply that many distinct lines: its sets touch
    // 2.5x the LLC in all. Skewed draws reach new rows slowly: the sets stop at 10x.
    const bool big = static_cast<double>(w.rows * row_bytes_) > 2.5 * static_cast<double>(llc);
    const double& counted = big ? distinct_lines : lines;
    while (counted < cold_lines && lines < 10 * cold_lines && d_->sets.size() < cap) add_set();
  }
  rows_per_call_ = rows / static_cast<double>(d_->sets.size());
  lines_per_call_ = lines / static_cast<double>(d_->sets.size());
  distinct_share_ = rows > 0 ? std::count(seen.begin(), seen.end(), true) / rows : 0.0;
  really_cold_ = w.cold &&
                 static_cast<double>(w.rows * row_bytes_) > 2.0 * static_cast<double>(llc) &&
                 distinct_lines * 64.0 > 2.0 * static_cast<double>(llc);
  size_t out_rows = static_cast<size_t>(w.batch);
  if (w.lookup) {
    for (const Data::Set& set : d_->sets) out_rows = std::max(out_rows, set.idx64.size());
  }
  d_->out.resize(out_rows * static_cast<size_t>(w.dim));
}

int64_t huge_page_bytes() {
  std::ifstream f("/proc/self/smaps_rollup");
  for (std::string line; std::getline(f, line);) {
    if (line.rfind("AnonHugePages:", 0) == 0) return std::stoll(line.substr(14)) * 1024;
  }
  return -1;
}

size_t Prepared::num_sets() const { return d_->sets.size(); }

void Prepared::run_qembed(size_t call) {
  const Data::Set& s = d_->sets[call % d_->sets.size()];
  const float* wts = s.weights.empty() ? nullptr : s.weights.data();
  const int64_t out_len = static_cast<int64_t>(d_->out.size());
  if (w_.lookup) {
    const qembed::Indices idx = w_.index_type == qembed::IndexType::Int32
                                    ? qembed::Indices(s.idx32)
                                    : qembed::Indices(s.idx64);
    d_->emb->forward(idx, d_->out.data(), out_len);
  } else if (w_.index_type == qembed::IndexType::Int32) {
    d_->bag->forward(qembed::Indices(s.idx32), qembed::Indices(s.off32), wts, d_->out.data(),
                     out_len);
  } else {
    d_->bag->forward(qembed::Indices(s.idx64), qembed::Indices(s.off64), wts, d_->out.data(),
                     out_len);
  }
}

void Prepared::run_roofline(size_t call) {
  // qembed's forward without the arithmetic: the same tasks of whole bags over the same
  // threads, the same head prefetch and, in the loop, every line of the row the active
  // kernel's prefetch distance ahead; each bag's rows are read whole (XOR of every word)
  // and its output row written once.
  if (w_.lookup) throw std::logic_error("roofline: bag workloads only");
  namespace d = qembed::detail;
  const qembed::fmt::FormatId format = format_of(w_);
  const int slot = w_.index_type == qembed::IndexType::Int32 ? d::kSlot_int32 : d::kSlot_int64;
  const int64_t dist =
      d::active_kernels()
          .prefetch_distance[w_.mode == qembed::Mode::Max ? d::kOp_bag_max : d::kOp_bag_sum]
                            [static_cast<int>(format)][slot];
  const Data::Set& s = d_->sets[call % d_->sets.size()];
  const uint8_t* base = d_->roof->p;
  const int64_t rb = row_bytes_, n = static_cast<int64_t>(s.idx64.size()), words = rb / 8;
  const int64_t* idx = s.idx64.data();
  const int threads = w_.threads > 0 ? w_.threads : omp_get_num_procs();
  const std::vector<int64_t> cuts =
      d::cut_bag_tasks(s.off64.data(), w_.batch, n, d::task_count(n, threads));
  auto entry = [&](int64_t bag) { return bag < w_.batch ? s.off64[bag] : n; };
  const int tasks = static_cast<int>(cuts.size()) - 1;
  uint64_t total = 0;
#pragma omp parallel for reduction(^ : total) schedule(dynamic) num_threads(threads) if (threads > 1)
  for (int task = 0; task < tasks; ++task) {
    const int64_t e0 = entry(cuts[task]), e1 = entry(cuts[task + 1]);
    d::prefetch_head(base, rb, idx, e0, std::min(e1, e0 + dist));
    for (int64_t b = cuts[task]; b < cuts[task + 1]; ++b) {
      uint64_t acc = 0;
      for (int64_t j = entry(b); j < entry(b + 1); ++j) {
        const int64_t ahead = std::min<int64_t>(j + dist, e1 - 1);
        d::prefetch_row(base + idx[ahead] * rb, rb);
        const uint8_t* row = base + idx[j] * rb;
        // Four independent XOR chains: one chain costs a cycle a word (65 for a 520-byte
        // row), which made this loop slower than the kernels on wide rows.
        uint64_t x[4] = {0, 0, 0, 0};
        int64_t k = 0;
        for (; k + 4 <= words; k += 4) {
          for (int u = 0; u < 4; ++u) {
            uint64_t v;
            std::memcpy(&v, row + 8 * (k + u), 8);
            x[u] ^= v;
          }
        }
        for (; k < words; ++k) {
          uint64_t v;
          std::memcpy(&v, row + 8 * k, 8);
          x[0] ^= v;
        }
        for (k = words * 8; k < rb; ++k) x[1] ^= row[k];
        acc ^= x[0] ^ x[1] ^ x[2] ^ x[3];
      }
      float* o = d_->out.data() + b * w_.dim;
      const float f = static_cast<float>(acc & 0xff);
      for (int64_t col = 0; col < w_.dim; ++col) o[col] = f;
      total ^= acc;
    }
  }
  d_->sink = d_->sink + total;
}

void Prepared::run_reference(size_t call) {
  if (w_.lookup) throw std::logic_error("reference path: bag workloads only");
  if (d_->weight.empty()) throw std::runtime_error("reference path: table too large to keep");
  const Data::Set& s = d_->sets[call % d_->sets.size()];
  const int64_t rows = w_.rows, dim = w_.dim, n = static_cast<int64_t>(s.idx64.size());
  const float qmax = w_.bits == 8 ? 255.0f : 15.0f;
  // 1) Fake-quantize the whole table (quantize_per_channel + dequantize), every call.
  d_->fake_quant.resize(static_cast<size_t>(rows * dim));
  for (int64_t r = 0; r < rows; ++r) {
    const float sc = d_->scale[r], zp = d_->zero_point[r], inv = 1.0f / sc;
    const float* src = d_->weight.data() + r * dim;
    float* dst = d_->fake_quant.data() + r * dim;
    for (int64_t c = 0; c < dim; ++c) {
      const float qv = std::min(std::max(std::nearbyint(src[c] * inv + zp), 0.0f), qmax);
      dst[c] = (qv - zp) * sc;
    }
  }
  // 2) Gather and reduce.
  for (int64_t b = 0; b < w_.batch; ++b) {
    const int64_t begin = s.off64[b], end = b + 1 < w_.batch ? s.off64[b + 1] : n;
    float* o = d_->out.data() + b * dim;
    std::fill(o, o + dim, 0.0f);
    for (int64_t j = begin; j < end; ++j) {
      const float* row = d_->fake_quant.data() + s.idx64[j] * dim;
      const float wt = s.weights.empty() ? 1.0f : s.weights[j];
      for (int64_t c = 0; c < dim; ++c) o[c] += wt * row[c];
    }
  }
}

int64_t Prepared::verify(size_t call) {
  // Small tables keep what the reference needs: the float weights, or the packed rows.
  if (w_.prepacked ? d_->packed.empty() : d_->weight.empty()) return -1;
  run_qembed(call);
  const Data::Set& s = d_->sets[call % d_->sets.size()];
  const int64_t n = static_cast<int64_t>(s.idx64.size());
  std::vector<int64_t> ends(s.off64.begin() + 1, s.off64.end());
  ends.push_back(n);
  const float* weights = s.weights.empty() ? nullptr : s.weights.data();
  // The contract's scalar reference (reference/): the module's fake-quantized table gathered and
  // reduced, or PyTorch's rowwise ops on the packed rows (the contract's section 6).
  const std::vector<float> want =
      w_.lookup      ? ref::embedding(d_->emb->get_weight(), w_.dim, s.idx64, std::nullopt, 2.0)
      : w_.prepacked ? ref::prepacked_bag(d_->packed, row_bytes_, w_.bits, w_.dim, s.idx64, s.off64,
                                          ends, weights)
                     : ref::embedding_bag(d_->bag->get_weight(), w_.dim, s.idx64, s.off64, ends,
                                          w_.mode, weights, std::nullopt, std::nullopt, 2.0);
  int64_t bad = 0;
  for (size_t i = 0; i < want.size(); ++i) {
    if (std::memcmp(&want[i], &d_->out[i], sizeof(float)) != 0) ++bad;
  }
  return bad;
}

}  // namespace qbench
