#!/usr/bin/python3
"""Writes tests/data/quant_modules_reference.json: reference vectors for ctq's Quant modules
(include/ctq/tensor_quant/quant_modules.hpp), the counterparts of NVIDIA pytorch_quantization's
nn.QuantLinear, QuantConv2d, QuantConvTranspose2d, QuantMaxPool2d and QuantAdaptiveAvgPool2d
(tools/pytorch-quantization/pytorch_quantization/nn/modules/ in the NVIDIA/TensorRT repository).

pytorch-quantization is not installed here (it needs CUDA to build). The classes below are ctq's
own transcription of what NVIDIA's modules compute on the CPU, run on PyTorch 1.13:
  - TensorQuantizer.forward (nn/modules/tensor_quantizer.py): disabled -> x; calibrating -> the
    MaxCalibrator collects x (running max of reduce_amax, calib/max.py); quantizing -> amax from
    the `_amax` buffer, or reduce_amax(x) over the axes not kept (keepdims), then
    fake_tensor_quant (tensor_quant.py, CPU "legacy" path: _tensor_quant(x, amax) / scale with
    scale = max_bound / amax in float32, q = clamp(round_half_even(x * scale), min, max)).
    The descriptors used are QUANT_DESC_8BIT_PER_TENSOR (inputs) and axis (0) (weights), both
    narrow_range False (range [-128, 127]).
  - QuantLinear / QuantConv2d / QuantConvTranspose2d forward: F.linear / F.conv2d /
    F.conv_transpose2d of input_quantizer(x) and weight_quantizer(weight), with the float bias.
  - Quant pooling forward: the float pooling of input_quantizer(x).

Tensors are written in ctq's layouts: activations channels last (x, y of convs as NHWC), weights in
PyTorch's layout (ctq keeps it). The network case also checks that every activation quantized
downstream of float arithmetic (conv, pooling) lies at least MARGIN code units away from a rounding
tie, so an implementation whose sums differ in the last bits still picks the same codes: the network
is built from the first seed from NET_SEED that keeps that margin (recorded as "seed").

Run with Debian's interpreter:  /usr/bin/python3 tools/reference/gen_quant_modules.py

Case format (tensors: {"shape", "data"} with data = base64 of little-endian float32, row-major):
  {"op": "linear" | "conv2d" | "conv_transpose2d", "name", "params" {...}, "weight", "bias" (or null),
   "calib" (list of tensors; empty: dynamic amax, no calibration), "x", "input_amax" (tensor, shape []),
   "weight_amax" (tensor, keepdims shape; both the amax used: calibrated, or max |.| of this x / weight), "xq", "wq" (the fake-quantized operands), "y"}
  {"op": "net", "name", "conv_weight", "conv_bias", "fc_weight", "fc_bias", "calib" (list),
   "amax" {quantizer path: tensor}, "tests": [{"x", "fc_input_q", "y"}], "seed", "min_margin"}
"""
import json
import os

import numpy as np
import torch
import torch.nn.functional as F

from refdata import b64

torch.set_num_threads(1)
OUT = os.path.join(os.path.dirname(__file__), "..", "..", "tests", "data", "quant_modules_reference.json")
MARGIN = 2e-3  # code units; the float error of the sums feeding a quantizer is below 2e-4 codes here


def tensor(t):
    return {"shape": list(t.shape), "data": b64(t.contiguous())}


def nhwc(t):
    return t.permute(0, 2, 3, 1).contiguous()


# --- NVIDIA's TensorQuantizer on the CPU (transcribed) -------------------------------------------

def reduce_amax(x, keep=None):
    """utils/reduce_amax.py with keepdims: max |x| over every axis not in `keep`."""
    out = x.abs()
    if keep is None:
        return torch.max(out)
    for d in range(x.dim()):
        if d not in keep:
            out = torch.max(out, dim=d, keepdim=True)[0]
    return out


def fake_tensor_quant(x, amax, num_bits=8, narrow_range=False):
    """tensor_quant.py _tensor_quant / legacy_quant_func (signed)."""
    max_bound = torch.tensor(2.0 ** (num_bits - 1) - 1.0)
    min_bound = -max_bound if narrow_range else -max_bound - 1
    scale = max_bound / amax
    epsilon = 1. / (1 << 24)
    zero = amax <= epsilon
    scale = torch.where(zero, torch.zeros_like(scale), scale)
    q = torch.clamp((x * scale).round_(), min_bound, max_bound)
    scale = torch.where(zero, torch.ones_like(scale), scale)
    return q / scale


def margin(x, amax):
    """Distance of x * scale from the nearest rounding tie (k + 0.5), in code units, over values
    that are not clamped."""
    scale = torch.tensor(127.0) / amax
    v = (x * scale).double()
    inside = (v > -128.5) & (v < 127.5)
    frac = (v - torch.floor(v) - 0.5).abs()
    return float(frac[inside].min()) if bool(inside.any()) else 1.0


