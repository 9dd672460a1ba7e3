#!/usr/bin/env python3
"""qembed against PyTorch's quantized embedding-bag ops, side by side in one process.

PyTorch's `quantized::embedding_bag_byte_rowwise_offsets` / `..._4bit_rowwise_offsets` run
FBGEMM on an x86 PyTorch wheel (e.g. 2.11) and a scalar fallback in Debian's 1.13.1. qembed
is loaded from libqembed.so through its C ABI (ctypes), on the same float tables (each
library quantizes them per row its own way: same row geometry) and the same indices.

  python3 bench/torch_compare.py [--lib [LABEL=]PATH ...] [--rows N] [--quick] [--threads N]
         [--prepacked] [--cases REGEX] [--rounds N] [--csv FILE]

Workloads are the anchors of ../shared/spec/performance-anchors.md. Each case prints one
JSON line; a summary table with qembed/PyTorch rows/s ratios ends the run. Several --lib
builds are timed on the same tables and indices, in turn, --rounds rounds (default 2; the
fastest counts).
"""
import argparse
import ctypes
import json
import math
import os
import re
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


def timed(fn, sets, warm_up=True, min_seconds=0.3, min_calls=20):
    if warm_up:  # one pass over every index set (pages them in; the table state it leaves is cold)
        for i in range(len(sets)):
            fn(sets[i])
    calls, t0 = 0, time.perf_counter()
    while True:
        fn(sets[calls % len(sets)])
        calls += 1
        el = time.perf_counter() - t0
        if el >= min_seconds and calls >= min_calls:
            return el / calls


