#!/usr/bin/python3
"""Writes tests/data/ptq_static_reference.json: PyTorch 1.13's eager-mode static post-training
quantization (fuse_modules, prepare, calibrate, convert) of a small residual CNN, under three
default qconfigs, with every quantized layer's parameters and output codes.

Run with Debian's interpreter, which has python3-torch:  /usr/bin/python3 tools/reference/gen_ptq_static.py
The output is deterministic (fixed seeds, one thread); see tools/reference/README.md.

The float network (dotted module names as in ctq's tests):
  quant (QuantStub) -> conv1 3->16 3x3 p1, bn1, relu1
  -> block = Residual: block.skip_add.add(x, block.body(x)), block.skip_add a FloatFunctional,
       block.body = conv_a 16->16 3x3 p1 no bias, bn_a, relu_a, conv_b 16->16 3x3 p1, bn_b
  -> relu2 -> pool (MaxPool2d(2)) -> conv3 16->32 3x3 s2 p1, relu3
  -> dw (depthwise 32 3x3 p1, groups 32), bn_dw, relu_dw -> avgpool (AdaptiveAvgPool2d 1x1)
  -> flatten -> fc1 32->24, relu4 -> fc2 24->10 -> dequant (DeQuantStub)
Weights: torch.manual_seed(WEIGHT_SEED), PyTorch's default init, then every BatchNorm gets
weight ~ U(0.5, 1.5), bias ~ N(0, 0.1), running_mean ~ N(0, 0.1), running_var ~ U(0.5, 1.5)
(default eps and momentum), so that the conv/bn folding is not trivial. The model is in eval().
Data: input N=4, C=3, H=W=16; 6 calibration and 2 test batches of N(0, 1) float32 values from a
torch.Generator seeded with DATA_SEED.

Configurations ("configs"), each run on a deep copy of the float model: set
torch.backends.quantized.engine, fuse_modules (conv1+bn1+relu1, block.body.conv_a+bn_a+relu_a,
block.body.conv_b+bn_b, conv3+relu3, dw+bn_dw+relu_dw, fc1+relu4), m.qconfig = the default
qconfig, prepare, the 6 calibration batches in order, convert, the 2 test batches.
  "x86":     get_default_qconfig('x86') (HistogramObserver reduce_range=True activations,
             per-channel symmetric qint8 weights). Engine: 'x86' if PyTorch supports it, else
             'onednn'. Debian's PyTorch is built without FBGEMM, so supported_engines is
             ['qnnpack', 'none', 'onednn'] and the x86 engine (FBGEMM + oneDNN) does not exist;
             the config then runs on 'onednn' (the x86 engine's FBGEMM kernels are not
             reproduced). The JSON records the engine and the reason ("engine_note").
  "onednn":  get_default_qconfig('onednn') (reduce_range=False, per-channel weights), 'onednn'.
  "qnnpack": get_default_qconfig('qnnpack') (reduce_range=False, per-tensor symmetric weights),
             'qnnpack'.
The onednn outputs hold for CPUs with AVX512-VNNI or AMX (this machine has both); see
gen_qlinear.py for what oneDNN's kernels do without VNNI.

File format (floats: JSON numbers, exact: every float is a float32 value, checked; float arrays:
base64 of little-endian float32 bytes, row-major; codes: base64 of the raw int_repr bytes):
  "generator", "torch_version", "numpy_version", "input_shape": [4, 3, 16, 16] (NCHW, PyTorch's),
  "seeds": {"weights", "data"},
  "float_state": {state_dict key: {"shape", "b64"}} of the float, unfused model (num_batches_tracked
      left out), PyTorch's layouts (conv OIHW, linear out x in);
  "calibration": 6 x {"shape": [N, H, W, C], "b64"}, "test_inputs": 2 x the same   -- NHWC;
  "float_outputs": 2 x {"shape": [4, 10], "b64"}: the float model on the test inputs;
  "configs": [{"name", "qconfig": {"activation"/"weight": observer class and parameters},
      "engine", "engine_note", "layers", "runs"}]:
    "layers": {dotted name: {"type" (class name), "class" (full path), "scale", "zero_point"}}
        for quant, every quantized conv / linear (fused ones are ConvReLU2d / LinearReLU) and
        block.skip_add (QFunctional); dequant has no parameters and is left out. Conv and
        linear also have "weight" (int8 int_repr; conv OHWI = [out_c][kh][kw][in_c / groups],
        linear [out][in]), "weight_shape" (of that layout), "qscheme" (of the weight tensor:
        torch.per_channel_affine for per-channel weights, whatever the observer's qscheme),
        "axis" (per channel), "weight_scales", "weight_zero_points" (lists, one per tensor or
        per channel), "bias" (float32 base64, or null), and conv "stride", "padding",
        "dilation", "groups" / linear "in_features", "out_features". Weights and bias are read
        from the packed parameters (mod.weight(), mod.bias()).
    "runs": per test input {"layer_outputs": {dotted name: {"shape", "scale", "zero_point",
        "int_repr" (uint8)}} for each module whose output is a quantized tensor (first test
        batch; the later ones keep fc2 only, to keep the file small), in execution order: the quantized modules and the unswapped relu2, pool, avgpool, flatten (the
        Identity modules left by fusion are left out; block.skip_add is captured through its
        activation_post_process), 4-d shapes and codes NHWC; "output": {"shape", "b64"}, the
        dequantized model output [4, 10]}.
All 4-d activations (inputs, layer outputs) are NHWC; float_state stays in PyTorch's layout.
After writing, the script re-reads the file, checks that each run's "output" is the dequantized
fc2 codes, and prints per config the max |float - int8 output| and the number of layers.
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
from torch.ao.quantization import DeQuantStub, QuantStub, convert, fuse_modules, get_default_qconfig, prepare

from refdata import b64, f32

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "..", "tests", "data", "ptq_static_reference.json")
WEIGHT_SEED = 20261210
DATA_SEED = 20261211
INPUT_SHAPE = (4, 3, 16, 16)
N_CALIB, N_TEST = 6, 2
FUSE = [["conv1", "bn1", "relu1"], ["block.body.conv_a", "block.body.bn_a", "block.body.relu_a"],
        ["block.body.conv_b", "block.body.bn_b"], ["conv3", "relu3"], ["dw", "bn_dw", "relu_dw"], ["fc1", "relu4"]]
warnings.simplefilter("ignore")
torch.set_num_threads(1)  # oneDNN's kernel choice may depend on the thread count


class Residual(nn.Module):
    """x + body(x), the add through a FloatFunctional (QFunctional after convert)."""

    def __init__(self, body):
        super().__init__()
        self.body = body
        self.skip_add = torch.nn.quantized.FloatFunctional()

    def forward(self, x):
        return self.skip_add.add(x, self.body(x))


def build_float_net():
    torch.manual_seed(WEIGHT_SEED)
    body = nn.Sequential(OrderedDict(
        conv_a=nn.Conv2d(16, 16, 3, stride=1, padding=1, bias=False), bn_a=nn.BatchNorm2d(16), relu_a=nn.ReLU(),
        conv_b=nn.Conv2d(16, 16, 3, stride=1, padding=1), bn_b=nn.BatchNorm2d(16)))
    net = nn.Sequential(OrderedDict(
        quant=QuantStub(),
        conv1=nn.Conv2d(3, 16, 3, stride=1, padding=1), bn1=nn.BatchNorm2d(16), relu1=nn.ReLU(),
        block=Residual(body),
        relu2=nn.ReLU(),
        pool=nn.MaxPool2d(2),
        conv3=nn.Conv2d(16, 32, 3, stride=2, padding=1), relu3=nn.ReLU(),
        dw=nn.Conv2d(32, 32, 3, stride=1, padding=1, groups=32), bn_dw=nn.BatchNorm2d(32), relu_dw=nn.ReLU(),
        avgpool=nn.AdaptiveAvgPool2d((1, 1)), flatten=nn.Flatten(),
        fc1=nn.Linear(32, 24), relu4=nn.ReLU(), fc2=nn.Linear(24, 10),
        dequant=DeQuantStub()))
    with torch.no_grad():
        for _, m in net.named_modules():
            if isinstance(m, nn.BatchNorm2d):
                m.weight.uniform_(0.5, 1.5)
                m.bias.normal_(0.0, 0.1)
                m.running_mean.normal_(0.0, 0.1)
                m.running_var.uniform_(0.5, 1.5)
    return net.eval()


# --- encoding ------------------------------------------------------------------------------------
def exact(v):
    """A scale: a Python float that must be a float32 value (then its JSON repr is exact)."""
    v = float(v)
    assert float(np.float32(v)) == v, f"scale {v!r} is not a float32 value"
    return f32(v)


def nhwc(t):
    return t.permute(0, 2, 3, 1).contiguous() if t.dim() == 4 else t.contiguous()


def fentry(t):
    """A float tensor as {"shape", "b64"}, 4-d ones permuted to NHWC."""
    t = nhwc(t.detach().float())
    return {"shape": list(t.shape), "b64": b64(t)}


def codes_b64(t, dtype):
    a = np.ascontiguousarray(t.contiguous().numpy().reshape(-1).astype(dtype))
    return base64.b64encode(a.tobytes()).decode("ascii")


def observer_desc(factory):
    obs = factory()
    d = {"observer": type(obs).__name__, "dtype": str(obs.dtype), "qscheme": str(obs.qscheme),
         "reduce_range": bool(obs.reduce_range), "quant_min": int(obs.quant_min), "quant_max": int(obs.quant_max)}
    for k in ("bins", "upsample_rate", "ch_axis", "averaging_constant"):
        if hasattr(obs, k):
            d[k] = getattr(obs, k)
    return d


def layer_params(mod):
    cls = type(mod)
    scale = mod.scale.item() if torch.is_tensor(mod.scale) else mod.scale
    zp = mod.zero_point.item() if torch.is_tensor(mod.zero_point) else mod.zero_point
    info = {"type": cls.__name__, "class": f"{cls.__module__}.{cls.__qualname__}", "scale": exact(scale),
            "zero_point": int(zp)}
    if not hasattr(mod, "weight") or not callable(mod.weight):
        return info
    w, bias = mod.weight(), mod.bias()
    wr = w.int_repr()
    if wr.dim() == 4:
        wr = wr.permute(0, 2, 3, 1)  # OIHW -> OHWI
        info.update(stride=list(mod.stride), padding=list(mod.padding), dilation=list(mod.dilation), groups=mod.groups)
    else:
        info.update(in_features=mod.in_features, out_features=mod.out_features)
    info["weight"] = codes_b64(wr, np.int8)
    info["weight_shape"] = list(wr.shape)
    info["qscheme"] = str(w.qscheme())
    if w.qscheme() in (torch.per_tensor_affine, torch.per_tensor_symmetric):
        info["weight_scales"] = [exact(w.q_scale())]
        info["weight_zero_points"] = [int(w.q_zero_point())]
    else:
        info["axis"] = int(w.q_per_channel_axis())
        info["weight_scales"] = [exact(s) for s in w.q_per_channel_scales().tolist()]
        info["weight_zero_points"] = [int(z) for z in w.q_per_channel_zero_points().tolist()]
    info["bias"] = None if bias is None else b64(bias)
    return info


def qentry(t):
    assert t.is_quantized and t.dtype == torch.quint8, t.dtype
    r = nhwc(t.int_repr())
    return {"shape": list(r.shape), "scale": exact(t.q_scale()), "zero_point": int(t.q_zero_point()),
            "int_repr": codes_b64(r, np.uint8)}


def capture_hooks(m, store):
    """Forward hooks recording, in execution order, every module output that is a quantized tensor.
    Containers and the Identity modules fusion leaves are skipped; a QFunctional (whose forward
    is never called) is captured through its activation_post_process, under its own name."""
    handles = []
    for name, mod in m.named_modules():
        if name == "" or isinstance(mod, (nn.Sequential, Residual, torch.nn.quantized.QFunctional)):
            continue
        key = name
        if isinstance(mod, nn.Identity):
            parent = name.rsplit(".", 1)[0] if "." in name else ""
            if not (name.endswith(".activation_post_process")
                    and isinstance(m.get_submodule(parent), torch.nn.quantized.QFunctional)):
                continue
            key = parent

        def hook(_mod, _inp, out, key=key):
            if torch.is_tensor(out) and out.is_quantized:
                assert key not in store, key
                store[key] = qentry(out)
        handles.append(mod.register_forward_hook(hook))
    return handles


# --- model and data --------------------------------------------------------------------------------
float_net = build_float_net()
gen = torch.Generator().manual_seed(DATA_SEED)
calib = [torch.randn(INPUT_SHAPE, generator=gen, dtype=torch.float32) for _ in range(N_CALIB)]
tests = [torch.randn(INPUT_SHAPE, generator=gen, dtype=torch.float32) for _ in range(N_TEST)]
with torch.no_grad():
    float_outs = [float_net(x) for x in tests]

supported = list(torch.backends.quantized.supported_engines)
if "x86" in supported:
    x86_engine, x86_note = "x86", "'x86' is in torch.backends.quantized.supported_engines"
else:
    x86_engine = "onednn"
    x86_note = (f"'x86' is not in torch.backends.quantized.supported_engines {supported} (PyTorch built without "
                "FBGEMM), so the x86 qconfig runs on 'onednn'")
CONFIGS = [("x86", "x86", x86_engine, x86_note),
           ("onednn", "onednn", "onednn", "the onednn qconfig on its own engine"),
           ("qnnpack", "qnnpack", "qnnpack", "the qnnpack qconfig on its own engine")]

configs, quant_outs = [], {}
for name, qc_name, engine, note in CONFIGS:
    torch.backends.quantized.engine = engine
    qc = get_default_qconfig(qc_name)
    m = copy.deepcopy(float_net).eval()
    m = fuse_modules(m, FUSE)
    m.qconfig = qc
    m = prepare(m)
    with torch.no_grad():
        for x in calib:
            m(x)
    m = convert(m)
    layers = {}
    for lname, mod in m.named_modules():
        if hasattr(mod, "scale") and hasattr(mod, "zero_point") and lname:
            layers[lname] = layer_params(mod)
    runs = []
    store = {}
    handles = capture_hooks(m, store)
    outs = []
    with torch.no_grad():
        for x in tests:
            store.clear()
            y = m(x)
            assert not y.is_quantized
            outs.append(y)
            # every layer for the first test batch; the last layer only for the others (file size)
            kept = dict(store) if not runs else {"fc2": store["fc2"]}
            runs.append({"layer_outputs": kept, "output": fentry(y)})
    for h in handles:
        h.remove()
    quant_outs[name] = outs
    configs.append({"name": name, "qconfig": {"name": qc_name, "activation": observer_desc(qc.activation),
                                              "weight": observer_desc(qc.weight)},
                    "engine": engine, "engine_note": note, "layers": layers, "runs": runs})

state = OrderedDict((k, {"shape": list(v.shape), "b64": b64(v.float())})
                    for k, v in float_net.state_dict().items() if not k.endswith("num_batches_tracked"))
doc = {"generator": "tools/reference/gen_ptq_static.py", "torch_version": torch.__version__,
       "numpy_version": np.__version__, "input_shape": list(INPUT_SHAPE),
       "layouts": "4-d activations (calibration, test_inputs, layer_outputs) are NHWC; conv weights in layers "
                  "are OHWI; float_state is in PyTorch's layout (OIHW, linear out x in)",
       "seeds": {"weights": WEIGHT_SEED, "data": DATA_SEED}, "supported_engines": supported,
       "fuse": FUSE, "float_state": state,
       "calibration": [fentry(x) for x in calib], "test_inputs": [fentry(x) for x in tests],
       "float_outputs": [fentry(y) for y in float_outs], "configs": configs}

os.makedirs(os.path.dirname(OUT), exist_ok=True)
with open(OUT, "w") as f:
    json.dump(doc, f, separators=(",", ":"))
    f.write("\n")
print(f"wrote {os.path.relpath(OUT)} ({os.path.getsize(OUT)} bytes)", file=sys.stderr)


# --- check: re-read, decode, compare ---------------------------------------------------------------
def unf32(e):
    return np.frombuffer(base64.b64decode(e["b64"]), dtype="<f4").reshape(e["shape"])


with open(OUT) as f:
    data = json.load(f)
fl = [unf32(e) for e in data["float_outputs"]]
for c in data["configs"]:
    diff = 0.0
    for i, run in enumerate(c["runs"]):
        y = unf32(run["output"])
        last = run["layer_outputs"]["fc2"]
        codes = np.frombuffer(base64.b64decode(last["int_repr"]), dtype=np.uint8).reshape(last["shape"])
        deq = ((codes.astype(np.float32) - np.float32(last["zero_point"])) * np.float32(last["scale"])).astype(np.float32)
        assert np.array_equal(deq, y), c["name"]
        assert np.array_equal(y, quant_outs[c["name"]][i].numpy())
        diff = max(diff, float(np.abs(y - fl[i]).max()))
    out_names = list(c["runs"][0]["layer_outputs"])
    print(f"{c['name']:8s} engine {c['engine']:7s}: max |float - int8 output| = {diff:.6f}; "
          f"{len(c['layers'])} quantized layers, {len(out_names)} captured outputs", file=sys.stderr)
    print("   layers: " + ", ".join(f"{k} ({v['type']})" for k, v in c["layers"].items()), file=sys.stderr)
    print("   outputs: " + ", ".join(out_names), file=sys.stderr)
