#!/usr/bin/python3
"""Writes tests/data/qconv_transpose_reference.json: inputs and outputs of PyTorch 1.13's quantized
ConvTranspose1d/2d/3d (torch.ops.quantized.conv_transpose1d/2d/3d on weights packed by
conv_transpose{1,2,3}d_prepack) on both quantized engines, qnnpack and onednn.

Run with Debian's interpreter, which has python3-torch:
    /usr/bin/python3 tools/reference/gen_qconv_transpose.py
The output is deterministic (fixed seeds, one thread); see tools/reference/README.md.

Every case is run on both engines; what an engine rejects is skipped there and the reason printed:
  onednn   only per-tensor symmetric weights (zero point 0) and output_padding 0
           ("Per Channel Quantization is currently disabled for transposed conv"). Skipped here
           too: geometries with outputs that no tap reaches (kernel * dilation missing a residue
           of the stride in some dimension). oneDNN writes wrong values to some of those (a bug:
           with kernel 1 or 2 and stride 3 or 4 in H, the rows with o mod stride = stride - 1 came
           out wrong by up to 199 LSB in some calls and right in others), which would make the
           file depend on the run; qnnpack covers those geometries.
  qnnpack  per-channel weights only with groups = 1 (it reads out_channels / groups scales); no
           3-d: conv_transpose3d fails (at prepack, run or unpack: "QNNPACK only supports Conv2d
           now", output-size errors) or returns a wrong output shape, and is skipped.
The weight written is the one read back from the packed parameters (conv_transpose*d_unpack),
checked identical to the quantized one.

Layouts (channels last): x is [batch][spatial...][in_c]; y is [batch][spatial...][out_c]; w is
PyTorch's [in_c][out_c / groups][k...] with the output channels moved last: [in_c][k...][out_c /
groups]. Per-channel weights are quantized along PyTorch's axis 1 (out_c / groups) and written
as out_c values (oc -> oc % (out_c / groups)). Integers are int_repr() values; scales and the
float bias are float32 values.

After writing, the script re-reads the file and checks every output against numpy models of the
requantization applied to acc = sum((x - x_zp) * (w - w_zp)) over the contributing (input pixel,
tap, input channel) -- the formulas of tools/reference/gen_qlinear.py:
qnnpack  bias_q = nearbyint(float(bias * (1.0f / float(w_scale * x_scale))))         (int32)
         y      = clamp(nearbyint(float(acc + bias_q) * float(float(w_scale * x_scale) * float(1 / y_scale))) + y_zp)
onednn   bs = float(float(1 / x_scale) * float(1 / w_scale)); mult = float(float(1 / y_scale) / bs)
         y  = clamp(nearbyint(float(float(float(acc) + float(bias * bs)) * mult) + float(y_zp)))
         onednn:amx -- the zero-point compensation -x_zp * sum(w) added in float after the bias, as
         oneDNN's AMX matmul does (see gen_qlinear.py). The *_zpcomp_* case is built so that the
         two differ on 16 outputs: oneDNN's deconvolution follows 'onednn', the exact integer form.
It prints, per engine and formula, the outputs that differ.
"""
import json
import os
import sys
import warnings

import numpy as np
import torch
from torch.ao.quantization import MinMaxObserver, PerChannelMinMaxObserver

from refdata import f32

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "..", "tests", "data", "qconv_transpose_reference.json")
ENGINES = ("qnnpack", "onednn")
warnings.simplefilter("ignore")
torch.set_num_threads(1)  # oneDNN's kernel choice may depend on the thread count
torch.manual_seed(0)
rng = np.random.default_rng(20261215)
F = np.float32


def fscale(s):
    return float(F(s))


def ilist(a):
    return [int(v) for v in np.asarray(a).reshape(-1).tolist()]


def out_size(inp, k, s, p, op, d):
    return [(i - 1) * s_ - 2 * p_ + d_ * (k_ - 1) + op_ + 1 for i, k_, s_, p_, op_, d_ in zip(inp, k, s, p, op, d)]


