#!/usr/bin/python3
"""Times PyTorch 1.13 on the shapes bench_dynamic_linear times in ctq: nnqd.Linear (quantize_dynamic
of an nn.Linear with per_channel_dynamic_qconfig, qint8 weights, the input quantized on every call)
on each quantized engine (qnnpack, onednn) and the float nn.Linear, one thread, M = 1, 4, 16 rows,
out x in = 1024 x 1024 and 4096 x 1024 (each int8 time the better of two primitive-cache states,
see below). float16 weights are not timed: Debian's PyTorch has no
FBGEMM, so linear_prepack_fp16 fails on both engines.
Prints JSON: {"engines": [...], "times": {"<kind>/<out>/<rows>": median seconds per forward}} with
kind float, int8_qnnpack, int8_onednn."""
import json
import warnings

import torch
import torch.nn as nn
from pytorch_timing import median_time
from torch.ao.quantization import per_channel_dynamic_qconfig, quantize_dynamic

warnings.simplefilter("ignore")
torch.set_num_threads(1)
torch.manual_seed(0)
IN = 1024
OUTS = (1024, 4096)
ROWS = (1, 4, 16)


times = {}
engines = [e for e in ("qnnpack", "onednn") if e in torch.backends.quantized.supported_engines]
for out in OUTS:
    model = nn.Sequential(nn.Linear(IN, out)).eval()
    for rows in ROWS:
        x = torch.randn(rows, IN)
        times[f"float/{out}/{rows}"] = median_time(lambda: model(x))
        for engine in engines:
            # onednn builds its primitive at a model's first call and reuses it only for inputs of
            # that shape; the other shapes take a path that is faster here. PyTorch gets the better
            # of the two: a model first called with this shape, and one first called with another.
            torch.backends.quantized.engine = engine
            best = float("inf")
            for first_rows in (rows, rows + 1):
                q = quantize_dynamic(model, {nn.Linear: per_channel_dynamic_qconfig}, dtype=torch.qint8)
                with torch.no_grad():
                    q(torch.randn(first_rows, IN))
                best = min(best, median_time(lambda: q(x)))
            times[f"int8_{engine}/{out}/{rows}"] = best
print(json.dumps({"torch_version": torch.__version__, "engines": engines, "times": times}))
