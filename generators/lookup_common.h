// Pieces shared by the lookup generators (Embedding, EmbeddingBag): the Halide type of
// each stored format's table buffer and of the index buffers.
#pragma once

#include <stdexcept>
#include <string>

#include "Halide.h"
#include "formats.h"

namespace qembed {

inline fmt::Format format_param(const std::string& name) {
  fmt::FormatId id;
  if (!fmt::format_from_name(name.c_str(), &id)) {
    throw std::invalid_argument("unknown format '" + name + "'");
  }
  return fmt::format(id);
}

// The element type of a format's stored table buffer.
inline Halide::Type table_type(const fmt::Format& f) {
  switch (f.codes) {
    case fmt::Codes::F32:
      return Halide::Float(32);
    case fmt::Codes::F16:
      return Halide::UInt(16);
    case fmt::Codes::I32:
      return Halide::Int(32);
    default:
      return Halide::UInt(8);  // u8, i8 (reinterpreted) and packed u4 codes
  }
}

// Sizes Halide's autoschedulers plan for (qembed-tune sets them from a workload; the
// hand-written schedules ignore them).
struct Estimates {
  int dim = 128, rows = 1000000, indices = 1000, bags = 10;
};

inline Halide::Type index_type_param(const std::string& name) {
  if (name == "int32") return Halide::Int(32);
  if (name != "int64") throw std::invalid_argument("index_type must be int32 or int64");
  return Halide::Int(64);
}

}  // namespace qembed