# --- the accumulator (numpy, scatter form) ------------------------------------------------------
def conv_transpose_acc(x, xzp, w, wzp, stride, pad, opad, dil, groups):
    """x: [batch][spatial...][in_c] uint8 values; w: [in_c][k...][out_c / groups] int8 values; wzp:
    (out_c,). Returns acc, raw, comp, each (batch * prod(out), out_c) int64: acc = raw - comp,
    raw = sum x (w - wzp), comp = x_zp * sum (w - wzp) over the same (input pixel, tap) pairs."""
    r = x.ndim - 2
    batch, inp, in_c = x.shape[0], x.shape[1:-1], x.shape[-1]
    ks, cout_g = w.shape[1:-1], w.shape[-1]
    cin_g, out_c = in_c // groups, cout_g * groups
    out = out_size(inp, ks, stride, pad, opad, dil)
    full = [(i - 1) * s + d * (k - 1) + 1 + op for i, k, s, d, op in zip(inp, ks, stride, dil, opad)]
    raw = np.zeros([batch] + full + [out_c], dtype=np.int64)
    cnt = np.zeros(full + [out_c], dtype=np.int64)
    wc = w.astype(np.int64) - np.broadcast_to(np.asarray(wzp, np.int64), (out_c,)).reshape(groups, 1, cout_g).repeat(
        cin_g, axis=0).reshape([in_c] + [1] * r + [cout_g])
    xi = x.astype(np.int64)
    for tap in np.ndindex(*ks):
        sl = tuple(slice(k * d, k * d + s * (i - 1) + 1, s) for k, d, s, i in zip(tap, dil, stride, inp))
        for g in range(groups):
            wg = wc[(slice(g * cin_g, (g + 1) * cin_g),) + tap]  # (cin_g, cout_g)
            cols = slice(g * cout_g, (g + 1) * cout_g)
            raw[(slice(None),) + sl + (cols,)] += xi[..., g * cin_g:(g + 1) * cin_g] @ wg
            cnt[sl + (cols,)] += wg.sum(axis=0)
    crop = tuple(slice(p, p + o) for p, o in zip(pad, out))
    raw = raw[(slice(None),) + crop]
    comp = int(xzp) * np.broadcast_to(cnt[crop], raw.shape)
    return (raw - comp).reshape(-1, out_c), raw.reshape(-1, out_c), comp.reshape(-1, out_c)


# --- numpy models of the requantization (gen_qlinear.py) ---------------------------------------
def fi(a):
    """int64 -> float32, correctly rounded (|a| < 2^53, so the float64 step is exact)."""
    return np.asarray(a, dtype=np.int64).astype(np.float64).astype(F)


def requantize_all(acc, raw, comp, xs, ws, ys, yzp, bias):
    xs, ys, zp = F(xs), F(ys), int(yzp)
    ws = np.asarray(ws, dtype=F)
    hb = bias is not None
    b = np.asarray(bias, dtype=F) if hb else np.zeros_like(ws)
    out = {}

    def clamp_float_zp(d):
        return np.clip(np.rint((d + F(zp)).astype(F)), 0, 255).astype(np.int64)

    sxw = (xs * ws).astype(F)
    inv = (F(1) / (ws.astype(np.float64) * np.float64(xs)).astype(F)).astype(F)
    bq = np.clip(np.rint((b * inv).astype(F)), -2**31, 2**31 - 1).astype(np.int64) if hb else 0
    m_q = (sxw * (F(1) / ys)).astype(F)
    v = np.rint((fi(acc + bq) * m_q).astype(F)).astype(np.float64)
    v = np.where(np.abs(v) >= 2**31, -2**31, v).astype(np.int64)
    out["qnnpack"] = np.clip(np.clip(np.clip(v, -32768, 32767) + zp, -32768, 32767), 0, 255)
    out["qnnpack:mult_divided"] = np.clip(np.rint((fi(acc + bq) * (sxw / ys).astype(F)).astype(F)).astype(np.int64) + zp,
                                          0, 255)

    sx, sy = F(1.0 / np.float64(xs)), F(1.0 / np.float64(ys))
    sw = (1.0 / ws.astype(np.float64)).astype(F)
    bs = (sx * sw).astype(F)
    m_o = (sy / bs).astype(F)
    bf = (b * bs).astype(F)
    d = (fi(acc) + bf).astype(F) if hb else fi(acc)
    out["onednn"] = clamp_float_zp((d * m_o).astype(F))
    d_amx = ((fi(raw) + bf).astype(F) + fi(-comp)).astype(F) if hb else (fi(raw) + fi(-comp)).astype(F)
    out["onednn:amx"] = clamp_float_zp((d_amx * m_o).astype(F))
    out["onednn:zp_added_after_rounding"] = np.clip(np.rint(d * m_o).astype(np.int64) + zp, 0, 255)
    return out


