#!/usr/bin/python3
"""Writes tests/data/qdynamic_linear_reference.json: inputs and outputs of PyTorch 1.13's dynamically
quantized Linear and LinearReLU (nnqd.Linear / nniqd.LinearReLU built by quantize_dynamic, and
torch.ops.quantized.linear_dynamic / linear_relu_dynamic called directly) on both quantized
engines, qnnpack and onednn, for ctq's tests/nn/test_dynamic_linear.cpp.

Run with Debian's interpreter, which has python3-torch:  /usr/bin/python3 tools/reference/gen_qdynamic_linear.py
The output is deterministic (fixed seeds, one thread); see tools/reference/README.md.

Sections (float arrays are base64 of little-endian float32, weights base64 of int8 bytes):
  "models": {name: {"in", "out", "qscheme" ("per_tensor_symmetric" / "per_channel_symmetric" /
      "per_tensor_affine" / "per_channel_affine"), "w" (int_repr, [out][in]), "w_scales",
      "w_zero_points" (one each per tensor, `out` per channel), "bias" (null or `out` floats)}}.
      The module models are quantize_dynamic's (default_dynamic_qconfig / per_channel_dynamic_qconfig
      weight observers); their weights are read back from the quantized module (weight()) and are
      the same on both engines (checked). The affine models (qnnpack only: onednn rejects weight
      zero points) are quantized here and packed with linear_prepack.
  "inputs": [{"shape", "x"}]: the float inputs, [..., in] row-major, shared by the cases below.
  "int8": [{"name", "model", "engine", "relu", "via" ("module": quantize_dynamic's nnqd.Linear /
      nniqd.LinearReLU, which pass reduce_range=True; "op": linear_dynamic / linear_relu_dynamic
      with the given reduce_range, one packed weight per op), "reduce_range", "input" (index into
      "inputs"), "y" ([..., out]), "x_scale", "x_zero_point"}]
      x_scale (a double, as PyTorch keeps it) / x_zero_point: the input's parameters from
      torch._choose_qparams_per_tensor(x, reduce_range and engine == onednn), i.e. what the engine
      uses (qnnpack ignores reduce_range).
  "fp16_models": {name: {"in", "out", "w" (float32 weight [out][in], PyTorch's init; the 24 x 40
      model has weights beyond float16's range and subnormal ones), "w_fp16" (the float16 weights,
      saturated: base64 of little-endian binary16), "bias" (null or floats)}}.
  "fp16": [{"name", "model", "relu", "input", "y"}]
      PyTorch 1.13 here has no FBGEMM, and linear_prepack_fp16 is unsupported on qnnpack and onednn,
      so nnqd.Linear with float16 weights cannot run: "y" is what FBGEMM's fp16 path computes by
      definition: the weights clamped to +-65504 (HandleWeightsSaturation, through
      torch._saturate_weight_to_fp16) and rounded to float16, then F.linear(x, w16.float(), bias)
      in float32 (then relu), computed by PyTorch's
      float GEMM, whose summation order is not FBGEMM's (nor ctq's): a test compares within the
      float32 summation error bound, not bitwise.

After writing, the script checks every int8 output against numpy models of the two engines and
asserts that all are equal (int64 acc = sum((q - x_zp) * (w - w_zp)); every step below one float32
rounding; found by testing candidate formulas against PyTorch, see docs/numerics.md):
  qnnpack: q = clamp(nearbyint(x * (1.0f / float(s))) + zp, 0, 255)          (ATen's quantize)
           y = float(acc) * float(w_s * float(s)) + bias; relu: max(y, 0)
  onednn:  sx = float(1.0 / s), sw = float(1.0 / (double)w_s), bs = float(sx * sw)
           q = clamp(nearbyint(float(x * sx) + float(zp)), 0, 255)          (oneDNN's reorder)
           y = (float(acc) + float(bias * bs)) * float(1.0f / bs); relu: max(y, 0)
Cases named "ties ..." have inputs placed at and next to the rounding ties of x * (1 / s) so that
the candidate quantizations (product or quotient, reciprocal in float or double, zero point added
before or after rounding, FMA) give different outputs.
"""
import base64
import json
import os
import warnings
from collections import OrderedDict

import numpy as np
import torch
import torch.nn as nn
import torch.ao.nn.intrinsic as nni
from torch.ao.quantization import default_dynamic_qconfig, per_channel_dynamic_qconfig, quantize_dynamic

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "..", "tests", "data", "qdynamic_linear_reference.json")
SEED = 20261202
ENGINES = ("qnnpack", "onednn")
warnings.simplefilter("ignore")
torch.set_num_threads(1)
torch.manual_seed(SEED)
rng = np.random.default_rng(SEED)
F = np.float32


