#!/usr/bin/python3
"""Writes tests/data/observer_reference.json: observed inputs and PyTorch 1.13's resulting state
(min_val / max_val, histogram) and calculate_qparams() output for the observers of
torch.ao.quantization.observer: MinMaxObserver, MovingAverageMinMaxObserver,
PerChannelMinMaxObserver, MovingAveragePerChannelMinMaxObserver and HistogramObserver.

Run with Debian's interpreter, which has python3-torch:  /usr/bin/python3 tools/reference/gen_observers.py
The output is deterministic (fixed seeds); see tools/reference/README.md.

Only argument combinations that PyTorch accepts are written: every observer is constructed first
and combinations whose constructor raises (here: symmetric + reduce_range + quint8 for the
min/max observers; HistogramObserver accepts it) are skipped, as are cases whose zero point would
leave the int32 range (see zp_overflows). Inputs are stored as base64 of little-endian float32 bytes (row-major).
"""
import json
import math
import os
import sys
import warnings

import numpy as np
import torch

from refdata import b64, f32, state_value
from torch.ao.quantization.observer import (HistogramObserver, MinMaxObserver, MovingAverageMinMaxObserver,
                                            MovingAveragePerChannelMinMaxObserver, PerChannelMinMaxObserver)

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "..", "tests", "data", "observer_reference.json")

# PyTorch warns about reduce_range deprecation and about calculate_qparams before any data.
warnings.simplefilter("ignore")

DTYPES = {"quint8": torch.quint8, "qint8": torch.qint8, "qint32": torch.qint32, "quint4x2": torch.quint4x2}
QSCHEMES = {"per_tensor_affine": torch.per_tensor_affine, "per_tensor_symmetric": torch.per_tensor_symmetric,
            "per_channel_affine": torch.per_channel_affine, "per_channel_symmetric": torch.per_channel_symmetric,
            "per_channel_affine_float_qparams": torch.per_channel_affine_float_qparams}
OBSERVERS = {"MinMaxObserver": MinMaxObserver, "MovingAverageMinMaxObserver": MovingAverageMinMaxObserver,
             "PerChannelMinMaxObserver": PerChannelMinMaxObserver,
             "MovingAveragePerChannelMinMaxObserver": MovingAveragePerChannelMinMaxObserver,
             "HistogramObserver": HistogramObserver}
SHORT = {"MinMaxObserver": "minmax", "MovingAverageMinMaxObserver": "mavg", "PerChannelMinMaxObserver": "pc",
         "MovingAveragePerChannelMinMaxObserver": "mavgpc", "HistogramObserver": "hist",
         "per_tensor_affine": "aff", "per_tensor_symmetric": "sym", "per_channel_affine": "aff",
         "per_channel_symmetric": "sym", "per_channel_affine_float_qparams": "fq"}

# Custom (quant_min, quant_max) overrides that are meaningful for each dtype (None = default range).
RANGES = {
    "quint8": [None, (0, 255), (0, 127), (0, 15)],
    "qint8": [None, (-128, 127), (-127, 127), (-64, 63), (-8, 7)],
    "qint32": [None, (-(2**30), 2**30 - 1), (-32768, 32767)],
    "quint4x2": [None, (0, 15), (0, 7)],
}
# A shorter list for the per-channel observers.
PC_RANGES = {"quint8": [None, (0, 127)], "qint8": [None, (-127, 127)], "qint32": [None, (-32768, 32767)],
             "quint4x2": [None, (0, 7)]}


cases = []
skipped = {}
rng = np.random.default_rng(20261124)


def tensor(a):
    return torch.from_numpy(np.asarray(a, dtype=np.float32))


def randn(shape, std=1.0, mean=0.0):
    return tensor(rng.standard_normal(shape) * std + mean)


def make_args(dtype, qscheme, reduce_range, qrange, **extra):
    """The JSON "args" object; floats are stored (and used) as float32 values."""
    args = {"dtype": dtype, "qscheme": qscheme, "reduce_range": reduce_range,
            "quant_min": None if qrange is None else qrange[0], "quant_max": None if qrange is None else qrange[1]}
    for k, v in extra.items():
        args[k] = float(np.float32(v)) if k in ("averaging_constant", "eps") else v
    return args