class Quantizer:
    def __init__(self, keep=None):
        self.keep = keep
        self.amax = None  # the _amax buffer
        self.calib_amax = None
        self.calib = False
        self.quant = True

    def __call__(self, x):
        if self.calib:
            local = reduce_amax(x, self.keep)
            self.calib_amax = local if self.calib_amax is None else torch.max(self.calib_amax, local)
        if not self.quant:
            return x
        amax = self.amax if self.amax is not None else reduce_amax(x, self.keep)
        return fake_tensor_quant(x, amax)

    def load_calib_amax(self):
        self.amax = self.calib_amax.clone()


class QuantModule:
    def __init__(self, weight, bias, op, **params):
        self.weight, self.bias, self.op, self.params = weight, bias, op, params
        self.input_quantizer = Quantizer()
        self.weight_quantizer = Quantizer(keep=[0])

    def quantizers(self):
        return [self.input_quantizer, self.weight_quantizer]

    def operands(self, x):
        return self.input_quantizer(x), self.weight_quantizer(self.weight)

    def __call__(self, x):
        xq, wq = self.operands(x)
        return self.op(xq, wq, self.bias, **self.params)


def calibrate(quantizers, run, batches):
    """NVIDIA's collect_stats / compute_amax: calibrate with quantization off, then load max amax."""
    for q in quantizers:
        q.quant, q.calib = False, True
    for b in batches:
        run(b)
    for q in quantizers:
        q.quant, q.calib = True, False
        q.load_calib_amax()


# --- single layers --------------------------------------------------------------------------------

def layer_case(name, op, make, params, weight, bias, x, calib, conv):
    m = make(weight, bias)
    if calib:
        calibrate(m.quantizers(), m, calib)
    xq, wq = m.operands(x)
    y = m(x)
    to_ctq = nhwc if conv else (lambda t: t)
    return {"op": op, "name": name, "params": params, "weight": tensor(weight),
            "bias": tensor(bias) if bias is not None else None,
            "calib": [tensor(to_ctq(b)) for b in calib], "x": tensor(to_ctq(x)),
            "input_amax": tensor(m.input_quantizer.amax if m.input_quantizer.amax is not None else reduce_amax(x)),
            "weight_amax": tensor(m.weight_quantizer.amax if m.weight_quantizer.amax is not None
                                  else reduce_amax(weight, [0])),
            "xq": tensor(to_ctq(xq)), "wq": tensor(wq), "y": tensor(to_ctq(y))}


cases = []
g = torch.Generator().manual_seed(20261202)


def randn(*shape, scale=1.0):
    return torch.randn(*shape, generator=g) * scale


# QuantLinear(7, 5): dynamic amax on a rank-2 input; calibrated (3 batches) on a rank-3 input
w, b = randn(5, 7, scale=0.4), randn(5, scale=0.1)
lin = lambda w_, b_: QuantModule(w_, b_, F.linear)
cases.append(layer_case("linear_dynamic", "linear", lin, {"in": 7, "out": 5, "bias": True}, w, b,
                        randn(4, 7, scale=2.0), [], conv=False))
w, b = randn(5, 7, scale=0.4), randn(5, scale=0.1)
cases.append(layer_case("linear_calibrated_rank3", "linear", lin, {"in": 7, "out": 5, "bias": True}, w, b,
                        randn(2, 3, 7, scale=1.5), [randn(2, 3, 7, scale=s) for s in (1.0, 2.0, 1.2)],
                        conv=False))
w = randn(6, 9, scale=0.3)
cases.append(layer_case("linear_no_bias", "linear", lin, {"in": 9, "out": 6, "bias": False}, w, None,
                        randn(3, 9), [], conv=False))

# QuantConv2d(3, 4, 3, padding 1): dynamic; QuantConv2d(4, 6, 3, stride 2, padding 1, groups 2, no
# bias): calibrated
w, b = randn(4, 3, 3, 3, scale=0.3), randn(4, scale=0.1)
p = {"in": 3, "out": 4, "k": 3, "stride": 1, "padding": 1, "groups": 1, "bias": True}
cases.append(layer_case("conv2d_dynamic", "conv2d",
                        lambda w_, b_: QuantModule(w_, b_, F.conv2d, stride=1, padding=1, groups=1), p, w, b,
                        randn(2, 3, 6, 5), [], conv=True))
w = randn(6, 2, 3, 3, scale=0.3)
p = {"in": 4, "out": 6, "k": 3, "stride": 2, "padding": 1, "groups": 2, "bias": False}
cases.append(layer_case("conv2d_grouped_calibrated", "conv2d",
                        lambda w_, b_: QuantModule(w_, b_, F.conv2d, stride=2, padding=1, groups=2), p, w, None,
                        randn(2, 4, 7, 7), [randn(2, 4, 7, 7, scale=s) for s in (1.0, 1.8)], conv=True))

