#!/usr/bin/python3
"""Writes tests/data/qmodules_extra_reference.json: PyTorch 1.13's quantized ConvTranspose1d/2d/3d,
ELU, LeakyReLU, Sigmoid, Tanh, Hardsigmoid and QFunctional.cat modules as eager-mode prepare /
convert makes them, on both quantized engines (qnnpack, onednn), and a small eager-mode net
(ConvTranspose2d, a Concat of LeakyReLU and Sigmoid through FloatFunctional.cat, a grouped
ConvTranspose2d) prepared, calibrated and converted under get_default_qconfig('qnnpack') and
get_default_qconfig('onednn').

Run with Debian's interpreter, which has python3-torch:
    /usr/bin/python3 tools/reference/gen_qmodules_extra.py
The output is deterministic (fixed seeds, one thread); see tools/reference/README.md.

What PyTorch 1.13's eager prepare does with these modules (recorded under "eager_prepare" and
checked here):
  ConvTranspose*d, ELU, LeakyReLU  get the qconfig's activation observer and are swapped by
      convert (nnq.ConvTranspose*d, nnq.ELU, nnq.LeakyReLU) with the observer's scale / zero point.
  Sigmoid, Tanh, Hardsigmoid  get no observer in eval mode (the PTQ flow): they are not in the
      qconfig propagation list, and their special FixedQParamsFakeQuantize
      (DEFAULT_MODULE_TO_ACT_POST_PROCESS) is attached only to modules in training mode, where
      convert removes it again. Convert leaves them as they are; on a quantized tensor they run
      PyTorch's quantized kernels, whose output parameters are fixed: 1/256, 0 (Sigmoid,
      Hardsigmoid) and 2/256, 128 (Tanh) for quint8.
  ConvTranspose*d with a per-channel weight observer fails in prepare ("Per channel weight
      observer is not supported yet for ConvTranspose{n}d"); get_default_qconfig('onednn') has
      one, so its ConvTranspose layers get QConfig(activation=<the default's>,
      weight=default_weight_observer), as PyTorch's own default QConfigMapping (FX) does.

Engines (what each rejects is skipped there, the reason recorded in "skipped"):
  qnnpack  no 3-d transposed convolution ("QNNPACK only supports Conv2d now").
  onednn   output_padding must be 0 ("ONEDNN only supports zero output_padding").

"conv_transpose_float": per ConvTranspose geometry below, {"name", "x", "y"}: the float module on
  the first image of its input (channels last, float32 base64), PyTorch's float output.

Cases ("modules"), each {"module", "name", "engine", ...}:
  conv_transpose: "rank", "in_c", "out_c", "kernel", "stride", "padding", "output_padding",
      "groups", "bias" (bool), "dilation" (ints, the same in every dimension), "float_weight"
      ({"shape", "b64"}, PyTorch's layout [in_c][out_c / groups][k...]), "float_bias" ({"shape",
      "b64"} or null), "weight" (int8 int_repr, base64, PyTorch's layout), "weight_scale",
      "weight_zero_point", "x" (input codes) and "y" (output codes), {"shape", "scale",
      "zero_point", "int_repr"} channels last. The module comes from prepare (MinMaxObserver
      quint8 activations, default_weight_observer weights), one calibration batch, convert.
  elu / leaky_relu: "alpha" / "negative_slope", "x", "y". nnq.ELU / nnq.LeakyReLU from prepare
      (the engine's default qconfig: HistogramObserver) calibrated on the dequantized input, and
      convert; "y" holds the output parameters the observer chose.
  sigmoid / tanh / hardsigmoid: "x", "y", "prepared_observer" (false), "converted_type" (the
      class convert left: the float module).
  cat: "inputs" (a list of "x" entries, [2, C_i, 4, 4]), "memory_format" ("channels_last" or
      "contiguous": the layout of PyTorch's input tensors, which picks its cat kernel), "y";
      QFunctional from a FloatFunctional prepared with the engine's default qconfig and
      calibrated on the dequantized inputs.
  Elementwise inputs hold every code twice (512 elements, shape [2, 4, 8, 8] NCHW, written NHWC),
  so every element goes through PyTorch's vector body (no scalar remainder).

The net ("nets", one per qconfig; the layers' dotted names as in ctq's test):
  quant (QuantStub) -> deconv1 ConvTranspose2d(3, 8, 4, stride 2, padding 1)
  -> concat: y = concat.cat.cat([concat.0(x), concat.1(x)], dim=1), concat.0 = LeakyReLU(0.1),
     concat.1 = Sigmoid, concat.cat a FloatFunctional
  -> deconv2 ConvTranspose2d(16, 4, 2, stride 2, groups 2) -> dequant (DeQuantStub)
  Input N=2, C=3, H=W=4 (output [2, 4, 16, 16]); 4 calibration and 2 test batches of N(0, 1).
  Per net: "qconfig", "engine", "layers" ({dotted name: "type", "scale", "zero_point", and for the
  transposed convolutions "weight" (int8, PyTorch's layout), "weight_shape", "weight_scale",
  "weight_zero_point", "bias" (float32 base64)}), "runs" (per test batch: "layer_outputs"
  {dotted name: codes, channels last}, every layer for the first batch, deconv2 only for the
  second; the model's output is deconv2's codes dequantized, checked here).
  Top level: "net_float_state" (state_dict of the float net, PyTorch's layouts),
  "net_calibration", "net_test_inputs" (NHWC), "net_float_outputs" (NHWC).

Encoding: floats are JSON numbers (float32 values, exact); float arrays base64 of little-endian
float32; codes base64 of the raw int_repr bytes (uint8; int8 for weights).
"""
import base64
import copy
import json
import os
import sys
import warnings
from collections import OrderedDict

