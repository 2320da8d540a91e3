#!/usr/bin/python3
"""Times PyTorch 1.13 on the model bench_dynamic_lstm times in ctq: a 2-layer nn.LSTM (input 512,
hidden 512), 32 steps, batch 1, one thread; float, and quantize_dynamic(model, {nn.LSTM}, qint8)
(default_dynamic_qconfig, per-tensor int8 weights) on each quantized engine (qnnpack, onednn).
Prints JSON: {"engines": [...], "times": {"<kind>": median seconds per forward}} with kind float,
int8_qnnpack, int8_onednn. float16 weights are not timed: Debian's PyTorch has no FBGEMM, so
linear_prepack_fp16 fails on both engines."""
import json
import warnings

import torch
import torch.nn as nn
from pytorch_timing import median_time
from torch.ao.quantization import quantize_dynamic

warnings.simplefilter("ignore")
torch.set_num_threads(1)
torch.manual_seed(0)


model = nn.LSTM(512, 512, num_layers=2).eval()
x = torch.randn(32, 1, 512)
times = {"float": median_time(lambda: model(x), min_seconds=0.5)}
engines = [e for e in ("qnnpack", "onednn") if e in torch.backends.quantized.supported_engines]
for engine in engines:
    torch.backends.quantized.engine = engine
    q = quantize_dynamic(model, {nn.LSTM}, dtype=torch.qint8)
    times[f"int8_{engine}"] = median_time(lambda: q(x), min_seconds=0.5)
print(json.dumps({"torch_version": torch.__version__, "engines": engines, "times": times}))
