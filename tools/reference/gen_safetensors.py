#!/usr/bin/python3
"""Writes tests/data/safetensors_reference.safetensors and safetensors_reference.json for ctq's
tests/nn/test_safetensors.cpp: a safetensors file laid out as the format's specification says
(8-byte little-endian header length, JSON header, data; what safetensors.torch.save_file writes:
the `safetensors` package is not in Debian, so this script writes the bytes itself), holding
PyTorch 1.13 tensors of every dtype ctq reads (F32, F64, F16, BF16, I64, I32, I16, I8, U8, BOOL),
a scalar, an empty tensor, a name needing JSON escapes, the header's __metadata__, and tensors
stored out of name order. The JSON gives each tensor's shape and its values as float32 (what
torch's .float() makes of them), which ctq must read exactly.

Run with Debian's interpreter:  /usr/bin/python3 tools/reference/gen_safetensors.py
"""
import json
import os
import struct

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "..", "..", "tests", "data")
torch.manual_seed(20261202)

DTYPES = {torch.float32: "F32", torch.float64: "F64", torch.float16: "F16", torch.bfloat16: "BF16",
          torch.int64: "I64", torch.int32: "I32", torch.int16: "I16", torch.int8: "I8", torch.uint8: "U8",
          torch.bool: "BOOL"}
tensors = {
    "features.0.weight": torch.randn(4, 1, 3, 3),
    "features.0.bias": torch.randn(4).double(),
    "fc.weight": (torch.randn(3, 5) * 300).half(),   # includes values that round in float16
    "fc.bias": torch.randn(3).bfloat16(),
    "bn.num_batches_tracked": torch.tensor(12345678901, dtype=torch.int64),  # a scalar, shape []
    "ints.i32": torch.tensor([-2147483648, 2147483647, 0], dtype=torch.int32),
    "ints.i16": torch.tensor([-32768, 7, 32767], dtype=torch.int16),
    "ints.i8": torch.tensor([[-128, 127], [0, -1]], dtype=torch.int8),
    "ints.u8": torch.tensor([0, 200, 255], dtype=torch.uint8),
    "mask": torch.tensor([True, False, True]),
    "empty": torch.zeros(0, 3),
    "odd \"name\"\\with\tescapes \u00e9": torch.tensor([1.5, -2.25]),
}
header = {"__metadata__": {"format": "pt", "note": "written by tools/reference/gen_safetensors.py"}}
blobs = []
offset = 0
for name in reversed(list(tensors)):  # data in reverse order: offsets, not order, locate tensors
    t = tensors[name].contiguous()
    flat = t.reshape(-1)  # a scalar's one value; the bytes of a tensor do not depend on its shape
    raw = flat.numpy().tobytes() if t.dtype == torch.bool else flat.view(torch.uint8).numpy().tobytes()
    header[name] = {"dtype": DTYPES[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(raw)]}
    blobs.append(raw)
    offset += len(raw)
text = json.dumps(header).encode("utf-8")
text += b" " * ((8 - (8 + len(text)) % 8) % 8)
with open(os.path.join(DATA, "safetensors_reference.safetensors"), "wb") as f:
    f.write(struct.pack("<Q", len(text)))
    f.write(text)
    for b in blobs:
        f.write(b)
expected = {name: {"shape": list(t.shape), "values": [float(v) for v in t.float().reshape(-1).tolist()]}
            for name, t in tensors.items()}
with open(os.path.join(DATA, "safetensors_reference.json"), "w") as f:
    json.dump(expected, f, ensure_ascii=True)
print(f"wrote {len(tensors)} tensors, {8 + len(text) + offset} bytes")
