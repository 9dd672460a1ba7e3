#!/usr/bin/env python3
"""qembed against PyTorch's quantized embedding-bag ops, side by side in one process.

PyTorch's `quantized::embedding_bag_byte_rowwise_offsets` / `..._4bit_rowwise_offsets` run
FBGEMM on an x86 PyTorch wheel (e.g. 2.11) and a scalar fallback in Debian's 1.13.1. qembed
is loaded from libqembed.so through its C ABI (ctypes), on the same float tables (each
library quantizes them per row its own way: same row geometry) and the same indices.

  python3 bench/torch_compare.py [--lib build/default/runtime/libqembed.so]
         [--rows N] [--quick] [--threads N] [--csv FILE]

Workloads are the anchors of ../shared/spec/performance-anchors.md. Each case prints one
JSON line; a summary table with qembed/PyTorch rows/s ratios ends the run.
"""
import argparse
import ctypes
import json
import math
import os
import sys
import time

import torch

QEMBED_PER_CHANNEL_AFFINE_FLOAT_QPARAMS = 3
QEMBED_QUINT8, QEMBED_QUINT4X2 = 2, 4
QEMBED_MODE_SUM = 0
QEMBED_INT64 = 1
QEMBED_NO_PADDING_IDX = -(2**63)


class QParams(ctypes.Structure):
    _fields_ = [("qscheme", ctypes.c_int), ("dtype", ctypes.c_int),
                ("scale", ctypes.POINTER(ctypes.c_float)),
                ("zero_point", ctypes.POINTER(ctypes.c_float)),
                ("num_qparams", ctypes.c_int64), ("axis", ctypes.c_int64)]


class Options(ctypes.Structure):
    _fields_ = [("num_embeddings", ctypes.c_int64), ("embedding_dim", ctypes.c_int64),
                ("padding_idx", ctypes.c_int64), ("has_max_norm", ctypes.c_int),
                ("max_norm", ctypes.c_double), ("norm_type", ctypes.c_double),
                ("mode", ctypes.c_int), ("include_last_offset", ctypes.c_int)]


def load_qembed(path):
    lib = ctypes.CDLL(path)
    lib.qembed_last_error.restype = ctypes.c_char_p
    lib.qembed_kernel_target.restype = ctypes.c_char_p
    lib.qembed_embedding_bag_from_float.argtypes = [
        ctypes.c_void_p, ctypes.POINTER(Options), ctypes.POINTER(QParams),
        ctypes.POINTER(ctypes.c_void_p)]
    lib.qembed_embedding_bag_forward.argtypes = [
        ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int64, ctypes.c_void_p, ctypes.c_int64,
        ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int64]
    lib.qembed_embedding_bag_from_prepacked.argtypes = [
        ctypes.c_void_p, ctypes.c_int64, ctypes.c_int, ctypes.POINTER(Options), ctypes.POINTER(ctypes.c_void_p)]
    lib.qembed_module_free.argtypes = [ctypes.c_void_p]
    lib.qembed_set_num_threads.argtypes = [ctypes.c_int]
    return lib


def check(lib, status, what):
    if status != 0:
        raise RuntimeError(f"{what}: {lib.qembed_last_error().decode()}")


def last_level_cache_bytes():
    for idx in ("index3", "index2"):
        try:
            s = open(f"/sys/devices/system/cpu/cpu0/cache/{idx}/size").read().strip()
            return int(s[:-1]) * (1024 if s[-1] == "K" else 1024 * 1024) if s[-1] in "KM" else int(s)
        except OSError:
            pass
    return 32 << 20


def make_bags(rng, batch, rows, avg_len, fixed):
    if fixed:
        lens = torch.full((batch,), avg_len, dtype=torch.int64)
    else:
        lens = torch.randint(1, 2 * avg_len + 2, (batch,), generator=rng)
    idx = torch.randint(0, rows, (int(lens.sum()),), generator=rng, dtype=torch.int64)
    offsets = torch.zeros(batch, dtype=torch.int64)
    offsets[1:] = torch.cumsum(lens, 0)[:-1]
    return idx, offsets


