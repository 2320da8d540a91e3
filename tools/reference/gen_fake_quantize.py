#!/usr/bin/python3
"""Writes tests/data/fake_quantize_reference.json: sequences of calls on PyTorch 1.13's
fake-quantize modules (torch.ao.quantization FakeQuantize, FusedMovingAvgObsFakeQuantize and
_LearnableFakeQuantize) and everything each forward produced: output, input gradient, the
module's scale / zero point afterwards, the observer's min_val / max_val, and for the learnable
module the gradients of its scale and zero-point parameters.

Run with Debian's interpreter, which has python3-torch:  /usr/bin/python3 tools/reference/gen_fake_quantize.py
The output is deterministic (fixed seeds); see tools/reference/README.md.

ATEN_CPU_CAPABILITY=default is set before torch is imported: PyTorch's AVX2 kernels for the
learnable fake-quant backward and the float-zero-point per-channel fake quant use FMA contraction;
ctq reproduces the non-FMA ("default" capability) results. The file records this as
"aten_cpu_capability".

Case format: {"module", "name", "config" (the with_args partial of torch.ao.quantization.fake_quantize,
or a label for the learnable module), "args" (learnable module only), "steps": [...]}; a step is
{"op": "forward", "data" (a label for the kind of input), "shape", "x", "grad_output", "y", "grad_input",
"scale", "zero_point", "min_val", "max_val"} (plus "grad_scale" / "grad_zero_point" for the learnable
module, zeros when the parameter got no gradient), a toggle
({"op": "disable_observer"} and so on) or {"op": "set_qparams", "scale", "zero_point"} (learnable
module: copied into the parameters). Tensors are base64 of little-endian float32 bytes (row-major);
scalars and lists are JSON numbers, non-finite values the strings "nan", "inf", "-inf".
After writing, the script replays every case from the file it wrote and checks that PyTorch gives
bitwise the same results.
"""
import os

os.environ["ATEN_CPU_CAPABILITY"] = "default"  # must precede `import torch`

import base64  # noqa: E402
import copy  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
import warnings  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402
from refdata import b64, f32, flist, state_value  # noqa: E402
import torch.ao.quantization.fake_quantize as fq  # noqa: E402
from torch.ao.quantization._learnable_fake_quantize import _LearnableFakeQuantize  # noqa: E402
from torch.ao.quantization.observer import (MovingAverageMinMaxObserver,  # noqa: E402
                                            MovingAveragePerChannelMinMaxObserver)

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "..", "tests", "data", "fake_quantize_reference.json")

warnings.simplefilter("ignore")

DTYPES = {"quint8": torch.quint8, "qint8": torch.qint8, "quint4x2": torch.quint4x2}
QSCHEMES = {"per_tensor_affine": torch.per_tensor_affine, "per_tensor_symmetric": torch.per_tensor_symmetric,
            "per_channel_affine": torch.per_channel_affine, "per_channel_symmetric": torch.per_channel_symmetric,
            "per_channel_affine_float_qparams": torch.per_channel_affine_float_qparams}
OBSERVERS = {"MovingAverageMinMaxObserver": MovingAverageMinMaxObserver,
             "MovingAveragePerChannelMinMaxObserver": MovingAveragePerChannelMinMaxObserver}
CONFIGS = ["default_fake_quant", "default_weight_fake_quant", "default_per_channel_weight_fake_quant",
           "default_dynamic_fake_quant", "default_embedding_fake_quant", "default_embedding_fake_quant_4bit",
           "default_fused_act_fake_quant", "default_fused_wt_fake_quant", "default_fused_per_channel_wt_fake_quant"]
TOGGLES = {"disable_observer", "enable_observer", "disable_fake_quant", "enable_fake_quant",
           "enable_param_learning", "enable_static_estimate", "enable_static_observation"}


def qlist(t):
    """Zero points: integers for integer tensors, float32 values for float ones."""
    if t.is_floating_point():
        return flist(t)
    return [int(v) for v in t.reshape(-1).tolist()]


def unb64(text, shape):
    a = np.frombuffer(base64.b64decode(text), dtype="<f4").astype(np.float32)
    return torch.from_numpy(a.reshape(shape).copy())


cases = []
skipped = {}
rng = np.random.default_rng(20261125)