def construct(observer, args):
    """Builds the PyTorch observer from a JSON args object; raises what PyTorch raises."""
    kw = {"dtype": DTYPES[args["dtype"]], "qscheme": QSCHEMES[args["qscheme"]], "reduce_range": args["reduce_range"],
          "quant_min": args["quant_min"], "quant_max": args["quant_max"]}
    for k in ("averaging_constant", "ch_axis", "bins", "upsample_rate", "eps"):
        if k in args:
            kw[k] = args[k]
    return OBSERVERS[observer](**kw)


def legal(observer, args):
    try:
        construct(observer, args)
        return True
    except (AssertionError, NotImplementedError) as e:
        key = f"{observer} {args['dtype']} {args['qscheme']} rr={args['reduce_range']}: {' '.join(str(e).split())[:60]}"
        skipped[key] = skipped.get(key, 0) + 1
        return False


def zp_overflows(obs, scale):
    """True when PyTorch's round(min_val_neg / scale).to(int32) leaves the int32 range (an undefined
    float-to-int conversion in C++; only reachable with qint32 and wide or far-off data)."""
    if obs.qscheme not in (torch.per_tensor_affine, torch.per_channel_affine) or obs.min_val.numel() == 0:
        return False
    if obs.min_val.dim() == 0 and math.isinf(obs.min_val.item()):
        return False
    neg = torch.min(obs.min_val, torch.zeros_like(obs.min_val)).reshape(-1)
    q = torch.round(neg / scale.reshape(-1).to(torch.float32)).to(torch.float64)
    return bool((q.abs() >= 2.0**31).any())


def add_case(observer, name, args, inputs):
    obs = construct(observer, args)
    for x in inputs:
        obs(x)
    scale, zp = obs.calculate_qparams()
    if zp_overflows(obs, scale):
        skipped[f"{observer}: zero point outside int32"] = skipped.get(f"{observer}: zero point outside int32", 0) + 1
        return
    case = {"observer": observer, "name": name, "args": args,
            "inputs": [{"shape": list(x.shape), "x": b64(x)} for x in inputs],
            "min_val": state_value(obs.min_val), "max_val": state_value(obs.max_val)}
    if observer == "HistogramObserver":
        case["histogram"] = b64(obs.histogram)
    case["scale"] = [f32(v) for v in scale.reshape(-1).tolist()]
    if zp.is_floating_point():
        case["zero_point"] = [f32(v) for v in zp.reshape(-1).tolist()]
    else:
        case["zero_point"] = [int(v) for v in zp.reshape(-1).tolist()]
    cases.append(case)


def range_label(qrange):
    return "default" if qrange is None else f"q{qrange[0]}_{qrange[1]}".replace("-", "m")


# --- per-tensor min/max observers -----------------------------------------------------------------
# Each scenario returns the list of tensors to observe (at most 256 elements each).
def sc_single_normal():
    return [randn((4, 8), std=rng.uniform(0.5, 3.0), mean=rng.uniform(-1.0, 1.0))]


def sc_multi_batch():
    shapes = [(16,), (2, 8), (3, 5, 4), (7, 9), (4, 4, 4), (50,)]
    n = int(rng.integers(3, 6))
    return [randn(shapes[int(rng.integers(len(shapes)))], std=rng.uniform(0.2, 4.0), mean=rng.uniform(-2.0, 2.0))
            for _ in range(n)]


def sc_const_zero():
    return [torch.zeros(3, 7), torch.zeros(5)]


def sc_const_pos():
    return [torch.full((5, 5), 3.5)]


def sc_const_neg():
    return [torch.full((10,), -2.0), torch.full((2, 3), -2.0)]


def sc_outlier_pos():
    x = randn((8, 8))
    x[int(rng.integers(8)), int(rng.integers(8))] = 1e4
    return [x]


def sc_outlier_neg():
    x = randn((100,))
    x[int(rng.integers(100))] = -1e4
    return [x]


