#!/usr/bin/python3
"""Writes tests/data/qdynamic_rnn_reference.json: PyTorch 1.13's float nn.LSTM, nn.GRU, nn.RNNCell,
nn.LSTMCell, nn.GRUCell in eval and their dynamically quantized versions (quantize_dynamic: nnqd.LSTM,
GRU, RNNCell, LSTMCell, GRUCell) on both quantized engines, qnnpack and onednn, for ctq's
tests/nn/test_rnn.cpp.

Run with Debian's interpreter, which has python3-torch:  /usr/bin/python3 tools/reference/gen_qdynamic_rnn.py
The output is deterministic (fixed seeds, one thread); see tools/reference/README.md.

Sections (float arrays are base64 of little-endian float32, int8 weights base64 of bytes):
  "models": {name: {"module" ("LSTM" / "GRU" / "RNNCell" / "LSTMCell" / "GRUCell"), "input_size",
      "hidden_size", "num_layers", "bias", "batch_first", "bidirectional", "nonlinearity" ("tanh" /
      "relu", RNNCell), "state": {state_dict name: values}}}: PyTorch's default initialisation.
  "inputs": {name: {"model", "x", "x_shape", "h0", "c0" (null or values; cells: [N, H], stacked:
      [layers * directions, N, H])}}.
  "float": [{"name", "input", "output", "output_shape", "h_n", "c_n" (null when the module has no
      c), "exact_error"}]: the float module's result ("h_n" is a cell's h', "c_n" its c').
      "exact_error" is max |PyTorch - exact| over the case's outputs, exact = the same equations
      in float64 (numpy): the float32 rounding error PyTorch itself makes (its GEMM here is the
      reference BLAS, its sigmoid / tanh Sleef's), which sizes the test's tolerance.
  "qweights": {name: {"model", "qconfig" ("per_tensor": default_dynamic_qconfig, "per_channel":
      per_channel_dynamic_qconfig), "sets": [{"w_ih", "w_ih_scales", "w_ih_zero_points", "w_hh",
      "w_hh_scales", "w_hh_zero_points"}]}}: the int8 weights quantize_dynamic produced, one set per
      layer and direction (layer-major, forward first; one set for a cell), read back from the packed
      parameters; the same on both engines (checked). Per-channel scales are per gate row.
  "dynamic": [{"name", "input", "qweights", "engine", "output", "h_n", "c_n"}]: the nnqd module's result
      (quantize_dynamic passes reduce_range=True; qnnpack ignores it).
  "fp16": [{"name", "input", "output", "h_n", "c_n", "exact_error"}]: float16 weights. PyTorch 1.13
      here has no FBGEMM and linear_prepack_fp16 is unsupported on qnnpack and onednn, so nnqd modules
      with float16 weights cannot run. FBGEMM's fp16 path computes each projection as
      x W16^T (float32 accumulation) + bias and the cells as for int8; the reference is therefore the
      float module with its weights rounded to float16 (w.half().float()), computed by PyTorch's float
      kernels, whose GEMM summation order is not FBGEMM's: compared within a tolerance, not bitwise.

After writing, the script checks every dynamic output against a model of PyTorch's recurrence built
from its own ops: per layer and direction one torch.ops.quantized.linear_dynamic over the whole
sequence [T * N, in] with the packed input weight, per step one over h [N, H] with the packed hidden
weight (both reduce_range=True, biases inside), sigmoid applied gate row by gate row (ATen's vector
body then scalar tail per row of H), tanh, and the products and sums of nn.LSTM / nn.GRU one op at a
time. It asserts that all are bitwise equal and prints the number of cases of each kind.
"""
import base64
import copy
import json
import os
import warnings
from collections import OrderedDict

