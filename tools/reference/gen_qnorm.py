#!/usr/bin/python3
"""Writes tests/data/qnorm_reference.json: PyTorch 1.13's normalization modules, float and quantized,
for ctq's include/ctq/nn/normalization.hpp and include/ctq/nn/quantized/normalization.hpp.

Run with Debian's interpreter, which has python3-torch:  /usr/bin/python3 tools/reference/gen_qnorm.py
The output is deterministic (fixed seeds); see tools/reference/README.md.

Quantized cases (op "batch_norm", "layer_norm", "group_norm", "instance_norm") run PyTorch's quantized
modules -- nnq.BatchNorm2d/3d, nniq.BNReLU2d/3d, nnq.LayerNorm, nnq.GroupNorm, nnq.InstanceNorm1d/2d/3d,
which call quantized::batch_norm2d(_relu), batch_norm3d(_relu), layer_norm, group_norm, instance_norm --
on quint8 inputs, under both quantized engines. The engines run the same ATen kernels for these ops:
the script asserts that qnnpack and onednn give the same codes and records them once, with
"engines": ["qnnpack", "onednn"]. A case has one input and a list of "outputs", each an output
scale and zero point with the codes PyTorch produced: a MinMaxObserver's parameters for the float
module's output on the dequantized input (as calibration would choose them), given ones, or
("probe") ones searched so that one float step of the kernel changes some code when it is rounded
twice instead of computed as one fused multiply-add. PyTorch 1.13's AVX2 kernels (Debian's build
runs them on x86) fuse every multiply-add, which these cases pin down; the script checks every
case against its numpy model of the kernels (all steps fused) and fails on any difference.
"format" is the memory format of the PyTorch input ("contiguous" or "channels_last"): quantized
group_norm and instance_norm take another kernel for a 4-d channels-last tensor, which sums in
float (per thread) when H * W >= 512; the script runs PyTorch with one thread.

Float cases ("float_layer_norm", "float_group_norm", "float_instance_norm") run torch.nn.LayerNorm,
GroupNorm and InstanceNorm1d/2d/3d in eval mode on float inputs.

"eps" is the Python float the module was given (a double: layer_norm, group_norm and instance_norm
add it in double; batch_norm rounds it to float).

Layouts: activations are stored as ctq holds them. BatchNorm, GroupNorm and InstanceNorm tensors are
channels last (N, L, C / N, H, W, C / N, D, H, W, C; "shape" is that shape); LayerNorm tensors keep
PyTorch's order (ctq's LayerNorm normalizes the trailing dimensions of the tensor as given).
Parameters keep PyTorch's layout. Codes are base64 of the raw int_repr bytes; floats base64 of
little-endian float32.
"""
import base64
import json
import os
import sys
import warnings

import numpy as np
import torch
import torch.nn as nn
import torch.nn.intrinsic.quantized as nniq
import torch.nn.quantized as nnq

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from refdata import b64, f32  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "..", "tests", "data", "qnorm_reference.json")
ENGINES = ["qnnpack", "onednn"]
F32, LD = np.float32, np.longdouble
warnings.simplefilter("ignore")
torch.set_num_threads(1)  # the channels-last group_norm kernel's float sums depend on the thread count
rng = np.random.default_rng(20261215)
torch.manual_seed(20261215)
cases = []
counts = {}


# --- encoding -------------------------------------------------------------------------------------
def f32v(v):
    """A float32 value as a Python float."""
    return float(F32(v))


def codes_b64(a):
    a = np.ascontiguousarray(np.asarray(a).reshape(-1).astype(np.uint8))
    return base64.b64encode(a.tobytes()).decode("ascii")


def channels_last(t):
    """A (N, C, ...) tensor or array as ctq holds it: (N, ..., C)."""
    if t.ndim <= 2:
        return t
    return np.moveaxis(np.asarray(t), 1, -1) if isinstance(t, np.ndarray) else t.permute(0, *range(2, t.dim()), 1)