def b64f(a):
    return base64.b64encode(np.ascontiguousarray(np.asarray(a, dtype="<f4").reshape(-1)).tobytes()).decode("ascii")


def b64i8(a):
    return base64.b64encode(np.ascontiguousarray(np.asarray(a, dtype=np.int8).reshape(-1)).tobytes()).decode("ascii")


def unb64f(s):
    return np.frombuffer(base64.b64decode(s), dtype="<f4").astype(F)


def fl(a):
    return [float(v) for v in np.asarray(a, dtype=F).reshape(-1)]


models = OrderedDict()
fp16_models = OrderedDict()
inputs = []
int8_cases = []
fp16_cases = []


# --- inputs ---------------------------------------------------------------------------------------
def randn_input(shape, scale=1.0, shift=0.0):
    return (rng.standard_normal(shape) * scale + shift).astype(F)


def tie_input(shape, reduce):
    """Values at and a few ulps next to (j + 0.5) / inv for the scale PyTorch will choose (the range
    is pinned by the first two elements), for both reciprocals (float and double)."""
    lo = -float(10 ** rng.uniform(-1.5, 1.5))
    hi = float(10 ** rng.uniform(-1.5, 1.5))
    x = rng.uniform(lo, hi, shape).astype(F)
    x.flat[0], x.flat[1] = lo, hi
    s, _ = torch._choose_qparams_per_tensor(torch.from_numpy(x), reduce)
    invs = [F(1.0 / s), F(1) / F(s)]
    flat = x.reshape(-1)
    for i in range(2, flat.size):
        inv = invs[i % 2]
        v = F((rng.integers(-60, 60) + 0.5) / np.float64(inv))
        for _ in range(abs(int(rng.integers(-2, 3)))):
            v = np.nextafter(v, F(np.inf) if i % 3 else F(-np.inf))
        flat[i] = min(max(v, F(lo)), F(hi))
    return flat.reshape(shape)


# --- module cases ---------------------------------------------------------------------------------
QCONFIGS = {"per_tensor_symmetric": default_dynamic_qconfig, "per_channel_symmetric": per_channel_dynamic_qconfig}


def float_model(k, n, bias, relu):
    lin = nn.Linear(k, n, bias=bias)
    return nn.Sequential(OrderedDict(fc=nni.LinearReLU(lin, nn.ReLU()) if relu else lin)).eval()


def add_module_model(name, k, n, qscheme, bias=True):
    """A float Linear (PyTorch's init), quantized by quantize_dynamic on each engine, with and without
    a fused ReLU. Returns {(engine, relu): quantized model}."""
    base = float_model(k, n, bias, False)
    quantized = {}
    for relu in (False, True):
        fm = float_model(k, n, bias, relu)
        (fm.fc[0] if relu else fm.fc).load_state_dict(base.fc.state_dict())
        for engine in ENGINES:
            torch.backends.quantized.engine = engine
            qc = QCONFIGS[qscheme]
            quantized[(engine, relu)] = quantize_dynamic(fm, {nn.Linear: qc, nni.LinearReLU: qc}, dtype=torch.qint8)
    ref = None
    for (engine, relu), qm in quantized.items():
        w = qm.fc.weight()
        if w.qscheme() in (torch.per_channel_affine, torch.per_channel_symmetric):
            scales, zps = w.q_per_channel_scales().numpy(), w.q_per_channel_zero_points().numpy()
        else:
            scales, zps = np.array([w.q_scale()]), np.array([w.q_zero_point()])
        b = qm.fc.bias()
        if not bias:  # qnnpack's packed parameters hold zeros for a missing bias
            assert b is None or not b.any(), name
            b = None
        entry = {"in": k, "out": n, "qscheme": qscheme, "w": b64i8(w.int_repr().numpy()), "w_scales": fl(scales),
                 "w_zero_points": [int(z) for z in zps], "bias": None if b is None else fl(b.detach().numpy())}
        if ref is None:
            ref = entry
        assert entry == ref, f"{name}: the quantized weight differs between engines / relu"
    models[name] = ref
    return quantized


def add_input(x):
    inputs.append({"shape": list(x.shape), "x": b64f(x)})
    return len(inputs) - 1


def run_module(name, model, quantized, x, tag="", engines=ENGINES, relus=(False, True)):
    ix = add_input(x)
    for (engine, relu), qm in quantized.items():
        if engine not in engines or relu not in relus:
            continue
        torch.backends.quantized.engine = engine
        xt = torch.from_numpy(x)
        with torch.no_grad():
            y = qm(xt).numpy()
        s, zp = torch._choose_qparams_per_tensor(xt, engine == "onednn")
        int8_cases.append({"name": f"{name}{tag} {engine}{' relu' if relu else ''}", "model": model, "engine": engine,
                           "relu": relu, "via": "module", "reduce_range": True, "input": ix, "y": b64f(y), "x_scale": float(s), "x_zero_point": int(zp)})


