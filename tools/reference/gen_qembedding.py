#!/usr/bin/python3
"""Writes tests/data/qembedding_reference.json: PyTorch 1.13's float nn.Embedding / nn.EmbeddingBag
and its weight-only quantized nnq.Embedding / nnq.EmbeddingBag (8-bit and 4-bit rows with float
scale and zero point per row), for ctq's tests/nn/test_embedding.cpp.

Run with Debian's interpreter, which has python3-torch:  /usr/bin/python3 tools/reference/gen_qembedding.py
The output is deterministic (fixed seeds, one thread); see tools/reference/README.md.

Sections (floats are JSON numbers, exact: every value is a float32; integers are JSON numbers):
  "float_embedding": F.embedding through nn.Embedding(num_embeddings, dim, padding_idx) in eval:
      {"name", "num_embeddings", "dim", "padding_idx" (null or as given, may be negative),
       "weight" (row-major [N][dim], PyTorch's init: N(0, 1), padding row zero), "indices",
       "indices_shape", "indices_dtype" ("int64" / "int32"), "output", "output_shape"}.
  "tables": {name: {"shape": [N, dim], "values"}}: the weights of the float_embedding_bag cases
      (N(0, 1); one table holds a NaN, a -0 and a +0 for max).
  "float_embedding_bag": F.embedding_bag(indices, weight, offsets, mode=..., per_sample_weights,
      include_last_offset, padding_idx) with weight.requires_grad False:
      {"name", "table", "mode" ("sum" / "mean" / "max"), "include_last_offset",
       "padding_idx", "indices", "indices_shape" (1-d with offsets, 2-d without),
       "indices_dtype", "offsets" (null for 2-d input), "per_sample_weights" (null or flat list),
       "output", "output_shape"}.
      Without padding_idx PyTorch (no FBGEMM) sums through caffe2's EmbeddingLookupIdx, whose AVX2
      kernel accumulates per_sample_weights * row with one FMA per element; with padding_idx it
      takes a scalar loop that multiplies and then adds. This machine has AVX2 and FMA.
  "quantized": one entry per weight table:
      {"name", "dtype" ("quint8" / "quint4x2"), "num_embeddings", "dim", "float_weight",
       "int_repr" (the quantized weight's int_repr bytes: N*dim for quint8; N*dim/2 packed bytes,
       element 2i in the low nibble, for quint4x2), "scales", "zero_points" (float, per row: the
       qweight's q_per_channel_scales / _zero_points), "cases": [...]}.
      The weight is quantized as nnq.EmbeddingBag.from_float does it (float_qparams_weight_only_qconfig
      or its _4bit variant: PerChannelMinMaxObserver ch_axis 0, per_channel_affine_float_qparams,
      then torch.quantize_per_channel) and read back from the packed parameters (module.weight()).
      Each case: {"op", "indices", "indices_shape", "offsets" (null), "include_last_offset",
      "per_sample_weights" (null or flat), "output", "output_shape"} where op is
        "embedding": quantized::embedding_byte / embedding_4bit on the packed weight (nnq.Embedding's
            forward; nnq.Embedding.from_float cannot build a working 4-bit module in 1.13, so the
            4-bit op is called on the same packed weight directly);
        "embedding_bag": quantized::embedding_bag_byte / embedding_bag_4bit with mode 0 (nnq.EmbeddingBag's
            forward; the ops ignore mode, so every bag is a sum).
  "padding_convert": a float nn.EmbeddingBag(mode='sum', padding_idx=p) (PyTorch keeps row p zero)
      converted by nnq.EmbeddingBag.from_float (which drops padding_idx): {"num_embeddings", "dim",
      "padding_idx", "float_weight", "indices", "offsets", "float_output", "quantized_output"}:
      the quantized bag adds the quantized zero row, which contributes exactly nothing.
  "workflow": eager PTQ of  emb (EmbeddingBag sum, 2-d input) -> quant -> fc (Linear) -> dequant
      with model.qconfig = get_default_qconfig('qnnpack'), model.emb.qconfig =
      float_qparams_weight_only_qconfig, engine qnnpack: {"num_embeddings", "dim", "out_features",
      "state" ({"emb.weight", "fc.weight", "fc.bias"} flat lists), "calibration" (list of index
      lists, each [batch][bag_size]), "bag_size", "test_indices", "output" (the dequantized
      model output, flat), "output_shape"}.
After writing, the script re-checks that every quantized output equals its own numpy model of
PyTorch's non-FBGEMM fallback (out = fma(scale_row * w, q, out + bias_row * w) in double per
element, the row's scale and bias float32 for quint8 and float16 for quint4x2, bias = -(zp * scale))
and prints the number of cases of each kind.
"""
import json
import os
import warnings

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.ao.nn.quantized as nnq
from torch.ao.quantization import (DeQuantStub, QuantStub, convert, float_qparams_weight_only_qconfig,
                                   float_qparams_weight_only_qconfig_4bit, get_default_qconfig, prepare)

