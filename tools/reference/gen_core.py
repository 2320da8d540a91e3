#!/usr/bin/python3
"""Writes tests/data/core_reference.json: inputs and PyTorch 1.13's outputs for ctq's core
numerics (quantize, dequantize, fake-quantize and its gradient mask, dynamic quantization,
requantize, float16 conversion).

Run with Debian's interpreter, which has python3-torch:  /usr/bin/python3 tools/reference/gen_core.py
The output is deterministic (fixed seeds); see tools/reference/README.md.
"""
import json
import os
import sys

import numpy as np
import torch

from refdata import flist

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "..", "tests", "data", "core_reference.json")

DTYPES = {"quint8": torch.quint8, "qint8": torch.qint8, "qint32": torch.qint32, "quint4x2": torch.quint4x2}
RANGES = {"quint8": (0, 255), "qint8": (-128, 127), "qint32": (-(2**31), 2**31 - 1), "quint4x2": (0, 15)}


def ilist(t):
    return [int(v) for v in t.reshape(-1).tolist()]


def fscale(s):
    """Scales are float32 values: ctq stores float scales, PyTorch uses them as float too."""
    return float(np.float32(s))


cases = []
rng = np.random.default_rng(20261123)


def randn(shape, std=1.0):
    return torch.from_numpy((rng.standard_normal(shape) * std).astype(np.float32))


def boundary_inputs(scale, zp, qmin, qmax, extra=()):
    """Values on exact .5 boundaries of x / scale (ties to even), around the clamping limits,
    negative zero, huge and tiny values."""
    s = np.float32(scale)
    k = np.arange(-6, 7, dtype=np.float32)
    vals = list((k + np.float32(0.5)) * s) + list(k * s)
    vals += [(qmin - zp - 0.5) * s, (qmin - zp - 1) * s, (qmax - zp + 0.5) * s, (qmax - zp + 1) * s,
             (qmax - zp) * s, (qmin - zp) * s]
    vals += [-0.0, 0.0, 1e-30, -1e-30, 1.4e-45, 3.0e38, -3.0e38, 1e12, -1e12]
    vals += list(extra)
    return torch.tensor(np.array(vals, dtype=np.float32))


# --- quantize_per_tensor / dequantize ------------------------------------------------------------
def add_quantize_per_tensor(name, x, scale, zp, dtype):
    q = torch.quantize_per_tensor(x, scale, zp, DTYPES[dtype])
    case = {"op": "quantize_per_tensor", "name": name, "dtype": dtype, "shape": list(x.shape),
            "x": flist(x), "scale": scale, "zero_point": zp, "q": ilist(q.int_repr())}
    if dtype != "quint4x2":
        case["dq"] = flist(q.dequantize())
    cases.append(case)


per_tensor_params = {
    "quint8": [(0.1, 128), (0.02, 0), (1.0, 255), (0.0078125, 3), (3.7, 77), (1e-3, 200)],
    "qint8": [(0.1, 0), (0.05, -20), (1.0, 127), (0.0039215686, -128), (2.5, 5), (1e-3, 1)],
    "qint32": [(0.1, 0), (1e-4, 17), (2.0, -1000), (0.5, 2**31 - 1)],
    "quint4x2": [(0.1, 8), (0.5, 0), (0.25, 15), (1.7, 3)],
}
for dtype, plist in per_tensor_params.items():
    qmin, qmax = RANGES[dtype]
    for i, (s, zp) in enumerate(plist):
        s = fscale(s)
        if dtype == "qint32":
            bx = boundary_inputs(s, zp, -60, 60)  # the int32 limits are far outside float precision here
            bx = bx[bx.abs() < 1e11]  # PyTorch's int64 cast of huge values is implementation-defined
        else:
            bx = boundary_inputs(s, zp, qmin, qmax)
        add_quantize_per_tensor(f"{dtype}_boundaries_{i}", bx, s, zp, dtype)
        add_quantize_per_tensor(f"{dtype}_random_{i}", randn((3, 5, 7), std=s * (qmax - qmin if dtype != "qint32" else 100) / 4), s, zp, dtype)

# Lengths that exercise PyTorch's vector body and scalar tail alike.
for n in (1, 7, 8, 9, 31, 33, 64, 65):
    add_quantize_per_tensor(f"quint8_len{n}", randn((n,), 2.0), fscale(0.03), 120, "quint8")

# dequantize of every stored value
for dtype, (s, zp) in [("quint8", (0.1, 128)), ("quint8", (0.0037, 0)), ("qint8", (0.05, 0)), ("qint8", (0.3, -7)),
                       ("quint4x2", (0.1, 8))]:
    s = fscale(s)
    qmin, qmax = RANGES[dtype]
    ints = torch.arange(qmin, qmax + 1, dtype=torch.int64)
    x = ((ints - zp).to(torch.float32) * s)
    add_quantize_per_tensor(f"{dtype}_all_values_{s}_{zp}", x, s, zp, dtype)