def sc_all_pos():
    return [randn((6, 6)).abs() * 2.0 + 0.1, randn((12,)).abs() + 0.3]


def sc_all_neg():
    return [-(randn((6, 6)).abs() + 0.5)]


def sc_none():
    return []


def sc_empty_then_data():
    return [torch.zeros(0), randn((3, 3), std=1.5), torch.zeros(2, 0)]


def sc_tiny_range():
    return [randn((20,), std=1e-6, mean=1e-6)]


SCENARIOS = {"single_normal": sc_single_normal, "multi_batch": sc_multi_batch, "const_zero": sc_const_zero,
             "const_3_5": sc_const_pos, "const_m2": sc_const_neg, "outlier_pos": sc_outlier_pos,
             "outlier_neg": sc_outlier_neg, "all_positive": sc_all_pos, "all_negative": sc_all_neg,
             "no_observation": sc_none, "empty_then_data": sc_empty_then_data, "tiny_range": sc_tiny_range}
ROTATING = [s for s in SCENARIOS if s != "single_normal"]
AVERAGING = [0.01, 0.1, 0.5, 0.25, 1.0]

combo = 0
for observer in ("MinMaxObserver", "MovingAverageMinMaxObserver"):
    for dtype, qranges in RANGES.items():
        for qscheme in ("per_tensor_affine", "per_tensor_symmetric"):
            for reduce_range in (False, True):
                for qrange in qranges:
                    base = make_args(dtype, qscheme, reduce_range, qrange)
                    if not legal(observer, base):
                        continue
                    # every combination: one normal batch plus three rotating scenarios
                    chosen = ["single_normal"] + [ROTATING[(3 * combo + k) % len(ROTATING)] for k in range(3)]
                    for k, scen in enumerate(chosen):
                        args = dict(base)
                        label = ""
                        if observer == "MovingAverageMinMaxObserver":
                            c = AVERAGING[(combo + k) % len(AVERAGING)]
                            args = make_args(dtype, qscheme, reduce_range, qrange, averaging_constant=c)
                            label = f"_c{c}"
                        name = (f"{SHORT[observer]}_{dtype}_{SHORT[qscheme]}_rr{int(reduce_range)}_"
                                f"{range_label(qrange)}{label}_{scen}")
                        add_case(observer, name, args, SCENARIOS[scen]())
                    combo += 1

# eps larger than the data range: the scale is clamped to eps
for observer in ("MinMaxObserver", "MovingAverageMinMaxObserver"):
    for dtype, qscheme, reduce_range in [("quint8", "per_tensor_affine", False), ("qint8", "per_tensor_symmetric", False),
                                         ("qint8", "per_tensor_affine", True), ("quint8", "per_tensor_symmetric", False)]:
        extra = {"averaging_constant": 0.1} if observer == "MovingAverageMinMaxObserver" else {}
        args = make_args(dtype, qscheme, reduce_range, None, eps=1e-3, **extra)
        for scen, inputs in [("tiny_range", [randn((4, 6), std=1e-3, mean=2e-4)]),
                             ("wide_range", [randn((4, 6), std=2.0)]), ("const_zero", sc_const_zero())]:
            add_case(observer, f"{SHORT[observer]}_{dtype}_{SHORT[qscheme]}_rr{int(reduce_range)}_eps1e-3_{scen}",
                     args, inputs)

# moving average over many batches with drifting ranges, for several averaging constants
for c in (0.01, 0.1, 0.5, 0.9):
    for dtype, qscheme in [("quint8", "per_tensor_affine"), ("qint8", "per_tensor_symmetric")]:
        inputs = [randn((32,), std=0.5 + i, mean=0.3 * i - 1.0) for i in range(8)]
        add_case("MovingAverageMinMaxObserver", f"mavg_{dtype}_{SHORT[qscheme]}_c{c}_drift8",
                 make_args(dtype, qscheme, False, None, averaging_constant=c), inputs)