import numpy as np
import torch
import torch.nn as nn
import torch.nn.quantized as nnq
from torch.ao.quantization import (DeQuantStub, MinMaxObserver, QConfig, QuantStub, convert, default_weight_observer,
                                   get_default_qconfig, prepare)

from refdata import b64, f32

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "..", "tests", "data", "qmodules_extra_reference.json")
ENGINES = ("qnnpack", "onednn")
SEED = 20261220
warnings.simplefilter("ignore")
torch.set_num_threads(1)  # oneDNN's kernel choice may depend on the thread count
torch.manual_seed(SEED)


def exact(v):
    v = float(v)
    assert float(np.float32(v)) == v, f"{v!r} is not a float32 value"
    return f32(v)


def last(t):
    """Channels first -> channels last (any rank >= 3); other ranks as they are."""
    if t.dim() >= 3:
        return t.permute(0, *range(2, t.dim()), 1).contiguous()
    return t.contiguous()


def fentry(t, channels_last=True):
    t = t.detach().float()
    if channels_last:
        t = last(t)
    return {"shape": list(t.shape), "b64": b64(t)}


def codes_b64(t, dtype):
    a = np.ascontiguousarray(t.contiguous().numpy().reshape(-1).astype(dtype))
    return base64.b64encode(a.tobytes()).decode("ascii")


def qentry(t):
    assert t.is_quantized and t.dtype == torch.quint8, t.dtype
    r = last(t.int_repr())
    return {"shape": list(r.shape), "scale": exact(t.q_scale()), "zero_point": int(t.q_zero_point()),
            "int_repr": codes_b64(r, np.uint8)}


def make_q(codes, scale, zp):
    return torch._make_per_tensor_quantized_tensor(codes.to(torch.uint8), float(np.float32(scale)), zp)


def default_qc(engine):
    return get_default_qconfig(engine)


def transpose_qc(engine):
    """The engine's default qconfig with per-tensor weights (PyTorch rejects per-channel weight
    observers for ConvTranspose; FX's default QConfigMapping makes the same substitution)."""
    qc = default_qc(engine)
    return QConfig(activation=qc.activation, weight=default_weight_observer)


skipped = []
modules = []
conv_transpose_float = []

