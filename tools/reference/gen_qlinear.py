#!/usr/bin/python3
"""Writes tests/data/qlinear_reference.json: inputs and outputs of PyTorch 1.13's quantized Linear,
LinearReLU, Conv2d and ConvReLU2d (torch.ops.quantized.linear / linear_relu / conv2d / conv2d_relu
on packed weights) on both quantized engines, qnnpack and onednn.

Run with Debian's interpreter, which has python3-torch:  /usr/bin/python3 tools/reference/gen_qlinear.py
Add --stress to also check the formulas below on ~1.3 million more outputs per engine (not written).
The output is deterministic (fixed seeds, one thread); see tools/reference/README.md.

Every case is run on both engines; a combination an engine rejects (onednn: weight zero points
other than 0) is skipped there, and the reason printed. The weight written is the one read back
from the packed parameters (linear_unpack / conv2d_unpack), checked identical to the quantized one.
Layouts: linear x is M x K, w is N x K, y is M x N (row-major); conv2d x and y are NHWC, w is OHWI
(out_c, kh, kw, in_c / groups). Integers are int_repr() values; scales and the float bias are
float32 values.

After writing, the script re-reads the file and checks every output against numpy models of the
requantization (int64 accumulator acc = sum((x - x_zp) * (w - w_zp))), printing per formula the
number of outputs that differ. What PyTorch 1.13 computes, read from its sources (qnnpack's
q8gemm/q8conv SSE2 kernels and PyTorch's qnnpack wrappers; ideep's matmul/conv and oneDNN's
post-ops) and confirmed by these counts:

qnnpack  bias_q = nearbyint(float(bias * (1.0f / float((double)w_scale * (double)x_scale))))  (int32)
         mult   = float(float(w_scale * x_scale) * float(1.0f / y_scale))
         r      = nearbyint(float((int32)(acc + bias_q)) * mult)    (int32; >= 2^31 gives INT32_MIN)
         y      = clamp(sat_int16(sat_int16(r) + y_zp), 0, 255); relu: max(y, y_zp)
onednn   sx = float(1.0 / (double)x_scale), sw = float(1.0 / (double)w_scale), sy = float(1.0 / (double)y_scale)
         bs = float(sx * sw); mult = float(sy / bs); bias_f = float(bias * bs)   (bias stays float)
         d  = float(float(acc) + bias_f); d = float(d * mult); relu: d = max(d, 0)
         y  = clamp(nearbyint(float(d + (float)y_zp)), 0, 255)        (zero point added in float)
         oneDNN's AMX matmul kernel (brgemm avx512_core_amx_int8, chosen for larger M and N) instead
         accumulates raw = sum(x * (w - w_zp)) and applies the zero-point compensation in float
         after the bias: d = float(float(float(raw) + bias_f) + float(-x_zp * sum(w - w_zp))).
         The cases named *_zpcomp_* show the difference (same rows, small M vs large M).
qnnpack's overflow (|acc * mult| >= 2^31 gives 0) is kept out of the data: every case asserts it
does not occur. The onednn outputs hold for CPUs with AVX512-VNNI or AMX (this machine has AMX):
without VNNI (ONEDNN_MAX_CPU_ISA=AVX2 or AVX512_CORE) oneDNN's u8 x s8 kernels saturate int16
pair sums and 7-9% of the outputs differ, by up to 255.
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
OUT = os.path.join(HERE, "..", "..", "tests", "data", "qlinear_reference.json")
ENGINES = ("qnnpack", "onednn")
warnings.simplefilter("ignore")
torch.set_num_threads(1)  # oneDNN's kernel choice may depend on the thread count
torch.manual_seed(0)
rng = np.random.default_rng(20261201)
F = np.float32


def fscale(s):
    return float(F(s))


# --- numpy models of the requantization ------------------------------------------------------------
def fi(a):
    """int64 -> float32, correctly rounded (|a| < 2^53, so the float64 step is exact)."""
    return np.asarray(a, dtype=np.int64).astype(np.float64).astype(F)


def fma_f32(a, b, c):
    """float(a * b + c) with one rounding, for float32 arrays a, b, c (a * b is exact in float64;
    the float64 sum is corrected with TwoSum so that the float32 rounding is exact)."""
    p = a.astype(np.float64) * b.astype(np.float64)
    c = np.broadcast_to(np.asarray(c, dtype=F).astype(np.float64), p.shape)
    s = p + c
    bp = s - p
    e = (p - (s - bp)) + (c - bp)  # s + e == p + c exactly
    r = s.astype(F)
    # a tie in the float32 rounding of s is broken by the sign of e
    lo = np.nextafter(r, F(-np.inf)).astype(np.float64)
    hi = np.nextafter(r, F(np.inf)).astype(np.float64)
    rd = r.astype(np.float64)
    down = (s == (rd + lo) / 2) & (e < 0)
    up = (s == (rd + hi) / 2) & (e > 0)
    return np.where(down, lo.astype(F), np.where(up, hi.astype(F), r))


def requantize_all(acc, raw, comp, xs, ws, ys, yzp, bias, relu):
    """acc, raw, comp: int64 (R, N); ws: float32 (N,); bias: float32 (N,) or None.
    Returns {formula name: int64 (R, N)} of the formulas compared by the verification."""
    xs, ys, zp = F(xs), F(ys), int(yzp)
    ws = np.asarray(ws, dtype=F)
    hb = bias is not None
    b = np.asarray(bias, dtype=F) if hb else np.zeros_like(ws)
    out = {}

    def clamp_int(r):  # r: rounded value before the zero point
        q = np.clip(r + zp, 0, 255)
        return np.maximum(q, zp) if relu else q

    def clamp_float_zp(d):  # oneDNN order: relu, + zp in float, round, saturate
        if relu:
            d = np.maximum(d, F(0))
        return np.clip(np.rint((d + F(zp)).astype(F)), 0, 255).astype(np.int64)

    sxw = (xs * ws).astype(F)
    m_div = (sxw / ys).astype(F)
    # (a) int32 bias, multiplier float(float(x_scale * w_scale) / y_scale)
    bq_div = np.rint((b / sxw).astype(F)).astype(np.int64) if hb else 0
    out["a"] = clamp_int(np.rint((fi(acc + bq_div) * m_div).astype(F)).astype(np.int64))
    # (b) float bias
    out["b"] = clamp_int(np.rint(((fi(acc) + (b / sxw).astype(F)).astype(F) * m_div).astype(F)).astype(np.int64))
    # (c) dequantize, accumulate, requantize
    vc = (((fi(acc) * sxw).astype(F) + b).astype(F) / ys).astype(F)
    out["c"] = clamp_int(np.rint(vc).astype(np.int64))

    # qnnpack, from the sources
    inv = (F(1) / (ws.astype(np.float64) * np.float64(xs)).astype(F)).astype(F)
    bq = np.clip(np.rint((b * inv).astype(F)), -2**31, 2**31 - 1).astype(np.int64) if hb else 0
    m_q = (sxw * (F(1) / ys)).astype(F)

    def qnnpack_tail(v):
        r = np.rint(v).astype(np.float64)
        r = np.where(np.abs(r) >= 2**31, -2**31, r).astype(np.int64)  # cvtps2dq overflow
        r = np.clip(np.clip(r, -32768, 32767) + zp, -32768, 32767)  # packs_epi32, adds_epi16
        q = np.clip(r, 0, 255)  # packus_epi16
        return np.maximum(q, zp) if relu else q

    out["qnnpack"] = qnnpack_tail((fi(acc + bq) * m_q).astype(F))
    # qnnpack variants that the data tells apart
    out["qnnpack:bias_added_in_float"] = qnnpack_tail(((fi(acc) + fi(bq)).astype(F) * m_q).astype(F))
    out["qnnpack:mult_in_double"] = qnnpack_tail(
        (fi(acc + bq) * (np.float64(xs) * ws.astype(np.float64) / np.float64(ys)).astype(F)).astype(F))
    out["qnnpack:mult_divided"] = qnnpack_tail((fi(acc + bq) * m_div).astype(F))
    out["qnnpack:bias_divided"] = qnnpack_tail((fi(acc + bq_div) * m_q).astype(F))
    out["qnnpack:zp_added_in_float"] = clamp_float_zp((fi(acc + bq) * m_q).astype(F))

    # onednn (ideep + oneDNN post-ops), from the sources
    sx, sy = F(1.0 / np.float64(xs)), F(1.0 / np.float64(ys))
    sw = (1.0 / ws.astype(np.float64)).astype(F)
    bs = (sx * sw).astype(F)
    m_o = (sy / bs).astype(F)
    bf = (b * bs).astype(F)
    d = (fi(acc) + bf).astype(F) if hb else fi(acc)
    out["onednn"] = clamp_float_zp((d * m_o).astype(F))
    if hb:
        d_amx = ((fi(raw) + bf).astype(F) + fi(-comp)).astype(F)
    else:
        d_amx = (fi(raw) + fi(-comp)).astype(F)
    out["onednn:amx"] = clamp_float_zp((d_amx * m_o).astype(F))
    out["onednn:zp_added_after_rounding"] = clamp_int(
        np.rint(np.maximum(d * m_o, F(0)) if relu else (d * m_o)).astype(np.int64))
    out["onednn:mult_divided"] = clamp_float_zp((d * m_div).astype(F))
    out["onednn:bias_divided"] = clamp_float_zp(
        (((fi(acc) + (b / sxw).astype(F)).astype(F) if hb else fi(acc)) * m_o).astype(F))
    out["onednn:bias_int32"] = clamp_float_zp((((fi(acc) + np.rint(bf)).astype(F) if hb else fi(acc)) * m_o).astype(F))
    v = fma_f32(d, np.broadcast_to(m_o, d.shape), F(zp))  # d * mult + zp fused
    if relu:
        v = np.maximum(v, F(zp))
    out["onednn:fma_mult_zp"] = np.clip(np.rint(v), 0, 255).astype(np.int64)
    return out


def qnnpack_overflows(acc, xs, ws, ys, bias):
    """True where qnnpack's float-to-int32 conversion overflows (|value| >= 2^31)."""
    ws = np.asarray(ws, dtype=F)
    inv = (F(1) / (ws.astype(np.float64) * np.float64(F(xs))).astype(F)).astype(F)
    bq = np.rint((np.asarray(bias, dtype=F) * inv).astype(F)).astype(np.int64) if bias is not None else 0
    m_q = ((F(xs) * ws).astype(F) * (F(1) / F(ys))).astype(F)
    return np.abs(np.rint((fi(acc + bq) * m_q).astype(F)).astype(np.float64)) >= 2**31


