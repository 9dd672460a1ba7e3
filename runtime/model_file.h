// Module files: a module as a safetensors file with PyTorch's state_dict names.
//
//   tensors   weight             the codes as int_repr() lays them out: U8/I8/I32 [R, D],
//                                quint4x2 U8 [ceil(R*D/2)] (the flattened tensor, low
//                                nibble first), float16 F16 [R, D], qscheme None F32 [R, D]
//             weight_scale       F32, [] per tensor or [n] per channel (absent for None)
//             weight_zero_point  I32 for the affine schemes, F32 for float qparams
//             weight_axis        I32 [] (per-channel schemes)
//   metadata  format=qembed.module, format_version=1, module=Embedding|EmbeddingBag,
//             weight_qscheme=torch.per_channel_affine..., weight_dtype=torch.quint8...,
//             num_embeddings, embedding_dim, padding_idx (None or an int), max_norm (None
//             or a float), norm_type, scale_grad_by_freq, sparse, and for EmbeddingBag
//             mode (sum|mean|max) and include_last_offset (True|False); Python's spelling.
//
// tools/export_torch.py writes the same file from PyTorch's reference modules.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "module.h"

namespace qembed::detail {

// Writes the module to `path` (through a temporary file renamed into place: a failed
// save leaves no partial file under `path`).
void save_module(const Module& m, const std::string& path);

// Reads a module file; every damaged or mismatched file throws InvalidArgument (or
// Unsupported for a newer format version) naming the file and the rule it broke.
std::shared_ptr<const Module> load_module(const std::string& path);
std::shared_ptr<const Module> load_module(const uint8_t* bytes, uint64_t size,
                                          const std::string& source);

}  // namespace qembed::detail