# --- per-channel min/max observers ----------------------------------------------------------------
LAYOUTS = [((4, 6), 0), ((4, 6), 1), ((5, 3), -1), ((3, 4, 5), 0), ((3, 4, 5), 1), ((3, 4, 5), 2),
           ((3, 4, 5), -1), ((2, 5, 3), -2), ((2, 3, 4, 5), 0), ((2, 3, 4, 5), 1), ((2, 3, 4, 5), 2),
           ((2, 3, 4, 5), -1), ((3, 2, 4, 2), 3), ((8, 16), 0)]


def channel_data(shape, axis, positive=False):
    """Normal data whose std and mean differ per channel."""
    c = shape[axis]
    bshape = [1] * len(shape)
    bshape[axis] = c
    std = rng.uniform(0.1, 3.0, c).reshape(bshape)
    mean = rng.uniform(-1.0, 1.0, c).reshape(bshape)
    x = rng.standard_normal(shape) * std + mean
    if positive:
        x = np.abs(x) + 0.05
    return tensor(x)


def set_channel(x, axis, ch, value):
    idx = [slice(None)] * x.dim()
    idx[axis] = ch
    x[tuple(idx)] = value
    return x


def pc_single(shape, axis):
    return [channel_data(shape, axis)]


def pc_multi(shape, axis):
    return [channel_data(shape, axis) for _ in range(int(rng.integers(2, 5)))]


def pc_const_channel(shape, axis):
    # channel 0 is all zero in every batch, the last channel is a nonzero constant
    out = []
    for value in (1.25, -0.75):
        x = set_channel(channel_data(shape, axis), axis, 0, 0.0)
        out.append(set_channel(x, axis, shape[axis] - 1, value))
    return out


def pc_outlier_channel(shape, axis):
    x = channel_data(shape, axis)
    idx = [int(rng.integers(n)) for n in shape]
    x[tuple(idx)] = 1e3 if rng.random() < 0.6 else -1e3
    return [x, channel_data(shape, axis)]


def pc_all_positive(shape, axis):
    return [channel_data(shape, axis, positive=True), channel_data(shape, axis, positive=True)]


def pc_none(shape, axis):
    return []


PC_SCENARIOS = {"single": pc_single, "multi_batch": pc_multi, "const_channel": pc_const_channel,
                "outlier_channel": pc_outlier_channel, "all_positive": pc_all_positive, "no_observation": pc_none}
PC_ROTATING = [s for s in PC_SCENARIOS if s != "single"]

combo = 0
for observer in ("PerChannelMinMaxObserver", "MovingAveragePerChannelMinMaxObserver"):
    for dtype, qranges in PC_RANGES.items():
        for qscheme in ("per_channel_affine", "per_channel_symmetric", "per_channel_affine_float_qparams"):
            for reduce_range in (False, True):
                for qrange in qranges:
                    if not legal(observer, make_args(dtype, qscheme, reduce_range, qrange, ch_axis=0)):
                        continue
                    chosen = ["single"] + [PC_ROTATING[(2 * combo + k) % len(PC_ROTATING)] for k in range(2)]
                    for k, scen in enumerate(chosen):
                        shape, axis = LAYOUTS[(3 * combo + k) % len(LAYOUTS)]
                        extra = {}
                        label = ""
                        if observer == "MovingAveragePerChannelMinMaxObserver":
                            c = AVERAGING[(combo + k) % len(AVERAGING)]
                            extra["averaging_constant"] = c
                            label = f"_c{c}"
                        args = make_args(dtype, qscheme, reduce_range, qrange, ch_axis=axis, **extra)
                        name = (f"{SHORT[observer]}_{dtype}_{SHORT[qscheme]}_rr{int(reduce_range)}_{range_label(qrange)}"
                                f"{label}_{'x'.join(map(str, shape))}_axis{axis}_{scen}")
                        add_case(observer, name, args, PC_SCENARIOS[scen](shape, axis))
                    combo += 1

