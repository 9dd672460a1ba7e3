// Golden data from PyTorch 1.13.1's reference modules (tests/golden/make_golden.py),
// checked through the C ABI on every kernel target this CPU runs: get_weight, codes and
// outputs bit-identical; weighted sums (PyTorch fuses them into FMAs without padding_idx)
// and max_norm outputs within the contract's tolerance.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <sstream>

#include "formats.h"
#include "qembed/qembed.h"
#include "safetensors.h"
#include "test_util.h"

namespace {

struct GoldenCase {
  std::string name, kind;
  int64_t rows = 0, dim = 0;
  std::string pad, max_norm, mode;
  double norm_type = 2;
  int include_last = 0;
  std::string qscheme, dtype;
  int64_t axis = 0;
  std::vector<float> scale, zero_point, weight, psw, get_weight, out;
  std::string itype;
  std::vector<int64_t> indices, offsets;
  std::vector<uint8_t> codes;
};

float from_hex(const std::string& h) {
  uint32_t bits = static_cast<uint32_t>(std::stoul(h, nullptr, 16));
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

std::vector<float> read_floats(std::istringstream& in, size_t n) {
  std::vector<float> v;
  std::string h;
  for (size_t i = 0; i < n && in >> h; ++i) v.push_back(from_hex(h));
  return v;
}

std::vector<GoldenCase> load() {
  std::ifstream f(std::string(QEMBED_GOLDEN_DIR) + "/golden.txt");
  EXPECT_TRUE(f.good()) << "missing golden.txt";
  std::vector<GoldenCase> cases;
  std::string line;
  GoldenCase c;
  while (std::getline(f, line)) {
    std::istringstream in(line);
    std::string key;
    in >> key;
    if (key == "case") {
      c = GoldenCase();
      in >> c.name >> c.kind;
    } else if (key == "options") {
      in >> c.rows >> c.dim >> c.pad >> c.max_norm >> c.norm_type >> c.mode >> c.include_last;
    } else if (key == "qparams") {
      size_t n;
      in >> c.qscheme >> c.dtype >> c.axis >> n;
      c.scale = read_floats(in, n);
      c.zero_point = read_floats(in, n);
    } else if (key == "weight") {
      c.weight = read_floats(in, c.rows * c.dim);
    } else if (key == "indices") {
      size_t n;
      in >> c.itype >> n;
      c.indices.resize(n);
      for (auto& i : c.indices) in >> i;
    } else if (key == "offsets") {
      size_t n;
      in >> n;
      c.offsets.resize(n);
      for (auto& i : c.offsets) in >> i;
    } else if (key == "psw") {
      size_t n;
      in >> n;
      c.psw = read_floats(in, n);
    } else if (key == "get_weight") {
      c.get_weight = read_floats(in, c.rows * c.dim);
    } else if (key == "codes") {
      size_t n;
      in >> n;
      std::string b;
      for (size_t i = 0; i < n && in >> b; ++i)
        c.codes.push_back(static_cast<uint8_t>(std::stoul(b, nullptr, 16)));
    } else if (key == "out") {
      size_t n;
      in >> n;
      c.out = read_floats(in, n);
    } else if (key == "end") {
      cases.push_back(c);
    }
  }
  return cases;
}

qembed_qscheme qscheme_of(const std::string& s) {
  static const std::map<std::string, qembed_qscheme> m = {
      {"none", QEMBED_QSCHEME_NONE},
      {"per_tensor_affine", QEMBED_PER_TENSOR_AFFINE},
      {"per_channel_affine", QEMBED_PER_CHANNEL_AFFINE},
      {"per_channel_affine_float_qparams", QEMBED_PER_CHANNEL_AFFINE_FLOAT_QPARAMS}};
  return m.at(s);
}

qembed_dtype dtype_of(const std::string& s) {
  static const std::map<std::string, qembed_dtype> m = {
      {"float32", QEMBED_FLOAT32}, {"float16", QEMBED_FLOAT16},   {"quint8", QEMBED_QUINT8},
      {"qint8", QEMBED_QINT8},     {"quint4x2", QEMBED_QUINT4X2}, {"qint32", QEMBED_QINT32}};
  return m.at(s);
}

void check_case(const GoldenCase& c) {
  SCOPED_TRACE(c.name);
  qembed_options o{};
  o.num_embeddings = c.rows;
  o.embedding_dim = c.dim;
  o.padding_idx = c.pad == "none" ? QEMBED_NO_PADDING_IDX : std::stoll(c.pad);
  o.has_max_norm = c.max_norm != "none";
  o.max_norm = o.has_max_norm ? std::stod(c.max_norm) : 0.0;
  o.norm_type = c.norm_type;
  o.mode = c.mode == "max"    ? QEMBED_MODE_MAX
           : c.mode == "mean" ? QEMBED_MODE_MEAN
                              : QEMBED_MODE_SUM;
  o.include_last_offset = c.include_last;
  qembed_qparams q{qscheme_of(c.qscheme),
                   dtype_of(c.dtype),
                   c.scale.data(),
                   c.zero_point.data(),
                   static_cast<int64_t>(c.scale.size()),
                   c.axis};
  qembed_module* m = nullptr;
  const bool bag = c.kind == "bag";
  ASSERT_EQ(bag ? qembed_embedding_bag_from_float(c.weight.data(), &o, &q, &m)
                : qembed_embedding_from_float(c.weight.data(), &o, &q, &m),
            QEMBED_OK)
      << qembed_last_error();

  std::vector<float> w(c.rows * c.dim);
  ASSERT_EQ(qembed_get_weight(m, w.data(), static_cast<int64_t>(w.size())), QEMBED_OK);
  EXPECT_TRUE(qtest::bits_equal(w, c.get_weight)) << "get_weight";

  std::vector<int32_t> i32(c.indices.begin(), c.indices.end()),
      o32(c.offsets.begin(), c.offsets.end());
  const bool is32 = c.itype == "int32";
  const void* idx = is32 ? static_cast<const void*>(i32.data()) : c.indices.data();
  const void* off = is32 ? static_cast<const void*>(o32.data()) : c.offsets.data();
  const qembed_index_type it = is32 ? QEMBED_INT32 : QEMBED_INT64;
  std::vector<float> out(c.out.size());
  const int64_t n = static_cast<int64_t>(c.indices.size());
  if (bag) {
    ASSERT_EQ(qembed_embedding_bag_forward(m, idx, n, off, static_cast<int64_t>(c.offsets.size()),
                                           it, c.psw.empty() ? nullptr : c.psw.data(), out.data(),
                                           static_cast<int64_t>(out.size())),
              QEMBED_OK)
        << qembed_last_error();
  } else {
    ASSERT_EQ(qembed_embedding_forward(m, idx, it, n, out.data(), static_cast<int64_t>(out.size())),
              QEMBED_OK)
        << qembed_last_error();
  }
  const bool fused_weights = !c.psw.empty() && c.pad == "none";
  if (!o.has_max_norm && !fused_weights) {
    EXPECT_TRUE(qtest::bits_equal(out, c.out)) << "forward";
  } else {
    // Tolerance: 1e-5 of the bag's sum of |w_i * row| (per element).
    std::vector<float> tol(out.size(), 1e-30f);
    const int64_t bags = bag ? static_cast<int64_t>(out.size()) / c.dim : n;
    for (int64_t b = 0; b < bags; ++b) {
      const int64_t begin = bag ? c.offsets[b] : b;
      const int64_t end =
          bag ? (b + 1 < static_cast<int64_t>(c.offsets.size()) ? c.offsets[b + 1] : n) : b + 1;
      for (int64_t j = begin; j < end; ++j) {
        for (int64_t d = 0; d < c.dim; ++d) {
          const float wj = c.psw.empty() ? 1.0f : std::fabs(c.psw[j]);
          tol[b * c.dim + d] += 1e-5f * wj * std::fabs(c.get_weight[c.indices[j] * c.dim + d]);
        }
      }
    }
    EXPECT_TRUE(qtest::within(out, c.out, tol)) << "forward (within tolerance)";
  }
  qembed_module_free(m);

  if (!c.codes.empty()) {  // get_quantized_weight (C++ API): PyTorch's int_repr() bytes
    qembed::EmbeddingOptions eo;
    eo.num_embeddings = c.rows;
    eo.embedding_dim = c.dim;
    qembed::QParams qp{static_cast<qembed::QScheme>(q.qscheme), static_cast<qembed::DType>(q.dtype),
                       c.scale, c.zero_point, c.axis};
    const auto e = qembed::Embedding::from_float(c.weight.data(), eo, qp);
    EXPECT_EQ(e.get_quantized_weight().data, c.codes) << "codes";
  }
}

class Golden : public qtest::PerTarget {};

TEST_P(Golden, MatchesPyTorchReferenceModules) {
  const std::vector<GoldenCase> cases = load();
  ASSERT_GE(cases.size(), 40u);
  for (const GoldenCase& c : cases) check_case(c);
}

// Modules exported from PyTorch by tools/export_torch.py (tests/golden/make_exports.py)
// load through the C ABI and reproduce PyTorch's forward bit for bit.
std::vector<uint8_t> file_bytes(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  EXPECT_TRUE(f.good()) << "missing " << path;
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(f), {});
}

// The cases a golden script wrote into `dir`: file names without ".safetensors", the
// companions ending in `skip_suffix` left out (the scripts are the one list of cases).
std::vector<std::string> cases_in(const std::string& dir, const std::string& skip_suffix) {
  std::vector<std::string> names;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    std::string n = e.path().filename().string();
    const std::string ext = ".safetensors";
    if (n.size() <= ext.size() || n.compare(n.size() - ext.size(), ext.size(), ext) != 0) continue;
    n.resize(n.size() - ext.size());
    if (!skip_suffix.empty() && n.size() > skip_suffix.size() &&
        n.compare(n.size() - skip_suffix.size(), skip_suffix.size(), skip_suffix) == 0) {
      continue;
    }
    names.push_back(n);
  }
  std::sort(names.begin(), names.end());
  return names;
}

