#!/usr/bin/python3
"""Writes tests/data/qat_dynamic_linear_reference.json: PyTorch 1.13's dynamic QAT Linear
(torch.ao.nn.qat.dynamic.Linear built by from_float with default_dynamic_qat_qconfig, and with a
per-channel weight fake-quantizer) through two training steps, then its conversion to
nnqd.Linear on both quantized engines, for ctq's tests/nn/test_qat_dynamic_linear.cpp.

Run with Debian's interpreter, which has python3-torch:  /usr/bin/python3 tools/reference/gen_qat_dynamic_linear.py
Deterministic (fixed seed, one thread). Float arrays are lists of float32 values.

Per case ("per_tensor" / "per_channel"): "in", "out", "w0" and "b" (the float Linear), then
  step 1: "x1", "y1" = module(x1), "g1" (dL/dy), "gx1", "gw1", "gb1" (autograd), "scale1",
          "zero_point1" (the weight fake-quantizer's parameters after the forward), "wq1" (the
          fake-quantized weight);
  "w2": the weight for step 2 (w0 * 1.3: beyond the moving-average range, so some weights clip
        and their gradient is masked);
  step 2: "x2", "y2", "g2", "gx2", "gw2", "gb2", "scale2", "zero_point2", "wq2";
  "convert": {engine: {"w_int", "w_scales", "w_zero_points", "x3", "y3"}}: nnqd.Linear.from_float
        of the module after step 2 (weight w2), run on x3.
"""
import json
import os
import warnings

import torch
import torch.nn as nn
import torch.ao.nn.qat.dynamic as nnqatd
import torch.ao.nn.quantized.dynamic as nnqd
from torch.ao.quantization import QConfig, default_dynamic_fake_quant, default_dynamic_qat_qconfig
from torch.ao.quantization import default_per_channel_weight_fake_quant

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "..", "tests", "data", "qat_dynamic_linear_reference.json")
warnings.simplefilter("ignore")
torch.set_num_threads(1)
torch.manual_seed(20261202)


def fl(t):
    return [float(v) for v in t.detach().reshape(-1).tolist()]


def qparams(fq):
    return fl(fq.scale), [int(v) for v in fq.zero_point.reshape(-1).tolist()]


QCONFIGS = {
    "per_tensor": default_dynamic_qat_qconfig,
    "per_channel": QConfig(activation=default_dynamic_fake_quant, weight=default_per_channel_weight_fake_quant),
}
IN, OUT_F, ROWS = 24, 10, 5
doc = {}
for name, qconfig in QCONFIGS.items():
    fc = nn.Linear(IN, OUT_F)
    fc.qconfig = qconfig
    m = nnqatd.Linear.from_float(fc)
    case = {"in": IN, "out": OUT_F, "w0": fl(fc.weight), "b": fl(fc.bias)}
    for step in (1, 2):
        if step == 2:
            with torch.no_grad():
                m.weight.mul_(1.3)
            case["w2"] = fl(m.weight)
        m.zero_grad()
        x = torch.randn(ROWS, IN, requires_grad=True)
        y = m(x)
        g = torch.randn(ROWS, OUT_F)
        y.backward(g)
        scale, zp = qparams(m.weight_fake_quant)
        with torch.no_grad():
            fq = m.weight_fake_quant
            if fq.is_per_channel:
                wq = torch.fake_quantize_per_channel_affine(m.weight, fq.scale, fq.zero_point.int(), fq.ch_axis,
                                                            fq.quant_min, fq.quant_max)
            else:
                wq = torch.fake_quantize_per_tensor_affine(m.weight, float(fq.scale), int(fq.zero_point),
                                                           fq.quant_min, fq.quant_max)
        case.update({f"x{step}": fl(x), f"y{step}": fl(y), f"g{step}": fl(g), f"gx{step}": fl(x.grad),
                     f"gw{step}": fl(m.weight.grad), f"gb{step}": fl(m.bias.grad), f"scale{step}": scale,
                     f"zero_point{step}": zp, f"wq{step}": fl(wq)})
    masked = int((m.weight.grad == 0).sum())
    assert masked > 0, "step 2 should clip some weights"
    case["masked2"] = masked
    x3 = torch.randn(3, IN)
    case["x3"] = fl(x3)
    case["convert"] = {}
    for engine in ("qnnpack", "onednn"):
        torch.backends.quantized.engine = engine
        q = nnqd.Linear.from_float(m)
        w = q.weight()
        if w.qscheme() in (torch.per_channel_symmetric, torch.per_channel_affine):
            scales, zps = fl(w.q_per_channel_scales()), w.q_per_channel_zero_points().tolist()
        else:
            scales, zps = [float(w.q_scale())], [int(w.q_zero_point())]
        with torch.no_grad():
            y3 = q(x3)
        case["convert"][engine] = {"w_int": w.int_repr().reshape(-1).tolist(), "w_scales": scales,
                                   "w_zero_points": zps, "y3": fl(y3)}
    doc[name] = case

with open(OUT, "w") as f:
    json.dump({"torch_version": torch.__version__, "cases": doc}, f, separators=(",", ":"))
summary = ", ".join(f"{k} ({v['masked2']} weights clipped in step 2)" for k, v in doc.items())
print(f"wrote {OUT}: {summary}")