# eps clamping per channel: channels with tiny ranges next to a wide one
for observer in ("PerChannelMinMaxObserver", "MovingAveragePerChannelMinMaxObserver"):
    for qscheme in ("per_channel_affine", "per_channel_symmetric", "per_channel_affine_float_qparams"):
        x = randn((4, 10), std=1e-4)
        x[3] *= 1e4
        extra = {"averaging_constant": 0.5} if observer == "MovingAveragePerChannelMinMaxObserver" else {}
        add_case(observer, f"{SHORT[observer]}_qint8_{SHORT[qscheme]}_eps1e-3_tiny_channels",
                 make_args("qint8", qscheme, False, None, ch_axis=0, eps=1e-3, **extra), [x, x * 0.5])


# --- HistogramObserver ----------------------------------------------------------------------------
def uniform(lo, hi, n):
    return tensor(rng.uniform(lo, hi, n))


def normal(std, n, mean=0.0):
    return tensor(rng.standard_normal(n) * std + mean)


def with_outliers(n):
    x = rng.standard_normal(n)
    x[rng.choice(n, 5, replace=False)] = [40.0, -35.0, 60.0, -80.0, 25.0]
    return tensor(x)


def bimodal(n):
    return tensor(np.where(rng.random(n) < 0.4, rng.normal(-3.0, 0.5, n), rng.normal(4.0, 1.0, n)))


def sparse(n):
    return tensor(np.where(rng.random(n) < 0.7, 0.0, rng.standard_normal(n) * 2.0))


# name -> list of batches; each batch has 1000..4000 elements
HIST_DATA = {
    "normal_std0.1": lambda: [normal(0.1, 2000), normal(0.1, 2000)],
    "normal_std1": lambda: [normal(1.0, 3000), normal(1.0, 2000), normal(1.0, 1000)],
    "normal_std10": lambda: [normal(10.0, 2500), normal(10.0, 2500)],
    "uniform_0_1": lambda: [uniform(0.0, 1.0, 2000), uniform(0.0, 1.0, 2000)],
    "uniform_m1_1": lambda: [uniform(-1.0, 1.0, 3000)],
    "uniform_m50_50": lambda: [uniform(-50.0, 50.0, 2000), uniform(-50.0, 50.0, 2000)],
    "uniform_0.2_0.8": lambda: [uniform(0.2, 0.8, 1500), uniform(0.2, 0.8, 1500)],
    "uniform_m1.5_2.7": lambda: [uniform(-1.5, 2.7, 2000)],
    "lognormal": lambda: [tensor(rng.lognormal(0.0, 1.0, 2000)), tensor(rng.lognormal(0.0, 1.0, 2000))],
    "exponential": lambda: [tensor(rng.exponential(1.5, 3000))],
    "neg_exponential": lambda: [tensor(-rng.exponential(2.0, 2000)), tensor(-rng.exponential(2.0, 2000))],
    "relu_normal": lambda: [normal(1.0, 2000).clamp(min=0.0), normal(1.5, 2000).clamp(min=0.0)],
    "student_t_df2": lambda: [tensor(rng.standard_t(2.0, 2000)), tensor(rng.standard_t(2.0, 2000))],
    "cauchy_clip1e3": lambda: [tensor(np.clip(rng.standard_cauchy(3000), -1e3, 1e3))],
    "normal_outliers": lambda: [with_outliers(2000), normal(1.0, 2000)],
    "bimodal": lambda: [bimodal(2500), bimodal(2500)],
    "laplace": lambda: [tensor(rng.laplace(0.0, 0.7, 2000)), tensor(rng.laplace(0.0, 0.7, 2000))],
    "beta_u_shape": lambda: [tensor(rng.beta(0.5, 0.5, 2000) * 6.0 - 3.0)],
    "sparse_relu_like": lambda: [sparse(3000), sparse(3000)],
    "integers": lambda: [tensor(np.round(rng.standard_normal(2000) * 5.0)), tensor(np.round(rng.standard_normal(2000) * 5.0))],
    "normal_mean5_std0.3": lambda: [normal(0.3, 2000, mean=5.0), normal(0.3, 2000, mean=5.0)],
    "tiny_std1e-3": lambda: [normal(1e-3, 2000), normal(1e-3, 2000)],
    "const_3.5": lambda: [torch.full((1000,), 3.5), torch.full((1000,), 3.5)],
    "const_0": lambda: [torch.zeros(1500)],
    "const_m0.25": lambda: [torch.full((1200,), -0.25)],
    "const_then_normal": lambda: [torch.full((1000,), 2.0), normal(1.0, 2000)],
    "single_batch_normal": lambda: [normal(2.0, 4000)],
    "growing": lambda: [uniform(-1.0, 1.0, 2000), uniform(-4.0, 4.0, 2000), uniform(-20.0, 30.0, 2000)],
    "growing_small": lambda: [normal(0.05, 1500), normal(0.3, 1500), normal(0.9, 1500)],
    "shrinking": lambda: [uniform(-20.0, 30.0, 2000), uniform(-4.0, 4.0, 2000), uniform(-1.0, 1.0, 2000)],
    "inside": lambda: [uniform(-2.0, 2.0, 2000), uniform(-2.0, 2.0, 2000), uniform(-1.0, 1.5, 2000),
                       uniform(-0.5, 0.5, 1000)],
    "shift": lambda: [normal(1.0, 2000), normal(1.0, 2000, mean=5.0)],
    "late_outlier": lambda: [normal(1.0, 2000), tensor(np.append(rng.standard_normal(1999), 300.0))],
}