import numpy as np
import torch
import torch.nn as nn
from torch.ao.quantization import default_dynamic_qconfig, per_channel_dynamic_qconfig, quantize_dynamic

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "..", "tests", "data", "qdynamic_rnn_reference.json")
SEED = 20261221
ENGINES = ("qnnpack", "onednn")
QCONFIGS = {"per_tensor": default_dynamic_qconfig, "per_channel": per_channel_dynamic_qconfig}
warnings.simplefilter("ignore")
torch.set_num_threads(1)
torch.manual_seed(SEED)


def b64f(t):
    a = np.ascontiguousarray(np.asarray(t.detach() if torch.is_tensor(t) else t, dtype="<f4").reshape(-1))
    return base64.b64encode(a.tobytes()).decode("ascii")


def b64i8(t):
    return base64.b64encode(np.ascontiguousarray(t.numpy().astype(np.int8).reshape(-1)).tobytes()).decode("ascii")


def maybe(t):
    return None if t is None else b64f(t)


# --- models ---------------------------------------------------------------------------------------
models = OrderedDict()
modules = {}
STACKED = ("LSTM", "GRU")


def add_model(name, kind, i, h, layers=1, bias=True, batch_first=False, bidirectional=False, nonlinearity="tanh",
              state_from=None):
    if kind == "LSTM":
        m = nn.LSTM(i, h, layers, bias=bias, batch_first=batch_first, bidirectional=bidirectional)
    elif kind == "GRU":
        m = nn.GRU(i, h, layers, bias=bias, batch_first=batch_first, bidirectional=bidirectional)
    elif kind == "RNNCell":
        m = nn.RNNCell(i, h, bias=bias, nonlinearity=nonlinearity)
    elif kind == "LSTMCell":
        m = nn.LSTMCell(i, h, bias=bias)
    else:
        m = nn.GRUCell(i, h, bias=bias)
    m.eval()
    if state_from is not None:
        m.load_state_dict(modules[state_from].state_dict())
    modules[name] = m
    models[name] = {"module": kind, "input_size": i, "hidden_size": h, "num_layers": layers, "bias": bias,
                    "batch_first": batch_first, "bidirectional": bidirectional, "nonlinearity": nonlinearity,
                    "state": {k: b64f(v) for k, v in m.state_dict().items()}}


# H = 17: every gate row has a 16-value vector body and a one-value scalar tail in ATen's sigmoid;
# H = 6 or 7: tail only.
add_model("lstm 4-17", "LSTM", 4, 17)
add_model("lstm 3-6 x2 bidirectional", "LSTM", 3, 6, 2, bidirectional=True)
add_model("lstm 3-6 x2 bidirectional batch_first", "LSTM", 3, 6, 2, batch_first=True, bidirectional=True,
          state_from="lstm 3-6 x2 bidirectional")
add_model("lstm 3-5 no bias", "LSTM", 3, 5, bias=False)
add_model("gru 4-17", "GRU", 4, 17)
add_model("gru 3-6 x2 bidirectional", "GRU", 3, 6, 2, bidirectional=True)
add_model("gru 3-6 x2 batch_first", "GRU", 3, 6, 2, batch_first=True)
add_model("gru 3-5 no bias", "GRU", 3, 5, bias=False)
add_model("rnncell tanh 4-7", "RNNCell", 4, 7)
add_model("rnncell relu 4-7", "RNNCell", 4, 7, nonlinearity="relu")
add_model("rnncell tanh 4-5 no bias", "RNNCell", 4, 5, bias=False)
add_model("lstmcell 4-17", "LSTMCell", 4, 17)
add_model("lstmcell 4-5 no bias", "LSTMCell", 4, 5, bias=False)
add_model("grucell 4-17", "GRUCell", 4, 17)
add_model("grucell 4-5 no bias", "GRUCell", 4, 5, bias=False)

# --- inputs -------------------------------------------------------------------------------------
inputs = OrderedDict()
tensors = {}
gen = torch.Generator().manual_seed(SEED + 1)