def qnnpack_overflows(acc, xs, ws, ys, bias):
    """True where qnnpack's float-to-int32 conversion overflows (|value| >= 2^31)."""
    ws = np.asarray(ws, dtype=F)
    inv = (F(1) / (ws.astype(np.float64) * np.float64(F(xs))).astype(F)).astype(F)
    bq = np.rint((np.asarray(bias, dtype=F) * inv).astype(F)).astype(np.int64) if bias is not None else 0
    m_q = ((F(xs) * ws).astype(F) * (F(1) / F(ys))).astype(F)
    return np.abs(np.rint((fi(acc + bq) * m_q).astype(F)).astype(np.float64)) >= 2**31


# --- building quantized tensors -----------------------------------------------------------------
def observe_weight(wf, qscheme):
    """Quantizes a float ConvTranspose weight [in_c][out_c / groups][k...] as PyTorch's observers
    would; per-channel along axis 1."""
    if qscheme.startswith("per_tensor"):
        obs = MinMaxObserver(dtype=torch.qint8, qscheme=getattr(torch, qscheme))
    else:
        obs = PerChannelMinMaxObserver(ch_axis=1, dtype=torch.qint8, qscheme=getattr(torch, qscheme))
    obs(wf)
    s, z = obs.calculate_qparams()
    if qscheme.startswith("per_tensor"):
        return torch.quantize_per_tensor(wf, float(s), int(z), torch.qint8)
    return torch.quantize_per_channel(wf, s.to(torch.float64), z.to(torch.int64), 1, torch.qint8)


def weight_qparams(wq, out_c):
    """Scales (float32) and zero points, one per output channel (or one per tensor)."""
    if wq.qscheme() == torch.per_tensor_affine:
        return np.array([wq.q_scale()], dtype=F), np.array([wq.q_zero_point()], dtype=np.int64)
    assert wq.q_per_channel_axis() == 1
    s = wq.q_per_channel_scales().numpy().astype(F)
    z = wq.q_per_channel_zero_points().numpy().astype(np.int64)
    reps = out_c // len(s)
    return np.tile(s, reps), np.tile(z, reps)


def same_weight(a, b):
    if a.qscheme() != b.qscheme() or not torch.equal(a.int_repr(), b.int_repr()):
        return False
    if a.qscheme() == torch.per_tensor_affine:
        return a.q_scale() == b.q_scale() and a.q_zero_point() == b.q_zero_point()
    return (torch.equal(a.q_per_channel_scales(), b.q_per_channel_scales())
            and torch.equal(a.q_per_channel_zero_points(), b.q_per_channel_zero_points())
            and a.q_per_channel_axis() == b.q_per_channel_axis())


def make_x(xi, xs, xzp):
    return torch._make_per_tensor_quantized_tensor(torch.from_numpy(np.ascontiguousarray(xi, dtype=np.uint8)),
                                                   fscale(xs), int(xzp))


def output_qparams(yf, mode):
    """'observer': MinMaxObserver's qparams of the float result; 'saturate': 1/8 of its scale;
    'zp0': zero point 0 and the positive range; ('fixed', scale, zp) as given."""
    if isinstance(mode, tuple):
        return fscale(mode[1]), int(mode[2])
    yf = np.asarray(yf, dtype=np.float64)
    if mode in ("observer", "saturate"):
        obs = MinMaxObserver(dtype=torch.quint8)
        obs(torch.from_numpy(yf.astype(F)))
        s, z = obs.calculate_qparams()
        s, z = float(s), int(z)
        return (fscale(s / 8), z) if mode == "saturate" else (fscale(s), z)
    if mode == "zp0":
        return fscale(max(yf.max(), 1e-3) / 255.0), 0
    raise ValueError(mode)


