#!/usr/bin/python3
"""Writes tests/data/tensor_quant_reference.json: reference vectors for ctq's port of the tensor-level
parts of NVIDIA's pytorch-quantization toolkit (tools/pytorch-quantization/pytorch_quantization in
the NVIDIA/TensorRT repository): tensor_quant / fake_tensor_quant and their straight-through
gradient, TensorQuantizer's amax handling, MaxCalibrator, HistogramCalibrator and its three
compute_amax methods (entropy, percentile, mse).

pytorch-quantization itself is not installed here (and it needs CUDA to build). The functions
below are ctq's own transcription of NVIDIA's algorithms, written from reading the sources and run
with PyTorch 1.13 and numpy, the libraries NVIDIA's code runs on. Each function names the NVIDIA
file and function it transcribes. Two deliberate deviations, both forced by this machine:
  - NVIDIA's _compute_amax_mse moves the histogram to CUDA (.cuda()); here it stays on the CPU,
    where fake_tensor_quant takes its CPU ("legacy") path, the same _tensor_quant as everywhere.
  - NVIDIA's _compute_amax_entropy calls scipy.stats.entropy. scipy is not a dependency of the
    generators, so `kl_divergence` below is a numpy transcription of scipy.stats.entropy(pk, qk)
    (scipy 1.x): normalise both distributions by their np.sum, then np.sum of rel_entr(p, q), where
    rel_entr(p, q) = nan if either is nan, p*log(p/q) for p > 0 and q > 0, 0 for p == 0 and q >= 0,
    inf otherwise. log must be the C library's, as in scipy: NPY_DISABLE_CPU_FEATURES turns off
    numpy's AVX-512 log (which differs in the last bit), and a probe asserts np.log == math.log.
    When scipy is importable the script checks that every divergence is bitwise scipy's.

ATEN_CPU_CAPABILITY=default is set before torch is imported, as for gen_fake_quantize.py: with it
torch.linspace / torch.arange (which make the histogram bin edges) round every product separately
(no FMA contraction), the behaviour ctq reproduces. The script checks its own numpy models of
linspace, arange and histc against torch on every histogram it builds (see `model_*`).

Run with Debian's interpreter, which has python3-torch:  /usr/bin/python3 tools/reference/gen_tensor_quant.py
The output is deterministic (fixed seeds); see tools/reference/README.md.

Case format (tensors: base64 of little-endian float32, row-major, via refdata.b64; float32
scalars: JSON numbers or "nan"/"inf"/"-inf" via refdata.f32; float64 diagnostics: plain JSON numbers):
  {"op": "seed_example", "name", "x", "amax", "q" (ints), "scale", "fake", "doc_q", "doc_scale_4dp"}
  {"op": "tensor_quant", "name", "shape", "num_bits", "unsigned", "narrow_range",
   "axis" (kept axes, list, or null for per tensor), "amax_source" ("given" | "reduce_amax"),
   "amax_shape", "x", "amax", "q" (ints; tensor_quant outputs), "scale" (amax_shape, as returned),
   "fake" (fake_tensor_quant outputs), "grad_mask" (0/1 list: |x| <= amax)}
  {"op": "fb_fake_quant", "name", "shape", "num_bits", "unsigned", "axis" (null | int), "x", "amax",
   "amax_shape", "scale" (float32 scale(s) given to torch.fake_quantize_per_*_affine),
   "quant_min", "quant_max", "y"}
  {"op": "tensor_quantizer", "name", "desc" {num_bits, fake_quant, axis, amax, unsigned,
   narrow_range, scale_amax}, "shape", "x", "amax" (used), "amax_shape", "y", "scale" (real quant
   only, else null)}
  {"op": "max_calibrator", "name", "axis" (null | int | list), "unsigned", "batches": [{"shape", "x"}],
   "amaxs" (per-batch local amax, b64), "amax_shape", "amax"}
  {"op": "histogram_calibrator", "name", "distribution", "num_bins" (initial), "skip_zeros",
   "torch_hist": true, "batches": [{"shape", "x"}], "final_num_bins", "hist" (ints),
   "bin_edges" (b64; len(hist)+1 values), "results": [...]}
  with results
   {"method": "entropy", "num_bits", "unsigned", "stride", "start_bin", "amax", "index"
    (i chosen: amax = bin_edges[index]), "best_divergence", "runner_up_divergence"}
   {"method": "percentile", "percentile", "amax", "index" (amax = bin_edges[index])}
   {"method": "mse", "num_bits", "unsigned", "stride", "start_bin", "amax", "index"
    (amax = centers[index]), "best_mse", "runner_up_mse" (float32), and for the 8-bit signed variant
    "mses" (b64, float32 torch values for i = start_bin, start_bin + stride, ...)}
"""
import os

os.environ["ATEN_CPU_CAPABILITY"] = "default"  # must precede `import torch`
# numpy's AVX-512 float64 log differs from the C library's log in the last bit for about a quarter of
# the inputs; scipy's rel_entr (hence NVIDIA's entropy) and C++'s std::log use the C library's.
# Without the AVX-512 dispatch numpy's log is the C library's (checked below).
os.environ["NPY_DISABLE_CPU_FEATURES"] = "AVX512F AVX512CD AVX512_SKX AVX512_CLX AVX512_CNL AVX512_ICL"

import json  # noqa: E402
import sys  # noqa: E402
from collections import Counter  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402

from refdata import b64, f32  # noqa: E402

import math  # noqa: E402

_probe = np.random.default_rng(0).uniform(1e-12, 1.0, 20000)
assert np.array_equal(np.log(_probe), np.array([math.log(v) for v in _probe])), "numpy log is not the C library's"

try:  # optional cross-check of the numpy entropy transcription
    from scipy.stats import entropy as scipy_entropy  # noqa: E402
except ImportError:  # pragma: no cover
    scipy_entropy = None

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "..", "tests", "data", "tensor_quant_reference.json")

torch.set_num_threads(1)
cases = []
rng = np.random.default_rng(20261201)


def ilist(t):
    return [int(v) for v in t.reshape(-1).tolist()]