# --- quantize_per_channel -------------------------------------------------------------------------
def add_quantize_per_channel(name, x, scales, zps, axis, dtype):
    scales_t = torch.tensor(scales, dtype=torch.float64)
    zps_t = torch.tensor(zps, dtype=torch.int64)
    q = torch.quantize_per_channel(x, scales_t, zps_t, axis, DTYPES[dtype])
    cases.append({"op": "quantize_per_channel", "name": name, "dtype": dtype, "shape": list(x.shape),
                  "x": flist(x), "scales": scales, "zero_points": zps, "axis": axis,
                  "q": ilist(q.int_repr()), "dq": flist(q.dequantize())})


for dtype in ("quint8", "qint8", "qint32"):
    qmin, qmax = RANGES[dtype]
    for shape in [(4, 3, 5), (2, 6), (3, 2, 2, 4)]:
        for axis in range(len(shape)):
            c = shape[axis]
            scales = [fscale(v) for v in rng.uniform(0.005, 0.2, c)]
            if dtype == "qint32":
                zps = [int(v) for v in rng.integers(-100, 100, c)]
            else:
                zps = [int(v) for v in rng.integers(qmin, qmax + 1, c)]
            x = randn(shape, 3.0)
            # put exact ties into the first slice of each channel
            add_quantize_per_channel(f"{dtype}_{'x'.join(map(str, shape))}_axis{axis}", x, scales, zps, axis, dtype)


def add_quantize_per_channel_float(name, x, scales, zps, axis, dtype):
    q = torch.quantize_per_channel(x, torch.tensor(scales, dtype=torch.float32),
                                   torch.tensor(zps, dtype=torch.float32), axis, DTYPES[dtype])
    case = {"op": "quantize_per_channel_float_qparams", "name": name, "dtype": dtype, "shape": list(x.shape),
            "x": flist(x), "scales": scales, "zero_points": zps, "axis": axis, "q": ilist(q.int_repr())}
    case["dq"] = flist(q.dequantize())
    cases.append(case)


for dtype in ("quint8", "quint4x2"):
    qmin, qmax = RANGES[dtype]
    for shape, axis in [((6, 8), 0), ((5, 4), 0), ((3, 10), 0), ((4, 6), 1)]:
        x = randn(shape, 1.0)
        # row-wise min/max parameters as PyTorch's float_qparams observer produces them
        mins = x.amin(dim=1 - axis).numpy()
        maxs = x.amax(dim=1 - axis).numpy()
        scales = [fscale(v) for v in (maxs - mins) / (qmax - qmin)]
        zps = [float(np.float32(-mn / s)) for mn, s in zip(mins, scales)]
        add_quantize_per_channel_float(f"{dtype}_{shape[0]}x{shape[1]}_axis{axis}", x, scales, zps, axis, dtype)


# --- fake quantize (forward and the straight-through gradient) -----------------------------------
def add_fake_quant_per_tensor(name, x, scale, zp, qmin, qmax):
    xr = x.clone().requires_grad_(True)
    y = torch.fake_quantize_per_tensor_affine(xr, scale, zp, qmin, qmax)
    g = randn(x.shape)
    y.backward(g)
    cases.append({"op": "fake_quantize_per_tensor", "name": name, "shape": list(x.shape), "x": flist(x),
                  "scale": scale, "zero_point": zp, "quant_min": qmin, "quant_max": qmax,
                  "y": flist(y), "grad_output": flist(g), "grad_input": flist(xr.grad)})


for i, (s, zp, qmin, qmax) in enumerate([(0.1, 128, 0, 255), (0.05, 0, -128, 127), (0.2, 64, 0, 127),
                                        (0.01, 0, -127, 127), (1.0, 3, 0, 15), (0.0123, -5, -64, 63),
                                        (0.5, 0, 0, 255), (0.025, 10, 0, 255)]):
    s = fscale(s)
    bx = boundary_inputs(s, zp, qmin, qmax)
    bx = bx[bx.abs() < 1e11]
    add_fake_quant_per_tensor(f"boundaries_{i}", bx, s, zp, qmin, qmax)
    add_fake_quant_per_tensor(f"random_{i}", randn((4, 9), s * (qmax - qmin) / 3), s, zp, qmin, qmax)


def add_fake_quant_per_channel(name, x, scales, zps, axis, qmin, qmax):
    xr = x.clone().requires_grad_(True)
    y = torch.fake_quantize_per_channel_affine(xr, torch.tensor(scales, dtype=torch.float32),
                                               torch.tensor(zps, dtype=torch.int32), axis, qmin, qmax)
    g = randn(x.shape)
    y.backward(g)
    cases.append({"op": "fake_quantize_per_channel", "name": name, "shape": list(x.shape), "x": flist(x),
                  "scales": scales, "zero_points": zps, "axis": axis, "quant_min": qmin, "quant_max": qmax,
                  "y": flist(y), "grad_output": flist(g), "grad_input": flist(xr.grad)})


