#include "safetensors.h"

#include <algorithm>
#include <cstring>
#include <limits>

#include "qembed/qembed.hpp"

namespace qembed::detail::safetensors {

namespace {

constexpr int kMaxShapeRank = 8;

// Strict JSON over the header bytes, reading only the shapes safetensors uses.
class HeaderParser {
 public:
  HeaderParser(const char* p, size_t n, const std::string& source)
      : begin_(p), p_(p), end_(p + n), source_(source) {}

  File parse_top() {
    File f;
    bool seen_metadata = false;
    skip_ws();
    object([&](const std::string& key) {
      if (key == "__metadata__") {
        if (seen_metadata) fail("the key \"__metadata__\" appears twice");
        seen_metadata = true;
        f.metadata = string_map();
      } else {
        if (f.tensors.count(key) != 0) fail("the tensor \"" + key + "\" appears twice");
        f.tensors[key] = tensor(key);
      }
    });
    skip_ws();  // the writer pads the header with spaces
    if (p_ != end_) fail("bytes after the header's JSON object");
    return f;
  }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    throw InvalidArgument(source_ + ": not a valid safetensors header: " + what);
  }
  char peek() const { return p_ < end_ ? *p_ : '\0'; }
  void expect(char c) {
    if (p_ >= end_ || *p_ != c) {
      fail(std::string("expected '") + c + "' at byte " + std::to_string(offset()) +
           (p_ >= end_ ? " (end of header)" : ""));
    }
    ++p_;
  }
  size_t offset() const { return static_cast<size_t>(p_ - begin_); }
  void skip_ws() {
    while (p_ < end_ && (*p_ == ' ' || *p_ == '\n' || *p_ == '\r' || *p_ == '\t')) ++p_;
  }

  static void append_utf8(std::string& s, uint32_t cp) {
    if (cp < 0x80) {
      s += static_cast<char>(cp);
    } else if (cp < 0x800) {
      s += static_cast<char>(0xC0 | (cp >> 6));
      s += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      s += static_cast<char>(0xE0 | (cp >> 12));
      s += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      s += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      s += static_cast<char>(0xF0 | (cp >> 18));
      s += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      s += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      s += static_cast<char>(0x80 | (cp & 0x3F));
    }
  }

  uint32_t hex4() {
    if (end_ - p_ < 4) fail("a \\u escape needs four hex digits");
    uint32_t v = 0;
    for (int i = 0; i < 4; ++i, ++p_) {
      const char c = *p_;
      v <<= 4;
      if (c >= '0' && c <= '9') {
        v |= static_cast<uint32_t>(c - '0');
      } else if (c >= 'a' && c <= 'f') {
        v |= static_cast<uint32_t>(c - 'a' + 10);
      } else if (c >= 'A' && c <= 'F') {
        v |= static_cast<uint32_t>(c - 'A' + 10);
      } else {
        fail("a \\u escape needs four hex digits");
      }
    }
    return v;
  }

  // One UTF-8 sequence starting at p_ (already known to be >= 0x80), appended to s.
  void utf8_sequence(std::string& s) {
    const auto b0 = static_cast<unsigned char>(*p_);
    const int len = b0 >= 0xF0 && b0 <= 0xF4 ? 4 : b0 >= 0xE0 ? 3 : b0 >= 0xC2 && b0 < 0xE0 ? 2 : 0;
    if (len == 0 || end_ - p_ < len) fail("the header is not valid UTF-8");
    uint32_t cp = b0 & (0x7F >> len);
    for (int i = 1; i < len; ++i) {
      const auto b = static_cast<unsigned char>(p_[i]);
      if ((b & 0xC0) != 0x80) fail("the header is not valid UTF-8");
      cp = (cp << 6) | (b & 0x3F);
    }
    const uint32_t min = len == 2 ? 0x80 : len == 3 ? 0x800 : 0x10000;
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
      fail("the header is not valid UTF-8");
    }
    s.append(p_, static_cast<size_t>(len));
    p_ += len;
  }

