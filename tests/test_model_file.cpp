// Module files (runtime/model_file.h): save/load round trips are bit-exact for every
// qscheme x dtype, and damaged, truncated or mismatched files are refused with a message
// (through the C ABI: a status, a message, *out untouched).
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <iterator>

#include "qembed/qembed.h"
#include "qembed/qembed.hpp"
#include "safetensors.h"
#include "test_util.h"

namespace {

using qembed::DType;
using qembed::EmbeddingBag;
using qembed::Mode;
using qembed::QScheme;

std::string temp_path(const std::string& name) {
  const char* dir = std::getenv("TMPDIR");
  return std::string(dir != nullptr ? dir : "/tmp") + "/qembed_test_" + std::to_string(::getpid()) +
         "_" + name;
}

std::vector<uint8_t> read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(f), {});
}

// A small bag module under `s`, with every option set away from its default.
EmbeddingBag make_bag(const qtest::Scheme& s, int64_t rows, int64_t dim, uint32_t seed) {
  std::mt19937 rng(seed);
  const std::vector<float> w = qtest::random_table(rng, rows, dim);
  qembed::EmbeddingBagOptions o;
  o.num_embeddings = rows;
  o.embedding_dim = dim;
  o.padding_idx = -2;
  o.max_norm = 1.25;
  o.norm_type = 1.5;
  o.scale_grad_by_freq = true;
  o.mode = Mode::Sum;
  o.include_last_offset = true;
  return EmbeddingBag::from_float(
      w.data(), o, qtest::make_qparams(rng, s.qscheme, s.dtype, s.axis, w, rows, dim));
}

void expect_same_module(const EmbeddingBag& a, const EmbeddingBag& b) {
  const qembed::QuantizedWeight qa = a.get_quantized_weight(), qb = b.get_quantized_weight();
  EXPECT_EQ(qa.data, qb.data);
  EXPECT_EQ(qa.qparams.qscheme, qb.qparams.qscheme);
  EXPECT_EQ(qa.qparams.dtype, qb.qparams.dtype);
  EXPECT_TRUE(qtest::bits_equal(qa.qparams.scale, qb.qparams.scale));
  EXPECT_TRUE(qtest::bits_equal(qa.qparams.zero_point, qb.qparams.zero_point));
  EXPECT_EQ(qa.qparams.axis, qb.qparams.axis);
  const qembed::EmbeddingBagOptions &oa = a.options(), &ob = b.options();
  EXPECT_EQ(oa.num_embeddings, ob.num_embeddings);
  EXPECT_EQ(oa.embedding_dim, ob.embedding_dim);
  EXPECT_EQ(oa.padding_idx, ob.padding_idx);
  EXPECT_EQ(oa.max_norm, ob.max_norm);
  EXPECT_EQ(oa.norm_type, ob.norm_type);
  EXPECT_EQ(oa.scale_grad_by_freq, ob.scale_grad_by_freq);
  EXPECT_EQ(oa.sparse, ob.sparse);
  EXPECT_EQ(oa.mode, ob.mode);
  EXPECT_EQ(oa.include_last_offset, ob.include_last_offset);
  EXPECT_TRUE(qtest::bits_equal(a.get_weight(), b.get_weight()));
  const std::vector<int64_t> idx = {0, 3, 1, 1, 4, 2, 0};
  const std::vector<int64_t> off = {0, 2, 2, 5, 7};
  EXPECT_TRUE(qtest::bits_equal(a.forward(idx, off), b.forward(idx, off)));
}

TEST(ModuleFile, RoundTripIsBitExactForEveryScheme) {
  const std::string path = temp_path("roundtrip.safetensors");
  uint32_t seed = 1;
  std::vector<qtest::Scheme> schemes = qtest::all_schemes();
  schemes.push_back({QScheme::None, DType::Float16, 0});  // stored as float32, as PyTorch
  for (const qtest::Scheme& s : schemes) {
    for (const int64_t dim : {1, 7, 32}) {
      SCOPED_TRACE(std::string("qscheme ") + std::to_string(static_cast<int>(s.qscheme)) +
                   " dtype " + std::to_string(static_cast<int>(s.dtype)) + " axis " +
                   std::to_string(s.axis) + " D " + std::to_string(dim));
      const EmbeddingBag a = make_bag(s, 5, dim, seed++);
      a.save(path);
      expect_same_module(a, EmbeddingBag::load(path));
      // from_quantized: the same codes and qparams make the same module.
      expect_same_module(a, EmbeddingBag::from_quantized(a.get_quantized_weight(), a.options()));
    }
  }
  std::remove(path.c_str());
}