def f64(v):
    """A float64 diagnostic value as JSON: a number, or "nan", "inf", "-inf" (None stays null)."""
    if v is None:
        return None
    v = float(v)
    if math.isnan(v):
        return "nan"
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    return v


def t32(a):
    return torch.from_numpy(np.ascontiguousarray(np.asarray(a, dtype=np.float32)))


# ==================================================================================================
# Transcriptions of NVIDIA's functions
# ==================================================================================================

def reduce_amax(inputs, axis=None, keepdims=True):
    """utils/reduce_amax.py reduce_amax: abs, then max over `axis` (the axes REDUCED); a list of axes
    is reduced one by one with keepdim=True and squeezed if keepdims is False or one value is left."""
    with torch.no_grad():
        out = inputs.abs()
        if axis is None:
            return torch.max(out)
        if isinstance(axis, int):
            return torch.max(out, dim=axis, keepdim=keepdims)[0]
        for i in axis:
            out = torch.max(out, dim=i, keepdim=True)[0]
        if not keepdims or out.numel() == 1:
            out.squeeze_()
        return out


def tensor_quant_ref(inputs, amax, num_bits=8, unsigned=False, narrow_range=True):
    """tensor_quant.py _tensor_quant (shared by TensorQuantFunction and the CPU path of
    FakeTensorQuantFunction). Returns (outputs, scale); outputs are integral float32 values."""
    if unsigned and inputs.min() < 0.:
        raise TypeError("Negative values encountered in unsigned quantization.")
    min_amax = amax.min()
    if min_amax < 0:
        raise ValueError("Negative values in amax")
    max_bound = torch.tensor((2.0 ** (num_bits - 1 + int(unsigned))) - 1.0)  # float32 scalar
    if unsigned:
        min_bound = 0
    elif narrow_range:
        min_bound = -max_bound
    else:
        min_bound = -max_bound - 1
    scale = max_bound / amax  # float32 division, amax's shape
    epsilon = 1. / (1 << 24)
    if min_amax <= epsilon:
        zero_amax_mask = amax <= epsilon
        scale[zero_amax_mask] = 0  # everything quantizes to 0 where amax is (almost) 0
    outputs = torch.clamp((inputs * scale).round_(), min_bound, max_bound)  # round: half to even
    if min_amax <= epsilon:
        scale[zero_amax_mask] = 1.  # and the returned scale is 1 there
    return outputs, scale


def fake_tensor_quant_ref(inputs, amax, num_bits=8, unsigned=False, narrow_range=True):
    """tensor_quant.py FakeTensorQuantFunction.forward, CPU path (legacy_quant_func): outputs / scale."""
    outputs, scale = tensor_quant_ref(inputs, amax, num_bits, unsigned, narrow_range)
    return outputs / scale.to(inputs.dtype)


def ste_mask(inputs, amax):
    """tensor_quant.py TensorQuantFunction.backward / _fake_tensor_quant_backward:
    grad passes where |x| <= amax (broadcast), else 0."""
    return (inputs.abs() <= amax).to(torch.int64)


def fb_fake_quant_ref(inputs, amax, num_bits, unsigned):
    """nn/modules/tensor_quantizer.py TensorQuantizer._fb_fake_quant (use_fb_fake_quant = True):
    PyTorch's own fake quantization, full range, zero point 0. Returns (y, scale as float32, qmin, qmax)."""
    bound = (1 << (num_bits - 1 + int(unsigned))) - 1
    qmin = -bound - 1 if not unsigned else 0
    if amax.numel() == 1:
        scale = amax.item() / bound  # Python double; the kernel uses it as float
        y = torch.fake_quantize_per_tensor_affine(inputs, scale, 0, qmin, bound)
        return y, torch.tensor([scale], dtype=torch.float32), qmin, bound, None
    amax_sq = amax.squeeze().detach()
    quant_dim = list(amax.shape).index(list(amax_sq.shape)[0])
    scale = amax_sq / bound  # float32 tensor
    y = torch.fake_quantize_per_channel_affine(inputs, scale.data, torch.zeros_like(scale, dtype=torch.int32),
                                               quant_dim, qmin, bound)
    return y, scale, qmin, bound, quant_dim


def quantizer_get_amax(inputs, axis, amax_buffer, scale_amax):
    """nn/modules/tensor_quantizer.py TensorQuantizer._get_amax: the buffer if set, otherwise
    reduce_amax(keepdims=True) over the axes NOT in `axis`; times scale_amax if given."""
    if amax_buffer is not None:
        amax = amax_buffer
    else:
        if axis is None:
            reduce_axis = None
        else:
            kept = axis if isinstance(axis, (list, tuple)) else [axis]
            reduce_axis = [i for i in range(inputs.dim()) if i not in kept]
        amax = reduce_amax(inputs, axis=reduce_axis, keepdims=True).detach()
    if scale_amax is not None:
        amax = amax.detach() * scale_amax
    return amax


def quantizer_forward(inputs, num_bits=8, fake_quant=True, axis=None, amax=None, unsigned=False,
                      narrow_range=False, scale_amax=None):
    """TensorQuantizer.forward with quant enabled, no calibration, no learn_amax (QuantDescriptor
    defaults: narrow_range False). Fake quant passes the descriptor's narrow_range; real quant calls
    tensor_quant(inputs, amax, num_bits, unsigned), i.e. narrow_range=True (the function default)."""
    buf = None if amax is None else torch.tensor(np.array(amax, dtype=np.float32))
    a = quantizer_get_amax(inputs, axis, buf, scale_amax)
    if fake_quant:
        return fake_tensor_quant_ref(inputs, a, num_bits, unsigned, narrow_range), a, None
    out, scale = tensor_quant_ref(inputs, a, num_bits, unsigned)
    return out, a, scale