def per_row_qparams(w, qmax):
    lo = torch.minimum(w.min(1).values, torch.zeros(()))
    hi = torch.maximum(w.max(1).values, torch.zeros(()))
    scale = ((hi - lo) / qmax).clamp_min(1e-8).float().contiguous()
    zp = (-lo / scale).float().contiguous()
    return scale, zp


def timed(fn, sets, min_seconds=0.5, min_calls=20):
    for i in range(len(sets)):
        fn(sets[i])
    calls, t0 = 0, time.perf_counter()
    while True:
        fn(sets[calls % len(sets)])
        calls += 1
        el = time.perf_counter() - t0
        if el >= min_seconds and calls >= min_calls:
            return el / calls


def run_case(lib, name, bits, rows, dim, batch, avg_len, threads, cold, fixed=False, prepacked=False):
    """prepacked: qembed serves PyTorch's own packed tensor (from_prepacked: the same bytes
    and the rowwise ops' numerics); else its reference family quantizes the float table
    per row (float qparams; PyTorch's packs round them to fp16 for 4 bits)."""
    torch.set_num_threads(threads)
    check(lib, lib.qembed_set_num_threads(threads), "set_num_threads")
    rng = torch.Generator().manual_seed(rows + dim)
    w = torch.rand(rows, dim, generator=rng) * 2 - 1
    qmax = 255.0 if bits == 8 else 15.0
    if bits == 8:
        packed = torch.ops.quantized.embedding_bag_byte_prepack(w)
        op = torch.ops.quantized.embedding_bag_byte_rowwise_offsets
    else:
        packed = torch.ops.quantized.embedding_bag_4bit_prepack(w)
        op = torch.ops.quantized.embedding_bag_4bit_rowwise_offsets
    scale, zp = per_row_qparams(w, qmax)
    qp = QParams(QEMBED_PER_CHANNEL_AFFINE_FLOAT_QPARAMS, QEMBED_QUINT8 if bits == 8 else QEMBED_QUINT4X2,
                 ctypes.cast(scale.data_ptr(), ctypes.POINTER(ctypes.c_float)),
                 ctypes.cast(zp.data_ptr(), ctypes.POINTER(ctypes.c_float)), rows, 0)
    opt = Options(rows, dim, QEMBED_NO_PADDING_IDX, 0, 0.0, 2.0, QEMBED_MODE_SUM, 0)
    module = ctypes.c_void_p()
    if prepacked:
        check(lib, lib.qembed_embedding_bag_from_prepacked(packed.data_ptr(), packed.numel(), bits,
                                                           ctypes.byref(opt), ctypes.byref(module)),
              "from_prepacked")
        row_bytes = packed.shape[1]
    else:
        check(lib, lib.qembed_embedding_bag_from_float(w.data_ptr(), ctypes.byref(opt), ctypes.byref(qp),
                                                       ctypes.byref(module)), "from_float")
        row_bytes = dim + 8 if bits == 8 else (dim + 1) // 2 + 8
    del w

    first = make_bags(rng, batch, rows, avg_len, fixed)
    touched = first[0].numel() * 64 * math.ceil(row_bytes / 64)
    nsets = max(1, math.ceil(2.5 * last_level_cache_bytes() / touched) + 1) if cold else 1
    sets = [first] + [make_bags(rng, batch, rows, avg_len, fixed) for _ in range(nsets - 1)]
    out = torch.empty(batch, dim)

    def qembed_call(s):
        idx, off = s
        check(lib, lib.qembed_embedding_bag_forward(module, idx.data_ptr(), idx.numel(), off.data_ptr(),
                                                    off.numel(), QEMBED_INT64, None, out.data_ptr(),
                                                    out.numel()), "forward")

    def torch_call(s):
        idx, off = s
        return op(packed, idx, off, False, 0, False, None, None, False)

    # Sanity: both compute the same bags up to their different rounding of the qparams.
    qembed_call(sets[0])
    ref = torch_call(sets[0])
    err = float((out - ref).abs().max() / max(float(ref.abs().max()), 1e-6))
    if err > 0.05:
        raise RuntimeError(f"{name}: qembed and PyTorch disagree (relative error {err:.3g})")
    # PyTorch without FBGEMM runs the scalar fallback whose numerics the prepacked family
    # reproduces bit for bit (FBGEMM's JIT fuses in float32 instead: last-bit differences).
    if prepacked and "fbgemm" not in torch.backends.quantized.supported_engines and not torch.equal(out, ref):
        raise RuntimeError(f"{name}: prepacked rows differ from PyTorch's fallback")

    t_torch = timed(torch_call, sets)
    t_qembed = timed(qembed_call, sets)
    lib.qembed_module_free(module)
    n = sum(s[0].numel() for s in sets) / len(sets)
    res = {"case": name, "prepacked": prepacked, "bits": bits, "rows": rows, "dim": dim, "batch": batch, "avg_len": avg_len,
           "threads": threads, "cold": cold, "index_sets": nsets, "torch_us": t_torch * 1e6,
           "qembed_us": t_qembed * 1e6, "torch_rows_per_s": n / t_torch, "qembed_rows_per_s": n / t_qembed,
           "ratio_rows_per_s": t_torch / t_qembed, "max_rel_diff": err}
    print(json.dumps(res), flush=True)
    return res


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--lib", default=os.path.join(here, "..", "build", "default", "runtime", "libqembed.so"))
    ap.add_argument("--rows", type=int, default=4_000_000, help="rows of the FBGEMM-bench and multi-thread tables")
    ap.add_argument("--threads", type=int, default=os.cpu_count(), help="threads of the multi-thread case")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--prepacked", action="store_true",
                    help="also run each FBGEMM-bench case with qembed serving PyTorch's own packed rows")
    ap.add_argument("--csv")
    a = ap.parse_args()
    lib = load_qembed(a.lib)
    print(json.dumps({"torch": torch.__version__, "engines": torch.backends.quantized.supported_engines,
                      "qembed_target": lib.qembed_kernel_target().decode(), "cores": os.cpu_count(),
                      "llc_bytes": last_level_cache_bytes()}), flush=True)
    dims = [64, 128] if a.quick else [32, 64, 128, 256, 512]
    results = []
    for bits in (8, 4):
        for d in dims:
            results.append(run_case(lib, f"fbgemm {bits}-bit D={d}", bits, a.rows, d, 10, 100, 1, True))
            if a.prepacked:
                results.append(run_case(lib, f"fbgemm {bits}-bit D={d} prepacked", bits, a.rows, d, 10,
                                        100, 1, True, prepacked=True))
    results.append(run_case(lib, "fbgemm 8-bit D=128 warm", 8, a.rows, 128, 10, 100, 1, False))
    for bits in (8, 4):
        results.append(run_case(lib, f"tbe {bits}-bit", bits, 100_000, 128, 512, 20, 1, True, fixed=True))
    results.append(run_case(lib, f"mt 8-bit {a.threads} threads", 8, a.rows, 128, 4096, 20, a.threads, True,
                            fixed=True))
    print(f"\n{'case':36s} {'torch us':>10s} {'qembed us':>10s} {'qembed/torch rows/s':>20s}")
    for r in results:
        print(f"{r['case']:36s} {r['torch_us']:10.1f} {r['qembed_us']:10.1f} {r['ratio_rows_per_s']:19.2f}x")
    if a.csv:
        with open(a.csv, "w") as f:
            keys = list(results[0].keys())
            f.write(",".join(keys) + "\n")
            for r in results:
                f.write(",".join(str(r[k]) for k in keys) + "\n")


if __name__ == "__main__":
    sys.exit(main())