def add_input(name, model, steps, batch, with_state, scale=1.5):
    md = models[model]
    m = modules[model]
    h = md["hidden_size"]
    if md["module"] in STACKED:
        shape = [batch, steps, md["input_size"]] if md["batch_first"] else [steps, batch, md["input_size"]]
        sshape = [md["num_layers"] * (2 if md["bidirectional"] else 1), batch, h]
    else:
        shape = [batch, md["input_size"]]
        sshape = [batch, h]
    x = torch.randn(shape, generator=gen) * scale
    h0 = torch.randn(sshape, generator=gen) * 0.5 if with_state else None
    has_c = md["module"] in ("LSTM", "LSTMCell")
    c0 = torch.randn(sshape, generator=gen) if with_state and has_c else None
    inputs[name] = {"model": model, "x": b64f(x), "x_shape": shape, "h0": maybe(h0), "c0": maybe(c0)}
    tensors[name] = (m, x, h0, c0)


add_input("lstm 4-17 T5 N3", "lstm 4-17", 5, 3, False)
add_input("lstm 4-17 T4 N1 state", "lstm 4-17", 4, 1, True)
add_input("lstm 3-6 x2 bidirectional T5 N3 state", "lstm 3-6 x2 bidirectional", 5, 3, True, scale=3.0)
add_input("lstm 3-6 x2 bidirectional batch_first T5 N3", "lstm 3-6 x2 bidirectional batch_first", 5, 3, False)
add_input("lstm 3-5 no bias T3 N2 state", "lstm 3-5 no bias", 3, 2, True)
add_input("gru 4-17 T5 N3 state", "gru 4-17", 5, 3, True)
add_input("gru 3-6 x2 bidirectional T4 N2", "gru 3-6 x2 bidirectional", 4, 2, False, scale=3.0)
add_input("gru 3-6 x2 batch_first T5 N2 state", "gru 3-6 x2 batch_first", 5, 2, True)
add_input("gru 3-5 no bias T3 N2", "gru 3-5 no bias", 3, 2, False)
add_input("rnncell tanh 4-7 N3 state", "rnncell tanh 4-7", 0, 3, True)
add_input("rnncell tanh 4-7 N2", "rnncell tanh 4-7", 0, 2, False)
add_input("rnncell relu 4-7 N3 state", "rnncell relu 4-7", 0, 3, True)
add_input("rnncell tanh 4-5 no bias N2 state", "rnncell tanh 4-5 no bias", 0, 2, True)
add_input("lstmcell 4-17 N3 state", "lstmcell 4-17", 0, 3, True, scale=3.0)
add_input("lstmcell 4-17 N1", "lstmcell 4-17", 0, 1, False)
add_input("lstmcell 4-5 no bias N2 state", "lstmcell 4-5 no bias", 0, 2, True)
add_input("grucell 4-17 N3 state", "grucell 4-17", 0, 3, True)
add_input("grucell 4-17 N2", "grucell 4-17", 0, 2, False)
add_input("grucell 4-5 no bias N2 state", "grucell 4-5 no bias", 0, 2, True)


def run(m, x, h0, c0):
    """The module's result as (output, h_n, c_n); a cell's output is h' (h_n and output the same)."""
    with torch.no_grad():
        if isinstance(m, (nn.LSTM,)) or type(m).__name__ == "LSTM":
            out, (hn, cn) = m(x) if h0 is None else m(x, (h0, c0))
            return out, hn, cn
        if isinstance(m, nn.GRU) or type(m).__name__ == "GRU":
            out, hn = m(x) if h0 is None else m(x, h0)
            return out, hn, None
        if type(m).__name__ == "LSTMCell":
            h1, c1 = m(x) if h0 is None else m(x, (h0, c0))
            return h1, h1, c1
        h1 = m(x) if h0 is None else m(x, h0)
        return h1, h1, None


# --- float64 model of the equations -------------------------------------------------------------
def sig(v):
    return 1.0 / (1.0 + np.exp(-v))