cases = []
skipped = []


def run_engine(engine, rank, xq, wq, bias, ys, yzp, geo):
    """Runs one engine's kernel. Returns (y int_repr, unpacked weight) or (None, reason)."""
    torch.backends.quantized.engine = engine
    stride, pad, opad, dil, groups = geo
    b = None if bias is None else torch.from_numpy(np.asarray(bias, dtype=F))
    prepack = getattr(torch.ops.quantized, f"conv_transpose{rank}d_prepack")
    unpack = getattr(torch.ops.quantized, f"conv_transpose{rank}d_unpack")
    op = getattr(torch.ops.quantized, f"conv_transpose{rank}d")
    try:
        packed = prepack(wq, b, list(stride), list(pad), list(opad), list(dil), groups)
        y = op(xq, packed, ys, yzp)
        w2, b2 = unpack(packed)
    except RuntimeError as e:
        return None, str(e).strip().splitlines()[0]
    assert same_weight(w2, wq), "packed weight differs from the quantized one"
    if b is not None:
        assert b2 is not None and torch.equal(b2, b), "packed bias differs"
    assert y.dtype == torch.quint8 and y.q_scale() == ys and y.q_zero_point() == yzp
    return y.int_repr(), w2


def has_untouched_outputs(ks, stride, dil):
    """Whether some output position gets no tap: k * d misses a residue mod s in some dimension."""
    return any(len({k * d % s for k in range(kk)}) < s for kk, s, d in zip(ks, stride, dil))


def add_case(name, rank, xi, xs, xzp, wq, qscheme, bias, ymode, stride, pad, opad, dil, groups):
    """xi: [batch][in_c][spatial...] uint8; wq: qint8 [in_c][out_c / groups][k...]."""
    xq = make_x(xi, xs, xzp)
    in_c, cout_g = wq.shape[0], wq.shape[1]
    out_c = cout_g * groups
    b = None if bias is None else torch.from_numpy(np.asarray(bias, dtype=F))
    fn = getattr(torch.nn.functional, f"conv_transpose{rank}d")
    yf = fn(xq.dequantize().double(), wq.dequantize().double(), None if b is None else b.double(), list(stride),
            list(pad), list(opad), groups, list(dil)).numpy()
    ys, yzp = output_qparams(yf, ymode)
    out = out_size(xi.shape[2:], wq.shape[2:], stride, pad, opad, dil)
    assert list(yf.shape[2:]) == out
    x_cl = np.moveaxis(xi, 1, -1)
    w_cl = np.moveaxis(wq.int_repr().numpy(), 1, -1)
    w_scales, w_zps = weight_qparams(wq, out_c)
    acc, _, _ = conv_transpose_acc(x_cl, xzp, w_cl, np.broadcast_to(w_zps, (out_c,)), stride, pad, opad, dil, groups)
    for engine in ENGINES:
        if engine == "qnnpack":
            assert not qnnpack_overflows(acc, xs, np.broadcast_to(w_scales, (out_c,)), ys, bias).any(), name
        if engine == "onednn" and has_untouched_outputs(wq.shape[2:], stride, dil):
            skipped.append((f"{name}_{engine}", "outputs that no tap reaches: oneDNN gets some of them wrong (bug)"))
            continue
        y, w2 = run_engine(engine, rank, xq, wq, bias, ys, yzp, (stride, pad, opad, dil, groups))
        if y is None:
            skipped.append((f"{name}_{engine}", w2))
            continue
        if list(y.shape) != [xi.shape[0], out_c] + out:
            skipped.append((f"{name}_{engine}", f"output shape {list(y.shape)}, expected {[xi.shape[0], out_c] + out}"))
            continue
        case = {"op": f"conv_transpose{rank}d", "name": f"{name}_{engine}", "engine": engine, "rank": rank,
                "batch": int(xi.shape[0]), "in_c": int(in_c), "out_c": int(out_c), "groups": groups,
                "input": [int(v) for v in xi.shape[2:]], "output": out, "kernel": [int(v) for v in wq.shape[2:]],
                "stride": list(stride), "padding": list(pad), "output_padding": list(opad), "dilation": list(dil),
                "x_scale": f32(xs), "x_zp": int(xzp), "x": ilist(x_cl), "w_qscheme": qscheme,
                "w_scales": [f32(s) for s in w_scales], "w_zps": [int(z) for z in w_zps],
                "w": ilist(np.moveaxis(w2.int_repr().numpy(), 1, -1)),
                "bias": None if bias is None else [f32(v) for v in bias],
                "y_scale": f32(ys), "y_zp": yzp, "y": ilist(np.moveaxis(y.numpy(), 1, -1))}
        cases.append(case)


