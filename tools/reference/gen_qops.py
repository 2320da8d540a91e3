#!/usr/bin/python3
"""Writes tests/data/qops_reference.json: PyTorch 1.13's quantized elementwise, activation and
pooling operators on both quantized engines ('qnnpack' and 'onednn'), for ctq's kernels in
include/ctq/kernels/{elementwise,activation,pooling}.hpp.

Run with Debian's interpreter, which has python3-torch:  /usr/bin/python3 tools/reference/gen_qops.py
The output is deterministic (fixed seeds); see tools/reference/README.md.

Every case runs under one engine (case["engine"]); the onednn engine runs ATen's own kernels for
these ops, as x86 and fbgemm do. Codes are base64 of the raw int_repr bytes (int8 as two's
complement), row-major; images are NHWC (NWC for 1d) whatever memory format PyTorch used.

Case kinds (case["op"]):
  unary ops of the 8-bit code (sigmoid, tanh, hardswish, elu, leaky_relu, relu, relu6, hardtanh,
  add_scalar, mul_scalar): "y" is the output for the 256 codes min..max in order, computed in one
  256-element tensor, so that every element goes through the vector body of PyTorch's kernel;
  "tail_diff" counts the codes whose result differs when PyTorch computes them in its scalar
  remainder (tensors of 63 elements) -- PyTorch's own inconsistency, which ctq does not follow;
  binary ops (add, add_relu, mul, mul_relu): "a", "b", "y" (or "pairs": every a code against
  every fifth b code, a = i // 52 + min, b = 5 (i % 52) + min, not stored), "tail_diff" as above;
  cat (torch.ops.quantized.cat along the channels of 4-d tensors): "inputs", "y";
  max_pool2d, avg_pool2d, adaptive_avg_pool2d and the 1d forms: "x", "shape", "y", "out_shape";
  "format" is the memory format of the PyTorch tensors ("contiguous" NCHW or "channels_last").
A case with "error" records that PyTorch raised (its message): ctq raises too, except for the 1 x 1
pools the qnnpack engine rejects, which ctq computes with ATen's rule.
"""
import base64
import json
import os
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "..", "tests", "data", "qops_reference.json")

F = torch.nn.quantized.functional
DTYPES = {"quint8": (torch.quint8, np.uint8, 0, 255), "qint8": (torch.qint8, np.int8, -128, 127)}
ENGINES = ["qnnpack", "onednn"]
cases = []
rng = np.random.default_rng(20261124)
counts = {}


def f32(v):
    return float(np.float32(v))


def b64(codes, dtype):
    a = np.ascontiguousarray(np.asarray(codes).reshape(-1).astype(DTYPES[dtype][1]))
    return base64.b64encode(a.tobytes()).decode("ascii")


def qtensor(codes, scale, zp, dtype):
    np_dtype = DTYPES[dtype][1]
    t = torch.from_numpy(np.ascontiguousarray(np.asarray(codes).astype(np_dtype)))
    return torch._make_per_tensor_quantized_tensor(t, scale, zp)


def repr_of(q):
    return q.int_repr().contiguous().numpy()


def all_codes(dtype):
    lo, hi = DTYPES[dtype][2:]
    return np.arange(lo, hi + 1)


def random_codes(dtype, shape):
    lo, hi = DTYPES[dtype][2:]
    return rng.integers(lo, hi + 1, size=shape)


def add_case(case):
    n = counts.get(case["op"], 0)
    counts[case["op"]] = n + 1
    cases.append({"op": case["op"], "name": f'{case["op"]}_{case["engine"]}_{case["dtype"]}_{n}', **case})


def set_engine(engine):
    torch.backends.quantized.engine = engine


def tail_diff(fn, inputs, y_vector):
    """How many elements differ when PyTorch computes them in 63-element tensors, all of them in the
    scalar remainder of its vectorized loop (which processes 64 elements per step)."""
    parts = [repr_of(fn(*[x[i:i + 63] for x in inputs])) for i in range(0, len(inputs[0]), 63)]
    return int(np.count_nonzero(np.concatenate(parts).reshape(-1) != np.asarray(y_vector).reshape(-1)))