def linear_acc(x, xzp, w, wzp):
    """x: (M, K), w: (N, K), wzp: (N,). Returns acc, raw, comp (M, N) int64."""
    wc = w.astype(np.int64) - np.asarray(wzp, dtype=np.int64).reshape(-1, 1)
    raw = x.astype(np.int64) @ wc.T
    comp = np.broadcast_to(int(xzp) * wc.sum(axis=1), raw.shape)
    return raw - comp, raw, comp


def conv_acc(x, xzp, w, wzp, stride, pad, dil, groups):
    """x: NHWC, w: OHWI. Returns acc, raw, comp as (batch * out_h * out_w, out_c) int64, out_h, out_w.
    Padded positions take no part (they hold the input zero point)."""
    b, h, wd, c = x.shape
    oc, kh, kw, icg = w.shape
    (sh, sw), (ph, pw), (dh, dw) = stride, pad, dil
    oh = (h + 2 * ph - dh * (kh - 1) - 1) // sh + 1
    ow = (wd + 2 * pw - dw * (kw - 1) - 1) // sw + 1
    xp = np.zeros((b, h + 2 * ph, wd + 2 * pw, c), dtype=np.int64)
    xp[:, ph:ph + h, pw:pw + wd, :] = x
    valid = np.zeros((h + 2 * ph, wd + 2 * pw), dtype=np.int64)
    valid[ph:ph + h, pw:pw + wd] = 1
    wc = w.astype(np.int64) - np.asarray(wzp, dtype=np.int64).reshape(-1, 1, 1, 1)
    ocg = oc // groups
    raw = np.zeros((b, oh, ow, oc), dtype=np.int64)
    wsum = np.zeros((oh, ow, oc), dtype=np.int64)
    for i in range(kh):
        for j in range(kw):
            rows = slice(i * dh, i * dh + sh * (oh - 1) + 1, sh)
            cols = slice(j * dw, j * dw + sw * (ow - 1) + 1, sw)
            patch, vpatch = xp[:, rows, cols, :], valid[rows, cols]
            for g in range(groups):
                wg = wc[g * ocg:(g + 1) * ocg, i, j, :]
                raw[..., g * ocg:(g + 1) * ocg] += patch[..., g * icg:(g + 1) * icg] @ wg.T
                wsum[..., g * ocg:(g + 1) * ocg] += vpatch[:, :, None] * wg.sum(axis=1)[None, None, :]
    comp = int(xzp) * np.broadcast_to(wsum, raw.shape)
    return (raw - comp).reshape(-1, oc), raw.reshape(-1, oc), comp.reshape(-1, oc), oh, ow