from refdata import f32, flist

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "..", "tests", "data", "qembedding_reference.json")
SEED = 20261301
warnings.simplefilter("ignore")
torch.set_num_threads(1)
torch.manual_seed(SEED)

MODES = {"sum": 0, "mean": 1, "max": 2}


def ilist(t):
    return [int(v) for v in t.reshape(-1).tolist()]


def idx_tensor(values, shape, dtype):
    return torch.tensor(values, dtype=torch.int64 if dtype == "int64" else torch.int32).reshape(shape)


# --- float Embedding ---------------------------------------------------------------------------------
float_embedding = []


def add_embedding(name, n, dim, padding_idx, indices, shape, dtype="int64", weight=None):
    m = nn.Embedding(n, dim, padding_idx=padding_idx).eval()
    if weight is not None:
        with torch.no_grad():
            m.weight.copy_(weight)
    x = idx_tensor(indices, shape, dtype)
    with torch.no_grad():
        y = m(x)
    float_embedding.append({"name": name, "num_embeddings": n, "dim": dim, "padding_idx": padding_idx,
                            "weight": flist(m.weight), "indices": ilist(x), "indices_shape": list(x.shape),
                            "indices_dtype": dtype, "output": flist(y), "output_shape": list(y.shape)})


add_embedding("1d", 10, 5, None, [0, 9, 3, 3, 7], [5])
add_embedding("2d int32", 10, 5, None, [1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 0, 1], [3, 4], "int32")
add_embedding("3d", 7, 3, None, [6, 5, 4, 3, 2, 1, 0, 0, 1, 2, 3, 4], [2, 3, 2])
add_embedding("padding_idx 2", 10, 4, 2, [2, 1, 2, 0], [4])
add_embedding("padding_idx -1", 6, 4, -1, [5, 0, 5], [3])
# a padding row holding values (loaded weights): eval output is the row as stored
w = torch.randn(6, 4)
add_embedding("padding row loaded", 6, 4, 1, [1, 0, 1], [3], weight=w)
add_embedding("empty", 4, 3, None, [], [0])

# --- float EmbeddingBag ------------------------------------------------------------------------------
float_embedding_bag = []


gen = torch.Generator().manual_seed(SEED + 1)
tables = {}


def add_table(name, w):
    tables[name] = w
    return name


def add_bag(name, table, mode, indices, shape, offsets, include_last_offset=False, padding_idx=None, psw=None,
            dtype="int64"):
    wt = tables[table]
    x = idx_tensor(indices, shape, dtype)
    off = None if offsets is None else torch.tensor(offsets, dtype=x.dtype)
    p = None if psw is None else torch.tensor(psw, dtype=torch.float32).reshape(shape)
    y = F.embedding_bag(x, wt, off, mode=mode, per_sample_weights=p, include_last_offset=include_last_offset,
                        padding_idx=padding_idx)
    float_embedding_bag.append({
        "name": name, "table": table, "mode": mode, "include_last_offset": include_last_offset,
        "padding_idx": padding_idx, "indices": ilist(x), "indices_shape": list(x.shape), "indices_dtype": dtype,
        "offsets": None if off is None else ilist(off), "per_sample_weights": None if p is None else flist(p),
        "output": flist(y), "output_shape": list(y.shape)})