def cell64(kind, nonlin, x, h, c, w_ih, w_hh, b_ih, b_hh):
    ig = x @ w_ih.T + b_ih
    hg = h @ w_hh.T + b_hh
    H = h.shape[-1]
    if kind in ("LSTM", "LSTMCell"):
        g = ig + hg
        i, f, gg, o = sig(g[:, :H]), sig(g[:, H:2 * H]), np.tanh(g[:, 2 * H:3 * H]), sig(g[:, 3 * H:])
        c1 = f * c + i * gg
        return o * np.tanh(c1), c1
    if kind in ("GRU", "GRUCell"):
        r = sig(ig[:, :H] + hg[:, :H])
        z = sig(ig[:, H:2 * H] + hg[:, H:2 * H])
        n = np.tanh(ig[:, 2 * H:] + r * hg[:, 2 * H:])
        return (1 - z) * n + z * h, None
    v = ig + hg
    return (np.tanh(v) if nonlin == "tanh" else np.maximum(v, 0)), None


def exact(name, weight_map=lambda w: w):
    """The case's outputs in float64 from the module's parameters (weights through weight_map)."""
    m, x, h0, c0 = tensors[name]
    md = models[inputs[name]["model"]]
    kind, H = md["module"], md["hidden_size"]
    sd = {k: v.double().numpy() for k, v in m.state_dict().items()}

    def p(n, is_weight):
        if n not in sd:
            return 0.0
        return weight_map(sd[n]) if is_weight else sd[n]

    x64 = x.double().numpy()
    if kind not in STACKED:
        N = x64.shape[0]
        h = np.zeros((N, H)) if h0 is None else h0.double().numpy()
        c = np.zeros((N, H)) if c0 is None else c0.double().numpy()
        h1, c1 = cell64(kind, md["nonlinearity"], x64, h, c, p("weight_ih", True), p("weight_hh", True),
                        p("bias_ih", False), p("bias_hh", False))
        return [h1, h1] + ([c1] if c1 is not None else [])
    if md["batch_first"]:
        x64 = x64.transpose(1, 0, 2)
    T, N = x64.shape[0], x64.shape[1]
    D = 2 if md["bidirectional"] else 1
    L = md["num_layers"]
    hs = np.zeros((L * D, N, H)) if h0 is None else h0.double().numpy()
    cs = np.zeros((L * D, N, H)) if c0 is None else c0.double().numpy()
    hn, cn = np.zeros((L * D, N, H)), np.zeros((L * D, N, H))
    layer_x = x64
    for layer in range(L):
        out = np.zeros((T, N, D * H))
        for d in range(D):
            k = layer * D + d
            sfx = f"_l{layer}" + ("_reverse" if d else "")
            h, c = hs[k], cs[k]
            for t in (range(T - 1, -1, -1) if d else range(T)):
                h, c = cell64(kind, None, layer_x[t], h, c, p("weight_ih" + sfx, True), p("weight_hh" + sfx, True),
                              p("bias_ih" + sfx, False), p("bias_hh" + sfx, False))
                out[t, :, d * H:(d + 1) * H] = h
            hn[k] = h
            if c is not None:
                cn[k] = c
        layer_x = out
    if md["batch_first"]:
        layer_x = layer_x.transpose(1, 0, 2)
    return [layer_x, hn] + ([cn] if kind == "LSTM" else [])


def max_err(results, exact_arrays):
    got = [r for r in results if r is not None]
    return float(max(np.max(np.abs(g.double().numpy() - e)) for g, e in zip(got, exact_arrays)))


def result_entry(name, out, hn, cn):
    return {"name": name, "input": name, "output": b64f(out), "output_shape": list(out.shape), "h_n": b64f(hn),
            "c_n": maybe(cn)}