# --- building quantized tensors ---------------------------------------------------------------------
def observe_weight(wf, qscheme):
    """Quantizes a float weight (out channels first) as PyTorch's observers would."""
    if qscheme.startswith("per_tensor"):
        obs = MinMaxObserver(dtype=torch.qint8, qscheme=getattr(torch, qscheme))
    else:
        obs = PerChannelMinMaxObserver(ch_axis=0, dtype=torch.qint8, qscheme=getattr(torch, qscheme))
    obs(wf)
    s, z = obs.calculate_qparams()
    if qscheme.startswith("per_tensor"):
        return torch.quantize_per_tensor(wf, float(s), int(z), torch.qint8)
    return torch.quantize_per_channel(wf, s.to(torch.float64), z.to(torch.int64), 0, torch.qint8)


def make_weight(wi, scales, zps, per_channel):
    """A qint8 tensor from int values (out channels first) and chosen float32 scales."""
    t = torch.from_numpy(np.ascontiguousarray(wi, dtype=np.int8))
    if per_channel:
        return torch._make_per_channel_quantized_tensor(
            t, torch.tensor([fscale(s) for s in scales], dtype=torch.float64),
            torch.tensor([int(z) for z in zps], dtype=torch.int64), 0)
    return torch._make_per_tensor_quantized_tensor(t, fscale(scales[0]), int(zps[0]))


def weight_qparams(wq):
    if wq.qscheme() == torch.per_tensor_affine:
        return np.array([wq.q_scale()], dtype=F), np.array([wq.q_zero_point()], dtype=np.int64)
    return (wq.q_per_channel_scales().numpy().astype(F), wq.q_per_channel_zero_points().numpy().astype(np.int64))


def make_x(xi, xs, xzp):
    return torch._make_per_tensor_quantized_tensor(torch.from_numpy(np.ascontiguousarray(xi, dtype=np.uint8)),
                                                   fscale(xs), int(xzp))


def output_qparams(yf, mode):
    """y_scale / y_zp for the float result yf: 'observer' maps its range (with 0) onto 0..255 as
    MinMaxObserver does; 'zp0' / 'zp255' fix the zero point at an end; 'saturate' takes 1/8 of the
    observer's scale, so that most outputs clamp; ('fixed', scale, zp) as given."""
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
    if mode == "zp255":
        return fscale(max(-yf.min(), 1e-3) / 255.0), 255
    raise ValueError(mode)


def same_weight(a, b):
    if a.qscheme() != b.qscheme() or not torch.equal(a.int_repr(), b.int_repr()):
        return False
    if a.qscheme() == torch.per_tensor_affine:
        return a.q_scale() == b.q_scale() and a.q_zero_point() == b.q_zero_point()
    return (torch.equal(a.q_per_channel_scales(), b.q_per_channel_scales())
            and torch.equal(a.q_per_channel_zero_points(), b.q_per_channel_zero_points())
            and a.q_per_channel_axis() == b.q_per_channel_axis())


def weight_fields(wq, qscheme):
    scales, zps = weight_qparams(wq)
    if qscheme.startswith("per_tensor"):
        assert wq.qscheme() == torch.per_tensor_affine
    else:
        assert wq.qscheme() == torch.per_channel_affine and wq.q_per_channel_axis() == 0
    if qscheme.endswith("symmetric"):
        assert (zps == 0).all(), qscheme
    assert all(float(F(s)) == float(s) for s in scales)
    return {"w_qscheme": qscheme, "w_scales": [f32(s) for s in scales], "w_zps": [int(z) for z in zps]}


cases = []
skipped = []


def ilist(a):
    return [int(v) for v in np.asarray(a).reshape(-1).tolist()]


def run_engine(engine, op, xq, wq, bias, relu, ys, yzp, conv=None):
    """Runs one engine's kernel. Returns (y int_repr, unpacked weight) or (None, reason)."""
    torch.backends.quantized.engine = engine
    b = None if bias is None else torch.from_numpy(np.asarray(bias, dtype=F))
    try:
        if op == "linear":
            packed = torch.ops.quantized.linear_prepack(wq, b)
            fn = torch.ops.quantized.linear_relu if relu else torch.ops.quantized.linear
            y = fn(xq, packed, ys, yzp)
            w2, b2 = torch.ops.quantized.linear_unpack(packed)
        else:
            stride, pad, dil, groups = conv
            packed = torch.ops.quantized.conv2d_prepack(wq, b, list(stride), list(pad), list(dil), groups)
            fn = torch.ops.quantized.conv2d_relu if relu else torch.ops.quantized.conv2d
            y = fn(xq, packed, ys, yzp)
            w2, b2 = torch.ops.quantized.conv2d_unpack(packed)
    except RuntimeError as e:
        return None, str(e).strip().splitlines()[0]
    assert same_weight(w2, wq), "packed weight differs from the quantized one"
    if b is not None:
        assert b2 is not None and torch.equal(b2, b), "packed bias differs"
    assert y.dtype == torch.quint8 and y.q_scale() == ys and y.q_zero_point() == yzp
    return y.int_repr(), w2