SHAPES = [(1, 16, 8), (3, 37, 13), (16, 64, 20), (1, 100, 33), (3, 90, 30), (16, 24, 12)]
for qscheme in QCONFIGS:
    for m, k, n in SHAPES:
        name = f"{qscheme} {m}x{k}x{n}"
        q = add_module_model(name, k, n, qscheme)
        run_module(name, name, q, randn_input((m, k)))
        run_module(name, name, q, tie_input((m, k), True), " ties", ("onednn",), (False,))
        run_module(name, name, q, tie_input((m, k), False), " ties", ("qnnpack",), (False,))
    # one model, inputs of every kind
    name = f"{qscheme} inputs"
    q = add_module_model(name, 29, 11, qscheme)
    run_module(name, name, q, randn_input((2, 3, 29)), " rank 3")
    run_module(name, name, q, np.zeros((3, 29), F), " zeros")
    run_module(name, name, q, np.full((2, 29), -0.75, F), " constant negative")
    run_module(name, name, q, np.abs(randn_input((3, 29))) + F(0.5), " positive")
    run_module(name, name, q, -np.abs(randn_input((3, 29))), " negative")
    run_module(name, name, q, randn_input((4, 29), 1e-6, 2e-6), " tiny range")
    run_module(name, name, q, randn_input((4, 29), 3e3, 1e3), " large")
    run_module(name, name, q, randn_input((16, 29), 0.01, 0.5), " narrow offset")
    name = f"{qscheme} no bias"
    q = add_module_model(name, 45, 17, qscheme, bias=False)
    run_module(name, name, q, randn_input((3, 45)))

# --- direct op cases: affine weights (qnnpack) and reduce_range=False (onednn) ---------------------
def add_op_model(name, k, n, qscheme, bias=True):
    w = torch.from_numpy((rng.standard_normal((n, k)) * 0.2).astype(F))
    if qscheme == "per_tensor_affine":
        qw = torch.quantize_per_tensor(w, 0.0123, 7, torch.qint8)
        scales, zps = np.array([qw.q_scale()]), np.array([qw.q_zero_point()])
    elif qscheme == "per_channel_affine":
        s = torch.from_numpy((rng.uniform(0.004, 0.02, n)).astype(F)).double()
        z = torch.from_numpy(rng.integers(-20, 21, n))
        qw = torch.quantize_per_channel(w, s, z, 0, torch.qint8)
        scales, zps = qw.q_per_channel_scales().numpy(), qw.q_per_channel_zero_points().numpy()
    else:
        qw = torch.quantize_per_tensor(w, float(w.abs().max()) / 127.5, 0, torch.qint8)
        scales, zps = np.array([qw.q_scale()]), np.array([0])
    b = torch.from_numpy(randn_input(n)) if bias else None
    models[name] = {"in": k, "out": n, "qscheme": qscheme, "w": b64i8(qw.int_repr().numpy()), "w_scales": fl(scales),
                    "w_zero_points": [int(z) for z in zps], "bias": None if b is None else fl(b.numpy())}
    return qw, b


def run_op(name, model, qw, b, engine, x, reduce_range):
    torch.backends.quantized.engine = engine
    xt = torch.from_numpy(x)
    ix = add_input(x)
    for relu in (False, True):
        # A packed weight per op: onednn caches its primitive (with or without the ReLU) at the first
        # call and reuses it for the other op on the same packed weight.
        packed = torch.ops.quantized.linear_prepack(qw, b)
        op = torch.ops.quantized.linear_relu_dynamic if relu else torch.ops.quantized.linear_dynamic
        y = op(xt, packed, reduce_range=reduce_range).numpy()
        s, zp = torch._choose_qparams_per_tensor(xt, reduce_range and engine == "onednn")
        int8_cases.append({"name": f"{name} {engine} reduce_range={reduce_range}{' relu' if relu else ''}",
                           "model": model, "engine": engine, "relu": relu, "via": "op", "reduce_range": reduce_range,
                           "input": ix, "y": b64f(y), "x_scale": float(s),
                           "x_zero_point": int(zp)})


for qscheme, (m, k, n) in (("per_tensor_affine", (5, 41, 19)), ("per_channel_affine", (3, 66, 24))):
    name = f"op {qscheme} {m}x{k}x{n}"
    qw, b = add_op_model(name, k, n, qscheme)
    run_op(name, name, qw, b, "qnnpack", randn_input((m, k)), True)
    run_op(name + " ties", name, qw, b, "qnnpack", tie_input((m, k), False), True)
