// The safetensors container (https://github.com/huggingface/safetensors): an 8-byte
// little-endian header length N, N bytes of JSON naming each tensor's dtype, shape and
// byte range, then the raw little-endian data. This file knows the container only;
// model_file.h maps a module onto it.
//
// The reader trusts nothing: the header length, the JSON, every dtype, shape and byte
// range are checked against the bytes actually present before anything reads the data.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace qembed::detail::safetensors {

// Headers larger than this are refused (safetensors' own limit) before any parsing.
constexpr uint64_t kMaxHeaderBytes = uint64_t{100} << 20;

struct TensorInfo {
  std::string dtype;            // "F32", "F16", "U8", "I8", "I32", "I64", ...
  std::vector<int64_t> shape;   // empty for a 0-d tensor
  uint64_t begin = 0, end = 0;  // byte range within the data section
  int64_t numel() const;
};

// A checked file image. `data` points into the bytes that were parsed.
struct File {
  std::map<std::string, std::string> metadata;  // "__metadata__": string -> string
  std::map<std::string, TensorInfo> tensors;
  const uint8_t* data = nullptr;  // start of the data section
  uint64_t data_size = 0;
  const uint8_t* bytes_of(const TensorInfo& t) const { return data + t.begin; }
};

// Bytes per element of a safetensors dtype name; 0 for an unknown name.
int dtype_bytes(const std::string& dtype);

// Parses `size` bytes as a safetensors file. Every violation throws InvalidArgument
// naming `source` (the path, or "buffer") and the rule: truncated or oversized header,
// malformed JSON, unknown dtype, shape and byte range that disagree, a range outside
// the data, overlapping ranges, or bytes no tensor covers.
File parse(const uint8_t* bytes, uint64_t size, const std::string& source);

// One tensor to write: raw little-endian bytes, numel(shape) * dtype_bytes(dtype) long.
struct TensorData {
  std::string name, dtype;
  std::vector<int64_t> shape;
  const void* data = nullptr;
  uint64_t bytes = 0;
};

// The header (8-byte length + JSON padded with spaces so the data starts 8-byte aligned)
// for these tensors, laid out in the given order.
std::string header(const std::map<std::string, std::string>& metadata,
                   const std::vector<TensorData>& tensors);

}  // namespace qembed::detail::safetensors
