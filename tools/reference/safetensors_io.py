"""A writer of the safetensors format for the scripts here (the `safetensors` package is not in
Debian): an 8-byte little-endian header length, a JSON header {"__metadata__": {...}, name:
{"dtype", "shape", "data_offsets": [begin, end]}, ...} padded with spaces to a multiple of 8,
then each tensor's bytes, row-major little-endian, in the order given (offsets, not order,
locate the tensors). What safetensors.torch.save_file writes, less its sorting of names.
"""
import json
import struct

import torch

DTYPES = {torch.float32: "F32", torch.float64: "F64", torch.float16: "F16", torch.bfloat16: "BF16",
          torch.int64: "I64", torch.int32: "I32", torch.int16: "I16", torch.int8: "I8", torch.uint8: "U8",
          torch.bool: "BOOL"}


def write_safetensors(path, tensors, metadata=None):
    """Writes (name, tensor) pairs, data in that order; returns the file's size in bytes."""
    header = {} if metadata is None else {"__metadata__": dict(metadata)}
    blobs = []
    offset = 0
    for name, t in tensors:
        t = t.detach().contiguous()
        flat = t.reshape(-1)  # a scalar's one value; the bytes of a tensor do not depend on its shape
        raw = flat.numpy().tobytes() if t.dtype == torch.bool else flat.view(torch.uint8).numpy().tobytes()
        header[name] = {"dtype": DTYPES[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    text = json.dumps(header).encode("utf-8")
    text += b" " * ((8 - (8 + len(text)) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for b in blobs:
            f.write(b)
    return 8 + len(text) + offset