  std::string string() {
    expect('"');
    std::string s;
    for (;;) {
      if (p_ >= end_) fail("a string is not terminated");
      const char c = *p_;
      if (c == '"') {
        ++p_;
        return s;
      }
      if (static_cast<unsigned char>(c) < 0x20) fail("a control character inside a string");
      if (static_cast<unsigned char>(c) >= 0x80) {
        utf8_sequence(s);
        continue;
      }
      ++p_;
      if (c != '\\') {
        s += c;
        continue;
      }
      if (p_ >= end_) fail("a string is not terminated");
      const char e = *p_++;
      switch (e) {
        case '"':
        case '\\':
        case '/':
          s += e;
          break;
        case 'b':
          s += '\b';
          break;
        case 'f':
          s += '\f';
          break;
        case 'n':
          s += '\n';
          break;
        case 'r':
          s += '\r';
          break;
        case 't':
          s += '\t';
          break;
        case 'u': {
          uint32_t cp = hex4();
          if (cp >= 0xD800 && cp <= 0xDBFF) {  // a surrogate pair
            if (end_ - p_ < 2 || p_[0] != '\\' || p_[1] != 'u') fail("an unpaired surrogate");
            p_ += 2;
            const uint32_t lo = hex4();
            if (lo < 0xDC00 || lo > 0xDFFF) fail("an unpaired surrogate");
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
          } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
            fail("an unpaired surrogate");
          }
          append_utf8(s, cp);
          break;
        }
        default:
          fail(std::string("an unknown escape \\") + e);
      }
    }
  }

  // A non-negative JSON integer below 2^63.
  int64_t integer() {
    if (p_ >= end_ || *p_ < '0' || *p_ > '9') fail("expected a non-negative integer");
    if (*p_ == '0' && end_ - p_ > 1 && p_[1] >= '0' && p_[1] <= '9') {
      fail("an integer with a leading zero");
    }
    int64_t v = 0;
    while (p_ < end_ && *p_ >= '0' && *p_ <= '9') {
      const int d = *p_++ - '0';
      if (v > (std::numeric_limits<int64_t>::max() - d) / 10) fail("an integer over 2^63 - 1");
      v = v * 10 + d;
    }
    if (p_ < end_ && (*p_ == '.' || *p_ == 'e' || *p_ == 'E')) fail("expected an integer");
    return v;
  }

  std::vector<int64_t> integer_array(size_t max_size, const char* what) {
    std::vector<int64_t> v;
    list('[', ']', [&] {
      if (v.size() == max_size) fail(std::string(what) + " has too many entries");
      v.push_back(integer());
    });
    return v;
  }

  std::map<std::string, std::string> string_map() {
    std::map<std::string, std::string> m;
    object([&](const std::string& key) {
      if (m.count(key) != 0) fail("the metadata key \"" + key + "\" appears twice");
      m[key] = string();
    });
    return m;
  }

  TensorInfo tensor(const std::string& name) {
    TensorInfo t;
    bool has_dtype = false, has_shape = false, has_offsets = false;
    object([&](const std::string& key) {
      if (key == "dtype" && !has_dtype) {
        t.dtype = string();
        has_dtype = true;
      } else if (key == "shape" && !has_shape) {
        t.shape = integer_array(kMaxShapeRank, "a shape");
        has_shape = true;
      } else if (key == "data_offsets" && !has_offsets) {
        const std::vector<int64_t> o = integer_array(2, "data_offsets");
        if (o.size() != 2) fail("the tensor \"" + name + "\": data_offsets needs [begin, end]");
        t.begin = static_cast<uint64_t>(o[0]);
        t.end = static_cast<uint64_t>(o[1]);
        has_offsets = true;
      } else {
        fail("the tensor \"" + name + "\": unexpected or repeated key \"" + key + "\"");
      }
    });
    if (!has_dtype || !has_shape || !has_offsets) {
      fail("the tensor \"" + name + "\" needs dtype, shape and data_offsets");
    }
    return t;
  }

  // The elements of a JSON array or object: `open`, then item() for each comma-separated
  // element (whitespace around each skipped), then `close`. The one loop every list in
  // the header goes through.
  template <typename F>
  void list(char open, char close, F&& item) {
    expect(open);
    skip_ws();
    if (peek() == close) {
      ++p_;
      return;
    }
    for (;;) {
      skip_ws();
      item();
      skip_ws();
      if (peek() != ',') break;
      ++p_;
    }
    expect(close);
  }

  // An object's members: member(key) reads the value after "key":.
  template <typename F>
  void object(F&& member) {
    list('{', '}', [&] {
      const std::string key = string();
      skip_ws();
      expect(':');
      skip_ws();
      member(key);
    });
  }

  const char* begin_;
  const char* p_;
  const char* end_;
  const std::string& source_;
};

void append_json_string(std::string& out, const std::string& s) {
  out += '"';
  for (const char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (u < 0x20) {
      static const char kHex[] = "0123456789abcdef";
      out += "\\u00";
      out += kHex[u >> 4];
      out += kHex[u & 15];
    } else {
      out += c;
    }
  }
  out += '"';
}

}  // namespace

int64_t TensorInfo::numel() const {
  int64_t n = 1;
  for (const int64_t d : shape) {
    if (d != 0 && n > std::numeric_limits<int64_t>::max() / d) return -1;
    n *= d;
  }
  return n;
}