# --- float --------------------------------------------------------------------------------------
float_cases = []
for name, (m, x, h0, c0) in tensors.items():
    out, hn, cn = run(m, x, h0, c0)
    e = result_entry(name, out, hn, cn)
    e["exact_error"] = max_err([out, hn, cn], exact(name))
    float_cases.append(e)

# --- float16 weights (emulated: see the docstring) ------------------------------------------------
fp16_cases = []
for name, (m, x, h0, c0) in tensors.items():
    if not models[inputs[name]["model"]]["bias"]:
        continue  # PyTorch's dynamic recurrent modules need biases
    m16 = copy.deepcopy(m)
    with torch.no_grad():
        for pname, prm in m16.named_parameters():
            if pname.startswith("weight"):
                prm.copy_(prm.half().float())
    out, hn, cn = run(m16, x, h0, c0)
    e = result_entry(name, out, hn, cn)
    e["exact_error"] = max_err([out, hn, cn], exact(name, lambda w: w.astype(np.float16).astype(np.float64)))
    fp16_cases.append(e)

# --- dynamic int8 -------------------------------------------------------------------------------
qweights = OrderedDict()
dynamic_cases = []
check_jobs = []


def cell_params(q, md):
    """[(packed_ih, packed_hh)] per layer and direction (one pair for a cell)."""
    if md["module"] in STACKED:
        return [tuple(w.param.__getstate__()[0][4]) for w in q._all_weight_values]
    return [(q._packed_weight_ih, q._packed_weight_hh)]


def weight_entry(w):
    if w.qscheme() in (torch.per_tensor_affine, torch.per_tensor_symmetric):
        scales, zps = [float(w.q_scale())], [int(w.q_zero_point())]
    else:
        assert w.q_per_channel_axis() == 0
        scales = [float(s) for s in w.q_per_channel_scales().tolist()]
        zps = [int(z) for z in w.q_per_channel_zero_points().tolist()]
    return b64i8(w.int_repr()), scales, zps


for model_name, md in models.items():
    if not md["bias"]:
        continue
    m = modules[model_name]
    for qc_name, qc in QCONFIGS.items():
        qkey = f"{model_name} {qc_name}"
        sets_by_engine = {}
        for engine in ENGINES:
            torch.backends.quantized.engine = engine
            q = quantize_dynamic(nn.Sequential(m), {type(m): qc})[0]
            sets = []
            for packed_ih, packed_hh in cell_params(q, md):
                w_ih, w_hh = torch.ops.quantized.linear_unpack(packed_ih)[0], torch.ops.quantized.linear_unpack(
                    packed_hh)[0]
                (a, s1, z1), (b, s2, z2) = weight_entry(w_ih), weight_entry(w_hh)
                sets.append({"w_ih": a, "w_ih_scales": s1, "w_ih_zero_points": z1, "w_hh": b, "w_hh_scales": s2,
                             "w_hh_zero_points": z2})
            sets_by_engine[engine] = sets
            for in_name, inp in inputs.items():
                if inp["model"] != model_name:
                    continue
                _, x, h0, c0 = tensors[in_name]
                out, hn, cn = run(q, x, h0, c0)
                e = result_entry(f"{in_name} {qc_name} {engine}", out, hn, cn)
                e["input"] = in_name
                e["qweights"] = qkey
                e["engine"] = engine
                dynamic_cases.append(e)
                check_jobs.append((engine, q, md, in_name, (out, hn, cn)))
        assert sets_by_engine["qnnpack"] == sets_by_engine["onednn"], qkey
        qweights[qkey] = {"model": model_name, "qconfig": qc_name, "sets": sets_by_engine["qnnpack"]}

doc = {"generator": "tools/reference/gen_qdynamic_rnn.py", "torch_version": torch.__version__,
       "numpy_version": np.__version__, "models": models, "inputs": inputs, "float": float_cases,
       "qweights": qweights, "dynamic": dynamic_cases, "fp16": fp16_cases}
with open(OUT, "w") as f:
    json.dump(doc, f, indent=None, separators=(",", ":"))
    f.write("\n")