def rand_idx(n, count):
    return torch.randint(0, n, (count,), generator=gen).tolist()


def rand_w(count):
    return (torch.randn(count, generator=gen) * 2.0).tolist()


# long bags so that sums round; empty bags (repeated offsets, a trailing empty bag); the padding
# rows hold values, so that leaving them out shows
T = add_table("20x7", torch.randn(20, 7, generator=gen))
IDX = rand_idx(20, 40)
OFF = [0, 5, 5, 17, 30, 40]  # bag 1 and the last bag are empty
for mode in ("sum", "mean", "max"):
    add_bag(f"{mode} offsets", T, mode, IDX, [40], OFF)
    add_bag(f"{mode} include_last_offset", T, mode, IDX, [40], OFF, include_last_offset=True)
    add_bag(f"{mode} 2d", T, mode, IDX[:36], [6, 6], None)
    add_bag(f"{mode} padding_idx", T, mode, IDX[:20] + [3, 3, 3] + IDX[20:], [43], [0, 5, 20, 21, 22, 40],
            padding_idx=3)
    add_bag(f"{mode} padding_idx -2", T, mode, IDX[:10] + [18, 18], [12], [0, 10, 11], padding_idx=-2)
    add_bag(f"{mode} int32", T, mode, IDX, [40], OFF, dtype="int32")
    add_bag(f"{mode} no bags", T, mode, [], [0], [])
PSW = rand_w(40)
add_bag("sum per_sample_weights", T, "sum", IDX, [40], OFF, psw=PSW)
add_bag("sum per_sample_weights include_last_offset", T, "sum", IDX, [40], OFF, include_last_offset=True, psw=PSW)
add_bag("sum per_sample_weights 2d", T, "sum", IDX[:36], [6, 6], None, psw=PSW[:36])
assert IDX.count(19) >= 2  # the padding index below occurs in the bags
add_bag("sum per_sample_weights padding_idx", T, "sum", IDX, [40], OFF, padding_idx=19, psw=PSW)
add_table("10x32", torch.randn(10, 32, generator=gen))
add_bag("sum dim 32 per_sample_weights", "10x32", "sum", rand_idx(10, 30), [30], [0, 7, 20, 23], psw=rand_w(30))
add_table("8x64", torch.randn(8, 64, generator=gen))
add_bag("mean dim 64", "8x64", "mean", rand_idx(8, 20), [20], [0, 7, 9, 13])
# max compares with >: a NaN in the first row of a bag stays, a later NaN is skipped; -0 vs +0
wn = torch.randn(5, 3, generator=gen)
wn[1, 0] = float("nan")
wn[2, 1] = -0.0
wn[3, 1] = 0.0
add_table("nan", wn)
add_bag("max nan and signed zero", "nan", "max", [1, 0, 0, 1, 2, 3, 3, 2], [8], [0, 2, 4, 6])
add_bag("sum nan", "nan", "sum", [1, 0, 0, 2], [4], [0, 2])

# --- quantized -------------------------------------------------------------------------------------
quantized = []


def table(n, dim):
    """Rows of different ranges, plus the corner cases of float_qparams: a zero row (scale 1, zero
    point -0), a constant row (scale 1), a row whose range is below eps (scale 1), a row >= 0."""
    w = torch.randn(n, dim, generator=gen) * torch.exp(torch.randn(n, 1, generator=gen))
    w[1] = 0.0
    w[2] = 0.75
    w[3] = -1.5 + torch.arange(dim) * 1e-9
    w[4] = w[4].abs()
    w[5, 0] = 40.0  # a wide row
    return w


def qentry(name, dtype, n, dim, qconfig):
    w = table(n, dim)
    fm = nn.EmbeddingBag(n, dim, mode="sum")
    with torch.no_grad():
        fm.weight.copy_(w)
    fm.qconfig = qconfig
    qm = nnq.EmbeddingBag.from_float(fm)
    qw = qm.weight()
    assert qw.qscheme() == torch.per_channel_affine_float_qparams and qw.q_per_channel_axis() == 0
    ir = qw.int_repr()
    entry = {"name": name, "dtype": dtype, "num_embeddings": n, "dim": dim, "float_weight": flist(w),
             "int_repr": ilist(ir), "scales": flist(qw.q_per_channel_scales()),
             "zero_points": flist(qw.q_per_channel_zero_points()), "cases": []}
    return entry, qm