template <typename T>
std::vector<T> tensor_values(const qembed::detail::safetensors::File& f, const std::string& name) {
  const auto& t = f.tensors.at(name);
  std::vector<T> v(static_cast<size_t>(t.numel()));
  std::memcpy(v.data(), f.bytes_of(t), v.size() * sizeof(T));
  return v;
}

TEST_P(Golden, LoadsPyTorchExportsAndMatchesTheirOutputs) {
  const std::string dir = std::string(QEMBED_GOLDEN_DIR) + "/exports/";
  const std::vector<std::string> names = cases_in(dir, ".expected");
  ASSERT_GE(names.size(), 5u);
  for (const std::string& name : names) {
    SCOPED_TRACE(name);
    qembed_module* m = nullptr;
    ASSERT_EQ(qembed_module_load((dir + name + ".safetensors").c_str(), &m), QEMBED_OK)
        << qembed_last_error();
    const std::vector<uint8_t> bytes = file_bytes(dir + name + ".expected.safetensors");
    const auto expected = qembed::detail::safetensors::parse(bytes.data(), bytes.size(), name);
    const std::vector<int64_t> idx = tensor_values<int64_t>(expected, "indices");
    const std::vector<float> want = tensor_values<float>(expected, "output");
    std::vector<float> got(want.size());
    qembed_options o{};
    int is_bag = -1;
    ASSERT_EQ(qembed_module_options(m, &o, &is_bag), QEMBED_OK);
    const int64_t n = static_cast<int64_t>(idx.size()), len = static_cast<int64_t>(got.size());
    if (is_bag == 1) {
      const std::vector<int64_t> off = tensor_values<int64_t>(expected, "offsets");
      const bool weighted = expected.tensors.count("per_sample_weights") != 0;
      const std::vector<float> psw =
          weighted ? tensor_values<float>(expected, "per_sample_weights") : std::vector<float>();
      ASSERT_EQ(qembed_embedding_bag_forward(m, idx.data(), n, off.data(),
                                             static_cast<int64_t>(off.size()), QEMBED_INT64,
                                             weighted ? psw.data() : nullptr, got.data(), len),
                QEMBED_OK)
          << qembed_last_error();
    } else {
      ASSERT_EQ(qembed_embedding_forward(m, idx.data(), QEMBED_INT64, n, got.data(), len),
                QEMBED_OK)
          << qembed_last_error();
    }
    EXPECT_TRUE(qtest::bits_equal(got, want));
    qembed_module_free(m);
  }
}