TEST(ModuleFile, EmbeddingRoundTripAndKindChecks) {
  std::mt19937 rng(7);
  const std::vector<float> w = qtest::random_table(rng, 6, 9);
  qembed::EmbeddingOptions o;
  o.num_embeddings = 6;
  o.embedding_dim = 9;
  o.max_norm = 0.5;
  o.norm_type = INFINITY;
  const auto e = qembed::Embedding::from_float(
      w.data(), o, qembed::QParams::row_wise_float(DType::QUInt4x2, w.data(), 6, 9));
  const std::string path = temp_path("embedding.safetensors");
  e.save(path);
  const auto l = qembed::Embedding::load(path);
  EXPECT_EQ(l.options().norm_type, INFINITY);
  EXPECT_EQ(l.options().max_norm, 0.5);
  EXPECT_FALSE(l.options().padding_idx.has_value());
  const std::vector<int32_t> idx = {5, 0, 3};
  EXPECT_TRUE(qtest::bits_equal(e.forward(idx), l.forward(idx)));
  try {
    (void)EmbeddingBag::load(path);
    FAIL() << "an Embedding file loaded as an EmbeddingBag";
  } catch (const qembed::InvalidArgument& err) {
    EXPECT_NE(std::string(err.what()).find("holds an Embedding"), std::string::npos) << err.what();
  }
  // The C ABI loads either kind and says which it is.
  qembed_module* m = nullptr;
  ASSERT_EQ(qembed_module_load(path.c_str(), &m), QEMBED_OK) << qembed_last_error();
  qembed_options co{};
  int is_bag = -1;
  ASSERT_EQ(qembed_module_options(m, &co, &is_bag), QEMBED_OK);
  EXPECT_EQ(is_bag, 0);
  EXPECT_EQ(co.num_embeddings, 6);
  EXPECT_EQ(co.embedding_dim, 9);
  EXPECT_EQ(co.has_max_norm, 1);
  EXPECT_EQ(co.padding_idx, QEMBED_NO_PADDING_IDX);
  std::vector<float> out(27);
  ASSERT_EQ(qembed_embedding_forward(m, idx.data(), QEMBED_INT32, 3, out.data(), 27), QEMBED_OK);
  EXPECT_TRUE(qtest::bits_equal(out, e.forward(idx)));
  qembed_module_free(m);
  std::remove(path.c_str());
}

// Every way a file can be refused, through the C ABI: non-zero status, a message that
// names the problem, *out untouched.
void expect_refused(const std::vector<uint8_t>& bytes, const std::string& needle) {
  qembed_module* sentinel = reinterpret_cast<qembed_module*>(uintptr_t{0x1234});
  qembed_module* m = sentinel;
  const qembed_status st =
      qembed_module_load_buffer(bytes.data(), static_cast<int64_t>(bytes.size()), &m);
  EXPECT_NE(st, QEMBED_OK) << "accepted; expected: " << needle;
  EXPECT_EQ(m, sentinel);
  EXPECT_NE(std::string(qembed_last_error()).find(needle), std::string::npos)
      << "message: " << qembed_last_error() << "\nexpected: " << needle;
  if (st == QEMBED_OK) qembed_module_free(m);
}

// A file image with `header_json` (padded as the writer pads) and `data`.
std::vector<uint8_t> image(const std::string& header_json, const std::vector<uint8_t>& data = {}) {
  std::vector<uint8_t> out(8 + header_json.size() + data.size());
  uint64_t n = header_json.size();
  for (int i = 0; i < 8; ++i, n >>= 8) out[i] = static_cast<uint8_t>(n);
  std::memcpy(out.data() + 8, header_json.data(), header_json.size());
  if (!data.empty()) std::memcpy(out.data() + 8 + header_json.size(), data.data(), data.size());
  return out;
}

std::vector<uint8_t> saved_image(const qtest::Scheme& s, int64_t rows, int64_t dim) {
  const std::string path = temp_path("image.safetensors");
  make_bag(s, rows, dim, 3).save(path);
  std::vector<uint8_t> bytes = read_file(path);
  std::remove(path.c_str());
  return bytes;
}