# --- modules --------------------------------------------------------------------------------------
def build(case):
    """The PyTorch module of a case, from its JSON description."""
    if case["module"] == "LearnableFakeQuantize":
        a = case["args"]
        kw = {"observer": OBSERVERS[a["observer"]], "quant_min": a["quant_min"], "quant_max": a["quant_max"],
              "scale": a["scale"], "zero_point": a["zero_point"], "channel_len": a["channel_len"],
              "use_grad_scaling": a["use_grad_scaling"], "dtype": DTYPES[a["dtype"]], "qscheme": QSCHEMES[a["qscheme"]]}
        if "ch_axis" in a:
            kw["ch_axis"] = a["ch_axis"]
        return _LearnableFakeQuantize(**kw)
    m = getattr(fq, case["config"])()
    assert type(m).__name__ == case["module"], (type(m).__name__, case["module"])
    return m


def is_learnable(m):
    return isinstance(m, _LearnableFakeQuantize)


def observing(m):
    return bool((m.static_enabled if is_learnable(m) else m.observer_enabled)[0] == 1)


def per_channel(m):
    return m.qscheme in (torch.per_channel_affine, torch.per_channel_symmetric, torch.per_channel_affine_float_qparams)


def qrange(m):
    if is_learnable(m):
        return m.quant_min, m.quant_max
    return m.activation_post_process.quant_min, m.activation_post_process.quant_max


def effective_qparams(m, x):
    """The scale and zero point the forward of m on x will use (a forward of a copy of m)."""
    m2 = copy.deepcopy(m)
    with torch.no_grad():
        m2(x.clone())
    return m2.scale.detach().reshape(-1).numpy().copy(), m2.zero_point.detach().reshape(-1).to(torch.float64).numpy()


def run_step(m, step):
    """Executes one step on module m. For a forward, step holds "x" and "grad_output" as tensors;
    returns the JSON fields of the step's results."""
    op = step["op"]
    if op in TOGGLES:
        getattr(m, op)()
        return {}
    if op == "set_qparams":
        m.scale.data.copy_(torch.tensor(step["scale"], dtype=torch.float32))
        m.zero_point.data.copy_(torch.tensor(step["zero_point"], dtype=torch.float32))
        return {}
    assert op == "forward"
    x = step["x"].clone().requires_grad_(True)
    if is_learnable(m):
        m.scale.grad = None
        m.zero_point.grad = None
    y = m(x)
    y.backward(step["grad_output"])
    out = {"y": b64(y), "grad_input": b64(x.grad), "scale": flist(m.scale), "zero_point": qlist(m.zero_point)}
    if is_learnable(m):
        out["grad_scale"] = flist(m.scale.grad) if m.scale.grad is not None else [0.0] * m.scale.numel()
        out["grad_zero_point"] = (flist(m.zero_point.grad) if m.zero_point.grad is not None
                                  else [0.0] * m.zero_point.numel())
    obs = m.activation_post_process
    out["min_val"] = state_value(obs.min_val)
    out["max_val"] = state_value(obs.max_val)
    return out


# --- input data -----------------------------------------------------------------------------------
# A data kind is a function (module, shape) -> float32 numpy array; it runs right before the forward,
# so it can look at the module's state (the tie kinds do).
def channel_scales(m, shape, lo, hi):
    """Per-channel multipliers along axis 0 for per-channel modules, 1 otherwise."""
    if not per_channel(m):
        return np.float64(rng.uniform(lo, hi))
    bshape = [shape[0]] + [1] * (len(shape) - 1)
    return rng.uniform(lo, hi, shape[0]).reshape(bshape)


def d_normal(m, shape):
    return rng.standard_normal(shape) * channel_scales(m, shape, 0.3, 2.5) + rng.uniform(-0.3, 0.3)


def d_shifted(m, shape):
    return rng.standard_normal(shape) * 0.8 + 3.0


def d_wide(m, shape):
    return rng.standard_normal(shape) * 12.0


def d_outlier(m, shape):
    x = rng.standard_normal(shape)
    x.reshape(-1)[int(rng.integers(x.size))] = 40.0 if rng.random() < 0.5 else -55.0
    return x


def d_const(m, shape):
    return np.full(shape, 1.75)


def d_positive(m, shape):
    return np.abs(rng.standard_normal(shape)) * channel_scales(m, shape, 0.5, 2.0) + 0.1