# --- ConvTranspose --------------------------------------------------------------------------------
CT = [  # rank, in, out, k, stride, padding, output_padding, groups, bias, dilation, input spatial
    (1, 4, 6, 3, 2, 1, 1, 1, True, 1, 7),
    (1, 6, 4, 4, 3, 2, 0, 2, False, 1, 6),
    (1, 5, 3, 3, 1, 0, 0, 1, True, 2, 8),
    (2, 3, 8, 4, 2, 1, 0, 1, True, 1, 6),
    (2, 3, 8, 3, 2, 1, 1, 1, True, 1, 5),
    (2, 8, 8, 3, 1, 2, 0, 8, True, 2, 6),
    (2, 16, 12, 2, 2, 0, 0, 4, True, 1, 4),
    (2, 5, 7, 3, 2, 0, 0, 1, False, 1, 5),
    (3, 4, 6, 3, 2, 1, 0, 1, True, 1, 3),
    (3, 6, 6, 2, 2, 0, 0, 3, True, 1, 3),
]
CT_CLS = {1: nn.ConvTranspose1d, 2: nn.ConvTranspose2d, 3: nn.ConvTranspose3d}
for idx, (r, cin, cout, k, s, p, op, g, bias, d, size) in enumerate(CT):
    torch.manual_seed(SEED + 100 + idx)
    fm = CT_CLS[r](cin, cout, k, stride=s, padding=p, output_padding=op, groups=g, bias=bias, dilation=d).eval()
    x = torch.randn((2, cin) + (size,) * r)
    name = f"conv_transpose{r}d_{cin}x{cout}_k{k}_s{s}_p{p}_op{op}_g{g}_d{d}{'' if bias else '_nobias'}"
    with torch.no_grad():
        conv_transpose_float.append({"name": name, "x": fentry(x[:1]), "y": fentry(fm(x[:1]))})
    for engine in ENGINES:
        if engine == "qnnpack" and r == 3:
            skipped.append({"name": name, "engine": engine, "reason": "QNNPACK only supports Conv2d now"})
            continue
        if engine == "onednn" and op != 0:
            skipped.append({"name": name, "engine": engine, "reason": "ONEDNN only supports zero output_padding"})
            continue
        torch.backends.quantized.engine = engine
        m = nn.Sequential(QuantStub(), copy.deepcopy(fm), DeQuantStub()).eval()
        m.qconfig = QConfig(activation=MinMaxObserver.with_args(dtype=torch.quint8), weight=default_weight_observer)
        m = prepare(m)
        with torch.no_grad():
            m(x)
        m = convert(m)
        qm = m[1]
        assert type(qm).__name__.startswith("ConvTranspose"), type(qm)
        with torch.no_grad():
            qx = m[0](x)
            qy = qm(qx)
        w = qm.weight()
        assert w.qscheme() in (torch.per_tensor_affine, torch.per_tensor_symmetric)
        b = qm.bias()
        modules.append({"module": "conv_transpose", "name": name, "engine": engine, "rank": r, "in_c": cin,
                        "out_c": cout, "kernel": k, "stride": s, "padding": p, "output_padding": op, "groups": g,
                        "bias": bias, "dilation": d,
                        "float_weight": fentry(fm.weight, channels_last=False),
                        "float_bias": fentry(fm.bias, channels_last=False) if bias else None,
                        "weight": codes_b64(w.int_repr(), np.int8), "weight_scale": exact(w.q_scale()),
                        "weight_zero_point": int(w.q_zero_point()),
                        "packed_bias": None if b is None else b64(b),
                        "x": qentry(qx), "y": qentry(qy)})

# --- elementwise activations ----------------------------------------------------------------------
INPUT_QPARAMS = [(0.05, 128), (0.0234375, 30), (0.1, 250)]
all_codes = torch.arange(512, dtype=torch.int64).remainder(256).reshape(2, 8, 8, 4).permute(0, 3, 1, 2)
ACTS = [("elu", nn.ELU, {"alpha": 1.0}), ("elu", nn.ELU, {"alpha": 0.5}),
        ("leaky_relu", nn.LeakyReLU, {"negative_slope": 0.01}), ("leaky_relu", nn.LeakyReLU, {"negative_slope": 0.2}),
        ("sigmoid", nn.Sigmoid, {}), ("tanh", nn.Tanh, {}), ("hardsigmoid", nn.Hardsigmoid, {})]
for kind, cls, kw in ACTS:
    for qi, (xs, xzp) in enumerate(INPUT_QPARAMS):
        for engine in ENGINES:
            torch.backends.quantized.engine = engine
            qx = make_q(all_codes, xs, xzp).contiguous(memory_format=torch.channels_last)
            xf = qx.dequantize()
            m = nn.Sequential(cls(**kw)).eval()
            m.qconfig = default_qc(engine)
            m = prepare(m)
            has_obs = hasattr(m[0], "activation_post_process")
            with torch.no_grad():
                m(xf)
            m = convert(m)
            qm = m[0]
            with torch.no_grad():
                qy = qm(qx)
            case = {"module": kind, "name": f"{kind}_{'_'.join(f'{k}{v}' for k, v in kw.items())}_in{qi}",
                    "engine": engine, "x": qentry(qx), "y": qentry(qy)}
            case.update({k: f32(v) for k, v in kw.items()})
            if kind in ("elu", "leaky_relu"):
                assert has_obs and isinstance(qm, (nnq.ELU, nnq.LeakyReLU)), type(qm)
            else:
                assert not has_obs and type(qm) is cls, type(qm)
                case["prepared_observer"] = has_obs
                case["converted_type"] = type(qm).__name__
            modules.append(case)


