#!/usr/bin/python3
"""Writes tests/data/pooling_reference.json: PyTorch 1.13's float max / average / adaptive average
pooling, 1-d and 2-d, for the window parameters ctq's nn::MaxPool1d/2d, AvgPool1d/2d and
AdaptiveAvgPool1d/2d take (kernel, stride, padding, dilation, ceil_mode, count_include_pad).

Inputs and outputs are channels last ([N, L, C] and [N, H, W, C]); PyTorch ran on the NCHW
permutation. Deterministic (fixed seed, one thread). Run: /usr/bin/python3 tools/reference/gen_pooling.py
"""
import json
import os

import torch
import torch.nn.functional as F

from refdata import b64

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "..", "tests", "data", "pooling_reference.json")
torch.set_num_threads(1)
torch.manual_seed(20261202)


def entry(t_cl):
    return {"shape": list(t_cl.shape), "b64": b64(t_cl)}


cases = []
# (op, dims, params): params as the ctq template arguments
specs = [
    ("max", 2, dict(k=2, s=2, p=0, d=1, ceil=False)),
    ("max", 2, dict(k=3, s=2, p=1, d=1, ceil=False)),
    ("max", 2, dict(k=3, s=2, p=1, d=1, ceil=True)),
    ("max", 2, dict(k=2, s=1, p=0, d=2, ceil=False)),
    ("avg", 2, dict(k=2, s=2, p=0, ceil=False, cip=True)),
    ("avg", 2, dict(k=3, s=2, p=1, ceil=False, cip=True)),
    ("avg", 2, dict(k=3, s=2, p=1, ceil=True, cip=False)),
    ("avg", 2, dict(k=3, s=1, p=1, ceil=False, cip=False)),
    ("adaptive", 2, dict(oh=1, ow=1)),
    ("adaptive", 2, dict(oh=3, ow=2)),
    ("max", 1, dict(k=3, s=2, p=1, d=1, ceil=False)),
    ("max", 1, dict(k=2, s=1, p=0, d=2, ceil=True)),
    ("avg", 1, dict(k=3, s=2, p=1, ceil=True, cip=True)),
    ("avg", 1, dict(k=2, s=2, p=1, ceil=False, cip=False)),
    ("adaptive", 1, dict(o=3)),
]
for op, dims, prm in specs:
    if dims == 2:
        x = torch.randn(2, 4, 7, 6)  # NCHW
        if op == "max":
            y = F.max_pool2d(x, prm["k"], prm["s"], prm["p"], prm["d"], ceil_mode=prm["ceil"])
        elif op == "avg":
            y = F.avg_pool2d(x, prm["k"], prm["s"], prm["p"], ceil_mode=prm["ceil"], count_include_pad=prm["cip"])
        else:
            y = F.adaptive_avg_pool2d(x, (prm["oh"], prm["ow"]))
        xc, yc = x.permute(0, 2, 3, 1).contiguous(), y.permute(0, 2, 3, 1).contiguous()
    else:
        x = torch.randn(2, 4, 9)  # NCL
        if op == "max":
            y = F.max_pool1d(x, prm["k"], prm["s"], prm["p"], prm["d"], ceil_mode=prm["ceil"])
        elif op == "avg":
            y = F.avg_pool1d(x, prm["k"], prm["s"], prm["p"], ceil_mode=prm["ceil"], count_include_pad=prm["cip"])
        else:
            y = F.adaptive_avg_pool1d(x, prm["o"])
        xc, yc = x.permute(0, 2, 1).contiguous(), y.permute(0, 2, 1).contiguous()
    cases.append({"op": op, "dims": dims, "params": prm, "x": entry(xc), "y": entry(yc)})

with open(OUT, "w") as f:
    json.dump({"generator": "tools/reference/gen_pooling.py", "torch_version": torch.__version__, "cases": cases}, f,
              separators=(",", ":"))
    f.write("\n")
print(f"wrote {os.path.relpath(OUT)}: {len(cases)} cases")