def d_negative(m, shape):
    return -(np.abs(rng.standard_normal(shape)) * channel_scales(m, shape, 0.5, 2.0) + 0.1)


def d_zeros(m, shape):
    return np.zeros(shape)


def d_tiny(m, shape):
    return rng.standard_normal(shape) * 1e-6 + 1e-6


def d_small(m, shape):
    return rng.standard_normal(shape) * 0.05


def d_ties(m, shape):
    """Values whose x / scale + zero_point lands on .5 (in real arithmetic) for the scale and zero point
    the forward will use, including both clamping edges, plus exact multiples of the scale. When the
    observer is active the batch's per-channel minimum and maximum are kept (so the forward computes
    the predicted qparams) and only ties inside them are used."""
    base = rng.standard_normal(shape) * channel_scales(m, shape, 0.5, 2.0)
    x = torch.from_numpy(base.astype(np.float32))
    scale, zp = effective_qparams(m, x)
    qmin, qmax = qrange(m)
    rows = base.reshape(shape[0], -1).astype(np.float32) if per_channel(m) else base.reshape(1, -1).astype(np.float32)
    if scale.size == 1 and rows.shape[0] > 1:
        scale = np.repeat(scale, rows.shape[0])
        zp = np.repeat(zp, rows.shape[0])
    out = rows.copy()
    for c in range(rows.shape[0]):
        s = np.float32(scale[c])
        z = zp[c]
        keep = {int(np.argmin(rows[c])), int(np.argmax(rows[c]))} if observing(m) else set()
        js = [qmin - 2, qmin - 1, qmin, qmax - 1, qmax, qmax + 1] + list(rng.integers(qmin, qmax + 1, 40))
        # the learnable kernels round a fractional zero point (forward) or add 0.5 and truncate
        # (backward), so ties are also placed for the rounded zero point
        zs = [z] if z == np.round(z) else [z, np.round(z)]
        cand = [np.float32(np.float32(j + 0.5 - zz) * s) for j in js for zz in zs]
        cand += [np.float32(np.float32(j - z) * s) for j in rng.integers(qmin, qmax + 1, 8)]
        if observing(m):
            lo, hi = rows[c].min(), rows[c].max()
            cand = [v for v in cand if lo < v < hi]
        if not cand:
            continue
        rng.shuffle(cand)
        for k, i in enumerate(i for i in range(rows.shape[1]) if i not in keep):
            out[c, i] = cand[k % len(cand)]
    return out.reshape(shape)