# --- unary functions of the code, every code ---------------------------------------------------
def unary_case(op, engine, dtype, scale, zp, fn, params, expect_qparams=True):
    """fn(q) -> quantized result. Records the output for all 256 codes and its parameters."""
    set_engine(engine)
    codes = all_codes(dtype)
    qfn = lambda c: fn(qtensor(c, scale, zp, dtype))  # noqa: E731
    case = {"op": op, "engine": engine, "dtype": dtype, "scale": scale, "zero_point": zp, **params}
    try:
        y = qfn(codes)
    except RuntimeError as e:
        case["error"] = str(e).splitlines()[0][:200]
        add_case(case)
        return
    case["y"] = b64(repr_of(y), dtype)
    if expect_qparams:
        case["out_scale"] = f32(y.q_scale())
        case["out_scale_double"] = float(y.q_scale())
        case["out_zero_point"] = int(y.q_zero_point())
    case["tail_diff"] = tail_diff(qfn, [codes], repr_of(y))
    add_case(case)


def input_qparams(dtype):
    """Input parameters: ties-prone, extreme zero points, tiny and large scales, random ones."""
    lo, hi = DTYPES[dtype][2:]
    mid = (lo + hi + 1) // 2
    out = [(0.1, mid), (0.0437, lo + 77), (0.02, lo), (0.5, hi), (0.003, mid - 9), (1.7, mid + 3)]
    for _ in range(2):
        out.append((f32(rng.uniform(0.005, 0.2)), int(rng.integers(lo, hi + 1))))
    return [(f32(s), int(z)) for s, z in out]


def output_qparams(dtype):
    lo, hi = DTYPES[dtype][2:]
    return (f32(rng.uniform(0.01, 0.1)), int(rng.integers(lo, hi + 1)))