# (data, dtype, qscheme, reduce_range, bins, upsample_rate, custom range)
HIST_CASES = [
    ("normal_std0.1", "quint8", "per_tensor_affine", False, 2048, 128, None),
    ("normal_std0.1", "qint8", "per_tensor_symmetric", False, 2048, 128, None),
    ("normal_std1", "quint8", "per_tensor_affine", False, 2048, 128, None),
    ("normal_std1", "qint8", "per_tensor_affine", True, 2048, 128, None),
    ("normal_std10", "qint8", "per_tensor_symmetric", False, 2048, 128, None),
    ("normal_std10", "quint8", "per_tensor_affine", True, 512, 16, None),
    ("uniform_0_1", "quint8", "per_tensor_affine", False, 2048, 128, None),
    ("uniform_m1_1", "qint8", "per_tensor_symmetric", True, 2048, 128, None),
    ("uniform_m50_50", "quint8", "per_tensor_affine", False, 2048, 128, None),
    ("uniform_m50_50", "qint8", "per_tensor_symmetric", False, 256, 128, None),
    ("uniform_0.2_0.8", "quint8", "per_tensor_affine", False, 2048, 128, None),
    ("uniform_m1.5_2.7", "qint8", "per_tensor_affine", False, 2048, 128, None),
    ("lognormal", "quint8", "per_tensor_affine", False, 2048, 128, None),
    ("lognormal", "qint8", "per_tensor_symmetric", False, 512, 128, None),
    ("exponential", "quint8", "per_tensor_affine", True, 2048, 128, None),
    ("neg_exponential", "qint8", "per_tensor_affine", False, 2048, 128, None),
    ("relu_normal", "quint8", "per_tensor_affine", False, 2048, 128, None),
    ("relu_normal", "quint8", "per_tensor_symmetric", False, 256, 16, None),
    ("student_t_df2", "qint8", "per_tensor_symmetric", False, 2048, 128, None),
    ("student_t_df2", "quint8", "per_tensor_affine", False, 2048, 128, None),
    ("cauchy_clip1e3", "qint8", "per_tensor_affine", False, 2048, 128, None),
    ("normal_outliers", "quint8", "per_tensor_affine", False, 2048, 128, None),
    ("normal_outliers", "qint8", "per_tensor_symmetric", True, 2048, 128, None),
    ("bimodal", "qint8", "per_tensor_affine", False, 2048, 128, None),
    ("bimodal", "quint8", "per_tensor_symmetric", False, 512, 16, None),
    ("laplace", "qint8", "per_tensor_symmetric", False, 2048, 128, None),
    ("beta_u_shape", "quint8", "per_tensor_affine", False, 2048, 128, None),
    ("sparse_relu_like", "qint8", "per_tensor_affine", True, 2048, 128, None),
    ("integers", "quint8", "per_tensor_affine", False, 2048, 128, None),
    ("normal_mean5_std0.3", "quint8", "per_tensor_affine", False, 2048, 128, None),
    ("normal_mean5_std0.3", "qint8", "per_tensor_symmetric", False, 2048, 128, None),
    ("tiny_std1e-3", "qint8", "per_tensor_affine", False, 2048, 128, None),
    ("const_3.5", "quint8", "per_tensor_affine", False, 2048, 128, None),
    ("const_0", "qint8", "per_tensor_symmetric", False, 2048, 128, None),
    ("const_m0.25", "quint8", "per_tensor_affine", True, 2048, 128, None),
    ("const_then_normal", "quint8", "per_tensor_affine", False, 2048, 128, None),
    ("single_batch_normal", "qint8", "per_tensor_affine", False, 2048, 128, None),
    ("single_batch_normal", "quint8", "per_tensor_symmetric", False, 2048, 128, None),
    ("growing", "quint8", "per_tensor_affine", False, 2048, 128, None),
    ("growing", "qint8", "per_tensor_symmetric", False, 2048, 128, None),
    ("growing", "quint8", "per_tensor_affine", False, 256, 16, None),
    ("growing_small", "qint8", "per_tensor_affine", False, 2048, 128, None),
    ("shrinking", "quint8", "per_tensor_affine", False, 2048, 128, None),
    ("shrinking", "qint8", "per_tensor_symmetric", True, 512, 128, None),
    ("inside", "qint8", "per_tensor_affine", False, 2048, 128, None),
    ("inside", "quint8", "per_tensor_affine", True, 256, 128, None),
    ("shift", "quint8", "per_tensor_affine", False, 2048, 128, None),
    ("late_outlier", "qint8", "per_tensor_affine", False, 2048, 128, None),
    # PyTorch accepts these too: symmetric + reduce_range + quint8 (no check in HistogramObserver),
    # custom ranges, and quint4x2 / qint32 (dst_nbins = 2**iinfo(dtype).bits: 256 and 2**32).
    ("normal_std1", "quint8", "per_tensor_symmetric", True, 2048, 128, None),
    ("normal_std1", "qint8", "per_tensor_symmetric", False, 2048, 128, (-127, 127)),
    ("relu_normal", "quint8", "per_tensor_affine", False, 2048, 128, (0, 127)),
    ("normal_std1", "quint4x2", "per_tensor_affine", False, 2048, 128, None),
    ("uniform_m1_1", "qint32", "per_tensor_affine", False, 512, 16, None),
]