def ctq_shape(shape):
    shape = list(shape)
    return [shape[0]] + shape[2:] + [shape[1]] if len(shape) > 2 else shape


def fvec(t):
    return None if t is None else b64(t.detach().float().contiguous())


def add_case(op, case):
    n = counts.get(op, 0)
    counts[op] = n + 1
    cases.append({"op": op, "name": f"{op}_{n}", **case})


# --- numpy models of PyTorch 1.13's kernels (x86, AVX2) -------------------------------------------
def mad(a, b, c, fused=True):
    """a * b + c in float32: one rounding (an FMA) or two."""
    if fused:
        return (np.asarray(a, LD) * np.asarray(b, LD) + np.asarray(c, LD)).astype(F32)
    return (np.asarray(a, F32) * np.asarray(b, F32)).astype(F32) + np.asarray(c, F32)


def requant(y, y_scales, y_zp):
    """Codes of float y (n,) under each output scale (k,): (k, n); nearbyint(y * (1 / scale)) + zp."""
    inv = (F32(1.0) / np.asarray(y_scales, F32)).astype(F32)
    t = (np.asarray(y, F32)[None, :] * inv[:, None]).astype(F32)
    return np.clip(np.rint(t) + y_zp, 0, 255)


def group_stats(s1, s2, n, x_zp, x_scale, eps, fused_var=True):
    """Mean (in input steps) and x_scale / std of a group from the sums of its codes and squares."""
    m = F32(F32(s1) / F32(n))
    mean = F32(m - F32(x_zp))
    var = F32(max(mad(-m, m, F32(F32(s2) / F32(n)), fused_var), F32(0)))
    s = F32(np.float64(x_scale) / np.sqrt(np.float64(F32(F32(var * F32(x_scale)) * F32(x_scale))) + np.float64(eps)))
    return mean, s


def bn_alpha_beta(w, b, m, v, eps, xs, ys):
    """quantized::batch_norm's per-channel factors (computed without FMA, outside the AVX2 kernel)."""
    inv_sigma = (1.0 / np.sqrt((v + F32(eps)).astype(F32)).astype(np.float64)).astype(F32)
    a = ((inv_sigma * w).astype(F32).astype(np.float64) * (np.float64(xs) / np.float64(ys))).astype(F32)
    be = ((b - ((m * inv_sigma).astype(F32) * w).astype(F32)).astype(F32).astype(np.float64) / np.float64(ys))
    return a, be.astype(F32)


def bn_codes(x, params, eps, xs, x_zp, ys, y_zp, relu, fused=True):
    """x (..., C) codes channels last."""
    a, be = bn_alpha_beta(*params, eps, xs, ys)
    y = np.rint(mad(a, (x.astype(F32) - F32(x_zp)).astype(F32), be, fused)) + y_zp
    if relu:
        y = np.maximum(y, y_zp)
    return np.clip(y, 0, 255)


