#!/usr/bin/python3
"""Writes golden.txt: outputs of PyTorch 1.13.1's reference quantized modules
(torch.ao.nn.quantized.reference.Embedding / EmbeddingBag) on small random cases.

Run with Debian's python3-torch:  /usr/bin/python3 tests/golden/make_golden.py
The C++ test (tests/test_golden.cpp) reads the file; no Python is needed at test time.

Format: one record per line, `key value...`; a case starts with `case` and ends with
`end`. Floats are written as their 8-hex-digit IEEE-754 bit patterns (exact).
"""
import os
import random
import struct
import sys

import torch
import torch.nn as nn
from torch.ao.nn.quantized.reference import Embedding as RefEmbedding
from torch.ao.nn.quantized.reference import EmbeddingBag as RefEmbeddingBag

QSCHEMES = {None: "none", torch.per_tensor_affine: "per_tensor_affine",
            torch.per_channel_affine: "per_channel_affine",
            torch.per_channel_affine_float_qparams: "per_channel_affine_float_qparams"}
DTYPES = {torch.float32: "float32", torch.float16: "float16", torch.quint8: "quint8",
          torch.qint8: "qint8", torch.quint4x2: "quint4x2", torch.qint32: "qint32"}
RANGES = {torch.quint8: (0, 255), torch.qint8: (-128, 127), torch.quint4x2: (0, 15),
          torch.qint32: (-1000, 1000)}


def hexf(values):
    return " ".join("%08x" % struct.unpack("<I", struct.pack("<f", float(v)))[0] for v in values)


def make_qparams(rng, qscheme, dtype, axis, w):
    if qscheme is None:
        return {"qscheme": None, "dtype": torch.float32}
    if dtype == torch.float16:
        return {"qscheme": qscheme, "dtype": dtype}
    qmin, qmax = RANGES[dtype]
    if qscheme == torch.per_tensor_affine:
        groups = [w.flatten()]
    else:
        groups = [w[k] for k in range(w.shape[0])] if axis == 0 else [w[:, k] for k in range(w.shape[1])]
    scales, zps = [], []
    for g in groups:
        lo, hi = min(float(g.min()), 0.0), max(float(g.max()), 0.0)
        s = (hi - lo) / (qmax - qmin) * rng.uniform(0.8, 1.2)
        if dtype == torch.qint32:
            s *= 0.5
        s = float(torch.tensor(s, dtype=torch.float32)) if s > 1e-6 else 1.0
        zp = -lo / s + qmin
        if qscheme != torch.per_channel_affine_float_qparams:
            zp = float(round(min(max(zp, qmin), qmax)))
        scales.append(s)
        zps.append(float(torch.tensor(zp, dtype=torch.float32)))
    q = {"qscheme": qscheme, "dtype": dtype}
    if qscheme == torch.per_tensor_affine:
        q["scale"], q["zero_point"] = scales[0], int(zps[0])
    elif qscheme == torch.per_channel_affine:
        q["scale"] = torch.tensor(scales, dtype=torch.float)
        q["zero_point"] = torch.tensor([int(z) for z in zps], dtype=torch.int)
        q["axis"] = axis
    else:
        q["scale"] = torch.tensor(scales, dtype=torch.float)
        q["zero_point"] = torch.tensor(zps, dtype=torch.float)
        q["axis"] = axis
    return q


def schemes():
    out = [(None, torch.float32, 0), (torch.per_tensor_affine, torch.float16, 0)]
    for d in (torch.quint8, torch.qint8, torch.qint32):
        out += [(torch.per_tensor_affine, d, 0), (torch.per_channel_affine, d, 0),
                (torch.per_channel_affine, d, 1)]
    for d in (torch.quint8, torch.qint8, torch.quint4x2):
        out += [(torch.per_channel_affine_float_qparams, d, 0),
                (torch.per_channel_affine_float_qparams, d, 1)]
    return out