name = "op per_tensor_symmetric 4x50x21"
qw, b = add_op_model(name, 50, 21, "per_tensor_symmetric")
for engine in ENGINES:
    run_op(name, name, qw, b, engine, randn_input((4, 50)), False)
    run_op(name + " ties", name, qw, b, engine, tie_input((4, 50), False), False)

# --- float16 weights (emulated: see the docstring) ------------------------------------------------
for m, k, n, bias in ((1, 16, 8, True), (3, 37, 13, True), (16, 50, 33, True), (3, 45, 30, False), (2, 24, 40, True)):
    name = f"fp16 {k}x{n}{'' if bias else ' no bias'}"
    lin = nn.Linear(k, n, bias=bias)
    if k == 24:  # weights out of float16's range (saturated, not infinite), at its rounding edge, subnormal
        with torch.no_grad():
            lin.weight[0, :6] = torch.tensor([1e6, -7e4, 65519.0, 65520.0, 3e-6, -4e-8])
    w = lin.weight.detach()
    # linear_prepack_fp16 (fbgemm): HandleWeightsSaturation clamps to +-65504, then round to nearest even
    w16 = torch._saturate_weight_to_fp16(w.clone()).half()
    fp16_models[name] = {"in": k, "out": n, "w": b64f(w.numpy()),
                         "w_fp16": base64.b64encode(w16.numpy().astype("<f2").tobytes()).decode("ascii"),
                         "bias": None if lin.bias is None else fl(lin.bias.detach().numpy())}
    x = randn_input((m, k))
    ix = add_input(x)
    for relu in (False, True):
        with torch.no_grad():
            y = torch.nn.functional.linear(torch.from_numpy(x), w16.float(), lin.bias)
            if relu:
                y = torch.relu(y)
        fp16_cases.append({"name": f"{name} {m} rows{' relu' if relu else ''}", "model": name, "relu": relu,
                           "input": ix, "y": b64f(y.numpy())})

doc = {"generator": "tools/reference/gen_qdynamic_linear.py", "torch_version": torch.__version__,
       "numpy_version": np.__version__, "models": models, "inputs": inputs, "int8": int8_cases,
       "fp16_models": fp16_models, "fp16": fp16_cases}
with open(OUT, "w") as f:
    json.dump(doc, f, separators=(",", ":"))
    f.write("\n")


# --- check against the numpy models of both engines ---------------------------------------------------
def fi(a):
    return np.asarray(a, dtype=np.int64).astype(np.float64).astype(F)


def model_output(case):
    mdl = models[case["model"]]
    k, n = mdl["in"], mdl["out"]
    w = np.frombuffer(base64.b64decode(mdl["w"]), dtype=np.int8).astype(np.int64).reshape(n, k)
    ws = np.broadcast_to(np.array(mdl["w_scales"], F), (n,))
    wz = np.broadcast_to(np.array(mdl["w_zero_points"], np.int64), (n,))
    b = np.zeros(n, F) if mdl["bias"] is None else np.array(mdl["bias"], F)
    x = unb64f(inputs[case["input"]]["x"]).reshape(-1, k)
    s, zp = case["x_scale"], case["x_zero_point"]
    if case["engine"] == "qnnpack":
        q = np.clip(np.rint(x * (F(1) / F(s))) + zp, 0, 255).astype(np.int64)
        acc = (q - zp) @ (w - wz[:, None]).T
        y = (fi(acc) * (ws * F(s)).astype(F)).astype(F) + b
    else:
        sx = F(1.0 / s)
        q = np.clip(np.rint((x * sx).astype(F) + F(zp)), 0, 255).astype(np.int64)
        acc = (q - zp) @ (w - wz[:, None]).T
        bs = (sx * (1.0 / ws.astype(np.float64)).astype(F)).astype(F)
        y = ((fi(acc) + (b * bs).astype(F)).astype(F) * (F(1) / bs).astype(F)).astype(F)
    if case["relu"]:
        y = np.where(y > 0, y, F(0))
    return y.astype(F).reshape(-1)


outputs = 0
for case in int8_cases:
    got = unb64f(case["y"])
    want = model_output(case)
    assert np.array_equal(got.view(np.uint32), want.view(np.uint32)), case["name"]
    outputs += got.size
fp16_outputs = sum(len(unb64f(c["y"])) for c in fp16_cases)
print(f"wrote {OUT}: {len(models)} weights, {len(int8_cases)} int8 cases ({outputs} outputs, every one equal to "
      f"the numpy model of its engine), {len(fp16_cases)} fp16 cases ({fp16_outputs} outputs, emulated); "
      f"{os.path.getsize(OUT)} bytes")