class MaxCalibratorRef:
    """calib/max.py MaxCalibrator: per-batch reduce_amax over the axes not in `axis` (keepdims;
    a single value is squeezed to 0-d), merged by elementwise torch.max."""

    def __init__(self, num_bits, axis, unsigned, track_amax=False):
        self._axis = axis
        self._calib_amax = None
        self._amaxs = []

    def collect(self, x):
        if torch.min(x) < 0.:
            x = x.abs()
        axis = self._axis if isinstance(self._axis, (list, tuple)) else [self._axis]
        reduce_axis = [i for i in range(x.dim()) if i not in axis]
        local_amax = reduce_amax(x, axis=reduce_axis).detach()
        if self._calib_amax is None:
            self._calib_amax = local_amax
        else:
            if local_amax.shape != self._calib_amax.shape:
                raise RuntimeError("amax shape changed!")
            self._calib_amax.copy_(torch.max(self._calib_amax, local_amax).data)
        self._amaxs.append(local_amax.clone())

    def compute_amax(self):
        return self._calib_amax


class HistogramCalibratorRef:
    """calib/histogram.py HistogramCalibrator, torch_hist=True (the default) collection path."""

    def __init__(self, num_bits, axis, unsigned, num_bins=2048, skip_zeros=False):
        assert axis is None  # NVIDIA: per tensor only
        self._num_bits = num_bits
        self._unsigned = unsigned
        self._num_bins = num_bins
        self._skip_zeros = skip_zeros
        self._calib_bin_edges = None
        self._calib_hist = None

    def collect(self, x):
        if torch.min(x) < 0.:
            x = x.abs()
        x = x.float()
        with torch.no_grad():
            if self._skip_zeros:
                x = x[torch.where(x != 0)]
            x_max = x.max()
            if self._calib_bin_edges is None and self._calib_hist is None:
                self._calib_hist = torch.histc(x, bins=self._num_bins, min=0, max=x_max)
                self._calib_bin_edges = torch.linspace(0, x_max, self._num_bins + 1)
                check_histc(x, self._num_bins, 0.0, x_max.item(), self._calib_hist)
                check_linspace(x_max.item(), self._num_bins + 1, self._calib_bin_edges)
            else:
                if x_max > self._calib_bin_edges[-1]:
                    width = self._calib_bin_edges[1] - self._calib_bin_edges[0]
                    self._num_bins = int((x_max / width).ceil().item())
                    self._calib_bin_edges = torch.arange(0, x_max + width, width)
                    check_arange((x_max + width).item(), width.item(), self._calib_bin_edges)
                hist = torch.histc(x, bins=self._num_bins, min=0, max=self._calib_bin_edges[-1])
                check_histc(x, self._num_bins, 0.0, self._calib_bin_edges[-1].item(), hist)
                hist[:self._calib_hist.numel()] += self._calib_hist
                self._calib_hist = hist

    def arrays(self):
        """compute_amax's conversion: counts .int() -> int32 numpy, edges float32 numpy (fresh copies)."""
        return self._calib_hist.int().cpu().numpy(), self._calib_bin_edges.cpu().numpy()


def rel_entr(p, q):
    """scipy.special.rel_entr, elementwise: nan if p or q is nan; p*log(p/q) if p > 0 and q > 0;
    0 if p == 0 and q >= 0; inf otherwise."""
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where((p > 0) & (q > 0), p * np.log(p / q), np.inf)
    out = np.where((p == 0) & (q >= 0), 0.0, out)
    return np.where(np.isnan(p) | np.isnan(q), np.nan, out)


def kl_divergence(pk, qk):
    """scipy.stats.entropy(pk, qk) (scipy 1.x), transcribed with numpy."""
    with np.errstate(divide="ignore", invalid="ignore"):  # an all-zero qk gives 0/0 = nan, as in scipy
        pk = np.asarray(pk)
        pk = 1.0 * pk / np.sum(pk, axis=0, keepdims=True)
        qk = np.asarray(qk)
        qk = 1.0 * qk / np.sum(qk, axis=0, keepdims=True)
        return np.sum(rel_entr(pk, qk), axis=0)


def entropy_divergences(calib_hist, num_bits, unsigned, stride=1, start_bin=128, literal=False):
    """calib/histogram.py _compute_amax_entropy up to the list of divergences (one per candidate i,
    i = start_bin, start_bin + stride, ..., len(hist) inclusive). `literal` runs NVIDIA's per-bin
    Python loops; otherwise the same sums with np.bincount (integer counts: exact either way)."""
    bins = calib_hist.copy()  # NVIDIA: bins = calib_hist[:] (a view of compute_amax's fresh copy)
    bins[0] = bins[1]
    total_data = np.sum(bins)
    nbins = 1 << (num_bits - 1 + int(unsigned))
    new_density_counts = np.zeros(nbins, dtype=np.float64)
    divergences = []
    for i in range(start_bin, len(bins) + 1, stride):
        space = np.linspace(0, i, num=nbins + 1)
        digitized_space = np.digitize(range(i), space) - 1
        digitized_space[bins[:i] == 0] = -1
        if literal:
            new_density_counts.fill(0)
            for idx, digitized in enumerate(digitized_space):
                if digitized != -1:
                    new_density_counts[digitized] += bins[idx]
            counter = Counter(digitized_space)
            for key, val in counter.items():
                if key != -1:
                    new_density_counts[key] = new_density_counts[key] / val
            new_density = np.zeros(i, dtype=np.float64)
            for idx, digitized in enumerate(digitized_space):
                if digitized != -1:
                    new_density[idx] = new_density_counts[digitized]
        else:
            nz = digitized_space != -1
            d = digitized_space[nz]
            sums = np.bincount(d, weights=bins[:i][nz].astype(np.float64), minlength=nbins)
            cnt = np.bincount(d, minlength=nbins)
            avg = np.zeros(nbins, dtype=np.float64)
            avg[cnt > 0] = sums[cnt > 0] / cnt[cnt > 0]
            new_density = np.zeros(i, dtype=np.float64)
            new_density[nz] = avg[d]
        total_counts_new = np.sum(new_density) + np.sum(bins[i:])
        # NVIDIA's _normalize_distr(new_density) rebinds a local name only: a no-op
        reference_density = np.array(bins[:len(digitized_space)])
        reference_density[-1] += np.sum(bins[i:])
        total_counts_old = np.sum(reference_density)
        if round(total_counts_new) != total_data or round(total_counts_old) != total_data:
            raise RuntimeError("Count mismatch!")
        ent = kl_divergence(reference_density, new_density)
        if scipy_entropy is not None:
            with np.errstate(divide="ignore", invalid="ignore"):
                ref = scipy_entropy(reference_density, new_density)
            assert ent == ref or (np.isnan(ent) and np.isnan(ref)), (ent, ref)
        divergences.append(ent)
    return np.array(divergences)