# --- cat ------------------------------------------------------------------------------------------
class Cat(nn.Module):
    def __init__(self):
        super().__init__()
        self.cat = nnq.FloatFunctional()

    def forward(self, *xs):
        return self.cat.cat(list(xs), dim=1)


CAT_CHANNELS = [(3, 9, 16), (8, 1, 12), (4, 4)]
for ci, chans in enumerate(CAT_CHANNELS):
    torch.manual_seed(SEED + 300 + ci)
    floats = [torch.randn(2, c, 4, 4) * (0.5 + i) + 0.3 * i for i, c in enumerate(chans)]
    qins = []
    for i, c in enumerate(chans):
        lo, hi = float(floats[i].min()), float(floats[i].max())
        scale = float(np.float32((hi - lo) / 255.0))
        zp = int(min(255, max(0, round(-lo / scale))))
        qins.append(torch.quantize_per_tensor(floats[i], scale, zp, torch.quint8))
    for fmt in ("channels_last", "contiguous"):
        for engine in ENGINES:
            torch.backends.quantized.engine = engine
            m = Cat()
            m.qconfig = default_qc(engine)
            m = prepare(m)
            calib = [q.dequantize() for q in qins]
            with torch.no_grad():
                m(*calib)
            m = convert(m)
            assert isinstance(m.cat, nnq.QFunctional)
            mf = torch.channels_last if fmt == "channels_last" else torch.contiguous_format
            xs = [q.contiguous(memory_format=mf) for q in qins]
            with torch.no_grad():
                qy = m(*xs)
            modules.append({"module": "cat", "name": f"cat_{'_'.join(map(str, chans))}_{fmt}", "engine": engine,
                            "memory_format": fmt, "inputs": [qentry(q) for q in xs], "y": qentry(qy)})


# --- the net --------------------------------------------------------------------------------------
class Concat(nn.Module):
    """Branches "0", "1", ... on the same input, concatenated along channels by the FloatFunctional
    "cat" (ctq's nn::Concat)."""

    def __init__(self, *branches):
        super().__init__()
        for i, b in enumerate(branches):
            self.add_module(str(i), b)
        self.n = len(branches)
        self.cat = nnq.FloatFunctional()

    def forward(self, x):
        return self.cat.cat([getattr(self, str(i))(x) for i in range(self.n)], dim=1)


NET_SEED, DATA_SEED = SEED + 1, SEED + 2
NET_INPUT = (2, 3, 4, 4)


def build_net():
    torch.manual_seed(NET_SEED)
    return nn.Sequential(OrderedDict(
        quant=QuantStub(),
        deconv1=nn.ConvTranspose2d(3, 8, 4, stride=2, padding=1),
        concat=Concat(nn.LeakyReLU(0.1), nn.Sigmoid()),
        deconv2=nn.ConvTranspose2d(16, 4, 2, stride=2, groups=2),
        dequant=DeQuantStub())).eval()


float_net = build_net()
gen = torch.Generator().manual_seed(DATA_SEED)
net_calib = [torch.randn(NET_INPUT, generator=gen) for _ in range(4)]
net_tests = [torch.randn(NET_INPUT, generator=gen) for _ in range(2)]
with torch.no_grad():
    net_float_outs = [float_net(x) for x in net_tests]


def capture(m, store):
    handles = []
    for name, mod in m.named_modules():
        if name in ("", "concat") or isinstance(mod, nnq.QFunctional):
            continue
        key = name
        if name.endswith(".activation_post_process"):
            parent = name.rsplit(".", 1)[0]
            if not isinstance(m.get_submodule(parent), nnq.QFunctional):
                continue
            key = parent

        def hook(_m, _i, out, key=key):
            if torch.is_tensor(out) and out.is_quantized:
                assert key not in store, key
                store[key] = qentry(out)
        handles.append(mod.register_forward_hook(hook))
    return handles


