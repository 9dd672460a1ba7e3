#!/usr/bin/python3
"""Writes tests/golden/prepacked/: tables prepacked by PyTorch 1.13.1's
embedding_bag_{byte,4bit,2bit}_prepack and the outputs of its
embedding_bag_{byte,4bit,2bit}_rowwise_offsets on them. One safetensors file per case:
packed (U8 rows), indices, offsets, per_sample_weights (weighted cases), output; metadata
bits, include_last_offset. tests/test_golden.cpp serves each table with
qembed_embedding_bag_from_prepacked and checks the output bit for bit.

Run with Debian's python3-torch:  /usr/bin/python3 tests/golden/make_prepacked.py
"""
import os
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tools"))
import export_torch  # noqa: E402

OPS = {8: ("embedding_bag_byte_prepack", "embedding_bag_byte_rowwise_offsets"),
       4: ("embedding_bag_4bit_prepack", "embedding_bag_4bit_rowwise_offsets"),
       2: ("embedding_bag_2bit_prepack", "embedding_bag_2bit_rowwise_offsets")}


def cases():
    # (name, bits, rows, D, weighted, include_last_offset, index dtype)
    yield "byte_d16", 8, 50, 16, False, False, torch.int64
    yield "byte_d7_weighted_last", 8, 50, 7, True, True, torch.int64
    yield "byte_d64_i32", 8, 300, 64, False, False, torch.int32
    yield "4bit_d8", 4, 50, 8, False, False, torch.int64
    yield "4bit_d34_weighted", 4, 50, 34, True, False, torch.int64
    yield "4bit_d128_i32_last", 4, 300, 128, False, True, torch.int32
    yield "2bit_d12", 2, 50, 12, False, False, torch.int64
    yield "2bit_d40_weighted_last", 2, 50, 40, True, True, torch.int64


def main():
    out_dir = os.path.join(HERE, "prepacked")
    os.makedirs(out_dir, exist_ok=True)
    g = torch.Generator().manual_seed(611)
    for name, bits, rows, dim, weighted, last, itype in cases():
        prepack, lookup = (getattr(torch.ops.quantized, op) for op in OPS[bits])
        w = torch.randn(rows, dim, generator=g) * torch.rand(rows, 1, generator=g) * 3
        packed = prepack(w)
        n = 80
        indices = torch.randint(0, rows, (n,), generator=g).to(itype)
        cuts = sorted(torch.randint(0, n + 1, (11,), generator=g).tolist())
        offsets = torch.tensor([0] + cuts + ([n] if last else []), dtype=itype)
        psw = torch.rand(n, generator=g) * 2 - 0.5 if weighted else None
        out = lookup(packed, indices, offsets, False, 0, False, psw, None, last)
        tensors = [("packed", packed), ("indices", indices), ("offsets", offsets)]
        if weighted:
            tensors.append(("per_sample_weights", psw))
        tensors.append(("output", out))
        export_torch.write_safetensors(
            os.path.join(out_dir, name + ".safetensors"), tensors,
            {"bits": str(bits), "include_last_offset": str(last), "torch": torch.__version__})
        print(name, tuple(packed.shape), tuple(out.shape))


if __name__ == "__main__":
    main()
