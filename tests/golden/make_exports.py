#!/usr/bin/python3
"""Writes tests/golden/exports/: reference modules of PyTorch 1.13.1 exported by
tools/export_torch.py (<name>.safetensors), and beside each the inputs of a forward and
PyTorch's output (<name>.expected.safetensors: indices, offsets for bags,
per_sample_weights when weighted, output). tests/test_golden.cpp loads each export with
qembed_module_load and checks its output bit for bit.

Run with Debian's python3-torch:  /usr/bin/python3 tests/golden/make_exports.py
"""
import os
import sys

import torch
from torch.ao.nn.quantized.reference import Embedding as RefEmbedding
from torch.ao.nn.quantized.reference import EmbeddingBag as RefEmbeddingBag

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tools"))
import export_torch  # noqa: E402


def row_float_qparams(w, dtype):
    """PyTorch's float_qparams_weight_only_qconfig per row: the observer's qparams."""
    obs = torch.ao.quantization.PerChannelMinMaxObserver(
        ch_axis=0, dtype=dtype, qscheme=torch.per_channel_affine_float_qparams)
    obs(w)
    scale, zp = obs.calculate_qparams()
    return {"qscheme": torch.per_channel_affine_float_qparams, "dtype": dtype,
            "scale": scale, "zero_point": zp, "axis": 0}


def cases(g):
    rows = 40
    w16 = torch.randn(rows, 16, generator=g)
    yield ("bag_u8_rowwise_sum_weighted",
           RefEmbeddingBag(rows, 16, mode="sum", padding_idx=3, include_last_offset=True,
                           _weight=w16, weight_qparams=row_float_qparams(w16, torch.quint8)),
           True)
    w7 = torch.randn(rows, 7, generator=g)
    yield ("bag_u4_rowwise_mean",
           RefEmbeddingBag(rows, 7, mode="mean", _weight=w7,
                           weight_qparams=row_float_qparams(w7, torch.quint4x2)), False)
    w8 = torch.randn(rows, 8, generator=g)
    yield ("embedding_i8_per_tensor",
           RefEmbedding(rows, 8, _weight=w8,
                        weight_qparams={"qscheme": torch.per_tensor_affine, "dtype": torch.qint8,
                                        "scale": 0.02, "zero_point": -3}), False)
    w5 = torch.randn(rows, 5, generator=g)
    yield ("bag_i32_per_column_max",
           RefEmbeddingBag(rows, 5, mode="max", _weight=w5,
                           weight_qparams={"qscheme": torch.per_channel_affine,
                                           "dtype": torch.qint32,
                                           "scale": torch.tensor([1e-3, 2e-3, 5e-4, 1e-3, 4e-3]),
                                           "zero_point": torch.tensor([0, 7, -9, 100, 3],
                                                                      dtype=torch.int),
                                           "axis": 1}), False)
    w12 = torch.randn(rows, 12, generator=g)
    yield ("embedding_f16",
           RefEmbedding(rows, 12, padding_idx=0, _weight=w12,
                        weight_qparams={"qscheme": torch.per_tensor_affine,
                                        "dtype": torch.float16}), False)


def main():
    out_dir = os.path.join(HERE, "exports")
    os.makedirs(out_dir, exist_ok=True)
    g = torch.Generator().manual_seed(20261127)
    for name, module, weighted in cases(g):
        export_torch.export(module, os.path.join(out_dir, name + ".safetensors"))
        n = 60
        indices = torch.randint(0, module.num_embeddings, (n,), generator=g)
        tensors = [("indices", indices)]
        if isinstance(module, RefEmbeddingBag):
            cuts = sorted(torch.randint(0, n + 1, (9,), generator=g).tolist())
            offsets = torch.tensor([0] + cuts, dtype=torch.int64)  # repeats: empty bags
            if module.include_last_offset:
                offsets = torch.cat([offsets, torch.tensor([n])])
            psw = torch.rand(n, generator=g) if weighted else None
            out = module(indices, offsets, per_sample_weights=psw)
            tensors.append(("offsets", offsets))
            if weighted:
                tensors.append(("per_sample_weights", psw))
        else:
            out = module(indices)
        tensors.append(("output", out.detach()))
        export_torch.write_safetensors(os.path.join(out_dir, name + ".expected.safetensors"),
                                       tensors, {"torch": torch.__version__})
        print(name, tuple(out.shape))


if __name__ == "__main__":
    main()