// Tables prepacked by PyTorch's embedding_bag_{byte,4bit,2bit}_prepack, served through
// the C ABI, reproduce embedding_bag_{byte,4bit,2bit}_rowwise_offsets bit for bit
// (tests/golden/make_prepacked.py).
TEST_P(Golden, PrepackedTablesMatchPyTorchsRowwiseOps) {
  const std::string dir = std::string(QEMBED_GOLDEN_DIR) + "/prepacked/";
  const std::vector<std::string> names = cases_in(dir, "");
  ASSERT_GE(names.size(), 8u);
  for (const std::string& name : names) {
    SCOPED_TRACE(name);
    const std::vector<uint8_t> bytes = file_bytes(dir + name + ".safetensors");
    const auto g = qembed::detail::safetensors::parse(bytes.data(), bytes.size(), name);
    const auto& packed = g.tensors.at("packed");
    const auto& idx_t = g.tensors.at("indices");
    const bool i32 = idx_t.dtype == "I32";
    const bool last = g.metadata.at("include_last_offset") == "True";
    const int bits = std::stoi(g.metadata.at("bits"));
    const int64_t rows = packed.shape[0], row_bytes = packed.shape[1];
    const std::vector<float> want = tensor_values<float>(g, "output");
    const int64_t dim = want.size() / static_cast<size_t>(g.tensors.at("output").shape[0]);
    // PyTorch's rows have the prepacked format's layout (formats.h).
    ASSERT_EQ(row_bytes, qembed::fmt::row_elements(
                             qembed::fmt::format(qembed::fmt::prepacked_format(bits)), dim));

    qembed_options o = qtest::options(rows, dim);
    o.include_last_offset = last;
    qembed_module* m = nullptr;
    ASSERT_EQ(
        qembed_embedding_bag_from_prepacked(g.bytes_of(packed), rows * row_bytes, bits, &o, &m),
        QEMBED_OK)
        << qembed_last_error();
    const bool weighted = g.tensors.count("per_sample_weights") != 0;
    const std::vector<float> psw =
        weighted ? tensor_values<float>(g, "per_sample_weights") : std::vector<float>();
    std::vector<float> got(want.size());
    const int64_t n = idx_t.numel(), num_off = g.tensors.at("offsets").numel();
    qembed_status st;
    if (i32) {
      const auto idx = tensor_values<int32_t>(g, "indices");
      const auto off = tensor_values<int32_t>(g, "offsets");
      st = qembed_embedding_bag_forward(m, idx.data(), n, off.data(), num_off, QEMBED_INT32,
                                        weighted ? psw.data() : nullptr, got.data(),
                                        static_cast<int64_t>(got.size()));
    } else {
      const auto idx = tensor_values<int64_t>(g, "indices");
      const auto off = tensor_values<int64_t>(g, "offsets");
      st = qembed_embedding_bag_forward(m, idx.data(), n, off.data(), num_off, QEMBED_INT64,
                                        weighted ? psw.data() : nullptr, got.data(),
                                        static_cast<int64_t>(got.size()));
    }
    ASSERT_EQ(st, QEMBED_OK) << qembed_last_error();
    EXPECT_TRUE(qtest::bits_equal(got, want));
    qembed_module_free(m);
  }
}

QTEST_FOR_EVERY_TARGET(Golden);

}  // namespace