int dtype_bytes(const std::string& d) {
  static const std::map<std::string, int> kBytes = {
      {"BOOL", 1}, {"U8", 1},  {"I8", 1},  {"U16", 2}, {"I16", 2}, {"F16", 2}, {"BF16", 2},
      {"U32", 4},  {"I32", 4}, {"F32", 4}, {"U64", 8}, {"I64", 8}, {"F64", 8}};
  const auto it = kBytes.find(d);
  return it == kBytes.end() ? 0 : it->second;
}

File parse(const uint8_t* bytes, uint64_t size, const std::string& source) {
  if (size < 8) {
    throw InvalidArgument(source + ": truncated: " + std::to_string(size) +
                          " bytes, a safetensors file starts with an 8-byte header length");
  }
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | bytes[i];
  if (n > kMaxHeaderBytes) {
    throw InvalidArgument(source + ": header length " + std::to_string(n) + " exceeds the " +
                          std::to_string(kMaxHeaderBytes) + "-byte limit");
  }
  if (n > size - 8) {
    throw InvalidArgument(source + ": truncated: the header needs " + std::to_string(n) +
                          " bytes, the file has " + std::to_string(size - 8) + " after its length");
  }
  HeaderParser parser(reinterpret_cast<const char*>(bytes + 8), static_cast<size_t>(n), source);
  File f = parser.parse_top();
  f.data = bytes + 8 + n;
  f.data_size = size - 8 - n;

  // Every tensor: a known dtype, a byte range that matches its shape and lies in the
  // data; together the ranges tile the data exactly (no overlap, no gap).
  std::vector<std::pair<uint64_t, uint64_t>> ranges;
  for (const auto& [name, t] : f.tensors) {
    const int eb = dtype_bytes(t.dtype);
    if (eb == 0)
      throw InvalidArgument(source + ": tensor \"" + name + "\" has unknown dtype \"" + t.dtype +
                            "\"");
    const int64_t numel = t.numel();
    if (numel < 0 || static_cast<uint64_t>(numel) > std::numeric_limits<uint64_t>::max() / eb) {
      throw InvalidArgument(source + ": tensor \"" + name + "\": its shape overflows");
    }
    if (t.end < t.begin || t.end - t.begin != static_cast<uint64_t>(numel) * eb) {
      throw InvalidArgument(source + ": tensor \"" + name + "\": data_offsets [" +
                            std::to_string(t.begin) + ", " + std::to_string(t.end) +
                            ") do not hold " + std::to_string(numel) + " " + t.dtype + " elements");
    }
    if (t.end > f.data_size) {
      throw InvalidArgument(source + ": truncated: tensor \"" + name + "\" ends at data byte " +
                            std::to_string(t.end) + ", the data has " +
                            std::to_string(f.data_size));
    }
    ranges.emplace_back(t.begin, t.end);
  }
  std::sort(ranges.begin(), ranges.end());
  uint64_t covered = 0;
  for (const auto& [b, e] : ranges) {
    if (b != covered) {
      throw InvalidArgument(source + ": tensor data " +
                            std::string(b < covered ? "overlaps" : "leaves a gap") +
                            " at data byte " + std::to_string(std::min(b, covered)));
    }
    covered = e;
  }
  if (covered != f.data_size) {
    throw InvalidArgument(source + ": " + std::to_string(f.data_size - covered) +
                          " bytes after the last tensor's data");
  }
  return f;
}

std::string header(const std::map<std::string, std::string>& metadata,
                   const std::vector<TensorData>& tensors) {
  std::string json = "{\"__metadata__\":{";
  bool first = true;
  for (const auto& [k, v] : metadata) {
    if (!first) json += ',';
    first = false;
    append_json_string(json, k);
    json += ':';
    append_json_string(json, v);
  }
  json += '}';
  uint64_t offset = 0;
  for (const TensorData& t : tensors) {
    json += ',';
    append_json_string(json, t.name);
    json += ":{\"dtype\":";
    append_json_string(json, t.dtype);
    json += ",\"shape\":[";
    for (size_t i = 0; i < t.shape.size(); ++i) {
      if (i > 0) json += ',';
      json += std::to_string(t.shape[i]);
    }
    json += "],\"data_offsets\":[" + std::to_string(offset) + "," +
            std::to_string(offset + t.bytes) + "]}";
    offset += t.bytes;
  }
  json += '}';
  json.append((8 - json.size() % 8) % 8, ' ');
  std::string out(8, '\0');
  uint64_t n = json.size();
  for (int i = 0; i < 8; ++i, n >>= 8) out[i] = static_cast<char>(n & 0xFF);
  return out + json;
}

}  // namespace qembed::detail::safetensors