def compute_amax_entropy(calib_hist, calib_bin_edges, num_bits, unsigned, stride=1, start_bin=128):
    """calib/histogram.py _compute_amax_entropy: the LAST argmin of the divergences (np.argmin on the
    reversed list: a nan counts as the minimum, so with nans the last nan wins); amax is the bin edge
    at that candidate i (float32 edge, returned as a float32 tensor)."""
    div = entropy_divergences(calib_hist, num_bits, unsigned, stride, start_bin)
    last_argmin = len(div) - 1 - np.argmin(div[::-1])
    index = int(last_argmin * stride + start_bin)
    amax = torch.tensor(calib_bin_edges[index].item())
    others = np.delete(div, last_argmin)
    runner_up = float(np.nanmin(others)) if np.any(~np.isnan(others)) else None
    return amax, index, float(div[last_argmin]), runner_up


def compute_amax_mse(calib_hist, calib_bin_edges, num_bits, unsigned, stride=1, start_bin=128):
    """calib/histogram.py _compute_amax_mse (on CPU): centers of float32 edges, fake_tensor_quant
    (narrow_range default True) of all centers at amax = centers[i], mse = mean((q - c)^2 * counts)
    in float32; FIRST argmin; amax = centers[i]."""
    counts = torch.from_numpy(calib_hist[:]).float()
    edges = torch.from_numpy(calib_bin_edges[:]).float()
    centers = (edges[1:] + edges[:-1]) / 2
    mses, arguments = [], []
    for i in range(start_bin, len(centers), stride):
        amax = centers[i]
        quant_centers = fake_tensor_quant_ref(centers, amax, num_bits, unsigned)
        mse = ((quant_centers - centers) ** 2 * counts).mean()
        mses.append(mse.cpu())
        arguments.append(i)
    argmin = np.argmin(mses)
    index = arguments[argmin]
    return centers[index], index, torch.stack(mses)


def compute_amax_percentile(calib_hist, calib_bin_edges, percentile):
    """calib/histogram.py _compute_amax_percentile: cdf = cumsum(hist / total) in float64,
    idx = searchsorted(cdf, percentile / 100) (side left), amax = bin_edges[idx]."""
    if percentile < 0 or percentile > 100:
        raise ValueError("Invalid percentile. Must be in range 0 <= percentile <= 100.")
    total = calib_hist.sum()
    cdf = np.cumsum(calib_hist / total)
    idx = int(np.searchsorted(cdf, percentile / 100))
    return torch.tensor(calib_bin_edges[idx].item()), idx


# ==================================================================================================
# numpy models of the torch kernels under the histograms (checked against torch on every call)
# ==================================================================================================
VEC = 8  # Vectorized<float>::size() (32 bytes); the loops step two vectors at a time