def randn(shape, std=1.0, mean=0.0):
    return torch.from_numpy((rng.standard_normal(shape) * std + mean).astype(F))


# (label, batch, in_c, out_c, input, kernel, stride, padding, output_padding, dilation, groups, qscheme, x_zp,
#  bias?, output mode)
PTS, PCS, PTA, PCA = "per_tensor_symmetric", "per_channel_symmetric", "per_tensor_affine", "per_channel_affine"
CASES = [
    ("k3_s2_p1_op1", 1, 4, 6, (7,), (3,), (2,), (1,), (1,), (1,), 1, PTS, 128, True, "observer"),
    ("k3_s2_p1", 1, 4, 6, (7,), (3,), (2,), (1,), (0,), (1,), 1, PTS, 128, True, "observer"),
    ("k4_s2_p1", 2, 3, 5, (6,), (4,), (2,), (1,), (0,), (1,), 1, PCS, 3, True, "observer"),
    ("k5_s3_p2_op2_g2", 1, 6, 4, (5,), (5,), (3,), (2,), (2,), (1,), 2, PTS, 0, False, "observer"),
    ("k5_s3_p2_g2", 1, 6, 4, (5,), (5,), (3,), (2,), (0,), (1,), 2, PTS, 0, False, "observer"),
    ("k3_s1_p1_d2_g4", 1, 8, 8, (9,), (3,), (1,), (1,), (0,), (2,), 4, PTA, 255, True, "saturate"),
    ("k1_s3", 2, 4, 4, (6,), (1,), (3,), (0,), (0,), (1,), 1, PTS, 100, True, "observer"),
    ("k4_s2_p1", 1, 6, 5, (7,), (4,), (2,), (1,), (0,), (1,), 1, PTS, 200, True, "observer"),
    ("k3_s3_p1_d2_g2", 2, 4, 6, (5,), (3,), (3,), (1,), (0,), (2,), 2, PTS, 60, False, "saturate"),
    ("k3_s2_d2_op1", 1, 5, 7, (8,), (3,), (2,), (0,), (1,), (2,), 1, PCA, 128, True, "observer"),
    ("k4_s2_p1_dcgan", 1, 8, 4, (4, 4), (4, 4), (2, 2), (1, 1), (0, 0), (1, 1), 1, PTS, 128, True, "observer"),
    ("k2_s2_unet", 2, 6, 4, (5, 4), (2, 2), (2, 2), (0, 0), (0, 0), (1, 1), 1, PTS, 3, True, "observer"),
    ("k2_s2_unet", 1, 6, 4, (3, 4), (2, 2), (2, 2), (0, 0), (0, 0), (1, 1), 1, PCS, 60, True, "observer"),
    ("k3_s2_p1_op1", 1, 4, 6, (5, 5), (3, 3), (2, 2), (1, 1), (1, 1), (1, 1), 1, PTS, 0, False, "zp0"),
    ("k3_s1_p1", 1, 4, 8, (4, 5), (3, 3), (1, 1), (1, 1), (0, 0), (1, 1), 1, PTS, 255, True, "observer"),
    ("k3_s1_p1", 1, 4, 8, (4, 5), (3, 3), (1, 1), (1, 1), (0, 0), (1, 1), 1, PCS, 255, True, "observer"),
    ("k3_s2_p1_g3", 1, 6, 6, (5, 5), (3, 3), (2, 2), (1, 1), (0, 0), (1, 1), 3, PTS, 128, True, "observer"),
    ("dw_k3_s2_p1", 1, 8, 8, (5, 5), (3, 3), (2, 2), (1, 1), (0, 0), (1, 1), 8, PTS, 7, True, "observer"),
    ("dw_k4_s2_p1_op1", 1, 8, 8, (4, 4), (4, 4), (2, 2), (1, 1), (1, 1), (1, 1), 8, PTA, 200, True, "observer"),
    ("k3_s2_p2_d2", 1, 4, 6, (5, 4), (3, 3), (2, 2), (2, 2), (0, 0), (2, 2), 1, PTS, 128, True, "observer"),
    ("k3_s2_p2_op1_d2", 1, 4, 6, (5, 4), (3, 3), (2, 2), (2, 2), (1, 1), (2, 2), 1, PTS, 128, True, "observer"),
    ("k32_s31_p10_op20", 1, 3, 5, (4, 6), (3, 2), (3, 1), (1, 0), (2, 0), (1, 1), 1, PTA, 60, True, "observer"),
    ("k32_s31_p10", 1, 3, 5, (4, 6), (3, 2), (3, 1), (1, 0), (0, 0), (1, 1), 1, PTS, 60, True, "observer"),
    ("k12_s33_op12", 1, 4, 4, (3, 3), (1, 2), (3, 3), (0, 0), (1, 2), (1, 1), 1, PTS, 128, True, "observer"),
    ("k12_s33", 1, 4, 4, (3, 3), (1, 2), (3, 3), (0, 0), (0, 0), (1, 1), 1, PTS, 128, True, "observer"),
    ("k3_s2_p1_d2", 1, 4, 4, (4, 4), (3, 3), (2, 2), (1, 1), (0, 0), (2, 2), 1, PTS, 200, True, "observer"),
    ("k3_s2_p1_op1_d2", 1, 4, 4, (4, 4), (3, 3), (2, 2), (1, 1), (1, 1), (2, 2), 1, PTS, 200, True, "observer"),
    ("k3_s2_p1_op01", 1, 4, 6, (5, 5), (3, 3), (2, 2), (1, 1), (0, 1), (1, 1), 1, PCA, 128, True, "observer"),
    ("k3_s2_p1", 1, 4, 8, (4, 4), (3, 3), (2, 2), (1, 1), (0, 0), (1, 1), 1, PTS, 128, True, "saturate"),
    ("k4_s2_p1_c16to32", 1, 16, 32, (4, 4), (4, 4), (2, 2), (1, 1), (0, 0), (1, 1), 1, PTS, 128, True, "observer"),
    ("k2_s2_c64to16", 1, 64, 16, (4, 4), (2, 2), (2, 2), (0, 0), (0, 0), (1, 1), 1, PTS, 250, True, "observer"),
    ("k3_s3_p2_d2", 1, 4, 6, (4, 4), (3, 3), (3, 3), (2, 2), (0, 0), (2, 2), 1, PTS, 128, True, "observer"),
    ("k4_s3_p1_g2", 2, 4, 6, (3, 3), (4, 4), (3, 3), (1, 1), (0, 0), (1, 1), 2, PTS, 90, False, "observer"),
    ("k3_s2_p0_op1_g2", 2, 4, 6, (3, 4), (3, 3), (2, 2), (0, 1), (1, 0), (1, 1), 2, PTS, 30, True, "observer"),
    ("k3_s2_p0_g2", 2, 4, 6, (3, 4), (3, 3), (2, 2), (0, 1), (0, 0), (1, 1), 2, PTS, 30, True, "observer"),
    ("k3_s2_p1", 1, 4, 4, (3, 3, 3), (3, 3, 3), (2, 2, 2), (1, 1, 1), (0, 0, 0), (1, 1, 1), 1, PTS, 128, True,
     "observer"),
    ("k2_s2_g2", 1, 4, 6, (2, 3, 3), (2, 2, 2), (2, 2, 2), (0, 0, 0), (0, 0, 0), (1, 1, 1), 2, PTS, 3, True,
     "observer"),
    ("k312_s122_p100_op011", 2, 3, 4, (2, 3, 2), (3, 1, 2), (1, 2, 2), (1, 0, 0), (0, 1, 1), (1, 1, 1), 1, PTA, 100,
     True, "observer"),
    ("k312_s122_p100", 2, 3, 4, (2, 3, 2), (3, 1, 2), (1, 2, 2), (1, 0, 0), (0, 0, 0), (1, 1, 1), 1, PTS, 100, True,
     "observer"),
    ("k2_s2", 1, 4, 4, (2, 2, 3), (2, 2, 2), (2, 2, 2), (0, 0, 0), (0, 0, 0), (1, 1, 1), 1, PTS, 128, True,
     "observer"),
    ("k3_s1_p1_g2", 1, 4, 4, (3, 3, 3), (3, 3, 3), (1, 1, 1), (1, 1, 1), (0, 0, 0), (1, 1, 1), 2, PTS, 255, True, "zp0"),
    ("k3_s212_p1_d211", 1, 4, 4, (3, 3, 3), (3, 3, 3), (2, 1, 2), (1, 1, 1), (0, 0, 0), (2, 1, 1), 1, PTS, 0, False,
     "observer"),
]
for (label, batch, ic, oc, inp, ks, stride, pad, opad, dil, groups, qscheme, xzp, has_bias, ymode) in CASES:
    rank = len(inp)
    wf = randn((ic, oc // groups) + tuple(ks), 0.3, 0.15 if qscheme.endswith("affine") else 0.0)
    wq = observe_weight(wf, qscheme)
    xs = fscale(rng.uniform(0.005, 0.05))
    bias = (rng.standard_normal(oc) * 1.0).astype(F) if has_bias else None
    shape = "x".join(str(v) for v in inp)
    name = (f"conv_transpose{rank}d_{label}_n{batch}_c{ic}to{oc}_{shape}_{qscheme}_xzp{xzp}_"
            f"{'bias' if has_bias else 'nobias'}_{ymode}")
    xi = rng.integers(0, 256, (batch, ic) + tuple(inp)).astype(np.uint8)
    add_case(name, rank, xi, xs, xzp, wq, qscheme, bias, ymode, stride, pad, opad, dil, groups)

# all x = 255, all weights = -128: the largest accumulators of a 16-channel layer
wq = torch._make_per_tensor_quantized_tensor(torch.full((16, 4, 3, 3), -128, dtype=torch.int8), fscale(0.01), 0)
add_case("conv_transpose2d_all255_times_minus128_k3_s2_p1", 2, np.full((1, 16, 3, 3), 255, dtype=np.uint8), 0.02, 0,
         wq, PTS, (rng.standard_normal(4) * 50).astype(F), "observer", (2, 2), (1, 1), (0, 0), (1, 1), 1)

# oneDNN's zero-point compensation: with kernel 2 and stride 2 each output takes one input pixel
# through one tap, a row of a GEMM with K = 64 input channels and N = 4 taps x 16 channels. x next to
# x_zp = 250 and large positive weights make the compensation large next to a small accumulator;
# the 25 input pixels are those of a random pool on which the 'onednn' model (exact integer
# compensation) and the 'onednn:amx' one (in float, after the bias) disagree most, so the data
# tells which one oneDNN's deconvolution follows.
ZP_K, ZP_N, ZP_XZP, ZP_XS = 64, 16, 250, 0.02
wi = rng.integers(60, 128, (ZP_K, ZP_N, 2, 2))
wq = torch._make_per_tensor_quantized_tensor(torch.from_numpy(wi.astype(np.int8)), fscale(0.004), 0)
cols = wi.transpose(0, 2, 3, 1).reshape(ZP_K, 4 * ZP_N).astype(np.int64)  # [ic][(tap, oc)]
pool = np.clip(ZP_XZP + rng.integers(-6, 7, (4000, ZP_K)), 0, 255).astype(np.int64)
bias = (rng.standard_normal(ZP_N) * 2).astype(F)
bias_cols = np.tile(bias, 4)
raw = pool @ cols
comp = np.broadcast_to(ZP_XZP * cols.sum(axis=0), raw.shape)
yf = (pool - ZP_XZP) * ZP_XS @ (cols * float(wq.q_scale())) + bias_cols
ys, yzp = output_qparams(yf, "observer")
outs = requantize_all(raw - comp, raw, comp, fscale(ZP_XS), np.full(4 * ZP_N, wq.q_scale(), dtype=F), ys, yzp,
                      bias_cols)
ndiff = (outs["onednn"] != outs["onednn:amx"]).sum(axis=1)
best = np.argsort(-ndiff, kind="stable")[:25]
print(f"zpcomp case: the onednn and onednn:amx models differ on {int(ndiff[best].sum())} of its outputs",
      file=sys.stderr)
xi = pool[best].reshape(5, 5, ZP_K).transpose(2, 0, 1)[None].astype(np.uint8)
add_case("conv_transpose2d_zpcomp_k2_s2_c64to16_5x5_xzp250", 2, xi, ZP_XS, ZP_XZP, wq, PTS, bias, ("fixed", ys, yzp),
         (2, 2), (0, 0), (0, 0), (1, 1), 1)


# --- write -----------------------------------------------------------------------------------------
os.makedirs(os.path.dirname(OUT), exist_ok=True)
with open(OUT, "w") as f:
    json.dump({"generator": "tools/reference/gen_qconv_transpose.py", "torch_version": torch.__version__,
               "numpy_version": np.__version__, "cases": cases}, f, separators=(",", ":"))
    f.write("\n")
for name, why in skipped:
    print(f"skipped {name}: {why}", file=sys.stderr)
counts = {}
for c in cases:
    key = f"{c['op']}/{c['engine']}"
    counts[key] = counts.get(key, 0) + 1
print(f"wrote {len(cases)} cases ({os.path.getsize(OUT)} bytes) to {os.path.relpath(OUT)}: {counts}", file=sys.stderr)


# --- verification: re-read the file and compare every output with the numpy models ----------------
with open(OUT) as f:
    data = json.load(f)
print(f"\nverification against {os.path.relpath(OUT)}", file=sys.stderr)
for engine in ENGINES:
    stats, total = {}, 0
    for c in data["cases"]:
        if c["engine"] != engine:
            continue
        out_c, groups = c["out_c"], c["groups"]
        x = np.array(c["x"], dtype=np.int64).reshape([c["batch"]] + c["input"] + [c["in_c"]])
        w = np.array(c["w"], dtype=np.int64).reshape([c["in_c"]] + c["kernel"] + [out_c // groups])
        wzp = np.broadcast_to(np.array(c["w_zps"], dtype=np.int64), (out_c,))
        acc, raw, comp = conv_transpose_acc(x, c["x_zp"], w, wzp, c["stride"], c["padding"], c["output_padding"],
                                            c["dilation"], groups)
        ws = np.broadcast_to(np.array(c["w_scales"], dtype=F), (out_c,))
        bias = None if c["bias"] is None else np.array(c["bias"], dtype=F)
        outs = requantize_all(acc, raw, comp, c["x_scale"], ws, c["y_scale"], c["y_zp"], bias)
        y = np.array(c["y"], dtype=np.int64).reshape(-1, out_c)
        total += y.size
        for k, v in outs.items():
            s = stats.setdefault(k, [0, 0, 0])
            d = np.abs(v - y)
            s[0] += int((d != 0).sum())
            s[1] = max(s[1], int(d.max()))
            s[2] += int((d != 0).any())
            if k == engine and (d != 0).any():
                print(f"    {c['name']}: {int((d != 0).sum())} outputs differ from the '{k}' model", file=sys.stderr)
    print(f"  {engine}: {total} outputs; formula: outputs differing, max |diff| (LSB), cases differing", file=sys.stderr)
    for k, (nd, mx, ncase) in sorted(stats.items(), key=lambda kv: (kv[1][0], kv[0])):
        print(f"    {k:34s} {nd:8d} {mx:4d} {ncase:4d}", file=sys.stderr)