# --- check the dynamic outputs against a model built from PyTorch's own ops ----------------------
def lin(packed, x):
    return torch.ops.quantized.linear_dynamic(x.contiguous(), packed, True)


def sigmoid_rows(g):
    return torch.stack([torch.sigmoid(row.contiguous()) for row in g])


def model_cell(kind, nonlin, ig, h, c, packed_hh):
    hg = lin(packed_hh, h)
    H = h.shape[1]
    if kind in ("LSTM", "LSTMCell"):
        g = hg + ig
        i, f = sigmoid_rows(g[:, :H]), sigmoid_rows(g[:, H:2 * H])
        gg, o = torch.tanh(g[:, 2 * H:3 * H].contiguous()), sigmoid_rows(g[:, 3 * H:])
        c1 = f * c + i * gg  # separate tensor ops: each rounds
        return o * torch.tanh(c1), c1
    if kind in ("GRU", "GRUCell"):
        r = sigmoid_rows(hg[:, :H] + ig[:, :H])
        z = sigmoid_rows(hg[:, H:2 * H] + ig[:, H:2 * H])
        n = torch.tanh(ig[:, 2 * H:] + hg[:, 2 * H:] * r)
        return (h - n) * z + n, None
    v = hg + ig
    return (torch.tanh(v) if nonlin == "tanh" else torch.relu(v)), None


def model_forward(q, md, x, h0, c0):
    kind, H = md["module"], md["hidden_size"]
    params = cell_params(q, md)
    if kind not in STACKED:
        N = x.shape[0]
        h = torch.zeros(N, H) if h0 is None else h0
        c = torch.zeros(N, H) if c0 is None else c0
        h1, c1 = model_cell(kind, md["nonlinearity"], lin(params[0][0], x), h, c, params[0][1])
        return h1, h1, c1
    xs = x.transpose(0, 1) if md["batch_first"] else x
    T, N = xs.shape[0], xs.shape[1]
    D = 2 if md["bidirectional"] else 1
    L = md["num_layers"]
    hs = torch.zeros(L * D, N, H) if h0 is None else h0
    cs = torch.zeros(L * D, N, H) if c0 is None else c0
    hn, cn = [], []
    layer_x = xs
    for layer in range(L):
        outs = []
        for d in range(D):
            k = layer * D + d
            ig_all = lin(params[k][0], layer_x.reshape(T * N, -1)).reshape(T, N, -1)
            h, c = hs[k], cs[k]
            steps = [None] * T
            for t in (range(T - 1, -1, -1) if d else range(T)):
                h, c = model_cell(kind, None, ig_all[t], h, c, params[k][1])
                steps[t] = h
            outs.append(torch.stack(steps))
            hn.append(h)
            cn.append(c)
        layer_x = torch.cat(outs, 2)
    out = layer_x.transpose(0, 1) if md["batch_first"] else layer_x
    return out, torch.stack(hn), (torch.stack(cn) if kind == "LSTM" else None)


for engine, q, md, in_name, got in check_jobs:
    torch.backends.quantized.engine = engine
    _, x, h0, c0 = tensors[in_name]
    with torch.no_grad():
        want = model_forward(q, md, x, h0, c0)
    for g, w in zip(got, want):
        if g is None:
            assert w is None
            continue
        assert torch.equal(g.view(torch.int32), w.contiguous().view(torch.int32)), f"model differs: {in_name} {engine}"

size = os.path.getsize(OUT)
print(f"wrote {OUT} ({size} bytes): {len(models)} models, {len(float_cases)} float cases (worst exact_error "
      f"{max(c['exact_error'] for c in float_cases):.3g}), {len(qweights)} quantized weight sets, "
      f"{len(dynamic_cases)} dynamic int8 cases (all equal to the model of PyTorch's recurrence), "
      f"{len(fp16_cases)} float16 cases (emulated)")