for engine in ENGINES:
    for dtype in DTYPES:
        lo, hi = DTYPES[dtype][2:]
        for s, z in input_qparams(dtype):
            unary_case("sigmoid", engine, dtype, s, z, torch.sigmoid, {})
            unary_case("tanh", engine, dtype, s, z, torch.tanh, {})
            os_, oz = output_qparams(dtype)
            unary_case("hardswish", engine, dtype, s, z, lambda q: torch.ops.quantized.hardswish(q, os_, oz),
                       {"out_scale": os_, "out_zero_point": oz}, False)
            alpha, sc, isc = [(1.0, 1.0, 1.0), (0.5, 1.0, 1.0), (1.3, 0.7, 2.0), (2.0, 1.5, 0.5)][z % 4]
            unary_case("elu", engine, dtype, s, z, lambda q: torch.ops.quantized.elu(q, os_, oz, alpha, sc, isc),
                       {"out_scale": os_, "out_zero_point": oz, "alpha": alpha, "scale_coef": sc,
                        "input_scale_coef": isc}, False)
            slope = f32([0.01, 0.1, 0.2, 0.33][z % 4])
            unary_case("leaky_relu", engine, dtype, s, z, lambda q: F.leaky_relu(q, slope),
                       {"negative_slope": slope})  # output parameters = input's
            unary_case("leaky_relu", engine, dtype, s, z,
                       lambda q: torch.ops.quantized.leaky_relu(q, slope, False, os_, oz),
                       {"negative_slope": slope, "out_scale": os_, "out_zero_point": oz}, False)
            unary_case("relu", engine, dtype, s, z, torch.relu, {})
            unary_case("relu6", engine, dtype, s, z, lambda q: torch.ops.quantized.relu6(q, False), {})
            mn, mx = [(-1.0, 1.0), (-0.7, 1.9), (0.25, 3.0), (-6.0, 6.0)][z % 4]
            unary_case("hardtanh", engine, dtype, s, z, lambda q: F.hardtanh(q, mn, mx), {"min": mn, "max": mx})
        # add_scalar / mul_scalar: the scalar decides whether the parameters move or the codes do.
        for s, z in [(f32(0.1), (lo + hi + 1) // 2), (f32(0.05), lo + 10), (f32(0.05), hi - 10), (f32(0.3), lo)]:
            for c in [0.0, 0.7, -0.7, 12.5, -12.5, 100.0, -0.15]:
                unary_case("add_scalar", engine, dtype, s, z, lambda q: torch.ops.quantized.add_scalar(q, c),
                           {"scalar": c})
            for c in [2.5, -2.5, 0.0, 1e-3, 37.0]:
                unary_case("mul_scalar", engine, dtype, s, z, lambda q: torch.ops.quantized.mul_scalar(q, c),
                           {"scalar": c})


# --- binary ops ----------------------------------------------------------------------------------
BINARY = {"add": torch.ops.quantized.add, "add_relu": torch.ops.quantized.add_relu,
          "mul": torch.ops.quantized.mul, "mul_relu": torch.ops.quantized.mul_relu}


def binary_case(op, engine, dtype, qa, qb, qy, pairs=False, n=384):
    set_engine(engine)
    lo, hi = DTYPES[dtype][2:]
    if pairs:  # every a code against every fifth b code
        i = np.arange(256 * 52)
        a, b = i // 52 + lo, 5 * (i % 52) + lo
    else:
        a, b = random_codes(dtype, n), random_codes(dtype, n)
    fn = lambda x, y: BINARY[op](qtensor(x, *qa, dtype), qtensor(y, *qb, dtype), *qy)  # noqa: E731
    case = {"op": op, "engine": engine, "dtype": dtype, "a_scale": qa[0], "a_zero_point": qa[1], "b_scale": qb[0],
            "b_zero_point": qb[1], "out_scale": qy[0], "out_zero_point": qy[1]}
    if pairs:
        case["pairs"] = True
    else:
        case["a"], case["b"] = b64(a, dtype), b64(b, dtype)
    try:
        y = fn(a, b)
    except RuntimeError as e:
        case["error"] = str(e).splitlines()[0][:200]
        add_case(case)
        return
    case["y"] = b64(repr_of(y), dtype)
    case["tail_diff"] = tail_diff(fn, [a, b], repr_of(y))
    add_case(case)


for engine in ENGINES:
    for dtype in DTYPES:
        lo, hi = DTYPES[dtype][2:]
        mid = (lo + hi + 1) // 2
        t1, t2 = f32(0.1), f32(0.2)
        params = [((t1, mid), (t1, mid + 5), (t2, mid - 3)),  # ties: (a + b) * 0.1 / 0.2
                  ((f32(0.05), lo + 3), (f32(0.02), hi - 3), (f32(0.04), mid)),
                  ((f32(0.5), hi), (f32(0.25), lo), (0.25, mid)), ((t1, lo), (t2, mid), (t2, hi)),
                  ((f32(0.013), mid), (f32(0.9), mid), (f32(0.8), lo + 1))]
        for _ in range(2):
            params.append(tuple((f32(rng.uniform(0.005, 0.2)), int(rng.integers(lo, hi + 1))) for _ in range(3)))
        for op in BINARY:
            for qa, qb, qy in params:
                binary_case(op, engine, dtype, qa, qb, qy)
        # Code pairs for add, with tie-prone parameters.
        binary_case("add", engine, dtype, (t1, mid), (t1, mid + 5), (t2, mid - 3), pairs=True)
        binary_case("mul", engine, dtype, (t1, mid), (t2, mid + 5), (t2, mid - 3), pairs=True)
        # Ratios PyTorch's qnnpack engine cannot handle in add (and the x86 kernel can), and that
        # XNNPACK's qint8 mul cannot handle.
        binary_case("add", engine, dtype, (t1, mid), (t1, mid), (f32(1e-5), mid))
        binary_case("add", engine, dtype, (f32(300.0), mid), (t1, mid), (1.0, mid))
        binary_case("mul", engine, dtype, (f32(30.0), mid), (f32(30.0), mid), (1.0, mid))
        binary_case("mul", engine, dtype, (f32(1e-3), mid), (f32(1e-3), mid), (1.0, mid))


# --- cat -------------------------------------------------------------------------------------------
def cat_case(engine, dtype, n, h, w, channels, fmt, qparams, out_qp):
    set_engine(engine)
    xs = [random_codes(dtype, (n, h, w, c)) for c in channels]
    ts = []
    for x, (s, z) in zip(xs, qparams):
        t = qtensor(x, s, z, dtype).permute(0, 3, 1, 2)
        ts.append(t.contiguous() if fmt == "contiguous" else t)
    y = torch.ops.quantized.cat(ts, 1, *out_qp)
    add_case({"op": "cat", "engine": engine, "dtype": dtype, "format": fmt, "n": n, "h": h, "w": w,
              "inputs": [{"channels": c, "scale": s, "zero_point": z, "x": b64(x, dtype)}
                         for c, x, (s, z) in zip(channels, xs, qparams)],
              "out_scale": out_qp[0], "out_zero_point": out_qp[1],
              "y": b64(repr_of(y.permute(0, 2, 3, 1)), dtype)})


for engine in ENGINES:
    for dtype in DTYPES:
        lo, hi = DTYPES[dtype][2:]
        mid = (lo + hi + 1) // 2
        for fmt in ["contiguous", "channels_last"]:
            t1, t2 = f32(0.1), f32(0.2)
            cat_case(engine, dtype, 2, 3, 2, [69, 13, 40], fmt, [(t1, mid), (t1, lo + 9), (t1, hi - 1)], (t2, mid))
            cat_case(engine, dtype, 1, 2, 3, [8, 1, 21], fmt,
                     [(f32(0.05), lo), (f32(0.3), mid), (f32(0.011), hi)], (f32(0.07), mid + 1))
            cat_case(engine, dtype, 2, 1, 1, [5, 17], fmt, [(t1, mid), (t2, lo)], (f32(0.15), mid))
            cat_case(engine, dtype, 1, 3, 3, [1, 1], fmt, [(t1, mid), (t1, lo + 9)], (t2, mid))


# --- pooling -------------------------------------------------------------------------------------
def to_torch_image(x, scale, zp, dtype, fmt):
    t = qtensor(x, scale, zp, dtype).permute(0, 3, 1, 2)  # NCHW view of NHWC data: channels-last strides
    return t.contiguous() if fmt == "contiguous" else t


def pool_case(op, engine, dtype, shape, fmt, params, fn, qp=None):
    set_engine(engine)
    s, z = qp if qp else (f32(rng.uniform(0.01, 0.1)), int(rng.integers(*DTYPES[dtype][2:])))
    x = random_codes(dtype, shape)
    case = {"op": op, "engine": engine, "dtype": dtype, "format": fmt, "shape": list(shape), "scale": s,
            "zero_point": z, **params, "x": b64(x, dtype)}
    try:
        if len(shape) == 4:
            y = fn(to_torch_image(x, s, z, dtype, fmt))
            yv = repr_of(y.permute(0, 2, 3, 1))
        else:  # NWC -> (N, C, L): contiguous, or a permuted view that is channels-last once unsqueezed
            t = qtensor(x, s, z, dtype).permute(0, 2, 1)
            y = fn(t.contiguous() if fmt == "contiguous" else t)
            yv = repr_of(y.permute(0, 2, 1))
    except RuntimeError as e:
        case["error"] = str(e).splitlines()[0][:200]
        add_case(case)
        return
    assert y.q_scale() == s and y.q_zero_point() == z
    case["out_shape"] = list(yv.shape)
    case["y"] = b64(yv, dtype)
    add_case(case)


MAX_POOLS = [  # kernel, stride, padding, dilation, ceil_mode
    ((3, 3), (2, 2), (1, 1), (1, 1), False), ((3, 3), (1, 1), (1, 1), (2, 2), False),
    ((3, 2), (1, 2), (1, 0), (2, 1), False), ((3, 3), (2, 2), (1, 1), (2, 2), True),
    ((1, 1), (1, 1), (0, 0), (1, 1), False), ((4, 3), (3, 2), (2, 1), (1, 1), True)]
AVG_POOLS = [  # kernel, stride, padding, ceil_mode, count_include_pad, divisor_override
    ((3, 3), (2, 2), (1, 1), False, True, None), ((3, 3), (2, 2), (1, 1), True, False, None),
    ((2, 3), (1, 2), (1, 0), False, False, None), ((2, 2), (2, 2), (0, 1), False, True, 3),
    ((3, 2), (2, 1), (1, 1), True, True, 7), ((1, 1), (1, 1), (0, 0), False, True, None),
    ((5, 5), (3, 3), (2, 2), True, False, None), ((2, 2), (2, 2), (0, 0), False, True, None)]
SHAPES = [(1, 7, 9, 13), (1, 6, 6, 1), (1, 8, 7, 24), (2, 5, 5, 3), (1, 5, 6, 69), (1, 1, 1, 16)]
ADAPTIVE = [((1, 7, 9, 13), (3, 4)), ((1, 6, 6, 20), (2, 3)), ((1, 8, 8, 17), (1, 1)), ((1, 5, 7, 9), (5, 7)),
            ((1, 10, 9, 24), (4, 2)), ((1, 12, 8, 8), (3, 2)), ((1, 4, 3, 5), (6, 5)), ((1, 6, 5, 1), (3, 5)),
            ((1, 9, 6, 11), (9, 3)), ((1, 1, 1, 7), (2, 2))]

for engine in ENGINES:
    for dtype in DTYPES:
        for fmt in ["contiguous", "channels_last"]:
            for i, (k, st, p, d, ceil) in enumerate(MAX_POOLS):
                shape = SHAPES[i % len(SHAPES)] if i != 4 else (1, 3, 4, 9)
                if shape[1] < 3:
                    shape = (1, 6, 5, 16)
                pool_case("max_pool2d", engine, dtype, shape, fmt,
                          {"kernel": k, "stride": st, "padding": p, "dilation": d, "ceil_mode": ceil},
                          lambda t: F.max_pool2d(t, k, st, p, d, ceil))
            for i, (k, st, p, ceil, cip, div) in enumerate(AVG_POOLS):
                shape = SHAPES[(i + 1) % len(SHAPES)]
                if shape[1] < 5:
                    shape = (2, 8, 6, 12)
                pool_case("avg_pool2d", engine, dtype, shape, fmt,
                          {"kernel": k, "stride": st, "padding": p, "ceil_mode": ceil, "count_include_pad": cip,
                           "divisor_override": div or 0},
                          lambda t: F.avg_pool2d(t, k, st, p, ceil, cip, div))
            for shape, osz in ADAPTIVE:
                pool_case("adaptive_avg_pool2d", engine, dtype, shape, fmt, {"output_size": osz},
                          lambda t: F.adaptive_avg_pool2d(t, osz))
            # 1d forms on NWC data
            pool_case("max_pool1d", engine, dtype, (2, 11, 6), fmt,
                      {"kernel": 3, "stride": 2, "padding": 1, "dilation": 2, "ceil_mode": True},
                      lambda t: F.max_pool1d(t, 3, 2, 1, 2, True))
            pool_case("avg_pool1d", engine, dtype, (2, 11, 6), fmt,
                      {"kernel": 3, "stride": 2, "padding": 1, "ceil_mode": False, "count_include_pad": False},
                      lambda t: torch.nn.functional.avg_pool1d(t, 3, 2, 1, False, False))
            pool_case("avg_pool1d", engine, dtype, (1, 12, 9), fmt,
                      {"kernel": 4, "stride": 4, "padding": 0, "ceil_mode": False, "count_include_pad": True},
                      lambda t: torch.nn.functional.avg_pool1d(t, 4, 4, 0, False, True))
            pool_case("adaptive_avg_pool1d", engine, dtype, (2, 10, 5), fmt, {"output_size": 4},
                      lambda t: torch.nn.functional.adaptive_avg_pool1d(t, 4))
            pool_case("adaptive_avg_pool1d", engine, dtype, (1, 12, 1), fmt, {"output_size": 3},
                      lambda t: torch.nn.functional.adaptive_avg_pool1d(t, 3))

doc = {"generator": "tools/reference/gen_qops.py", "torch_version": torch.__version__, "numpy_version": np.__version__,
       "cpu_capability": torch.__config__.show().split("CPU capability usage: ")[1].split()[0], "cases": cases}
with open(OUT, "w") as f:
    json.dump(doc, f, separators=(",", ":"))
    f.write("\n")
size = os.path.getsize(OUT)
print(f"wrote {os.path.relpath(OUT)} ({size} bytes): {len(cases)} cases", file=sys.stderr)
for op, n in sorted(counts.items()):
    errors = sum(1 for c in cases if c["op"] == op and "error" in c)
    tails = sum(c.get("tail_diff", 0) for c in cases if c["op"] == op)
    print(f"  {op}: {n} cases ({errors} PyTorch errors, {tails} outputs that PyTorch's scalar remainder rounds "
          "differently)", file=sys.stderr)
