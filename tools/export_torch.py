#!/usr/bin/python3
"""Exports a PyTorch reference quantized Embedding / EmbeddingBag
(torch.ao.nn.quantized.reference) to a qembed module file: safetensors with PyTorch's
state_dict names, the format qembed_module_load reads (README, "Module files").

    import torch, export_torch
    export_torch.export(module, "table.safetensors")

or, for a module saved with torch.save:

    /usr/bin/python3 tools/export_torch.py module.pt table.safetensors

Needs torch and the standard library only.
"""
import json
import struct
import sys

import torch
from torch.ao.nn.quantized.reference import Embedding as RefEmbedding
from torch.ao.nn.quantized.reference import EmbeddingBag as RefEmbeddingBag

FORMAT, FORMAT_VERSION = "qembed.module", "1"
# torch dtype -> safetensors dtype of a plain tensor.
_ST_DTYPES = {torch.float32: "F32", torch.float16: "F16", torch.uint8: "U8", torch.int8: "I8",
              torch.int32: "I32", torch.int64: "I64"}


def write_safetensors(path, tensors, metadata):
    """Writes `tensors` (a list of (name, tensor) pairs, in file order) and `metadata`
    (str -> str) as a safetensors file; the header is padded to 8 bytes as the Rust
    writer does."""
    header = {"__metadata__": metadata}
    blobs, offset = [], 0
    for name, t in tensors:
        t = t.detach().contiguous().cpu()
        if t.dtype not in _ST_DTYPES:
            raise ValueError(f"{name}: dtype {t.dtype} has no safetensors name here")
        raw = t.reshape(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b""
        header[name] = {"dtype": _ST_DTYPES[t.dtype], "shape": list(t.shape),
                        "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for raw in blobs:
            f.write(raw)


def _exact_float32(t, what):
    f = t.detach().to(torch.float32)
    if not torch.equal(f.to(t.dtype), t.detach()):
        raise ValueError(f"{what}: values are not exactly representable as float32")
    return f


def _py(v):
    """Python's own spelling, as the file stores options."""
    if v is None or isinstance(v, bool):
        return str(v)
    if isinstance(v, float):
        return repr(v)
    return str(v)


def export(module, path):
    """Writes `module` (a reference Embedding or EmbeddingBag) to `path`."""
    if not isinstance(module, (RefEmbedding, RefEmbeddingBag)):
        raise TypeError("export takes torch.ao.nn.quantized.reference.Embedding or EmbeddingBag, "
                        f"got {type(module).__name__}")
    bag = isinstance(module, RefEmbeddingBag)
    qscheme, dtype = module.weight_qscheme, module.weight_dtype
    meta = {
        "format": FORMAT, "format_version": FORMAT_VERSION,
        "module": "EmbeddingBag" if bag else "Embedding",
        "weight_qscheme": str(qscheme), "weight_dtype": str(dtype),
        "num_embeddings": str(module.num_embeddings), "embedding_dim": str(module.embedding_dim),
        "padding_idx": _py(module.padding_idx),
        "max_norm": _py(None if module.max_norm is None else float(module.max_norm)),
        "norm_type": _py(float(module.norm_type)),
        "scale_grad_by_freq": _py(bool(module.scale_grad_by_freq)),
        "sparse": _py(bool(module.sparse)),
    }
    if bag:
        meta["mode"] = module.mode
        meta["include_last_offset"] = _py(bool(module.include_last_offset))

    tensors = []
    per_channel = qscheme in (torch.per_channel_affine, torch.per_channel_affine_float_qparams)
    if qscheme is not None:
        scale = _exact_float32(module.weight_scale, "weight_scale")
        zp = module.weight_zero_point.detach()
        if qscheme == torch.per_channel_affine_float_qparams:
            zp = _exact_float32(zp, "weight_zero_point")
        else:
            zp = zp.to(torch.int64)
            if zp.numel() and int(zp.abs().max()) >= 2**31:
                raise ValueError("weight_zero_point: outside int32")
            zp = zp.to(torch.int32)
        tensors += [("weight_scale", scale), ("weight_zero_point", zp)]
        if per_channel:
            tensors.append(("weight_axis", module.weight_axis.detach().to(torch.int32).reshape(())))

    # The codes: int_repr() of the reference module's own quantized weight (its
    # quantize step, so the codes are PyTorch's), fp16 bits, or the float weight.
    if qscheme is None:
        codes = module.weight.detach().to(torch.float32)
    elif dtype == torch.float16:
        codes = module.weight.detach().to(torch.float16)
    else:
        codes = module.get_quantized_weight().int_repr()
    tensors.append(("weight", codes))
    write_safetensors(path, tensors, meta)


def main(argv):
    if len(argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    module = torch.load(argv[1])
    export(module, argv[2])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