def run_case(libs, name, bits, rows, dim, batch, avg_len, threads, cold, fixed=False, prepacked=False, rounds=2):
    """libs: [(label, lib)], each timed on the same tables and indices (an A/B of two
    builds runs in one process). prepacked: qembed serves PyTorch's own packed tensor
    (from_prepacked: the same bytes and the rowwise ops' numerics); else its reference
    family quantizes the float table per row (float qparams; PyTorch's packs round them to
    fp16 for 4 bits)."""
    # Tables are built with every core (4M x 512 floats is 8 GB); calls are timed on `threads`.
    def set_threads(n):
        torch.set_num_threads(n)
        for _, lib in libs:
            check(lib, lib.qembed_set_num_threads(n), "set_num_threads")

    set_threads(os.cpu_count())
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
    modules = []
    for label, lib in libs:
        module = ctypes.c_void_p()
        if prepacked:
            check(lib, lib.qembed_embedding_bag_from_prepacked(packed.data_ptr(), packed.numel(), bits,
                                                               ctypes.byref(opt), ctypes.byref(module)),
                  "from_prepacked")
        else:
            check(lib, lib.qembed_embedding_bag_from_float(w.data_ptr(), ctypes.byref(opt), ctypes.byref(qp),
                                                           ctypes.byref(module)), "from_float")
        modules.append(module)
    row_bytes = packed.shape[1] if prepacked else (dim + 8 if bits == 8 else (dim + 1) // 2 + 8)
    del w

    first = make_bags(rng, batch, rows, avg_len, fixed)
    touched = first[0].numel() * 64 * math.ceil(row_bytes / 64)
    nsets = max(1, math.ceil(2.5 * last_level_cache_bytes() / touched) + 1) if cold else 1
    sets = [first] + [make_bags(rng, batch, rows, avg_len, fixed) for _ in range(nsets - 1)]
    out = torch.empty(batch, dim)
    set_threads(threads)

    def qembed_call(lib, module):
        # Each index set's arguments are read out of its tensors once: the timed call is the
        # C ABI call alone (a caller in C++ pays no Python at all), as the PyTorch side's is
        # its op call alone.
        forward = lib.qembed_embedding_bag_forward
        args = {id(s): (module, s[0].data_ptr(), s[0].numel(), s[1].data_ptr(), s[1].numel(), QEMBED_INT64,
                        None, out.data_ptr(), out.numel()) for s in sets}

        def call(s):
            status = forward(*args[id(s)])
            if status != 0:
                check(lib, status, "forward")
        return call

    def torch_call(s):
        idx, off = s
        return op(packed, idx, off, False, 0, False, None, None, False)

    calls = [qembed_call(lib, m) for (_, lib), m in zip(libs, modules)]
    ref = torch_call(sets[0])
    err = 0.0
    for (label, _), call in zip(libs, calls):
        # Sanity: both compute the same bags up to their different rounding of the qparams.
        call(sets[0])
        err = max(err, float((out - ref).abs().max() / max(float(ref.abs().max()), 1e-6)))
        if err > 0.05:
            raise RuntimeError(f"{name}: {label} and PyTorch disagree (relative error {err:.3g})")
        # PyTorch without FBGEMM runs the scalar fallback whose numerics the prepacked family
        # reproduces bit for bit (FBGEMM's JIT fuses in float32 instead: last-bit differences).
        if prepacked and "fbgemm" not in torch.backends.quantized.supported_engines and not torch.equal(out, ref):
            raise RuntimeError(f"{name}: {label}'s prepacked rows differ from PyTorch's fallback")

    # `rounds` rounds, each implementation in turn; the fastest round of each counts.
    t_torch, t_qembed = math.inf, [math.inf] * len(libs)
    for rnd in range(rounds):
        t_torch = min(t_torch, timed(torch_call, sets, warm_up=rnd == 0))
        t_qembed = [min(t, timed(call, sets, warm_up=rnd == 0)) for t, call in zip(t_qembed, calls)]
    for (_, lib), m in zip(libs, modules):
        lib.qembed_module_free(m)
    n = sum(s[0].numel() for s in sets) / len(sets)
    res = {"case": name, "prepacked": prepacked, "bits": bits, "rows": rows, "dim": dim, "batch": batch,
           "avg_len": avg_len, "threads": threads, "cold": cold, "index_sets": nsets, "torch_us": t_torch * 1e6,
           "torch_rows_per_s": n / t_torch, "max_rel_diff": err}
    for (label, _), t in zip(libs, t_qembed):
        res[f"{label}_us"] = t * 1e6
        res[f"{label}_rows_per_s"] = n / t
        res[f"{label}_ratio_rows_per_s"] = t_torch / t
    print(json.dumps(res), flush=True)
    return res


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--lib", action="append",
                    help="[LABEL=]PATH of a libqembed.so (default: this checkout's build); repeat to time "
                         "several builds on the same data (labels default to qembed, qembed2, ...)")
    ap.add_argument("--rows", type=int, default=4_000_000, help="rows of the FBGEMM-bench and multi-thread tables")
    ap.add_argument("--threads", type=int, default=os.cpu_count(), help="threads of the multi-thread case")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--prepacked", action="store_true",
                    help="also run each FBGEMM-bench case with qembed serving PyTorch's own packed rows")
    ap.add_argument("--cases", help="run only the cases whose name matches this regular expression "
                                     "(e.g. 'tbe|D=32')")
    ap.add_argument("--rounds", type=int, default=2,
                    help="timing rounds per case, each implementation in turn (the fastest counts); "
                         "more on a machine whose memory speed drifts, for an A/B of --lib builds")
    ap.add_argument("--csv")
    a = ap.parse_args()
    if a.rounds < 1:
        ap.error(f"--rounds must be at least 1 (got {a.rounds})")
    libs = []
    for i, spec in enumerate(a.lib or [os.path.join(here, "..", "build", "default", "runtime", "libqembed.so")]):
        label, _, path = spec.rpartition("=")
        libs.append((label or ("qembed" if i == 0 else f"qembed{i + 1}"), load_qembed(path)))
    print(json.dumps({"torch": torch.__version__, "engines": torch.backends.quantized.supported_engines,
                      "qembed_target": libs[0][1].qembed_kernel_target().decode(), "cores": os.cpu_count(),
                      "llc_bytes": last_level_cache_bytes()}), flush=True)
    dims = [64, 128] if a.quick else [32, 64, 128, 256, 512]
    results = []
    selected = re.compile(a.cases) if a.cases else None

    def case(name, *args, **kwargs):
        if selected is None or selected.search(name):
            results.append(run_case(libs, name, *args, rounds=a.rounds, **kwargs))
    for bits in (8, 4):
        case(f"tbe {bits}-bit", bits, 100_000, 128, 512, 20, 1, True, fixed=True)
    for bits in (8, 4):  # PyTorch's 4-bit op runs one thread whatever it is given
        case(f"mt {bits}-bit {a.threads} threads", bits, a.rows, 128, 4096, 20, a.threads, True, fixed=True)
    case("fbgemm 8-bit D=128 warm", 8, a.rows, 128, 10, 100, 1, False)
    for bits in (8, 4):
        for d in dims:
            case(f"fbgemm {bits}-bit D={d}", bits, a.rows, d, 10, 100, 1, True)
    # Last, so that a run cut short by a time limit has the anchors above.
    for bits in (8, 4) if a.prepacked else ():
        for d in dims:
            case(f"fbgemm {bits}-bit D={d} prepacked", bits, a.rows, d, 10, 100, 1, True, prepacked=True)
    if not results:
        ap.error(f"--cases {a.cases!r} matches no case")
    header = f"\n{'case':32s} {'torch us':>9s}" + "".join(f" {label + ' us':>12s} {'rows/s ratio':>12s}"
                                                           for label, _ in libs)
    print(header)
    for r in results:
        print(f"{r['case']:32s} {r['torch_us']:9.1f}" +
              "".join(f" {r[label + '_us']:12.1f} {r[label + '_ratio_rows_per_s']:11.2f}x" for label, _ in libs))
    if a.csv:
        with open(a.csv, "w") as f:
            keys = list(results[0].keys())
            f.write(",".join(keys) + "\n")
            for r in results:
                f.write(",".join(str(r[k]) for k in keys) + "\n")


if __name__ == "__main__":
    sys.exit(main())