def write_case(f, name, kind, rows, dim, pad, max_norm, norm_type, mode, include_last, q, w,
               itype, indices, offsets, psw, weight, codes, out):
    f.write("case %s %s\n" % (name, kind))
    f.write("options %d %d %s %s %s %s %d\n" % (
        rows, dim, "none" if pad is None else pad, "none" if max_norm is None else repr(max_norm),
        repr(norm_type), mode, include_last))
    scale = q.get("scale", [])
    zp = q.get("zero_point", [])
    scale = [scale] if isinstance(scale, float) else [float(x) for x in scale]
    zp = [zp] if isinstance(zp, (int, float)) else [float(x) for x in zp]
    f.write("qparams %s %s %d %d %s %s\n" % (QSCHEMES[q["qscheme"]], DTYPES[q["dtype"]],
                                          q.get("axis", 0), len(scale), hexf(scale), hexf(zp)))
    f.write("weight %s\n" % hexf(w.flatten().tolist()))
    f.write("indices %s %d %s\n" % (itype, len(indices), " ".join(str(i) for i in indices)))
    f.write("offsets %d %s\n" % (len(offsets), " ".join(str(i) for i in offsets)))
    f.write("psw %d %s\n" % (len(psw), hexf(psw)))
    f.write("get_weight %s\n" % hexf(weight.flatten().tolist()))
    f.write("codes %d %s\n" % (len(codes), " ".join("%02x" % b for b in codes)))
    f.write("out %d %s\n" % (out.numel(), hexf(out.flatten().tolist())))
    f.write("end\n")


def codes_of(m, q):
    if q["qscheme"] is None or q["dtype"] == torch.float16:
        return b""
    t = m.get_quantized_weight().int_repr().contiguous()
    return t.numpy().tobytes()


def main():
    torch.manual_seed(0)
    rng = random.Random(0)
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "golden.txt")
    n = 0
    with open(path, "w") as f:
        f.write("# PyTorch %s reference quantized modules; made by make_golden.py\n" % torch.__version__)
        for si, (qscheme, dtype, axis) in enumerate(schemes()):
            for variant in range(3):
                rows = rng.choice([1, 3, 9, 17])
                dim = rng.choice([1, 2, 3, 7, 8, 16, 31])
                w = torch.rand(rows, dim) * 4 - 2
                q = make_qparams(rng, qscheme, dtype, axis, w)
                itype = rng.choice(["int32", "int64"])
                tdt = torch.int32 if itype == "int32" else torch.int64
                pad = rng.choice([None, rng.randrange(-rows, rows)])
                max_norm = 1.0 if variant == 2 else None
                norm_type = rng.choice([1.0, 2.0, 3.0])
                if variant == 0:  # Embedding
                    fm = nn.Embedding(rows, dim, padding_idx=pad, max_norm=max_norm,
                                      norm_type=norm_type, _weight=w.clone())
                    m = RefEmbedding.from_float(fm, q)
                    # Before forward: with qscheme None and max_norm, PyTorch renormalizes
                    # the float weight in place (qembed never changes stored weights).
                    weight = m.get_weight().detach().clone()
                    idx = [rng.randrange(rows) for _ in range(rng.randrange(0, 9))]
                    out = m(torch.tensor(idx, dtype=tdt))
                    write_case(f, "emb%d_%d" % (si, variant), "embedding", rows, dim, pad,
                               max_norm, norm_type, "-", 0, q, w, itype, idx, [], [],
                               weight, codes_of(m, q), out.detach())
                else:
                    mode = rng.choice(["sum", "mean", "max"])
                    include_last = rng.choice([0, 1])
                    fm = nn.EmbeddingBag(rows, dim, max_norm=max_norm, norm_type=norm_type,
                                         mode=mode, _weight=w.clone(),
                                         include_last_offset=bool(include_last), padding_idx=pad)
                    m = RefEmbeddingBag.from_float(fm, q)
                    weight = m.get_weight().detach().clone()
                    lens = [rng.randrange(0, 6) for _ in range(rng.randrange(1, 5))]
                    idx = [rng.randrange(rows) for _ in range(sum(lens))]
                    if pad is not None and idx:
                        idx[0] = pad % rows
                    offsets = [sum(lens[:b]) for b in range(len(lens))]
                    if include_last:
                        offsets.append(len(idx))
                    psw = []
                    if mode == "sum" and rng.random() < 0.5:
                        psw = [rng.uniform(-1.5, 1.5) for _ in idx]
                        psw = torch.tensor(psw, dtype=torch.float).tolist()
                    out = m(torch.tensor(idx, dtype=tdt), torch.tensor(offsets, dtype=tdt),
                            torch.tensor(psw, dtype=torch.float) if psw else None)
                    write_case(f, "bag%d_%d" % (si, variant), "bag", rows, dim, pad, max_norm,
                               norm_type, mode, include_last, q, w, itype, idx, offsets, psw,
                               weight, codes_of(m, q), out.detach())
                n += 1
    print("wrote %d cases to %s" % (n, path), file=sys.stderr)


if __name__ == "__main__":
    main()
