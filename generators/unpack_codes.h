// Sub-byte codes out of their packed bytes (low bits first: code c of a row of `bits`-bit
// codes is in byte c / (8 / bits), at shift (c % (8 / bits)) * bits), shared by the
// reference-numerics formats (dequantize_stage) and the prepacked ones (scale_bias_stage).
#pragma once

#include "Halide.h"
#include "dequantize_stage.h"

namespace qembed::stages {

// The portable unpack, on bytes.
Halide::Expr unpack_bits(const Halide::Func& table, const Halide::Expr& c, const Halide::Expr& row,
                         int bits);

// x86 4-bit unpacks that widen each code byte to int32 once (one vpmovzxbd per 8 or 16
// bytes) and take both nibbles from that dword, for rows with fused qparams:
// u4_lookup_index leaves the high nibble's bits above the low one's (for lookups that read
// the low 4 bits only: u4_lut_avx512.ll), u4_code_widened is the code itself.
Halide::Expr u4_lookup_index(const StoredTable& t, const Halide::Expr& c, const Halide::Expr& row);
Halide::Expr u4_code_widened(const StoredTable& t, const Halide::Expr& c, const Halide::Expr& row);

}  // namespace qembed::stages