def layer_info(mod):
    info = {"type": type(mod).__name__, "scale": exact(mod.scale), "zero_point": int(mod.zero_point)}
    if hasattr(mod, "weight") and callable(mod.weight):
        w, b = mod.weight(), mod.bias()
        info.update(weight=codes_b64(w.int_repr(), np.int8), weight_shape=list(w.shape),
                    weight_scale=exact(w.q_scale()), weight_zero_point=int(w.q_zero_point()),
                    bias=None if b is None else b64(b))
    return info


nets = []
eager_prepare = {}
for engine in ENGINES:
    torch.backends.quantized.engine = engine
    qc = default_qc(engine)
    m = copy.deepcopy(float_net)
    m.qconfig = qc
    m.deconv1.qconfig = transpose_qc(engine)
    m.deconv2.qconfig = transpose_qc(engine)
    m = prepare(m)
    eager_prepare[engine] = {name: type(mod.activation_post_process).__name__ if hasattr(
        mod, "activation_post_process") else None for name, mod in m.named_modules()
        if name and not name.endswith("activation_post_process")}
    with torch.no_grad():
        for x in net_calib:
            m(x)
    m = convert(m)
    layers = {}
    for lname, mod in m.named_modules():
        if lname and hasattr(mod, "scale") and hasattr(mod, "zero_point"):
            layers[lname] = layer_info(mod)
    assert set(layers) == {"quant", "deconv1", "concat.0", "concat.cat", "deconv2"}, set(layers)
    assert type(m.concat[1] if isinstance(m.concat, nn.Sequential) else getattr(m.concat, "1")) is nn.Sigmoid
    store = {}
    handles = capture(m, store)
    runs = []
    with torch.no_grad():
        for i, x in enumerate(net_tests):
            store.clear()
            y = m(x)
            # the model's output is deconv2's codes dequantized
            d = store["deconv2"]
            codes = torch.tensor(list(base64.b64decode(d["int_repr"])), dtype=torch.float32).reshape(d["shape"])
            deq = (codes - d["zero_point"]) * np.float32(d["scale"])
            assert torch.equal(deq, last(y)), "output != dequantized deconv2 codes"
            runs.append({"layer_outputs": dict(store) if i == 0 else {"deconv2": d}})
    for h in handles:
        h.remove()
    nets.append({"name": engine, "engine": engine,
                 "qconfig": f"get_default_qconfig('{engine}'); deconv1, deconv2: weight=default_weight_observer",
                 "layers": layers, "runs": runs})

state = OrderedDict((k, {"shape": list(v.shape), "b64": b64(v.float())}) for k, v in float_net.state_dict().items())
doc = {"generator": "tools/reference/gen_qmodules_extra.py", "torch_version": torch.__version__,
       "numpy_version": np.__version__, "seed": SEED,
       "eager_prepare": eager_prepare, "skipped": skipped, "conv_transpose_float": conv_transpose_float,
       "modules": modules,
       "net_input_shape": list(NET_INPUT), "net_float_state": state,
       "net_calibration": [fentry(x) for x in net_calib], "net_test_inputs": [fentry(x) for x in net_tests],
       "net_float_outputs": [fentry(y) for y in net_float_outs], "nets": nets}
os.makedirs(os.path.dirname(OUT), exist_ok=True)
with open(OUT, "w") as f:
    json.dump(doc, f, separators=(",", ":"))
    f.write("\n")
print(f"wrote {os.path.relpath(OUT)} ({os.path.getsize(OUT)} bytes)", file=sys.stderr)

# --- summary --------------------------------------------------------------------------------------
counts = {}
for c in modules:
    key = (c["module"], c["engine"])
    counts[key] = counts.get(key, 0) + 1
for (mod, eng), n in sorted(counts.items()):
    print(f"  {mod:15s} {eng:8s} {n} cases", file=sys.stderr)
print(f"  skipped: {len(skipped)} (engine limits)", file=sys.stderr)
for n in nets:
    print(f"  net {n['name']}: layers " + ", ".join(f"{k} ({v['type']} {v['scale']:.6g}/{v['zero_point']})"
                                                   for k, v in n["layers"].items()), file=sys.stderr)
    print(f"     prepare attached: {eager_prepare[n['engine']]}", file=sys.stderr)