# QuantConvTranspose2d(4, 3, 3, stride 2, padding 1, output_padding 1): weight [In][Out][k][k],
# per-channel amax on axis 0 (the input channel), as NVIDIA's descriptor
w, b = randn(4, 3, 3, 3, scale=0.3), randn(3, scale=0.1)
p = {"in": 4, "out": 3, "k": 3, "stride": 2, "padding": 1, "output_padding": 1, "bias": True}
cases.append(layer_case("conv_transpose2d_dynamic", "conv_transpose2d",
                        lambda w_, b_: QuantModule(w_, b_, F.conv_transpose2d, stride=2, padding=1, output_padding=1),
                        p, w, b, randn(2, 4, 4, 3), [], conv=True))

# --- the network: Sequential(QuantConv2d(2, 4, 3, padding 1), ReLU, QuantMaxPool2d(2),
#     QuantAdaptiveAvgPool2d(2), Flatten, QuantLinear(16, 3)) --------------------------------------


class Net:
    def __init__(self, cw, cb, fw, fb):
        self.conv = QuantModule(cw, cb, F.conv2d, padding=1)
        self.pool_q = Quantizer()  # QuantMaxPool2d's input quantizer
        self.avg_q = Quantizer()   # QuantAdaptiveAvgPool2d's input quantizer
        self.fc = QuantModule(fw, fb, F.linear)
        self.margins = []

    def quantizers(self):
        return {"0._input_quantizer": self.conv.input_quantizer, "0._weight_quantizer": self.conv.weight_quantizer,
                "2._input_quantizer": self.pool_q, "3._input_quantizer": self.avg_q,
                "5._input_quantizer": self.fc.input_quantizer, "5._weight_quantizer": self.fc.weight_quantizer}

    def __call__(self, x, record=None):
        h = F.relu(self.conv(x))
        if self.pool_q.quant and self.pool_q.amax is not None:
            self.margins.append(margin(h, self.pool_q.amax))
        h = F.max_pool2d(self.pool_q(h), 2)
        if self.avg_q.quant and self.avg_q.amax is not None:
            self.margins.append(margin(h, self.avg_q.amax))
        h = torch.flatten(F.adaptive_avg_pool2d(self.avg_q(h), 2), 1)
        if self.fc.input_quantizer.quant and self.fc.input_quantizer.amax is not None:
            self.margins.append(margin(h, self.fc.input_quantizer.amax))
        if record is not None:
            record["fc_input_q"] = tensor(self.fc.input_quantizer(h))
        return self.fc(h)


def build_net(seed):
    """The network, its calibration and test batches from one seed; (net, calib, tests)."""
    global g
    g = torch.Generator().manual_seed(seed)
    cw, cb = randn(4, 2, 3, 3, scale=0.4), randn(4, scale=0.1)
    fw, fb = randn(3, 16, scale=0.3), randn(3, scale=0.1)
    net = Net(cw, cb, fw, fb)
    calib = [randn(2, 2, 8, 8, scale=s) for s in (1.0, 1.5, 0.8, 1.2)]
    calibrate(list(net.quantizers().values()), net, calib)
    tests = []
    for s in (1.0, 2.0):
        x = randn(2, 2, 8, 8, scale=s)
        rec = {"x": tensor(nhwc(x))}
        rec["y"] = tensor(net(x, rec))
        tests.append(rec)
    return net, calib, tests


# the first seed from NET_SEED on whose data every downstream activation keeps MARGIN from a tie
NET_SEED = 7000
for seed in range(NET_SEED, NET_SEED + 100):
    net, calib, tests = build_net(seed)
    if min(net.margins) >= MARGIN:
        break
min_margin = min(net.margins)
assert min_margin >= MARGIN, f"an activation lies {min_margin} codes from a rounding tie; change NET_SEED"
cw, cb, fw, fb = net.conv.weight, net.conv.bias, net.fc.weight, net.fc.bias
cases.append({"op": "net", "name": "conv_relu_maxpool_avgpool_linear", "conv_weight": tensor(cw),
              "conv_bias": tensor(cb), "fc_weight": tensor(fw), "fc_bias": tensor(fb),
              "calib": [tensor(nhwc(b)) for b in calib],
              "amax": {k: tensor(q.amax) for k, q in net.quantizers().items()}, "tests": tests,
              "seed": seed, "min_margin": min_margin})

with open(OUT, "w") as f:
    json.dump({"generator": "tools/reference/gen_quant_modules.py", "torch_version": torch.__version__,
               "numpy_version": np.__version__, "cases": cases}, f, separators=(",", ":"))
    f.write("\n")
print(f"wrote {os.path.relpath(OUT)}: {len(cases)} cases; network seed {seed}, min margin {min_margin:.4f} codes")