std::string header_of(const std::vector<uint8_t>& file) {
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | file[i];
  return std::string(file.begin() + 8, file.begin() + 8 + static_cast<std::ptrdiff_t>(n));
}

std::vector<uint8_t> data_of(const std::vector<uint8_t>& file) {
  return std::vector<uint8_t>(
      file.begin() + 8 + static_cast<std::ptrdiff_t>(header_of(file).size()), file.end());
}

std::string replace(std::string s, const std::string& from, const std::string& to) {
  const size_t at = s.find(from);
  EXPECT_NE(at, std::string::npos) << from << " not in " << s;
  if (at != std::string::npos) s.replace(at, from.size(), to);
  return s;
}

const qtest::Scheme kRowU8{QScheme::PerChannelAffineFloatQParams, DType::QUInt8, 0};

TEST(ModuleFile, RefusesTruncatedFilesAtEveryLength) {
  const std::vector<uint8_t> file = saved_image(kRowU8, 3, 5);
  for (size_t n = 0; n < file.size(); ++n) {
    SCOPED_TRACE("first " + std::to_string(n) + " bytes");
    const std::vector<uint8_t> cut(file.begin(), file.begin() + static_cast<std::ptrdiff_t>(n));
    expect_refused(cut, n < 8 ? "truncated" : "");
  }
  expect_refused({}, "truncated");
  qembed_module* m = nullptr;
  ASSERT_EQ(qembed_module_load_buffer(file.data(), static_cast<int64_t>(file.size()), &m),
            QEMBED_OK)
      << qembed_last_error();
  qembed_module_free(m);
}

TEST(ModuleFile, RefusesDamagedHeaders) {
  const std::vector<uint8_t> file = saved_image(kRowU8, 3, 5);
  const std::string h = header_of(file);
  const std::vector<uint8_t> data = data_of(file);

  std::vector<uint8_t> huge = file;
  huge[5] = 0x10;  // header length ~2^44
  expect_refused(huge, "exceeds the");
  std::vector<uint8_t> longer = file;
  longer[0] = static_cast<uint8_t>(longer[0] + 64);  // past the end of the file
  expect_refused(longer, "truncated");

  expect_refused(image("[]", data), "expected '{'");
  expect_refused(image(h.substr(0, h.size() / 2), data), "not a valid safetensors header");
  expect_refused(image(h + "x", data), "bytes after the header");
  expect_refused(image(replace(h, "\"U8\"", "\"Q7\""), data), "unknown dtype");
  expect_refused(image(replace(h, "\"U8\"", "\"F32\""), data), "do not hold");
  expect_refused(image(replace(h, "\"dtype\"", "\"dtyp\""), data), "unexpected or repeated key");
  expect_refused(image(replace(h, "\"format\":\"qembed.module\"", "\"format\":\"other\""), data),
                 "metadata format must be");
  expect_refused(image(replace(h, "\"format_version\":\"1\"", "\"format_version\":\"9\""), data),
                 "format_version 9 is not supported");
  expect_refused(image(replace(h, "\"num_embeddings\":\"3\"", "\"num_embeddings\":\"4\""), data),
                 "tensor \"weight\" must be U8 [4, 5]");
  expect_refused(image(replace(h, "\"num_embeddings\":\"3\"", "\"num_embeddings\":\"x\""), data),
                 "num_embeddings must be an integer");
  expect_refused(image(replace(h, "\"mode\":\"sum\"", "\"mode\":\"avg\""), data),
                 "mode must be one of sum, mean, max");
  expect_refused(image(replace(h, "\"embedding_dim\":\"5\"", "\"embedding_dim\":\"0\""), data),
                 "options.embedding_dim must be in");
  expect_refused(
      image(replace(h, "\"weight_dtype\":\"torch.quint8\"", "\"weight_dtype\":\"torch.qint32\""),
            data),
      "is not valid with weight_qscheme");
  expect_refused(image(replace(h, "\"weight_scale\"", "\"weight_scales\""), data),
                 "unexpected tensor \"weight_scales\"");
  // Data that the ranges do not tile exactly.
  std::vector<uint8_t> extra = data;
  extra.push_back(0);
  expect_refused(image(h, extra), "bytes after the last tensor");
  expect_refused(image(h, std::vector<uint8_t>(data.begin(), data.end() - 1)), "truncated");
  // Duplicate keys, bad strings.
  expect_refused(
      image(replace(h, "{\"__metadata__\":{", "{\"__metadata__\":{},\"__metadata__\":{"), data),
      "appears twice");
  expect_refused(image(replace(h, "\"sparse\"", "\"spa\\q\""), data), "unknown escape");
  expect_refused(image(replace(h, "\"sparse\"", "\"spa\xff\""), data), "not valid UTF-8");
}