def d_around(m, shape):
    """Uniform values over the quantization range of the qparams the forward will use, widened by 20
    steps on each side (so some clamp)."""
    x = torch.from_numpy((rng.standard_normal(shape)).astype(np.float32))
    scale, zp = effective_qparams(m, x)
    qmin, qmax = qrange(m)
    n = shape[0] if (per_channel(m) and scale.size > 1) else 1
    rows = np.empty((n, int(np.prod(shape)) // n), dtype=np.float64)
    for c in range(n):
        rows[c] = (rng.uniform(qmin - 20, qmax + 20, rows.shape[1]) - zp[c]) * scale[c]
    return rows.reshape(shape)


DATA = {"normal": d_normal, "shifted": d_shifted, "wide": d_wide, "outlier": d_outlier, "const": d_const,
        "positive": d_positive, "negative": d_negative, "zeros": d_zeros, "tiny": d_tiny, "small": d_small,
        "ties": d_ties, "around": d_around}


def add_case(module, name, config, shape, plan, args=None):
    """plan: a list of data-kind names (forwards), toggle names, or ("set_qparams", scale, zero_point)."""
    case = {"module": module, "name": name, "config": config}
    if args is not None:
        case["args"] = args
    case["steps"] = []
    try:
        m = build(case)
        for item in plan:
            if isinstance(item, tuple):
                step = {"op": "set_qparams", "scale": [f32(v) for v in item[1]],
                        "zero_point": [f32(v) for v in item[2]]}
                run_step(m, step)
                case["steps"].append(step)
            elif item in TOGGLES:
                run_step(m, {"op": item})
                case["steps"].append({"op": item})
            else:
                x = torch.from_numpy(DATA[item](m, shape).astype(np.float32))
                g = torch.from_numpy(rng.standard_normal(shape).astype(np.float32))
                res = run_step(m, {"op": "forward", "x": x, "grad_output": g})
                step = {"op": "forward", "data": item, "shape": list(shape), "x": b64(x), "grad_output": b64(g)}
                step.update(res)
                case["steps"].append(step)
    except (RuntimeError, AssertionError, ValueError) as e:
        key = f"{module} {config}: {' '.join(str(e).split())[:80]}"
        skipped[key] = skipped.get(key, 0) + 1
        return
    cases.append(case)


# --- FakeQuantize ---------------------------------------------------------------------------------
SEQ_DATA = ["normal", "shifted", "outlier", "const", "normal"]
SEQ_OBSERVER = ["normal", "normal", "disable_observer", "ties", "wide", "around", "enable_observer", "ties"]
SEQ_FAKE_QUANT = ["normal", "disable_fake_quant", "shifted", "enable_fake_quant", "ties", "outlier"]
SEQ_SIGNS = ["positive", "zeros", "tiny", "negative", "ties"]
SEQ_ALL_OFF = ["small", "disable_observer", "disable_fake_quant", "normal", "enable_fake_quant", "around",
               "enable_observer", "ties"]
SEQ_COLD = ["disable_observer", "normal", "around", "enable_observer", "normal"]  # initial scale 1 / zero point 0
# With averaging_constant 1 (the embedding configs) a constant batch after another batch can leave
# min_val one ulp above max_val (min + (cur - min) != cur in float), and PyTorch's check_min_max_valid
# then raises; so the embedding sequences observe the constant batch first.
SEQ_DATA_CONST_FIRST = ["const", "normal", "shifted", "outlier", "normal"]

FQ_PLANS = [
    ("default_fake_quant", (4, 16), [("data", SEQ_DATA), ("observer", SEQ_OBSERVER), ("fake_quant", SEQ_FAKE_QUANT),
                                     ("signs", SEQ_SIGNS), ("cold", SEQ_COLD)]),
    ("default_fake_quant", (2, 3, 8), [("data", SEQ_DATA), ("all_off", SEQ_ALL_OFF)]),
    ("default_weight_fake_quant", (6, 10), [("data", SEQ_DATA), ("observer", SEQ_OBSERVER),
                                            ("fake_quant", SEQ_FAKE_QUANT), ("signs", SEQ_SIGNS)]),
    ("default_weight_fake_quant", (2, 4, 3, 3), [("cold", SEQ_COLD), ("all_off", SEQ_ALL_OFF)]),
    ("default_dynamic_fake_quant", (5, 12), [("data", SEQ_DATA), ("observer", SEQ_OBSERVER),
                                             ("fake_quant", SEQ_FAKE_QUANT), ("signs", SEQ_SIGNS)]),
    ("default_dynamic_fake_quant", (100,), [("all_off", SEQ_ALL_OFF)]),
    ("default_per_channel_weight_fake_quant", (8, 3, 3, 3), [("data", SEQ_DATA), ("observer", SEQ_OBSERVER),
                                                             ("fake_quant", SEQ_FAKE_QUANT), ("signs", SEQ_SIGNS)]),
    ("default_per_channel_weight_fake_quant", (16, 10), [("data", SEQ_DATA), ("observer", SEQ_OBSERVER),
                                                         ("fake_quant", SEQ_FAKE_QUANT), ("all_off", SEQ_ALL_OFF)]),
    ("default_embedding_fake_quant", (10, 12), [("data", SEQ_DATA_CONST_FIRST), ("observer", SEQ_OBSERVER),
                                                ("fake_quant", SEQ_FAKE_QUANT), ("signs", SEQ_SIGNS)]),
    ("default_embedding_fake_quant_4bit", (10, 12), [("data", SEQ_DATA_CONST_FIRST), ("observer", SEQ_OBSERVER),
                                                     ("fake_quant", SEQ_FAKE_QUANT), ("signs", SEQ_SIGNS)]),
]
for config, shape, plans in FQ_PLANS:
    for label, plan in plans:
        add_case("FakeQuantize", f"fq_{config}_{'x'.join(map(str, shape))}_{label}", config, shape, plan)

# --- FusedMovingAvgObsFakeQuantize ----------------------------------------------------------------
SEQ_FUSED_EDGE = ["zeros", "tiny", "disable_observer", "normal", "disable_fake_quant", "normal", "enable_fake_quant",
                  "enable_observer", "negative"]
SEQ_FUSED_LONG = ["small", "normal", "shifted", "normal", "ties", "wide"]
# The fused op recomputes scale / zero point from the running min / max whenever fake quant is on, even
# with the observer off; before any observation that raises (min inf > max -inf), so SEQ_COLD is not
# used here. This one starts with both off (y = x, min_val / max_val stay inf / -inf). Per tensor only:
# the per-channel fused op resizes its scale / zero point to the channel count on the first call without
# initializing them, and fills them only when fake quant runs, so they would be uninitialized memory.
SEQ_FUSED_COLD = ["disable_observer", "disable_fake_quant", "normal", "enable_observer", "shifted",
                  "enable_fake_quant", "normal", "disable_observer", "around", "ties"]
FUSED_PLANS = [
    ("default_fused_act_fake_quant", (4, 16), [("data", SEQ_DATA), ("observer", SEQ_OBSERVER),
                                               ("fake_quant", SEQ_FAKE_QUANT), ("signs", SEQ_SIGNS),
                                               ("edge", SEQ_FUSED_EDGE), ("cold", SEQ_FUSED_COLD),
                                               ("long", SEQ_FUSED_LONG)]),
    ("default_fused_act_fake_quant", (3, 5, 7), [("all_off", SEQ_ALL_OFF)]),
    ("default_fused_wt_fake_quant", (8, 12), [("data", SEQ_DATA), ("observer", SEQ_OBSERVER),
                                              ("fake_quant", SEQ_FAKE_QUANT), ("signs", SEQ_SIGNS),
                                              ("edge", SEQ_FUSED_EDGE), ("cold", SEQ_FUSED_COLD),
                                              ("long", SEQ_FUSED_LONG)]),
    ("default_fused_wt_fake_quant", (2, 3, 3, 3), [("all_off", SEQ_ALL_OFF)]),
    ("default_fused_per_channel_wt_fake_quant", (8, 3, 3, 3), [("data", SEQ_DATA), ("observer", SEQ_OBSERVER),
                                                               ("fake_quant", SEQ_FAKE_QUANT), ("signs", SEQ_SIGNS),
                                                               ("edge", SEQ_FUSED_EDGE)]),
    ("default_fused_per_channel_wt_fake_quant", (16, 10), [("data", SEQ_DATA), ("observer", SEQ_OBSERVER),
                                                           ("long", SEQ_FUSED_LONG), ("all_off", SEQ_ALL_OFF)]),
]
for config, shape, plans in FUSED_PLANS:
    for label, plan in plans:
        add_case("FusedMovingAvgObsFakeQuantize", f"fused_{config}_{'x'.join(map(str, shape))}_{label}", config,
                 shape, plan)


# --- _LearnableFakeQuantize -----------------------------------------------------------------------
def zp_values(dtype):
    """Zero points for set_qparams: .5 ties, values just below .5, out of range, range edges."""
    if dtype == "quint8":
        return [130.5, 0.49, 300.0, 254.5, -0.5, 17.51, 255.5, 2.5]
    return [-12.13, 0.49, 300.0, 127.5, -128.5, -0.5, 3.5, -200.0]


SCALES = [0.05, 1e-3, 0.02, 0.0078125, 1e-9, 0.3, 0.0, 0.011]


def learnable_args(observer, dtype, qscheme, channels, axis, grad_scaling, scale=1.0, zero_point=0.0):
    qmin, qmax = (0, 255) if dtype == "quint8" else (-128, 127)
    args = {"observer": observer, "dtype": dtype, "qscheme": qscheme, "quant_min": qmin, "quant_max": qmax}
    if axis is not None:
        args["ch_axis"] = axis
    args.update({"channel_len": channels, "use_grad_scaling": grad_scaling, "scale": f32(scale),
                 "zero_point": f32(zero_point)})
    return args


def qparams_vec(n, k, dtype):
    """The k-th (scale, zero point) choice, as vectors of n channels (rotating through the lists)."""
    zps, n_s = zp_values(dtype), len(SCALES)
    return [SCALES[(k + i) % n_s] for i in range(n)], [zps[(k + 2 * i) % len(zps)] for i in range(n)]


def learnable_plans(n, dtype):
    s1, z1 = qparams_vec(n, 0, dtype)   # 0.05 / 130.5 or -12.13
    s2, z2 = qparams_vec(n, 1, dtype)   # 1e-3 / 0.49
    s3, z3 = qparams_vec(n, 2, dtype)   # 0.02 / 300.0 (out of range)
    s4, z4 = qparams_vec(n, 3, dtype)
    s5, z5 = qparams_vec(n, 4, dtype)   # 1e-9 (clamped to eps)
    static_then_learn = ["normal", "shifted", "enable_param_learning", "normal", "ties",
                         ("set_qparams", s1, z1), "around", "ties", ("set_qparams", s2, z2), "around",
                         ("set_qparams", s3, z3), "around"]
    modes = ["enable_param_learning", "normal", ("set_qparams", s4, z4), "around", "disable_fake_quant", "normal",
             "enable_fake_quant", "enable_static_observation", "shifted", "enable_static_estimate", "outlier",
             ("set_qparams", s5, z5), "enable_param_learning", "around", "ties"]
    return [("static_then_learn", static_then_learn), ("modes", modes)]


for dtype in ("quint8", "qint8"):
    for qscheme in ("per_tensor_affine", "per_tensor_symmetric"):
        for grad_scaling in (False, True):
            for label, plan in learnable_plans(1, dtype):
                init = (0.1, 3.0) if label == "modes" else (1.0, 0.0)
                args = learnable_args("MovingAverageMinMaxObserver", dtype, qscheme, -1, None, grad_scaling, *init)
                shape = (4, 16) if grad_scaling else (3, 2, 7)
                add_case("LearnableFakeQuantize",
                         f"lfq_{dtype}_{qscheme}_gs{int(grad_scaling)}_{'x'.join(map(str, shape))}_{label}",
                         f"_LearnableFakeQuantize per tensor {dtype} {qscheme}", shape, plan, args)

for dtype, qscheme, shape in [("qint8", "per_channel_symmetric", (4, 6)),
                              ("quint8", "per_channel_affine", (4, 6)),
                              ("qint8", "per_channel_affine", (3, 2, 5)),
                              ("quint8", "per_channel_symmetric", (3, 2, 5))]:
    for grad_scaling in (False, True):
        for label, plan in learnable_plans(shape[0], dtype):
            init = (0.1, 3.0) if label == "modes" else (1.0, 0.0)
            args = learnable_args("MovingAveragePerChannelMinMaxObserver", dtype, qscheme, shape[0], 0, grad_scaling,
                                  *init)
            add_case("LearnableFakeQuantize",
                     f"lfq_{dtype}_{qscheme}_gs{int(grad_scaling)}_{'x'.join(map(str, shape))}_{label}",
                     f"_LearnableFakeQuantize per channel {dtype} {qscheme}", shape, plan, args)

names = [c["name"] for c in cases]
assert len(names) == len(set(names)), "case names must be unique"

os.makedirs(os.path.dirname(OUT), exist_ok=True)
with open(OUT, "w") as f:
    json.dump({"generator": "tools/reference/gen_fake_quantize.py", "torch_version": torch.__version__,
               "numpy_version": np.__version__, "aten_cpu_capability": os.environ["ATEN_CPU_CAPABILITY"],
               "cases": cases}, f, separators=(",", ":"))
    f.write("\n")


# --- self-check: replay every case from the file just written ---------------------------------------
def replay(case):
    m = build(case)
    for step in case["steps"]:
        if step["op"] != "forward":
            run_step(m, step)
            continue
        shape = step["shape"]
        got = run_step(m, {"op": "forward", "x": unb64(step["x"], shape),
                           "grad_output": unb64(step["grad_output"], shape)})
        for k, v in got.items():
            if v != step[k]:
                raise AssertionError(f"{case['name']}: replayed {k} differs")


with open(OUT) as f:
    data = json.load(f)
for c in data["cases"]:
    replay(c)

counts = {}
forwards = 0
for c in cases:
    counts[c["module"]] = counts.get(c["module"], 0) + 1
    forwards += sum(1 for s in c["steps"] if s["op"] == "forward")
print(f"wrote {len(cases)} cases ({forwards} forwards) to {os.path.relpath(OUT)} "
      f"({os.path.getsize(OUT)} bytes): {counts}; replayed all from the file: identical", file=sys.stderr)
for key, n in sorted(skipped.items()):
    print(f"  skipped {n}x  {key}", file=sys.stderr)