def add_linear(name, xi, xs, xzp, wq, qscheme, bias, relu, ymode, engines=ENGINES):
    """xi: (M, K) uint8 values; wq: qint8 (N, K); bias: float32 (N,) or None."""
    M, K = xi.shape
    N = wq.shape[0]
    xq = make_x(xi, xs, xzp)
    wdq = wq.dequantize().numpy().astype(np.float64)
    yf = xq.dequantize().numpy().astype(np.float64) @ wdq.T + (0 if bias is None else np.asarray(bias, np.float64))
    ys, yzp = output_qparams(yf, ymode)
    wi = wq.int_repr().numpy()
    w_scales, w_zps = weight_qparams(wq)
    acc, _, _ = linear_acc(xi, xzp, wi, w_zps)
    for engine in engines:
        if engine == "qnnpack":
            assert not qnnpack_overflows(acc, xs, np.broadcast_to(w_scales, (N,)), ys, bias).any(), name
        y, w2 = run_engine(engine, "linear", xq, wq, bias, relu, ys, yzp)
        if y is None:
            skipped.append((f"{name}_{engine}", w2))
            continue
        case = {"op": "linear", "name": f"{name}_{engine}", "engine": engine, "relu": relu, "M": M, "N": N, "K": K,
                "x_scale": f32(xs), "x_zp": int(xzp), "x": ilist(xi)}
        case.update(weight_fields(w2, qscheme))
        case.update({"w": ilist(w2.int_repr().numpy()), "bias": None if bias is None else [f32(v) for v in bias],
                     "y_scale": f32(ys), "y_zp": yzp, "y": ilist(y.numpy())})
        cases.append(case)


def add_conv(name, xi, xs, xzp, wq, qscheme, bias, relu, ymode, stride, pad, dil, groups, engines=ENGINES):
    """xi: NCHW uint8 values; wq: qint8 OIHW."""
    xq = make_x(xi, xs, xzp)
    b = None if bias is None else torch.from_numpy(np.asarray(bias, dtype=F))
    yf = torch.nn.functional.conv2d(xq.dequantize().double(), wq.dequantize().double(),
                                    None if b is None else b.double(), stride, pad, dil, groups).numpy()
    ys, yzp = output_qparams(yf, ymode)
    x_nhwc = np.transpose(xi, (0, 2, 3, 1))
    w_ohwi = np.transpose(wq.int_repr().numpy(), (0, 2, 3, 1))
    w_scales, w_zps = weight_qparams(wq)
    oc = w_ohwi.shape[0]
    acc, _, _, oh, ow = conv_acc(x_nhwc, xzp, w_ohwi, np.broadcast_to(w_zps, (oc,)), stride, pad, dil, groups)
    for engine in engines:
        if engine == "qnnpack":
            assert not qnnpack_overflows(acc, xs, np.broadcast_to(w_scales, (oc,)), ys, bias).any(), name
        y, w2 = run_engine(engine, "conv2d", xq, wq, bias, relu, ys, yzp, (stride, pad, dil, groups))
        if y is None:
            skipped.append((f"{name}_{engine}", w2))
            continue
        y_nhwc = np.transpose(y.numpy(), (0, 2, 3, 1))
        assert y_nhwc.shape[1:] == (oh, ow, oc)
        case = {"op": "conv2d", "name": f"{name}_{engine}", "engine": engine, "relu": relu,
                "batch": xi.shape[0], "in_c": xi.shape[1], "out_c": oc, "in_h": xi.shape[2], "in_w": xi.shape[3],
                "out_h": oh, "out_w": ow, "kh": w_ohwi.shape[1], "kw": w_ohwi.shape[2],
                "stride": list(stride), "padding": list(pad), "dilation": list(dil), "groups": groups,
                "x_scale": f32(xs), "x_zp": int(xzp), "x": ilist(x_nhwc)}
        case.update(weight_fields(w2, qscheme))
        case.update({"w": ilist(np.transpose(w2.int_repr().numpy(), (0, 2, 3, 1))),
                     "bias": None if bias is None else [f32(v) for v in bias],
                     "y_scale": f32(ys), "y_zp": yzp, "y": ilist(y_nhwc)})
        cases.append(case)


def randn(shape, std=1.0, mean=0.0):
    return torch.from_numpy((rng.standard_normal(shape) * std + mean).astype(F))


def rand_x(shape, xzp, kind="uniform"):
    if kind == "uniform":
        return rng.integers(0, 256, shape).astype(np.uint8)
    if kind == "near_zp":  # small |x - x_zp|: a small accumulator next to a large compensation
        return np.clip(int(xzp) + rng.integers(-6, 7, shape), 0, 255).astype(np.uint8)
    raise ValueError(kind)


def rand_bias(n, scale):
    return (rng.standard_normal(n) * scale).astype(F)


# --- linear: shapes x weight schemes x bias / relu / output parameters ----------------------------
# Each shape gets the listed variants: (qscheme, x_zp, bias?, relu, output mode).
LINEAR_SHAPES = [
    ((1, 1, 1), [("per_tensor_symmetric", 0, True, False, "observer"), ("per_channel_symmetric", 128, False, True, "observer"),
                 ("per_tensor_affine", 3, True, False, "zp255")]),
    ((1, 5, 3), [("per_tensor_symmetric", 3, True, False, "observer"), ("per_channel_symmetric", 255, True, True, "zp0"),
                 ("per_tensor_affine", 128, False, False, "observer")]),
    ((2, 16, 4), [("per_channel_symmetric", 0, True, False, "observer"), ("per_tensor_symmetric", 128, False, True, "observer"),
                  ("per_tensor_symmetric", 3, True, False, "saturate"), ("per_channel_affine", 255, True, False, "observer")]),
    ((3, 17, 33), [("per_tensor_symmetric", 128, True, True, "observer"), ("per_channel_symmetric", 3, True, False, "zp255"),
                   ("per_channel_symmetric", 255, False, False, "saturate"), ("per_tensor_affine", 0, True, True, "observer")]),
    ((7, 64, 100), [("per_channel_symmetric", 128, True, False, "observer"), ("per_tensor_symmetric", 0, False, False, "zp0"),
                    ("per_tensor_affine", 255, True, True, "observer")]),
    ((16, 33, 257), [("per_channel_symmetric", 3, True, True, "observer")]),
    ((2, 4, 3000), [("per_tensor_symmetric", 128, True, False, "observer")]),
    ((33, 48, 64), [("per_tensor_symmetric", 255, True, False, "observer"), ("per_channel_symmetric", 0, False, True, "saturate")]),
    ((1, 128, 64), [("per_channel_symmetric", 128, True, False, "observer")]),
]
for (M, N, K), variants in LINEAR_SHAPES:
    for qscheme, xzp, has_bias, relu, ymode in variants:
        # skewed weights for the affine schemes, so that their zero points are not 0
        wf = randn((N, K), 0.3, 0.15 if qscheme.endswith("affine") else 0.0)
        wq = observe_weight(wf, qscheme)
        xs = fscale(rng.uniform(0.005, 0.05))
        bias = rand_bias(N, 1.0) if has_bias else None
        name = f"linear_{M}x{N}x{K}_{qscheme}_xzp{xzp}_{'bias' if has_bias else 'nobias'}{'_relu' if relu else ''}_{ymode}"
        add_linear(name, rand_x((M, K), xzp), xs, xzp, wq, qscheme, bias, relu, ymode)