for qmin, qmax in [(-128, 127), (0, 255), (-127, 127)]:
    for shape in [(4, 3, 5), (6, 7), (2, 3, 4, 5)]:
        for axis in range(len(shape)):
            c = shape[axis]
            scales = [fscale(v) for v in rng.uniform(0.01, 0.1, c)]
            zps = [int(v) for v in rng.integers(qmin, qmax + 1, c)] if qmin == 0 else [0] * c
            x = randn(shape, 4.0)
            add_fake_quant_per_channel(f"{qmin}_{qmax}_{'x'.join(map(str, shape))}_axis{axis}", x, scales, zps,
                                       axis, qmin, qmax)


# --- dynamic quantization -------------------------------------------------------------------------
dynamic_inputs = {
    "mixed": randn((4, 16), 1.5),
    "all_positive": randn((3, 11)).abs() + 0.25,
    "all_negative": -(randn((3, 11)).abs() + 0.25),
    "all_zero": torch.zeros(2, 5),
    "constant": torch.full((7,), 3.25),
    "tiny_range": randn((5, 5), 1e-6),
    "tiny_positive": randn((9,), 1e-7).abs(),
    "huge": randn((4, 4), 1e6),
    "single": torch.tensor([-0.75]),
    "asymmetric": torch.cat([randn((20,), 0.1), torch.tensor([5.0])]),
    "ties": torch.tensor([-1.0, 1.0, 0.5, -0.5, 0.25, 2.0 / 3.0, 127.0 / 255.0]),
}
for engine in ("qnnpack", "onednn"):
    torch.backends.quantized.engine = engine
    for dtype in ("quint8", "qint8"):
        for reduce_range in (False, True):
            for label, x in dynamic_inputs.items():
                q = torch.quantize_per_tensor_dynamic(x, DTYPES[dtype], reduce_range)
                effective = reduce_range and engine != "qnnpack"
                cases.append({"op": "quantize_per_tensor_dynamic", "name": f"{engine}_{dtype}_rr{int(reduce_range)}_{label}",
                              "engine": engine, "dtype": dtype, "reduce_range": reduce_range,
                              "effective_reduce_range": effective, "shape": list(x.shape), "x": flist(x),
                              "scale": fscale(q.q_scale()), "scale_double": q.q_scale(),
                              "zero_point": q.q_zero_point(), "q": ilist(q.int_repr())})
torch.backends.quantized.engine = "qnnpack"

# --- requantize: quantize(dequantize(q)) ----------------------------------------------------------
for i, (src, s1, z1, dst, s2, z2) in enumerate([("quint8", 0.1, 128, "qint8", 0.05, 0), ("quint8", 0.1, 128, "quint8", 0.2, 100),
                                               ("qint8", 0.03, 0, "quint8", 0.07, 130), ("qint8", 0.5, -3, "qint8", 0.25, 9),
                                               ("quint8", 0.02, 0, "quint8", 0.04, 0), ("qint8", 0.125, 0, "quint8", 0.0625, 128)]):
    s1, s2 = fscale(s1), fscale(s2)
    qmin, qmax = RANGES[src]
    ints = torch.arange(qmin, qmax + 1, dtype=torch.int64)
    x = (ints - z1).to(torch.float32) * s1
    q = torch.quantize_per_tensor(x, s1, z1, DTYPES[src])
    r = torch.quantize_per_tensor(q.dequantize(), s2, z2, DTYPES[dst])
    cases.append({"op": "requantize", "name": f"{src}_to_{dst}_{i}", "src_dtype": src, "src_scale": s1,
                  "src_zero_point": z1, "q_in": ilist(q.int_repr()), "dst_dtype": dst, "dst_scale": s2,
                  "dst_zero_point": z2, "q": ilist(r.int_repr())})

# --- float16 conversion ---------------------------------------------------------------------------
h_inputs = torch.tensor(np.array([0.0, -0.0, 1.0, 65504.0, 65519.0, 65520.0, 1e6, -1e6, 6.1035156e-05, 6.0e-05,
                                  5.9604645e-08, 2.9802322e-08, 2.9802326e-08, 1e-8, 0.1, 1.0 / 3.0, 2049.0, 2051.0,
                                  float("inf"), float("-inf")], dtype=np.float32))
h_inputs = torch.cat([h_inputs, randn((40,), 100.0), randn((20,), 1e-5)])
cases.append({"op": "to_float16", "name": "float16_conversions", "shape": list(h_inputs.shape), "x": flist(h_inputs),
              "bits": ilist(h_inputs.to(torch.float16).view(torch.int16).to(torch.int64) & 0xFFFF)})

os.makedirs(os.path.dirname(OUT), exist_ok=True)
with open(OUT, "w") as f:
    json.dump({"generator": "tools/reference/gen_core.py", "torch_version": torch.__version__,
               "numpy_version": np.__version__, "cases": cases}, f, separators=(",", ":"))
    f.write("\n")
counts = {}
for c in cases:
    counts[c["op"]] = counts.get(c["op"], 0) + 1
print(f"wrote {len(cases)} cases to {os.path.relpath(OUT)}: {counts}", file=sys.stderr)