def qcase(entry, qm, op, indices, shape, offsets=None, include_last_offset=False, psw=None):
    x = torch.tensor(indices, dtype=torch.int64).reshape(shape)
    packed = qm._packed_params._packed_weight
    four = entry["dtype"] == "quint4x2"
    p = None if psw is None else torch.tensor(psw, dtype=torch.float32).reshape(shape)
    if op == "embedding":
        y = (torch.ops.quantized.embedding_4bit if four else torch.ops.quantized.embedding_byte)(packed, x)
    else:
        off = None if offsets is None else torch.tensor(offsets, dtype=torch.int64)
        fn = torch.ops.quantized.embedding_bag_4bit if four else torch.ops.quantized.embedding_bag_byte
        y = fn(packed, x, off, False, 0, False, p, None, include_last_offset)
        if not include_last_offset:
            assert torch.equal(y.view(torch.int32), qm(x, off, p).view(torch.int32))  # the module's forward
    entry["cases"].append({"op": op, "indices": ilist(x), "indices_shape": list(x.shape), "offsets": offsets,
                           "include_last_offset": include_last_offset,
                           "per_sample_weights": None if p is None else flist(p), "output": flist(y),
                           "output_shape": list(y.shape)})


for dtype, qconfig in (("quint8", float_qparams_weight_only_qconfig), ("quint4x2", float_qparams_weight_only_qconfig_4bit)):
    for n, dim in ((12, 10), (8, 32)):
        entry, qm = qentry(f"{dtype} {n}x{dim}", dtype, n, dim, qconfig)
        all_rows = list(range(n))
        qcase(entry, qm, "embedding", all_rows, [n])
        qcase(entry, qm, "embedding", rand_idx(n, 12), [3, 4])
        idx = rand_idx(n, 30) + all_rows
        off = [0, 4, 4, 11, 20, 29]
        qcase(entry, qm, "embedding_bag", idx, [len(idx)], off)
        qcase(entry, qm, "embedding_bag", idx, [len(idx)], off + [len(idx)], include_last_offset=True)
        qcase(entry, qm, "embedding_bag", idx, [len(idx)], off, psw=rand_w(len(idx)))
        qcase(entry, qm, "embedding_bag", idx[:24], [4, 6])
        qcase(entry, qm, "embedding_bag", idx[:24], [4, 6], psw=rand_w(24))
        # (no empty offsets: the non-FBGEMM fallback reads offsets[0] and crashes on an empty tensor)
        quantized.append(entry)

# --- padding_idx through convert ---------------------------------------------------------------------
pad_n, pad_dim, pad = 9, 6, 4
fm = nn.EmbeddingBag(pad_n, pad_dim, mode="sum", padding_idx=pad)  # PyTorch's init zeroes row `pad`
fm.qconfig = float_qparams_weight_only_qconfig
pidx = [4, 1, 4, 2, 8, 4, 4, 0, 3]
poff = [0, 1, 3, 6]
x, o = torch.tensor(pidx), torch.tensor(poff)
with torch.no_grad():
    fy = fm(x, o)
qm = nnq.EmbeddingBag.from_float(fm)
padding_convert = {"num_embeddings": pad_n, "dim": pad_dim, "padding_idx": pad, "float_weight": flist(fm.weight),
                   "indices": pidx, "offsets": poff, "float_output": flist(fy), "quantized_output": flist(qm(x, o))}

# --- workflow ------------------------------------------------------------------------------------------
WF_N, WF_DIM, WF_OUT, WF_BAG = 15, 8, 4, 3


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = nn.EmbeddingBag(WF_N, WF_DIM, mode="sum")
        self.quant = QuantStub()
        self.fc = nn.Linear(WF_DIM, WF_OUT)
        self.dequant = DeQuantStub()

    def forward(self, x):
        return self.dequant(self.fc(self.quant(self.emb(x))))