# chosen (extreme) scales rather than observed ones
for i, (xs, wscale, ys_factor) in enumerate([(1e-4, 2.0**-7, 1.0), (0.5, 1e-3, 1.0), (2.0**-4, 2.0**-6, 0.25), (0.0371, 0.0093, 3.0)]):
    M, N, K = 5, 12, 24
    wi = rng.integers(-128, 128, (N, K))
    per_channel = i % 2 == 1
    scales = wscale * np.exp(rng.uniform(-1, 1, N)) if per_channel else [wscale]
    wq = make_weight(wi, scales, [0] * len(scales), per_channel)
    qs = "per_channel_symmetric" if per_channel else "per_tensor_symmetric"
    xi = rand_x((M, K), 128)
    wdq = wq.dequantize().numpy().astype(np.float64)
    bias = rand_bias(N, float(np.abs(wdq).max()) * xs * 300)
    yf = (xi.astype(np.float64) - 128) * xs @ wdq.T + bias
    ys, yzp = output_qparams(yf, "observer")
    add_linear(f"linear_chosen_scales_{i}", xi, xs, 128, wq, qs, bias, i == 2, ("fixed", ys * ys_factor, yzp))

# all x = 255 and all weights = -128 (the largest accumulators), with and without a zero point
for K, xzp, bias_scale, ymode, relu in [(600, 0, 0.0, "observer", False), (600, 0, 1.0, "zp255", False),
                                        (64, 0, 0.0, "saturate", False), (530, 0, 0.5, "observer", True),
                                        (600, 255, 1.0, "observer", False)]:
    M, N = 2, 2
    wq = make_weight(np.full((N, K), -128), [fscale(0.01)], [0], False)
    xi = np.full((M, K), 255, dtype=np.uint8)
    xi[1, :K // 2] = 254  # a second, different accumulator
    bias = rand_bias(N, bias_scale * 100) if bias_scale else None
    add_linear(f"linear_all255_times_minus128_K{K}_xzp{xzp}_{'bias' if bias is not None else 'nobias'}{'_relu' if relu else ''}_{ymode}",
               xi, 0.02, xzp, wq, "per_tensor_symmetric", bias, relu, ymode)

# fixed output zero points 0 and 255 and small scales (saturation at both ends)
for i, (yzp, factor, relu) in enumerate([(0, 1.0, False), (255, 1.0, False), (0, 0.1, True), (255, 0.05, False), (128, 0.02, False)]):
    M, N, K = 6, 10, 20
    wq = observe_weight(randn((N, K), 0.3), "per_channel_symmetric")
    xi = rand_x((M, K), 60)
    bias = rand_bias(N, 0.5)
    yf = (xi.astype(np.float64) - 60) * 0.02 @ wq.dequantize().numpy().astype(np.float64).T + bias
    span = max(np.abs(yf).max(), 1e-3)
    add_linear(f"linear_fixed_yzp{yzp}_scale{factor}{'_relu' if relu else ''}", xi, 0.02, 60, wq, "per_channel_symmetric",
               bias, relu, ("fixed", span / 255 * 2 * factor, yzp))

# many outputs from few inputs (M x N >> M x K + N x K)
for i, (qs, xzp, relu) in enumerate([("per_tensor_symmetric", 255, False), ("per_channel_symmetric", 3, True)]):
    M, N, K = 64, 40, 8
    wq = observe_weight(randn((N, K), 0.4), qs)
    add_linear(f"linear_wide_{M}x{N}x{K}_{qs}_xzp{xzp}{'_relu' if relu else ''}", rand_x((M, K), xzp), 0.03, xzp, wq, qs,
               rand_bias(N, 0.7), relu, "observer")


# --- linear cases built to tell the formulas apart ------------------------------------------------
# K = 2 with columns (1, 127) and (-1, -128): a row (x0, x1) gives any accumulator in 0..32640 in the
# first column and in -32895..0 in the second; x_zp = 0, so every oneDNN kernel computes the same.
def realize_rows(targets, col):
    rows = []
    for t in targets:
        t = int(t)
        if col == 0:
            x1 = min(255, t // 127)
            x0 = t - 127 * x1
        else:
            x1 = min(255, (-t) // 128)
            x0 = -t - 128 * x1
        assert 0 <= x0 <= 255 and 0 <= x1 <= 255
        rows.append((x0, x1))
    return rows


DESIGN_W = np.array([[1, 127], [-1, -128]])


def disagreeing(outs, per_pair):
    """Indices (into the first axis) where a formula differs from its engine's model ('qnnpack'
    for 'a' and 'qnnpack:*'; 'onednn' for 'b', 'c' and 'onednn:*'), or the two models differ:
    up to per_pair for each, chosen at random."""
    picked = set()
    for k in sorted(outs):
        if k in ("qnnpack", "onednn", "onednn:amx"):
            continue
        ref = outs["qnnpack" if k == "a" or k.startswith("qnnpack") else "onednn"]
        idx = np.nonzero((outs[k] != ref).any(axis=1))[0]
        picked.update(int(i) for i in rng.permutation(idx)[:per_pair])
    # and the two engines against each other
    idx = np.nonzero((outs["qnnpack"] != outs["onednn"]).any(axis=1))[0]
    picked.update(int(i) for i in rng.permutation(idx)[:per_pair])
    return sorted(picked)


def pick_disagreements(xs, ws, ys, yzp, bias, relu, col, per_pair):
    """Accumulators (realizable in column col) on which a formula differs from its engine's model."""
    lo, hi = (0, 127 * 255 + 255) if col == 0 else (-(128 * 255 + 255), 0)
    acc = np.arange(lo, hi + 1, dtype=np.int64).reshape(-1, 1)
    b = None if bias is None else np.asarray(bias[col:col + 1], dtype=F)
    outs = requantize_all(acc, acc, np.zeros_like(acc), xs, np.asarray([ws[col]], F), ys, yzp, b, relu)
    return [int(acc[i, 0]) for i in disagreeing(outs, per_pair)]


def add_designed(name, xs, ws, ys, yzp, bias, relu, per_pair=2, explicit_rows=None):
    if explicit_rows is None:
        rows = []
        for col in (0, 1):
            rows += realize_rows(pick_disagreements(xs, ws, ys, yzp, bias, relu, col, per_pair), col)
        if not rows:
            print(f"  (designed case {name}: no disagreement found, skipped)", file=sys.stderr)
            return
    else:
        rows = explicit_rows
    xi = np.array(rows, dtype=np.uint8)
    wq = make_weight(DESIGN_W, ws, [0, 0], True)
    add_linear(name, xi, xs, 0, wq, "per_channel_symmetric", bias, relu, ("fixed", ys, yzp))


# exact ties: mult = 0.5 and 0.25 (half to even), bias at .5 of its quantum (qnnpack rounds it)
add_designed("linear_design_ties", 2.0**-4, [2.0**-5, 2.0**-6], 2.0**-8, 3, None, False,
             explicit_rows=[(t, 0) for t in range(0, 256, 1)])
add_designed("linear_design_ties_bias", 2.0**-4, [2.0**-5, 2.0**-6], 2.0**-8, 100,
             np.array([0.5 * 2.0**-9, 1.5 * 2.0**-10], dtype=F), True, explicit_rows=[(t, 0) for t in range(0, 256, 3)])
# mult = 1, bias = (0.5 + 2^-20) quanta: oneDNN's d + y_zp in float lands on a tie
add_designed("linear_design_zp_float_tie", 2.0**-4, [2.0**-4, 2.0**-4], 2.0**-8, 101,
             np.array([(0.5 + 2.0**-20) * 2.0**-8, -(0.5 + 2.0**-20) * 2.0**-8], dtype=F), False,
             explicit_rows=[(t, 0) for t in range(0, 16)])
# random scales, searched for accumulators on which the formulas disagree
for i in range(10):
    xs = fscale(rng.uniform(0.002, 0.08))
    ws = [fscale(v) for v in rng.uniform(0.001, 0.02, 2)]
    span = 20000 * xs * max(ws)
    ys = fscale(span / 255 * rng.uniform(0.5, 2.0))
    relu = i % 3 == 2
    yzp = int(rng.choice([7, 128, 200] if relu else [0, 7, 128, 200, 255]))
    bias = rand_bias(2, span / 4) if i % 4 != 3 else None
    add_designed(f"linear_design_search_{i}", xs, ws, ys, yzp, bias, relu)


# accumulators beyond 2^24 (float(acc) rounds): K = 600 with columns (-128 x 599, -1), whose
# accumulators reach -19.5e6, and (127 x 599, 1), reaching +19.4e6
LARGE_K = 600
LARGE_W = np.array([[-128] * (LARGE_K - 1) + [-1], [127] * (LARGE_K - 1) + [1]])


def large_row(t, col):
    """x (uint8 values) with x . LARGE_W[col] == t."""
    s, r = divmod(abs(t), 128 if col == 0 else 127)
    x = np.zeros(LARGE_K, dtype=np.int64)
    x[:s // 255] = 255
    if s // 255 < LARGE_K - 1:
        x[s // 255] = s % 255
    x[LARGE_K - 1] = r
    assert int(x @ LARGE_W[col]) == t
    return x


def add_designed_large(name, xs, ws, ys, yzp, bias, relu, windows, rows_per_col=5):
    """windows[col]: the range of accumulators searched in column col."""
    rows = []
    for col in (0, 1):
        acc = np.arange(*windows[col], dtype=np.int64).reshape(-1, 1)
        b = None if bias is None else np.asarray(bias[col:col + 1], dtype=F)
        outs = requantize_all(acc, acc, np.zeros_like(acc), xs, np.asarray([ws[col]], F), ys, yzp, b, relu)
        found = disagreeing(outs, 1)
        rows += [large_row(int(acc[i, 0]), col) for i in rng.permutation(found)[:rows_per_col]]
    if not rows:
        print(f"  (designed case {name}: no disagreement found, skipped)", file=sys.stderr)
        return
    wq = make_weight(LARGE_W, ws, [0, 0], True)
    add_linear(name, np.array(rows, dtype=np.uint8), xs, 0, wq, "per_channel_symmetric", bias, relu, ("fixed", ys, yzp))


ACC_MAX = (-(128 * 255 * (LARGE_K - 1) + 255), 127 * 255 * (LARGE_K - 1) + 127)
for i in range(3):
    xs, ws = fscale(rng.uniform(0.01, 0.05)), [fscale(v) for v in rng.uniform(0.002, 0.01, 2)]
    span = 1.9e7 * xs * max(ws)
    add_designed_large(f"linear_design_large_acc_{i}", xs, ws, fscale(span / 255 * rng.uniform(0.6, 1.2)),
                       int(rng.choice([0, 128, 255])), rand_bias(2, 3000 * xs * max(ws)), False,
                       [(ACC_MAX[0], -2**24), (2**24, ACC_MAX[1])])
# a bias of about -acc (1.2e7 .. 1.9e7 quanta) cancels the accumulator: the float roundings of acc
# and of the bias then show in outputs near y_zp
for i in range(4):
    xs, ws = fscale(rng.uniform(0.01, 0.05)), [fscale(v) for v in rng.uniform(0.002, 0.01, 2)]
    centers = [-int(rng.uniform(1.2e7, 1.9e7)), int(rng.uniform(1.2e7, 1.9e7))]
    bias = np.array([-centers[0] * xs * ws[0], -centers[1] * xs * ws[1]], dtype=F)
    ys = fscale(xs * max(ws) / rng.uniform(0.2, 0.6))
    relu = i == 3
    add_designed_large(f"linear_design_large_acc_cancel_{i}{'_relu' if relu else ''}", xs, ws, ys,
                       int(rng.choice([100, 128] if relu else [0, 100, 128, 255])), bias, relu,
                       [(c - 3000, c + 3000) for c in centers])

# oneDNN's zero-point compensation: the same rows with M = 4 (brgemm avx512_core_vnni on this
# machine: exact integer compensation) and M = 16 (brgemm avx512_core_amx_int8: in float, after
# the bias). x next to x_zp and large positive weights make the compensation large; the rows are
# chosen among random ones for outputs on which the two differ.
for i, (xzp, relu) in enumerate([(250, False), (255, True)]):
    N, K = 32, 64
    ws = fscale(rng.uniform(0.002, 0.01))
    wq = make_weight(rng.integers(60, 128, (N, K)), [ws], [0], False)
    pool = rand_x((4000, K), xzp, "near_zp")
    bias = rand_bias(N, 2.0)
    yf = (pool.astype(np.float64) - xzp) * 0.02 @ wq.dequantize().numpy().astype(np.float64).T + bias
    ys, yzp = output_qparams(yf, "observer")
    acc, raw, comp = linear_acc(pool, xzp, wq.int_repr().numpy(), np.zeros(N, dtype=np.int64))
    outs = requantize_all(acc, raw, comp, 0.02, np.full(N, ws, dtype=F), ys, yzp, bias, relu)
    ndiff = (outs["onednn"] != outs["onednn:amx"]).sum(axis=1)
    xi = pool[np.argsort(-ndiff, kind="stable")[:16]]
    for m in (4, 16):
        add_linear(f"linear_zpcomp_{i}_M{m}_xzp{xzp}_bias{'_relu' if relu else ''}", xi[:m], 0.02, xzp, wq,
                   "per_tensor_symmetric", bias, relu, ("fixed", ys, yzp))


# --- conv2d -----------------------------------------------------------------------------------------
# (name, batch, in_c, out_c, h, w, kernel (kh, kw), stride, padding, dilation, groups, qscheme, x_zp, bias?, relu, out mode)
CONVS = [
    ("3x3_s1_p1", 1, 4, 8, 7, 7, (3, 3), (1, 1), (1, 1), (1, 1), 1, "per_tensor_symmetric", 128, True, False, "observer"),
    ("3x3_s1_p1", 2, 3, 16, 9, 9, (3, 3), (1, 1), (1, 1), (1, 1), 1, "per_channel_symmetric", 3, True, True, "observer"),
    ("3x3_s2_p0", 1, 8, 8, 9, 9, (3, 3), (2, 2), (0, 0), (1, 1), 1, "per_tensor_symmetric", 0, False, False, "observer"),
    ("3x3_s2_p0", 2, 5, 6, 8, 9, (3, 3), (2, 2), (0, 0), (1, 1), 1, "per_channel_symmetric", 255, True, True, "observer"),
    ("1x1", 2, 16, 16, 5, 5, (1, 1), (1, 1), (0, 0), (1, 1), 1, "per_channel_symmetric", 128, True, False, "observer"),
    ("1x1", 1, 8, 12, 6, 4, (1, 1), (1, 1), (0, 0), (1, 1), 1, "per_tensor_symmetric", 255, False, True, "zp0"),
    ("5x5_d2_p2", 1, 4, 6, 9, 9, (5, 5), (1, 1), (2, 2), (2, 2), 1, "per_tensor_symmetric", 3, True, False, "observer"),
    ("5x5_d2_p0", 2, 3, 4, 9, 9, (5, 5), (1, 1), (0, 0), (2, 2), 1, "per_channel_symmetric", 128, False, False, "zp255"),
    ("3x3_g2_p1", 1, 8, 8, 6, 6, (3, 3), (1, 1), (1, 1), (1, 1), 2, "per_channel_symmetric", 128, True, False, "observer"),
    ("3x3_g2_s2", 2, 6, 4, 7, 7, (3, 3), (2, 2), (1, 1), (1, 1), 2, "per_tensor_symmetric", 0, True, True, "observer"),
    ("dw3x3_s1_p1", 1, 8, 8, 7, 7, (3, 3), (1, 1), (1, 1), (1, 1), 8, "per_channel_symmetric", 128, True, False, "observer"),
    ("dw3x3_s1_p1", 2, 16, 16, 5, 5, (3, 3), (1, 1), (1, 1), (1, 1), 16, "per_tensor_symmetric", 3, False, False, "observer"),
    ("dw3x3_s2_p1", 1, 8, 8, 9, 9, (3, 3), (2, 2), (1, 1), (1, 1), 8, "per_tensor_symmetric", 255, True, True, "observer"),
    ("dw3x3_s2_p1", 2, 12, 12, 8, 8, (3, 3), (2, 2), (1, 1), (1, 1), 12, "per_channel_symmetric", 0, True, True, "saturate"),
    ("3x3_s1_p1_affine", 1, 4, 6, 6, 6, (3, 3), (1, 1), (1, 1), (1, 1), 1, "per_tensor_affine", 128, True, False, "observer"),
    ("dw3x3_affine", 1, 8, 8, 6, 6, (3, 3), (1, 1), (1, 1), (1, 1), 8, "per_channel_affine", 3, True, False, "observer"),
    ("3x1_s21_p10_d12", 1, 4, 8, 8, 7, (3, 1), (2, 1), (1, 0), (1, 2), 1, "per_channel_symmetric", 128, True, False, "observer"),
    ("3x3_s1_p1_saturate", 1, 4, 8, 6, 6, (3, 3), (1, 1), (1, 1), (1, 1), 1, "per_tensor_symmetric", 128, True, False, "saturate"),
]
for (label, batch, ic, oc, h, w, (kh, kw), stride, pad, dil, groups, qscheme, xzp, has_bias, relu, ymode) in CONVS:
    wf = randn((oc, ic // groups, kh, kw), 0.3, 0.15 if qscheme.endswith("affine") else 0.0)
    wq = observe_weight(wf, qscheme)
    xs = fscale(rng.uniform(0.005, 0.05))
    bias = rand_bias(oc, 1.0) if has_bias else None
    name = (f"conv2d_{label}_n{batch}_c{ic}to{oc}_{h}x{w}_{qscheme}_xzp{xzp}_{'bias' if has_bias else 'nobias'}"
            f"{'_relu' if relu else ''}_{ymode}")
    add_conv(name, rand_x((batch, ic, h, w), xzp), xs, xzp, wq, qscheme, bias, relu, ymode, stride, pad, dil, groups)

# all x = 255, all weights = -128
wq = make_weight(np.full((4, 3, 3, 3), -128), [fscale(0.01)], [0], False)
add_conv("conv2d_all255_times_minus128_3x3_p1", np.full((1, 3, 5, 5), 255, dtype=np.uint8), 0.02, 0, wq,
         "per_tensor_symmetric", rand_bias(4, 50.0), False, "observer", (1, 1), (1, 1), (1, 1), 1)


# --- write -------------------------------------------------------------------------------------------
os.makedirs(os.path.dirname(OUT), exist_ok=True)
with open(OUT, "w") as f:
    json.dump({"generator": "tools/reference/gen_qlinear.py", "torch_version": torch.__version__,
               "numpy_version": np.__version__, "cases": cases}, f, separators=(",", ":"))
    f.write("\n")
for name, why in skipped:
    print(f"skipped {name}: {why}", file=sys.stderr)
counts = {}
for c in cases:
    key = f"{c['op']}{'_relu' if c['relu'] else ''}/{c['engine']}"
    counts[key] = counts.get(key, 0) + 1
print(f"wrote {len(cases)} cases ({os.path.getsize(OUT)} bytes) to {os.path.relpath(OUT)}: {counts}", file=sys.stderr)


# --- verification: re-read the file and compare every output with the numpy models --------------
def case_outputs(c):
    """The formulas' outputs for a case read from the file, as (R, N) arrays, and the engine's y."""
    xs, ys, yzp = F(c["x_scale"]), F(c["y_scale"]), c["y_zp"]
    if c["op"] == "linear":
        x = np.array(c["x"], dtype=np.int64).reshape(c["M"], c["K"])
        w = np.array(c["w"], dtype=np.int64).reshape(c["N"], c["K"])
        n = c["N"]
        wzp = np.broadcast_to(np.array(c["w_zps"], dtype=np.int64), (n,))
        acc, raw, comp = linear_acc(x, c["x_zp"], w, wzp)
    else:
        x = np.array(c["x"], dtype=np.int64).reshape(c["batch"], c["in_h"], c["in_w"], c["in_c"])
        n = c["out_c"]
        w = np.array(c["w"], dtype=np.int64).reshape(n, c["kh"], c["kw"], c["in_c"] // c["groups"])
        wzp = np.broadcast_to(np.array(c["w_zps"], dtype=np.int64), (n,))
        acc, raw, comp, oh, ow = conv_acc(x, c["x_zp"], w, wzp, c["stride"], c["padding"], c["dilation"], c["groups"])
        assert (oh, ow) == (c["out_h"], c["out_w"])
    ws = np.broadcast_to(np.array(c["w_scales"], dtype=F), (n,))
    bias = None if c["bias"] is None else np.array(c["bias"], dtype=F)
    y = np.array(c["y"], dtype=np.int64).reshape(-1, n)
    return requantize_all(acc, raw, comp, xs, ws, ys, yzp, bias, c["relu"]), y


def verify(case_list, title):
    print(f"\n{title}", file=sys.stderr)
    for engine in ENGINES:
        stats, total, best_case = {}, 0, {"onednn": 0, "onednn:amx": 0, "either": 0}
        for c in case_list:
            if c["engine"] != engine:
                continue
            outs, y = case_outputs(c)
            total += y.size
            for k, v in outs.items():
                s = stats.setdefault(k, [0, 0, 0])
                d = np.abs(v - y)
                s[0] += int((d != 0).sum())
                s[1] = max(s[1], int(d.max()))
                s[2] += int((d != 0).any())
            if engine == "onednn":
                e1, e2 = int((outs["onednn"] != y).sum()), int((outs["onednn:amx"] != y).sum())
                best_case["either"] += min(e1, e2)
                if e1 != e2:
                    best_case["onednn" if e1 < e2 else "onednn:amx"] += 1
        print(f"  {engine}: {total} outputs; formula: outputs differing, max |diff| (LSB), cases differing", file=sys.stderr)
        for k, (nd, mx, ncase) in sorted(stats.items(), key=lambda kv: (kv[1][0], kv[0])):
            print(f"    {k:34s} {nd:8d} {mx:4d} {ncase:4d}", file=sys.stderr)
        if engine == "onednn":
            print(f"    per case the better of onednn / onednn:amx: {best_case['either']} outputs differ; cases that only "
                  f"'onednn' fits: {best_case['onednn']}, only 'onednn:amx': {best_case['onednn:amx']}", file=sys.stderr)


with open(OUT) as f:
    data = json.load(f)
verify(data["cases"], f"verification against {os.path.relpath(OUT)}")

if "--stress" in sys.argv:
    # more outputs, not written: random shapes, scales and zero points on both engines
    stress = []
    cases, saved = stress, cases
    for t in range(48):
        M, N, K = int(rng.choice([4, 64, 512, 1024])), int(rng.integers(8, 96)), int(rng.integers(1, 700))
        qs = ["per_tensor_symmetric", "per_channel_symmetric"][t % 2]
        xzp = int(rng.choice([0, 3, 128, 200, 255]))
        wq = observe_weight(randn((N, K), 0.3), qs)
        add_linear(f"stress_linear_{t}", rand_x((M, K), xzp, "near_zp" if t % 3 == 0 else "uniform"),
                   fscale(rng.uniform(0.002, 0.05)), xzp, wq, qs, rand_bias(N, 1.0) if t % 4 else None, t % 5 == 0,
                   "observer")
    for t, (label, batch, ic, oc, h, w, (kh, kw), stride, pad, dil, groups, qscheme, xzp, has_bias, relu, ymode) in enumerate(CONVS):
        wq = observe_weight(randn((oc * 2, ic // groups * 2 if groups == 1 else ic // groups, kh, kw), 0.3,
                                  0.15 if qscheme.endswith("affine") else 0.0), qscheme)
        g = groups if groups == 1 else groups * 2
        add_conv(f"stress_conv_{t}", rand_x((2, ic * 2, 24, 24), xzp), fscale(rng.uniform(0.005, 0.05)), xzp, wq, qscheme,
                 rand_bias(oc * 2, 1.0) if has_bias else None, relu, ymode, stride, pad, dil, g)
    cases = saved
    verify(json.loads(json.dumps(stress)), "stress (not written)")
