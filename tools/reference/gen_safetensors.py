#!/usr/bin/python3
"""Writes tests/data/safetensors_reference.safetensors and safetensors_reference.json for ctq's
tests/nn/test_safetensors.cpp: a safetensors file laid out as the format's specification says
(8-byte little-endian header length, JSON header, data; what safetensors.torch.save_file writes:
the `safetensors` package is not in Debian, so safetensors_io.py writes the bytes), holding
PyTorch 1.13 tensors of every dtype ctq reads (F32, F64, F16, BF16, I64, I32, I16, I8, U8, BOOL),
a scalar, an empty tensor, a name needing JSON escapes, the header's __metadata__, and tensors
stored out of name order. The JSON gives each tensor's shape and its values as float32 (what
torch's .float() makes of them), which ctq must read exactly.

Run with Debian's interpreter:  /usr/bin/python3 tools/reference/gen_safetensors.py
"""
import json
import os

import torch

from safetensors_io import write_safetensors

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "..", "..", "tests", "data")
torch.manual_seed(20261202)

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
size = write_safetensors(os.path.join(DATA, "safetensors_reference.safetensors"),
                         [(name, tensors[name]) for name in reversed(list(tensors))],  # data in reverse order
                         metadata={"format": "pt", "note": "written by tools/reference/gen_safetensors.py"})
expected = {name: {"shape": list(t.shape), "values": [float(v) for v in t.float().reshape(-1).tolist()]}
            for name, t in tensors.items()}
with open(os.path.join(DATA, "safetensors_reference.json"), "w") as f:
    json.dump(expected, f, ensure_ascii=True)
print(f"wrote {len(tensors)} tensors, {size} bytes")