def model_linspace(end, steps):
    """torch.linspace(0, end, steps), float32, ATen 1.13 CPU kernel at the default capability:
    step = float(end) / (steps - 1) in float; element idx = step * idx for idx < steps / 2, else
    end - step * (steps - idx - 1); inside the vector body (the first floor(steps / 16) * 16
    elements) only the first element of each group of 8 is computed that way (base), the others are
    base + k * step (k = 1..7), every product and sum rounded to float."""
    end = np.float32(end)
    step = np.float32(end / np.float32(steps - 1))
    half = steps // 2
    out = np.empty(steps, dtype=np.float32)

    def scalar(i):
        if i < half:
            return np.float32(step * np.float32(i))
        return np.float32(end - np.float32(step * np.float32(steps - i - 1)))

    body = (steps // (2 * VEC)) * (2 * VEC)
    for idx in range(0, body, VEC):
        base = scalar(idx)
        for k in range(VEC):
            out[idx + k] = np.float32(base + np.float32(np.float32(k) * step))
    for i in range(body, steps):
        out[i] = scalar(i)
    return out


def model_arange(end, step):
    """torch.arange(0, end, step) with float32 tensors as Scalars (double): length
    ceil(end / step) in double; element = float(step * idx) in double; in the vector body the
    first of each group of 8 is base = float(step * idx), the others float(double(base) + k * step)."""
    end, step = float(end), float(step)
    n = int(np.ceil(end / step))
    out = np.empty(n, dtype=np.float32)
    body = (n // (2 * VEC)) * (2 * VEC)
    for idx in range(0, body, VEC):
        base = np.float32(step * idx)
        for k in range(VEC):
            out[idx + k] = np.float32(float(base) + k * step)
    for i in range(body, n):
        out[i] = np.float32(step * i)
    return out


def model_histc(x, bins, lo, hi):
    """torch.histc(x, bins, min=lo, max=hi) on CPU (lo == 0 here): edges = linspace(lo, hi, bins + 1),
    elements outside [edges[0], edges[-1]] (and NaN) skipped, bin = int64(((e - left) / (right - left))
    * float(bins)) in float32 (PyTorch 1.13 divides first), bin == bins goes to bins - 1. float32 counts."""
    assert lo == 0.0 and hi > 0.0
    edges = model_linspace(hi, bins + 1)
    left, right = edges[0], edges[-1]
    x = np.asarray(x, dtype=np.float32).reshape(-1)
    keep = (x >= left) & (x <= right)
    e = x[keep]
    pos = (((e - left) / (right - left)) * np.float32(bins)).astype(np.float32).astype(np.int64)
    pos[pos == bins] = bins - 1
    return np.bincount(pos, minlength=bins).astype(np.float32)


model_checks = Counter()


def check_linspace(end, steps, t):
    assert np.array_equal(model_linspace(end, steps), t.numpy()), "linspace model"
    model_checks["linspace"] += 1


def check_arange(end, step, t):
    assert np.array_equal(model_arange(end, step), t.numpy()), "arange model"
    model_checks["arange"] += 1


def check_histc(x, bins, lo, hi, t):
    assert np.array_equal(model_histc(x.numpy(), bins, lo, hi), t.numpy()), "histc model"
    model_checks["histc"] += 1


# ==================================================================================================
# Cases
# ==================================================================================================

# --- the documented example (docs: "Basic Functionalities") --------------------------------------
torch.manual_seed(12345)
x = torch.rand(10)
amax = x.abs().max()
q, scale = tensor_quant_ref(x, amax)
fake = fake_tensor_quant_ref(x, amax)
doc_q = [126, 113, 127, 59, 11, 23, 47, 73, 43, 27]
assert ilist(q) == doc_q, ilist(q)
assert round(scale.item(), 4) == 128.0057, scale.item()
assert np.allclose(fake.numpy(), [0.9843, 0.8828, 0.9921, 0.4609, 0.0859, 0.1797, 0.3672, 0.5703, 0.3359, 0.2109],
                   atol=6e-5)
cases.append({"op": "seed_example", "name": "docs_rand10_seed12345", "x": b64(x), "amax": f32(amax.item()),
              "q": ilist(q), "scale": f32(scale.item()), "fake": b64(fake), "doc_q": doc_q,
              "doc_scale_4dp": 128.0057})


# --- tensor_quant / fake_tensor_quant ---------------------------------------------------------------
def add_tq(name, x, num_bits, unsigned, narrow_range, axis=None, amax=None):
    """amax None: reduce_amax(keepdims=True) over the axes not in `axis` (as TensorQuantizer does)."""
    if amax is None:
        source = "reduce_amax"
        a = quantizer_get_amax(x, axis, None, None)
    else:
        source = "given"
        a = t32(amax)
    q, scale = tensor_quant_ref(x, a, num_bits, unsigned, narrow_range)
    fake = fake_tensor_quant_ref(x, a, num_bits, unsigned, narrow_range)
    assert torch.equal(q * 1, q.round())  # integral
    cases.append({"op": "tensor_quant", "name": name, "shape": list(x.shape), "num_bits": num_bits,
                  "unsigned": unsigned, "narrow_range": narrow_range,
                  "axis": None if axis is None else (list(axis) if isinstance(axis, (list, tuple)) else [axis]),
                  "amax_source": source, "amax_shape": list(a.shape), "x": b64(x), "amax": b64(a.reshape(-1)),
                  "q": ilist(q), "scale": b64(scale.reshape(-1)), "fake": b64(fake),
                  "grad_mask": ilist(ste_mask(x, a))})


def randn(shape, std=1.0):
    return t32(rng.standard_normal(shape) * std)


for bits in (2, 4, 7, 8, 16):
    for narrow in (True, False):
        add_tq(f"per_tensor_{bits}bit_{'narrow' if narrow else 'full'}", randn((8, 16), 1.5), bits, False, narrow)
for bits in (2, 4, 7, 8, 16):
    add_tq(f"per_tensor_unsigned_{bits}bit", torch.relu(randn((96,), 2.0)), bits, True, True)
add_tq("per_tensor_unsigned_8bit_narrow_false", torch.relu(randn((96,), 2.0)), 8, True, False)

# clipping: amax below max|x|
for bits, unsigned, narrow in ((8, False, True), (8, False, False), (4, False, True), (8, True, True), (4, True, False)):
    xx = randn((100,), 1.0)
    if unsigned:
        xx = xx.abs()
    add_tq(f"clip_{bits}bit_{'u' if unsigned else 's'}_{'narrow' if narrow else 'full'}", xx, bits, unsigned, narrow,
           amax=float(np.float32(xx.abs().max().item() * 0.45)))

# exact .5 ties: scale a power of two so that x * scale is exactly k + 0.5, plus clamping beyond the range
for bits, unsigned, narrow in ((8, False, True), (8, False, False), (4, False, True), (4, False, False), (8, True, True),
                               (2, False, False)):
    mb = 2 ** (bits - 1 + int(unsigned)) - 1
    s = float(2 ** (bits - 1 + int(unsigned)))  # scale = mb / amax with amax = mb / s  (exact)
    am = np.float32(mb / s)
    assert np.float32(np.float32(mb) / am) == np.float32(s)
    lo = 0 if unsigned else -mb - 4
    k = np.arange(lo, mb + 4, dtype=np.float64)
    vals = np.concatenate([(k + 0.5) / s, k / s, [0.0, -0.0, 1e-30, -1e-30]])
    if unsigned:
        vals = np.abs(vals)
    add_tq(f"ties_{bits}bit_{'u' if unsigned else 's'}_{'narrow' if narrow else 'full'}", t32(vals), bits, unsigned,
           narrow, amax=float(am))

# near-ties with a non-power-of-two scale (x = (k + 0.5) / scale rounded to float)
am = np.float32(0.7312)
sc = np.float32(np.float32(127.0) / am)
k = np.arange(-130, 130, dtype=np.float32)
add_tq("near_ties_8bit_amax0.7312", t32((k + np.float32(0.5)) / sc), 8, False, True, amax=float(am))

# special values, per tensor
special = np.array([0.0, -0.0, 1.0, -1.0, 0.999, 1.001, -1.001, 3.0e38, -3.0e38, np.inf, -np.inf, 1e-38, -1.4e-45,
                    0.5 / 127, -0.5 / 127, 1.5 / 127, -2.5 / 127], dtype=np.float32)
add_tq("special_values_8bit_narrow", t32(special), 8, False, True, amax=1.0)
add_tq("special_values_8bit_full", t32(special), 8, False, False, amax=1.0)

# zero / tiny amax, per tensor (epsilon = 2^-24: amax <= epsilon quantizes everything to 0, scale 1)
xs = randn((20,), 1e-3)
for label, a in (("zero", 0.0), ("1e-30", 1e-30), ("eps", 2.0 ** -24), ("2eps", 2.0 ** -23)):
    add_tq(f"amax_{label}_per_tensor", xs if label != "2eps" else randn((20,), 2.0 ** -23), 8, False, True, amax=a)
add_tq("amax_zero_unsigned", torch.relu(randn((20,), 1.0)), 8, True, True, amax=0.0)

# per axis: amax computed (reduce_amax over the other axes) and given (with zero / tiny channels)
add_tq("axis0_2d_computed_8bit", randn((6, 20), 2.0), 8, False, True, axis=0)
add_tq("axis0_2d_computed_8bit_full", randn((6, 20), 2.0), 8, False, False, axis=0)
add_tq("axis1_2d_computed_4bit", randn((20, 6), 1.0), 4, False, True, axis=1)
add_tq("axis1_4d_computed_8bit", randn((2, 5, 3, 4), 1.0), 8, False, False, axis=1)
add_tq("axis0_4d_computed_4bit", randn((4, 3, 2, 2), 1.0), 4, False, True, axis=0)
add_tq("axis0_4d_computed_unsigned_8bit", torch.relu(randn((4, 3, 2, 2), 1.0)), 8, True, True, axis=0)
add_tq("axes01_3d_computed_8bit", randn((3, 4, 5), 1.0), 8, False, True, axis=(0, 1))
xx = randn((6, 10), 1.0)
xx[1] = 0.0
xx[2] = t32(rng.standard_normal(10) * 1e-31)
add_tq("axis0_2d_given_zero_tiny_channels", xx, 8, False, True, axis=0,
       amax=np.array([[1.0], [0.0], [1e-30], [2.0 ** -24], [0.5], [3.0]], dtype=np.float32))
xx = randn((2, 5, 3, 3), 1.0)
add_tq("axis1_4d_given_zero_channel_full", xx, 8, False, False, axis=1,
       amax=np.array([0.8, 0.0, 1.5, 1e-30, 0.3], dtype=np.float32).reshape(1, 5, 1, 1))
add_tq("axis1_4d_given_clip_4bit", xx, 4, False, True, axis=1,
       amax=np.array([0.2, 0.4, 0.6, 0.8, 1.0], dtype=np.float32).reshape(1, 5, 1, 1))
xx = torch.relu(randn((4, 12), 1.0))
add_tq("axis0_2d_given_unsigned_zero_channel", xx, 8, True, True, axis=0,
       amax=np.array([[1.0], [0.0], [0.5], [2.0]], dtype=np.float32))


# --- TensorQuantizer._fb_fake_quant (use_fb_fake_quant) ------------------------------------------
def add_fb(name, x, amax, num_bits, unsigned):
    a = t32(amax)
    y, scale, qmin, qmax, dim = fb_fake_quant_ref(x, a, num_bits, unsigned)
    cases.append({"op": "fb_fake_quant", "name": name, "shape": list(x.shape), "num_bits": num_bits,
                  "unsigned": unsigned, "axis": dim, "x": b64(x), "amax": b64(a.reshape(-1)), "amax_shape": list(a.shape),
                  "scale": b64(scale.reshape(-1)), "quant_min": qmin, "quant_max": qmax, "y": b64(y)})


xx = randn((64,), 1.0)
add_fb("per_tensor_8bit", xx, float(np.float32(xx.abs().max().item())), 8, False)
add_fb("per_tensor_8bit_clip", xx, 0.9, 8, False)
add_fb("per_tensor_unsigned_8bit", xx.abs(), float(np.float32(xx.abs().max().item())), 8, True)
xx = randn((4, 3, 2, 2), 1.0)
add_fb("per_channel_axis0_8bit", xx, reduce_amax(xx, axis=[1, 2, 3]).numpy(), 8, False)
xx = randn((2, 5, 3), 1.0)
add_fb("per_channel_axis1_4bit", xx, reduce_amax(xx, axis=[0, 2]).numpy(), 4, False)


# --- TensorQuantizer forward (descriptor defaults) -----------------------------------------------
def add_quantizer(name, x, **desc):
    y, a, scale = quantizer_forward(x, **desc)
    full = {"num_bits": 8, "fake_quant": True, "axis": None, "amax": None, "unsigned": False, "narrow_range": False,
            "scale_amax": None}
    full.update(desc)
    if isinstance(full["amax"], np.ndarray):
        full["amax"] = [f32(v) for v in full["amax"].reshape(-1)]
    cases.append({"op": "tensor_quantizer", "name": name, "desc": full, "shape": list(x.shape), "x": b64(x),
                  "amax": b64(a.reshape(-1)), "amax_shape": list(a.shape), "y": b64(y),
                  "scale": None if scale is None else b64(scale.reshape(-1))})


xx = randn((3, 4, 5), 1.0)
add_quantizer("default_desc_dynamic_fake_full_range", xx)
add_quantizer("default_desc_dynamic_real_narrow", xx, fake_quant=False)
add_quantizer("fake_narrow_true", xx, narrow_range=True)
add_quantizer("axis0_dynamic_fake", xx, axis=0)
add_quantizer("axis2_dynamic_real_4bit", xx, axis=2, num_bits=4, fake_quant=False)
add_quantizer("given_amax_scale_amax", xx, amax=1.25, scale_amax=0.5)
add_quantizer("given_amax_per_channel", xx, amax=np.array([0.5, 1.0, 2.0], dtype=np.float32).reshape(3, 1, 1))
add_quantizer("unsigned_4bit_axis0_real", torch.relu(xx), num_bits=4, unsigned=True, axis=0, fake_quant=False)



# --- learn_amax: the clip stage ---------------------------------------------------------------------
class ClipRef(torch.autograd.Function):
    """nn/functional.py ClipFunction: min(max(x, lo), hi) forward; backward (PACT's rule) passes the
    gradient where lo < x < hi, and gives lo / hi the sums of the gradient where x <= lo / x >= hi."""

    @staticmethod
    def forward(ctx, x, lo, hi):
        ctx.save_for_backward(x, lo, hi)
        return torch.max(torch.min(x, hi), lo)

    @staticmethod
    def backward(ctx, g):
        x, lo, hi = ctx.saved_tensors
        min_mask = (x > lo).to(g.dtype)
        max_mask = (x < hi).to(g.dtype)
        return g * min_mask * max_mask, (g * (1. - min_mask)).sum(), (g * (1. - max_mask)).sum()


class FakeQuantSTE(torch.autograd.Function):
    """tensor_quant.py FakeTensorQuantFunction: the CPU forward, the straight-through backward."""

    @staticmethod
    def forward(ctx, x, amax, narrow_range):
        ctx.save_for_backward(x, amax)
        return fake_tensor_quant_ref(x, amax, 8, False, narrow_range)

    @staticmethod
    def backward(ctx, g):
        x, amax = ctx.saved_tensors
        return g * ste_mask(x, amax).to(g.dtype), None, None


def add_learn_amax(name, x, lo, hi, narrow_range=False):
    """nn/modules/tensor_quantizer.py TensorQuantizer with learn_amax: the clip stage (Clip with
    learnable min/max, enabled by learn_amax), then _quant_forward's learn path: the input clipped
    again, amax = max(-clip_min, clip_max) (detached), fake_tensor_quant."""
    xt = torch.tensor(x, requires_grad=True)
    lo_t = torch.tensor(np.float32(lo), requires_grad=True)
    hi_t = torch.tensor(np.float32(hi), requires_grad=True)
    _ = ClipRef.apply(xt, lo_t, hi_t)  # forward()'s clip stage: its output is replaced below
    c = ClipRef.apply(xt, lo_t, hi_t)
    amax = torch.max(-lo_t, hi_t).detach()
    y = FakeQuantSTE.apply(c, amax, narrow_range)
    g = t32(learn_rng.standard_normal(x.shape))
    y.backward(g)
    cases.append({"op": "learn_amax", "name": name, "shape": list(x.shape), "x": b64(torch.tensor(x)),
                  "clip_min": f32(lo), "clip_max": f32(hi), "narrow_range": narrow_range, "y": b64(y.detach()),
                  "grad_output": b64(g), "grad_input": b64(xt.grad), "grad_clip_min": f32(lo_t.grad.item()),
                  "grad_clip_max": f32(hi_t.grad.item())})


learn_rng = np.random.default_rng(20261202)  # its own stream: the other cases' inputs stay as they were
xl = np.asarray(t32(learn_rng.standard_normal((4, 33)) * 1.5), dtype=np.float32)
add_learn_amax("symmetric_initial_range", xl, -1.5, 1.5)
add_learn_amax("asymmetric_learned_range", xl, -0.75, 2.0)
add_learn_amax("narrow_range", xl, -1.25, 1.25, narrow_range=True)

# --- MaxCalibrator ---------------------------------------------------------------------------------
def add_max(name, batches, axis, unsigned=False):
    cal = MaxCalibratorRef(8, axis, unsigned, track_amax=True)
    for b in batches:
        cal.collect(b)
    amax = cal.compute_amax()
    cases.append({"op": "max_calibrator", "name": name,
                  "axis": list(axis) if isinstance(axis, tuple) else axis, "unsigned": unsigned,
                  "batches": [{"shape": list(b.shape), "x": b64(b)} for b in batches],
                  "amaxs": [b64(a.reshape(-1)) for a in cal._amaxs], "amax_shape": list(amax.shape),
                  "amax": b64(amax.reshape(-1))})


add_max("per_tensor_3_batches", [randn((100,), 1.0), randn((7, 9), 3.0), randn((2, 3, 4), 0.5)], None)
add_max("per_tensor_unsigned", [torch.relu(randn((50,), 1.0)) for _ in range(3)], None, True)
add_max("axis0_CN", [randn((8, 50), s) for s in (1.0, 2.0, 0.5, 1.5)], 0)
add_max("axis1_NCHW", [randn((4, 6, 5, 5), s) for s in (1.0, 0.7, 1.3)], 1)
add_max("axes02_3d", [randn((3, 4, 5), s) for s in (1.0, 2.0)], (0, 2))
add_max("axis0_single_channel_squeezed", [randn((1, 30), s) for s in (1.0, 2.0)], 0)
add_max("axis_neg_values_only", [-torch.abs(randn((5, 10), 1.0)) for _ in range(2)], 0)


# --- HistogramCalibrator -----------------------------------------------------------------------------
def dist(kind, n, scale=1.0):
    if kind == "gaussian":
        v = rng.standard_normal(n)
    elif kind == "gaussian_outlier":
        v = rng.standard_normal(n)
        v[int(rng.integers(n))] = 12.0
    elif kind == "uniform":
        v = rng.uniform(-1.0, 1.0, n)
    elif kind == "laplace":
        v = rng.laplace(0.0, 1.0, n)
    elif kind == "relu_gaussian":
        v = np.maximum(rng.standard_normal(n), 0.0)
    elif kind == "heavy_tail":
        v = rng.standard_t(3.0, n)
    elif kind == "lognormal":
        v = rng.lognormal(0.0, 0.75, n)
    else:
        raise ValueError(kind)
    return t32(v * scale)


ENTROPY_VARIANTS = ((8, False), (8, True), (4, False), (4, True))
PERCENTILES = (99.9, 99.99, 100.0, 50.0)
MSE_VARIANTS = ((8, False), (8, True), (4, False))


def add_hist(name, distribution, batches, num_bins=2048, skip_zeros=False, unsigned=False):
    cal = HistogramCalibratorRef(8, None, unsigned, num_bins=num_bins, skip_zeros=skip_zeros)
    for b in batches:
        cal.collect(b)
    hist, edges = cal.arrays()
    assert len(edges) == len(hist) + 1, (name, len(edges), len(hist))
    results = []
    for nb, uns in ENTROPY_VARIANTS:
        amax, index, best, runner = compute_amax_entropy(hist.copy(), edges, nb, uns)
        results.append({"method": "entropy", "num_bits": nb, "unsigned": uns, "stride": 1, "start_bin": 128,
                        "amax": f32(amax.item()), "index": index, "best_divergence": f64(best),
                        "runner_up_divergence": f64(runner)})
    for p in PERCENTILES:
        amax, index = compute_amax_percentile(hist, edges, p)
        results.append({"method": "percentile", "percentile": p, "amax": f32(amax.item()), "index": index})
    for nb, uns in MSE_VARIANTS:
        amax, index, mses = compute_amax_mse(hist, edges, nb, uns)
        r = {"method": "mse", "num_bits": nb, "unsigned": uns, "stride": 1, "start_bin": 128,
             "amax": f32(amax.item()), "index": index}
        best = mses[index - 128].item()
        others = torch.cat([mses[:index - 128], mses[index - 127:]])
        r["best_mse"] = f32(best)
        r["runner_up_mse"] = f32(others.min().item()) if others.numel() else None
        if (nb, uns) == (8, False):  # the whole curve for one variant (file size)
            r["mses"] = b64(mses)
        results.append(r)
    cases.append({"op": "histogram_calibrator", "name": name, "distribution": distribution, "num_bins": num_bins,
                  "skip_zeros": skip_zeros, "torch_hist": True, "unsigned": unsigned,
                  "batches": [{"shape": list(b.shape), "x": b64(b)} for b in batches],
                  "final_num_bins": int(len(hist)), "hist": [int(v) for v in hist], "bin_edges": b64(t32(edges)),
                  "results": results})
    print(f"  {name}: {len(hist)} bins", file=sys.stderr)


GROW = (1.0, 1.35, 0.8, 1.7)  # batch scales: the range grows in batches 2 and 4
for kind in ("gaussian", "uniform", "laplace", "heavy_tail"):
    for nb in (2048, 512):
        add_hist(f"{kind}_{nb}_growing", kind, [dist(kind, 3000, s) for s in GROW], num_bins=nb)
for kind in ("gaussian", "laplace"):
    add_hist(f"{kind}_2048_single_batch_40k", kind, [dist(kind, 40000)], num_bins=2048)
add_hist("gaussian_outlier_first_batch_2048", "gaussian_outlier",
         [dist("gaussian_outlier", 4000), dist("gaussian", 4000), dist("gaussian", 4000, 1.2)], num_bins=2048)
add_hist("gaussian_outlier_later_batch_512", "gaussian_outlier",
         [dist("gaussian", 4000), dist("gaussian_outlier", 4000)], num_bins=512)
add_hist("gaussian_outlier_later_batch_2048", "gaussian_outlier",
         [dist("gaussian", 3000), dist("gaussian_outlier", 3000)], num_bins=2048)
for nb in (2048, 512):
    add_hist(f"relu_gaussian_{nb}_growing_unsigned", "relu_gaussian", [dist("relu_gaussian", 3000, s) for s in GROW],
             num_bins=nb, unsigned=True)
add_hist("relu_gaussian_2048_skip_zeros", "relu_gaussian", [dist("relu_gaussian", 3000, s) for s in GROW],
         num_bins=2048, skip_zeros=True, unsigned=True)
xz = dist("gaussian", 4000)
xz[::3] = 0.0
add_hist("gaussian_with_zeros_512_skip_zeros", "gaussian", [xz, dist("gaussian", 4000, 1.5)], num_bins=512,
         skip_zeros=True)
add_hist("lognormal_2048_growing", "lognormal", [dist("lognormal", 3000, s) for s in GROW], num_bins=2048,
         unsigned=True)
add_hist("heavy_tail_2048_single_batch_40k", "heavy_tail", [dist("heavy_tail", 40000)], num_bins=2048)
add_hist("uniform_2048_shrinking", "uniform", [dist("uniform", 3000, s) for s in (2.0, 1.0, 0.5)], num_bins=2048)
# NVIDIA's own test inputs (tests/calibrator_test.py): arange(100); [0, 255 x5] then [0, 255 x4, 256]
add_hist("arange100_2048", "arange", [t32(np.arange(100))], num_bins=2048)
add_hist("arange100_then_halfsteps_2048", "arange", [t32(np.arange(100)), t32(np.arange(0, 50, 0.5))], num_bins=2048)
add_hist("const255_grow_to_256_2048", "constant",
         [t32([0, 255, 255, 255, 255, 255]), t32([0, 255, 255, 255, 255, 256])], num_bins=2048)
xo = np.full((11, 7, 3, 3), 255.0)
xo[1, 1, 1, 1] = 256.0
add_hist("const255_outlier256_2048", "constant", [t32(xo), t32(np.full((11, 7, 3, 3), 255.0))], num_bins=2048)


# --- self-check: the vectorised entropy equals NVIDIA's literal loops on a few histograms -----------
for c in [c for c in cases if c["op"] == "histogram_calibrator"][:2] + \
         [c for c in cases if c["op"] == "histogram_calibrator" and c["name"] == "arange100_2048"]:
    h = np.array(c["hist"], dtype=np.int32)
    for nb, uns in ((8, False), (4, True)):
        a = entropy_divergences(h, nb, uns, literal=False)
        b = entropy_divergences(h, nb, uns, literal=True)
        assert np.array_equal(a, b), c["name"]
    model_checks["literal_entropy"] += 2

os.makedirs(os.path.dirname(OUT), exist_ok=True)
with open(OUT, "w") as f:
    json.dump({"generator": "tools/reference/gen_tensor_quant.py", "torch_version": torch.__version__,
               "numpy_version": np.__version__, "aten_cpu_capability": os.environ["ATEN_CPU_CAPABILITY"],
               "entropy": "numpy transcription of scipy.stats.entropy, C library log",
               "cases": cases}, f, separators=(",", ":"))
    f.write("\n")
counts = Counter(c["op"] for c in cases)
print(f"wrote {len(cases)} cases to {os.path.relpath(OUT)}: {dict(counts)}; model checks {dict(model_checks)}; "
      f"entropy {'checked bitwise against scipy' if scipy_entropy is not None else 'not checked (no scipy)'}",
      file=sys.stderr)