torch.backends.quantized.engine = "qnnpack"
net = Net().eval()
state = {k: flist(v) for k, v in net.state_dict().items()}
net.qconfig = get_default_qconfig("qnnpack")
net.emb.qconfig = float_qparams_weight_only_qconfig
prepared = prepare(net)
calibration = [torch.randint(0, WF_N, (5, WF_BAG), generator=gen) for _ in range(3)]
with torch.no_grad():
    for c in calibration:
        prepared(c)
qnet = convert(prepared)
assert type(qnet.emb) is nnq.EmbeddingBag and type(qnet.fc) is nnq.Linear
test_idx = torch.randint(0, WF_N, (6, WF_BAG), generator=gen)
with torch.no_grad():
    wy = qnet(test_idx)
workflow = {"num_embeddings": WF_N, "dim": WF_DIM, "out_features": WF_OUT, "state": state,
            "calibration": [c.tolist() for c in calibration], "bag_size": WF_BAG, "test_indices": test_idx.tolist(),
            "output": flist(wy), "output_shape": list(wy.shape)}

doc = {"generator": "tools/reference/gen_qembedding.py", "torch_version": torch.__version__,
       "numpy_version": np.__version__, "float_embedding": float_embedding,
       "tables": {k: {"shape": list(v.shape), "values": flist(v)} for k, v in tables.items()},
       "float_embedding_bag": float_embedding_bag, "quantized": quantized, "padding_convert": padding_convert,
       "workflow": workflow}
with open(OUT, "w") as f:
    json.dump(doc, f, separators=(",", ":"))


# --- self-check: the numpy model of the quantized fallback ------------------------------------------------
def model_bags(entry, case):
    n, dim = entry["num_embeddings"], entry["dim"]
    scales = np.array(entry["scales"], np.float32)
    zps = np.array(entry["zero_points"], np.float32)
    bias = (zps * scales) * np.float32(-1)
    if entry["dtype"] == "quint4x2":
        b = np.array(entry["int_repr"], np.uint8).reshape(n, dim // 2)
        codes = np.stack([b & 15, b >> 4], axis=2).reshape(n, dim)
        scales = scales.astype(np.float16).astype(np.float32)
        bias = bias.astype(np.float16).astype(np.float32)
    else:
        codes = np.array(entry["int_repr"], np.uint8).reshape(n, dim)
    idx = case["indices"]
    shape = case["indices_shape"]
    if case["op"] == "embedding":
        bags = [[i] for i in range(len(idx))]
    elif case["offsets"] is None:
        bags = [list(range(r * shape[1], (r + 1) * shape[1])) for r in range(shape[0])]
    else:
        off = case["offsets"] + ([] if case["include_last_offset"] else [len(idx)])
        bags = [list(range(off[b], off[b + 1])) for b in range(len(off) - 1)]
    psw = case["per_sample_weights"]
    out = []
    for bag in bags:
        acc = np.zeros(dim, np.float32)
        for i in bag:
            wv = np.float32(1.0 if psw is None else psw[i])
            s, bb = wv * scales[idx[i]], wv * bias[idx[i]]
            # double fma: s * q is exact in double; one rounding to double, then to float
            acc = (np.float64(s) * codes[idx[i]].astype(np.float64) + (acc + bb).astype(np.float64)).astype(np.float32)
        out.extend(acc.tolist())
    return out


checked = 0
for entry in quantized:
    for case in entry["cases"]:
        assert np.array_equal(np.array(model_bags(entry, case), np.float32).view(np.uint32),
                              np.array(case["output"], np.float32).view(np.uint32)), (entry["name"], case)
        checked += 1
print(f"wrote {OUT}: {len(float_embedding)} embedding, {len(float_embedding_bag)} embedding_bag, "
      f"{len(quantized)} quantized tables with {checked} cases (all equal to the numpy model), padding_convert, "
      f"workflow ({len(wy.reshape(-1))} outputs); {os.path.getsize(OUT)} bytes")