TEST(ModuleFile, RefusesBadValuesInTheTensors) {
  const std::vector<uint8_t> file = saved_image(kRowU8, 3, 5);
  const auto parsed = qembed::detail::safetensors::parse(file.data(), file.size(), "test");
  const size_t data_start = static_cast<size_t>(parsed.data - file.data());
  const auto& scale = parsed.tensors.at("weight_scale");
  std::vector<uint8_t> bad = file;
  const float neg = -1.0f;
  std::memcpy(&bad[data_start + scale.begin + 4], &neg, 4);
  expect_refused(bad, "qparams.scale[1] must be finite and > 0");

  // A float weight (qscheme None) must be finite, as from_float requires.
  std::vector<uint8_t> f32 = saved_image({QScheme::None, DType::Float32, 0}, 2, 3);
  const auto pf = qembed::detail::safetensors::parse(f32.data(), f32.size(), "test");
  const float nan = NAN;
  std::memcpy(&f32[static_cast<size_t>(pf.data - f32.data()) + pf.tensors.at("weight").begin + 8],
              &nan, 4);
  expect_refused(f32, "weight[0][2] is inf or NaN");
}

TEST(ModuleFile, PathErrors) {
  qembed_module* m = nullptr;
  EXPECT_EQ(qembed_module_load("/nonexistent/qembed/x.safetensors", &m),
            QEMBED_ERR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(qembed_last_error()).find("cannot open"), std::string::npos);
  EXPECT_EQ(qembed_module_load("/", &m), QEMBED_ERR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(qembed_last_error()).find("not a regular file"), std::string::npos);
  EXPECT_EQ(qembed_module_load(nullptr, &m), QEMBED_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(m, nullptr);

  // A failed save leaves no file (and no temporary) behind.
  const auto bag = make_bag(kRowU8, 3, 4, 1);
  try {
    bag.save("/nonexistent/qembed/out.safetensors");
    FAIL() << "saved into a missing directory";
  } catch (const qembed::InvalidArgument& e) {
    EXPECT_NE(std::string(e.what()).find("cannot create"), std::string::npos) << e.what();
  }
  qembed_module* c = nullptr;
  ASSERT_EQ(qembed_module_load_buffer(nullptr, 0, &c), QEMBED_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(qembed_module_save(nullptr, "/tmp/x"), QEMBED_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(qembed_module_load_buffer(nullptr, -1, &c), QEMBED_ERR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(qembed_last_error()).find("size must be >= 0"), std::string::npos);
}

// Every byte of a small file's header overwritten with every value of a few: each
// load either fails with a message or yields a module that runs (no crash; ASan/UBSan
// check the rest in the asan preset).
TEST(ModuleFile, SurvivesEveryHeaderByteFlip) {
  const std::vector<uint8_t> file = saved_image({QScheme::PerTensorAffine, DType::QInt8, 0}, 2, 3);
  const size_t header_end = 8 + header_of(file).size();
  int loaded = 0;
  for (size_t i = 0; i < header_end; ++i) {
    for (const uint8_t v : {0x00, 0x22, 0x30, 0x39, 0x5c, 0x7b, 0x7d, 0xff}) {
      std::vector<uint8_t> f = file;
      if (f[i] == v) continue;
      f[i] = v;
      qembed_module* m = nullptr;
      if (qembed_module_load_buffer(f.data(), static_cast<int64_t>(f.size()), &m) != QEMBED_OK) {
        EXPECT_STRNE(qembed_last_error(), "") << "byte " << i;
        continue;
      }
      ++loaded;
      std::vector<float> w(64);
      qembed_get_weight(m, w.data(), 64);
      qembed_module_free(m);
    }
  }
  EXPECT_GT(loaded, 0);  // some flips (padding spaces, digits of a value) stay valid
}

}  // namespace