def generic_y(x, n_groups, gamma, beta, cpg, x_scale, x_zp, eps, flags):
    """ATen's contiguous normalize kernel up to the float output: x (n_groups * n,) codes in
    PyTorch order; gamma/beta per element of a group (layer norm, cpg 0) or per channel (group
    norm, cpg channels per group). flags: which steps are fused (var, vec: the 32-element vector
    body, tail: the rest)."""
    n = x.size // n_groups
    out = []
    for i in range(n_groups):
        g = x[i * n:(i + 1) * n].astype(np.int64)
        mean, s = group_stats(g.sum(), (g * g).sum(), n, x_zp, x_scale, eps, flags["var"])
        t = ((g.astype(F32) - F32(x_zp)).astype(F32) - mean).astype(F32)
        if cpg:
            npc = n // cpg
            ch = (i * cpg + np.arange(n) // npc) % gamma.size
            gp = (s * gamma[ch]).astype(F32)
            vec = np.arange(n) % npc < npc // 32 * 32
            y = np.where(vec, mad(t, gp, beta[ch], flags["vec"]), mad(t, gp, beta[ch], flags["tail"]))
        else:
            ts = (t * s).astype(F32)
            vec = np.arange(n) < n // 32 * 32
            y = np.where(vec, mad(ts, gamma, beta, flags["vec"]), mad(ts, gamma, beta, flags["tail"]))
        out.append(y)
    return np.concatenate(out)


def nhwc_y(x, gamma, beta, groups, x_scale, x_zp, eps, flags):
    """ATen's channels-last group norm kernel up to the float output: x (batch, hw, c) codes.
    flags as generic_y, plus bias (bias = -scale * mean + beta) and float_sums (H * W >= 512:
    float sums per channel over the pixels, then over the group's channels, one thread)."""
    b_, hw, c = x.shape
    cpg = c // groups
    n = hw * cpg
    y = np.zeros((b_, hw, c), F32)
    for bi in range(b_):
        sc = np.zeros(c, F32)
        bias = np.zeros(c, F32)
        for gi in range(groups):
            g = x[bi, :, gi * cpg:(gi + 1) * cpg].astype(np.int64)
            if hw < 512 or not flags.get("float_sums", True):
                mean, s = group_stats(g.sum(), (g * g).sum(), n, x_zp, x_scale, eps, flags["var"])
            else:
                c1 = np.zeros(cpg, F32)
                c2 = np.zeros(cpg, F32)
                for p in range(hw):
                    c1 = (c1 + g[p].astype(F32)).astype(F32)
                    c2 = (c2 + (g[p] * g[p]).astype(F32)).astype(F32)
                s1 = F32(0)
                s2 = F32(0)
                for d in range(cpg):
                    s1 = F32(s1 + c1[d])
                    s2 = F32(s2 + c2[d])
                mean, s = group_stats(s1, s2, n, x_zp, x_scale, eps, flags["var"])
            chs = slice(gi * cpg, (gi + 1) * cpg)
            sc[chs] = (s * gamma[chs]).astype(F32)
            bias[chs] = mad(-sc[chs], mean, beta[chs], flags["bias"])
        d = (x[bi].astype(F32) - F32(x_zp)).astype(F32)
        vec = (np.arange(c) % cpg < cpg // 32 * 32) if hw < 512 else (np.arange(c) < c // 32 * 32)
        y[bi] = np.where(vec[None, :], mad(d, sc[None, :], bias[None, :], flags["vec"]),
                         mad(d, sc[None, :], bias[None, :], flags["tail"]))
    return y.reshape(-1)


ALL_FUSED = {"var": True, "vec": True, "tail": True, "bias": True, "float_sums": True, "layout": True}


def norm_model(op, x, shape, groups, gamma, beta, fmt, x_scale, x_zp, eps, flags=ALL_FUSED):
    """The float outputs of the model for a layer/group/instance norm case: x in PyTorch's shape
    and order; returns them in ctq's layout (channels last except layer norm)."""
    if op == "layer_norm":
        n = gamma.size
        return generic_y(x.reshape(-1), x.size // n, gamma.reshape(-1), beta.reshape(-1), 0, x_scale, x_zp, eps,
                         flags)
    c = shape[1]
    # PyTorch takes the channels-last kernel for a 4-d tensor that is channels-last contiguous:
    # in that memory format, or contiguous with one channel or H = W = 1. flags["layout"] False
    # models the other kernel.
    nhwc = len(shape) == 4 and (fmt == "channels_last" or c == 1 or shape[2] * shape[3] == 1)
    if nhwc == flags.get("layout", True):
        return nhwc_y(channels_last(x).reshape(shape[0], -1, c), gamma, beta, groups, x_scale, x_zp, eps, flags)
    y = generic_y(x.reshape(-1), shape[0] * groups, gamma, beta, c // groups, x_scale, x_zp, eps, flags)
    return channels_last(y.reshape(shape)).reshape(-1)


# --- PyTorch --------------------------------------------------------------------------------------
def random_codes(shape, kind):
    """"uniform" over [0, 255], "narrow" (four codes), "normal" (around 128)."""
    if kind == "uniform":
        return rng.integers(0, 256, size=shape)
    if kind == "narrow":
        return rng.integers(100, 104, size=shape)
    if kind == "normal":
        return np.clip(np.rint(rng.normal(128, 40, size=shape)), 0, 255)
    raise ValueError(kind)


def qinput(codes, scale, zp, fmt="contiguous"):
    q = torch._make_per_tensor_quantized_tensor(torch.from_numpy(np.asarray(codes).astype(np.uint8)), scale, zp)
    if fmt == "channels_last":
        q = q.contiguous(memory_format=torch.channels_last if q.dim() == 4 else torch.channels_last_3d)
    return q


def observed_qparams(y):
    obs = torch.ao.quantization.MinMaxObserver(dtype=torch.quint8)
    obs(y)
    s, z = obs.calculate_qparams()
    return f32v(s.item()), int(z.item())


def run_engines(fn):
    """The output codes (numpy, PyTorch's shape) of fn() on every engine: the same on all."""
    out = {}
    for e in ENGINES:
        torch.backends.quantized.engine = e
        out[e] = fn().int_repr().numpy()
    assert all(np.array_equal(out[e], out[ENGINES[0]]) for e in ENGINES), "the engines disagree"
    return out[ENGINES[0]]


def set_params(m, params):
    with torch.no_grad():
        for t, v in zip((m.weight, m.bias, getattr(m, "running_mean", None), getattr(m, "running_var", None)), params):
            t.copy_(torch.from_numpy(np.asarray(v, np.float32)))


def model_check(name, model_codes, torch_codes):
    bad = int(np.count_nonzero(model_codes.reshape(-1) != torch_codes.reshape(-1)))
    assert bad == 0, f"{name}: the numpy model differs from PyTorch on {bad} codes"


def output_entry(scale, zp, codes, probe=None):
    e = {"y_scale": f32(scale), "y_zero_point": int(zp), "y": codes_b64(codes)}
    if probe:
        e["probe"] = probe
    return e


# --- BatchNorm ------------------------------------------------------------------------------------
def bn_case(dims, relu, shape, eps, codes, x_scale, x_zp, outs=None, params=None):
    """outs: [(scale, zero_point, probe)] or None for the observed parameters."""
    c = shape[1]
    if params is None:
        params = tuple(np.asarray(p, F32) for p in (rng.uniform(-1.5, 1.5, c), rng.normal(0, 0.5, c),
                                                     rng.normal(0, 1.0, c), rng.uniform(0.05, 3.0, c)))
    float_bn = (nn.BatchNorm2d if dims == 2 else nn.BatchNorm3d)(c, eps=eps).eval()
    set_params(float_bn, params)
    if isinstance(codes, str):
        codes = random_codes(shape, codes)
    qx = qinput(codes, x_scale, x_zp)
    if outs is None:
        yf = float_bn(qx.dequantize())
        outs = [observed_qparams(torch.relu(yf) if relu else yf) + (None,)]
    entries = []
    for (ys, yz, probe) in outs:
        qm = ((nniq.BNReLU2d if dims == 2 else nniq.BNReLU3d) if relu
              else (nnq.BatchNorm2d if dims == 2 else nnq.BatchNorm3d))(c, eps=eps)
        qm.weight, qm.bias = float_bn.weight, float_bn.bias
        qm.running_mean, qm.running_var = float_bn.running_mean, float_bn.running_var
        qm.scale, qm.zero_point = torch.tensor(ys), torch.tensor(yz)
        y = channels_last(run_engines(lambda: qm(qx)))
        model_check(f"batch_norm_{counts.get('batch_norm', 0)}",
                    bn_codes(channels_last(np.asarray(codes)), params, eps, x_scale, x_zp, ys, yz, relu), y)
        entries.append(output_entry(ys, yz, y, probe))
    add_case("batch_norm", {
        "dims": dims, "relu": relu, "shape": ctq_shape(shape), "eps": float(eps), "engines": ENGINES,
        "weight": fvec(float_bn.weight), "bias": fvec(float_bn.bias), "running_mean": fvec(float_bn.running_mean),
        "running_var": fvec(float_bn.running_var),
        "x": codes_b64(channels_last(np.asarray(codes))), "x_scale": f32(x_scale), "x_zero_point": x_zp,
        "outputs": entries})


def bn_discriminating(c, xs, ys, eps):
    """c channels' parameters for which alpha * (q - zp) + beta rounds to another integer for some
    code q when computed with two roundings instead of one FMA."""
    d = np.arange(-128, 128).astype(F32)
    found = []
    while len(found) < c:
        k = 4096
        p = (rng.uniform(-1.5, 1.5, k).astype(F32), rng.normal(0, 0.5, k).astype(F32),
             rng.normal(0, 1.0, k).astype(F32), rng.uniform(0.05, 3.0, k).astype(F32))
        a, be = bn_alpha_beta(*p, eps, xs, ys)
        hit = np.any(np.rint(mad(a[:, None], d[None, :], be[:, None], True)) !=
                     np.rint(mad(a[:, None], d[None, :], be[:, None], False)), axis=1)
        found += [tuple(col[i] for col in p) for i in np.nonzero(hit)[0]]
    return tuple(np.array(col, F32) for col in zip(*found[:c]))


def bn_probe_case(dims, relu, c):
    """Every code in every channel, and channel parameters from bn_discriminating: each channel
    (in PyTorch's 32-channel vector body, its 8-channel buffered tail, its scalar tail) shows
    that its multiply-add is fused."""
    xs, ys, eps = F32(0.05), F32(0.02), 1e-5
    params = bn_discriminating(c, xs, ys, eps)
    spatial = (16, 16) if dims == 2 else (4, 8, 8)
    x = np.stack([rng.permutation(256) for _ in range(c)]).reshape((1, c) + spatial)
    bn_case(dims, relu, x.shape, eps, x, float(xs), 128, outs=[(float(ys), 128, "fma")], params=params)


# --- LayerNorm / GroupNorm / InstanceNorm ---------------------------------------------------------
def make_float_norm(op, shape, groups, affine, eps, normalized_shape=None, track=False):
    c = shape[1] if op != "layer_norm" else None
    if op == "layer_norm":
        return nn.LayerNorm(normalized_shape, eps=eps, elementwise_affine=affine).eval()
    if op == "group_norm":
        return nn.GroupNorm(groups, c, eps=eps, affine=affine).eval()
    cls = {3: nn.InstanceNorm1d, 4: nn.InstanceNorm2d, 5: nn.InstanceNorm3d}[len(shape)]
    return cls(c, eps=eps, affine=affine, track_running_stats=track).eval()


def make_quantized_norm(op, m, shape, groups, eps, affine, ys, yz):
    if op == "layer_norm":
        return nnq.LayerNorm(m.normalized_shape, m.weight, m.bias, ys, yz, eps=eps, elementwise_affine=affine)
    if op == "group_norm":
        return nnq.GroupNorm(groups, shape[1], m.weight, m.bias, ys, yz, eps=eps, affine=affine)
    cls = {3: nnq.InstanceNorm1d, 4: nnq.InstanceNorm2d, 5: nnq.InstanceNorm3d}[len(shape)]
    return cls(shape[1], m.weight, m.bias, ys, yz, eps=eps, affine=affine)


def norm_case(op, shape, eps, codes, x_scale, x_zp, fmt="contiguous", groups=None, normalized_shape=None,
              affine=True, params=None, outs=None, track=False):
    """A quantized layer/group/instance norm case; outs as bn_case."""
    pshape = normalized_shape if op == "layer_norm" else (shape[1],)
    m = make_float_norm(op, shape, groups, affine, eps, normalized_shape, track)
    if affine:
        if params is None:
            params = (rng.uniform(-1.5, 1.5, pshape).astype(F32), rng.normal(0, 0.5, pshape).astype(F32))
        set_params(m, params)
    gamma = m.weight.detach().numpy() if affine else np.ones(pshape, F32)
    beta = m.bias.detach().numpy() if affine else np.zeros(pshape, F32)
    if isinstance(codes, str):
        codes = random_codes(shape, codes)
    qx = qinput(codes, x_scale, x_zp, fmt)
    if outs is None:
        # The quantized modules normalize with the input's own statistics, whatever
        # track_running_stats says: a GroupNorm with these parameters gives their float output.
        if op == "layer_norm":
            ref = m
        else:
            ref = nn.GroupNorm(groups, shape[1], eps=eps, affine=affine).eval()
            if affine:
                set_params(ref, (gamma, beta))
        outs = [observed_qparams(ref(qx.dequantize())) + (None,)]
    yf = norm_model(op, np.asarray(codes), shape, groups, gamma, beta, fmt, x_scale, x_zp, eps)
    entries = []
    for (ys, yz, probe) in outs:
        qm = make_quantized_norm(op, m, shape, groups, eps, affine, ys, yz)
        y = run_engines(lambda: qm(qx))
        y = y if op == "layer_norm" else channels_last(y)
        model_check(f"{op}_{counts.get(op, 0)}", requant(yf, [ys], yz)[0], y)
        entries.append(output_entry(ys, yz, y, probe))
    case = {"shape": list(shape) if op == "layer_norm" else ctq_shape(shape), "eps": float(eps), "affine": affine,
            "engines": ENGINES, "weight": fvec(m.weight) if affine else None, "bias": fvec(m.bias) if affine else None,
            "x": codes_b64(np.asarray(codes) if op == "layer_norm" else channels_last(np.asarray(codes))),
            "x_scale": f32(x_scale), "x_zero_point": x_zp, "outputs": entries}
    if op == "layer_norm":
        case["normalized_shape"] = list(normalized_shape)
    else:
        case.update({"groups": groups, "format": fmt, "track_running_stats": track})
    add_case(op, case)


def distinguishing_scales(y_fn, names, base_scale, y_zp, tries=20000):
    """For each step in names, an output scale near base_scale under which rounding that step twice
    instead of fusing it (the other steps fused) changes some output code."""
    y_base = y_fn(ALL_FUSED)
    scales = (base_scale * rng.uniform(0.6, 1.6, tries)).astype(F32)
    chosen = {}
    for name in names:
        y_alt = y_fn(dict(ALL_FUSED, **{name: False}))
        idx = np.nonzero(y_base != y_alt)[0]
        if idx.size == 0:
            continue
        diff = np.any(requant(y_base[idx], scales, y_zp) != requant(y_alt[idx], scales, y_zp), axis=1)
        if np.any(diff):
            chosen[name] = float(scales[np.argmax(diff)])
    return chosen


def probe_cases(op, shape, names, x_scale, x_zp, eps, fmt="contiguous", groups=None, attempts=30):
    """Cases whose output scales make each step in names matter (fresh data until all are found;
    the steps found on one input share its case)."""
    missing = set(names)
    ns = (shape[-1],) if op == "layer_norm" else None
    pshape = ns if op == "layer_norm" else (shape[1],)
    for _ in range(attempts):
        if not missing:
            return
        gamma, beta = rng.uniform(-1.5, 1.5, pshape).astype(F32), rng.normal(0, 0.5, pshape).astype(F32)
        x = rng.integers(0, 256, size=shape)
        found = distinguishing_scales(
            lambda fl: norm_model(op, x, shape, groups, gamma, beta, fmt, x_scale, x_zp, eps, fl),
            sorted(missing), 4.0 / 255, 128)
        if found:
            missing -= set(found)
            norm_case(op, shape, eps, x, x_scale, x_zp, fmt, groups, ns, True, (gamma, beta),
                      [(ys, 128, name) for name, ys in sorted(found.items())])
    assert not missing, f"no {op} case distinguishes {missing}"


# --- float modules --------------------------------------------------------------------------------
def float_case(op, shape, eps, affine, groups=None, normalized_shape=None, track=False):
    m = make_float_norm(op, shape, groups, affine, eps, normalized_shape, track)
    with torch.no_grad():
        if affine:
            m.weight.normal_(1.0, 0.5)
            m.bias.normal_(0.0, 0.5)
        if track:
            m.running_mean.normal_(0.0, 1.0)
            m.running_var.uniform_(0.5, 2.0)
        x = torch.randn(*shape) * 2.0 + 0.5
        y = m(x)
    case = {"shape": list(shape) if op == "layer_norm" else ctq_shape(shape), "eps": float(eps), "affine": affine,
            "weight": fvec(m.weight) if affine else None, "bias": fvec(m.bias) if affine else None}
    if op == "layer_norm":
        case.update({"normalized_shape": list(normalized_shape), "x": b64(x), "y": b64(y)})
    else:
        case.update({"groups": groups, "track_running_stats": track,
                     "running_mean": fvec(m.running_mean) if track else None,
                     "running_var": fvec(m.running_var) if track else None,
                     "x": b64(channels_last(x).contiguous()), "y": b64(channels_last(y).contiguous())})
    add_case("float_" + op, case)


def main():
    # BatchNorm2d / 3d, with and without ReLU. Channel counts exercise PyTorch's 32-channel vector
    # body, its 8-channel buffered tail and its scalar tail.
    for dims in (2, 3):
        for relu in (False, True):
            for c in (3, 8, 13, 45, 70):
                spatial = (3, 2) if dims == 2 else (2, 2, 1)
                bn_case(dims, relu, (2, c) + spatial, 1e-5, "uniform", f32v(0.05), 128)
    bn_case(2, False, (1, 40, 2, 2), 1e-3, "normal", f32v(0.013), 3)
    bn_case(2, False, (1, 40, 2, 2), 1e-5, "uniform", f32v(0.2), 250, outs=[(f32v(0.01), 100, None)])  # saturates
    bn_case(2, True, (3, 16, 2, 2), 1e-5, "narrow", f32v(0.5), 0)
    bn_probe_case(2, False, 45)
    bn_probe_case(2, True, 13)
    bn_probe_case(3, False, 13)

    # LayerNorm over the trailing dimensions of the tensor as given.
    for (shape, ns) in [((2, 5, 16), (16,)), ((3, 2, 33), (33,)), ((2, 2, 70), (70,)), ((2, 3, 40), (3, 40)),
                        ((4, 100), (100,)), ((2, 4, 5, 6), (4, 5, 6))]:
        for affine in (True, False):
            norm_case("layer_norm", shape, 1e-5, "uniform", f32v(0.04), 120, normalized_shape=ns, affine=affine)
    norm_case("layer_norm", (2, 6, 32), 1e-2, "narrow", f32v(0.02), 101, normalized_shape=(32,))
    norm_case("layer_norm", (2, 6, 37), 1e-5, "normal", f32v(0.1), 7, normalized_shape=(37,),
              outs=[(f32v(0.005), 128, None)])
    probe_cases("layer_norm", (4, 70), ["var", "vec", "tail"], f32v(0.04), 120, 1e-5)

    # GroupNorm and InstanceNorm: contiguous (ATen's generic kernel) and 4-d channels-last (its
    # NHWC kernel).
    for fmt in ("contiguous", "channels_last"):
        for i, (shape, g) in enumerate([((2, 8, 5, 7), 2), ((2, 64, 3, 3), 2), ((1, 96, 2, 3), 3),
                                        ((2, 6, 6, 6), 3), ((1, 80, 2, 3), 1), ((1, 40, 2, 2), 40)]):
            for affine in (True, False) if i < 2 else (True,):
                norm_case("group_norm", shape, 1e-5, "uniform", f32v(0.03), 125, fmt, g, affine=affine)
    norm_case("group_norm", (1, 4, 16, 32), 1e-5, "uniform", f32v(0.03), 125, "channels_last", 2)  # float sums
    for (shape, g) in [((2, 6, 40), 3), ((2, 12, 3, 2, 4), 4)]:
        norm_case("group_norm", shape, 1e-5, "normal", f32v(0.07), 100, "contiguous", g)
    norm_case("group_norm", (1, 6, 4, 4), 1e-1, "narrow", f32v(0.07), 100, "channels_last", 2)
    probe_cases("group_norm", (2, 4, 6, 7), ["var", "vec", "tail"], f32v(0.03), 125, 1e-5, "contiguous", 2)
    probe_cases("group_norm", (2, 80, 3, 3), ["var", "bias", "vec", "tail"], f32v(0.03), 125, 1e-5, "channels_last", 2)
    # H * W >= 512: the float sums (the other steps are the same expressions as for smaller maps).
    probe_cases("group_norm", (1, 8, 16, 32), ["float_sums"], f32v(0.03), 125, 1e-5, "channels_last", 2)
    for fmt in ("contiguous", "channels_last"):
        for shape in [(2, 5, 7, 3), (1, 40, 3, 4)]:
            for affine in (True, False):
                norm_case("instance_norm", shape, 1e-5, "uniform", f32v(0.02), 130, fmt, shape[1], affine=affine)
    for shape in [(2, 5, 37), (3, 4, 64), (2, 3, 2, 4, 5)]:
        for affine in (True, False):
            norm_case("instance_norm", shape, 1e-5, "normal", f32v(0.05), 128, "contiguous", shape[1], affine=affine)
    norm_case("instance_norm", (2, 4, 6, 6), 1e-5, "normal", f32v(0.05), 128, "channels_last", 4, track=True)
    probe_cases("instance_norm", (2, 3, 45), ["var", "vec", "tail"], f32v(0.03), 125, 1e-5, "contiguous", 3)
    probe_cases("instance_norm", (1, 4, 5, 7), ["var", "bias", "tail"], f32v(0.03), 125, 1e-5, "channels_last", 4)
    # Contiguous 4-d tensors that are also channels-last contiguous take the channels-last kernel.
    probe_cases("group_norm", (4, 64, 1, 1), ["layout"], f32v(0.03), 125, 1e-5, "contiguous", 2)
    probe_cases("instance_norm", (2, 1, 5, 7), ["layout"], f32v(0.03), 125, 1e-5, "contiguous", 1)
    probe_cases("group_norm", (2, 1, 5, 7), ["layout"], f32v(0.03), 125, 1e-5, "channels_last", 1)

    # Float modules.
    for i, (shape, ns) in enumerate([((2, 5, 16), (16,)), ((2, 3, 70), (70,)), ((2, 3, 40), (3, 40)),
                                     ((2, 300), (300,))]):
        for affine in (True, False) if i < 2 else (True,):
            float_case("layer_norm", shape, 1e-5, affine, normalized_shape=ns)
    for i, (shape, g) in enumerate([((2, 8, 5, 7), 2), ((1, 32, 3, 3), 8), ((2, 6, 40), 3), ((1, 12, 3, 2, 4), 4),
                                    ((1, 8, 8, 8), 2)]):
        for affine in (True, False) if i < 2 else (True,):
            float_case("group_norm", shape, 1e-5, affine, groups=g)
    for shape in [(2, 5, 17), (1, 5, 7, 3), (1, 3, 2, 4, 5)]:
        for affine in (True, False):
            for track in (False, True):
                float_case("instance_norm", shape, 1e-5, affine, groups=shape[1], track=track)

    doc = {"generator": "tools/reference/gen_qnorm.py", "torch_version": torch.__version__,
           "numpy_version": np.__version__, "threads": torch.get_num_threads(), "cases": cases}
    with open(OUT, "w") as f:
        json.dump(doc, f, separators=(",", ":"))
    print(", ".join(f"{k}: {v}" for k, v in counts.items()), f"-> {os.path.relpath(OUT)}")


if __name__ == "__main__":
    main()