for data, dtype, qscheme, reduce_range, bins, up, qrange in HIST_CASES:
    args = make_args(dtype, qscheme, reduce_range, qrange, bins=bins, upsample_rate=up)
    if not legal("HistogramObserver", args):
        continue
    name = f"hist_{dtype}_{SHORT[qscheme]}_rr{int(reduce_range)}_{range_label(qrange)}_b{bins}_u{up}_{data}"
    add_case("HistogramObserver", name, args, HIST_DATA[data]())
# calculate_qparams before any data
add_case("HistogramObserver", "hist_quint8_aff_rr0_default_b2048_u128_no_observation",
         make_args("quint8", "per_tensor_affine", False, None, bins=2048, upsample_rate=128), [])

names = [c["name"] for c in cases]
assert len(names) == len(set(names)), "case names must be unique"

os.makedirs(os.path.dirname(OUT), exist_ok=True)
with open(OUT, "w") as f:
    json.dump({"generator": "tools/reference/gen_observers.py", "torch_version": torch.__version__,
               "numpy_version": np.__version__, "cases": cases}, f, separators=(",", ":"))
    f.write("\n")
counts = {}
for c in cases:
    counts[c["observer"]] = counts.get(c["observer"], 0) + 1
print(f"wrote {len(cases)} cases to {os.path.relpath(OUT)}: {counts}", file=sys.stderr)
for key, n in sorted(skipped.items()):
    print(f"  skipped {n}x  {key}", file=sys.stderr)
