#!/usr/bin/python3
"""Writes tests/data/train_layers_reference.json: PyTorch 1.13's backward passes (autograd, float32)
of the layers ctq trains: a depthwise stride-2 Conv2d, a grouped dilated Conv2d, a Conv1d without
bias, a BatchNorm2d in training mode, MaxPool2d, AvgPool2d (ceil_mode, count_include_pad=False)
and AdaptiveAvgPool2d.

Each case: one forward pass in training mode on "x", then y.backward(gy) with a random upstream
gradient "gy". Recorded: "x", "gy", "y", "gx" (d loss / d x) and, per parameter, its value and
gradient ("weight", "bias", "gw", "gb"); for BatchNorm also the running statistics before
("running_mean_in", "running_var_in") and after ("running_mean", "running_var") the forward pass.
Activations are channels last ([N, L, C], [N, H, W, C]; PyTorch ran on the NCL / NCHW permutation),
weights in PyTorch's layout. Tensors are {"shape", "b64"} (little-endian float32, row-major).

Run: /usr/bin/python3 tools/reference/gen_train_layers.py (deterministic: fixed seed, one thread).
"""
import json
import os

import torch
import torch.nn as nn

from refdata import b64

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "..", "tests", "data", "train_layers_reference.json")
torch.set_num_threads(1)
torch.manual_seed(20261215)


def entry(t):
    t = t.detach().contiguous()
    return {"shape": list(t.shape), "b64": b64(t)}


def channels_last(t):
    """NCL -> NLC, NCHW -> NHWC."""
    return t.permute(0, *range(2, t.dim()), 1).contiguous()


def run(name, module, x_shape, params):
    module.train()
    x = torch.randn(*x_shape, requires_grad=True)
    case = {"op": name, "params": params}
    if isinstance(module, nn.BatchNorm2d):
        with torch.no_grad():
            module.weight.uniform_(0.5, 1.5)
            module.bias.uniform_(-0.5, 0.5)
            module.running_mean.normal_()
            module.running_var.uniform_(0.5, 2.0)
        case["running_mean_in"] = entry(module.running_mean)
        case["running_var_in"] = entry(module.running_var)
    y = module(x)
    gy = torch.randn_like(y)
    y.backward(gy)
    case.update({"x": entry(channels_last(x)), "gy": entry(channels_last(gy)), "y": entry(channels_last(y)),
                 "gx": entry(channels_last(x.grad))})
    if getattr(module, "weight", None) is not None:
        case["weight"] = entry(module.weight)
        case["gw"] = entry(module.weight.grad)
    if getattr(module, "bias", None) is not None:
        case["bias"] = entry(module.bias)
        case["gb"] = entry(module.bias.grad)
    if isinstance(module, nn.BatchNorm2d):
        case["running_mean"] = entry(module.running_mean)
        case["running_var"] = entry(module.running_var)
    return case


# The params are ctq's template arguments of the same layer (checked by the test).
cases = [
    run("conv2d_depthwise", nn.Conv2d(4, 4, 3, stride=2, padding=1, groups=4), (2, 4, 7, 6),
        dict(in_c=4, out_c=4, k=3, s=2, p=1, d=1, g=4, bias=True)),
    run("conv2d_grouped", nn.Conv2d(4, 6, 3, stride=1, padding=2, dilation=2, groups=2), (2, 4, 6, 5),
        dict(in_c=4, out_c=6, k=3, s=1, p=2, d=2, g=2, bias=True)),
    run("conv1d", nn.Conv1d(3, 5, 3, stride=2, padding=1, bias=False), (3, 3, 9),
        dict(in_c=3, out_c=5, k=3, s=2, p=1, d=1, g=1, bias=False)),
    run("batchnorm2d", nn.BatchNorm2d(3), (2, 3, 5, 4), dict(c=3)),
    run("maxpool2d", nn.MaxPool2d(3, stride=2, padding=1), (2, 3, 7, 6), dict(k=3, s=2, p=1, d=1, ceil=False)),
    run("avgpool2d", nn.AvgPool2d(3, stride=2, padding=1, ceil_mode=True, count_include_pad=False), (2, 3, 7, 6),
        dict(k=3, s=2, p=1, ceil=True, cip=False)),
    run("adaptive_avgpool2d", nn.AdaptiveAvgPool2d((3, 2)), (2, 3, 7, 5), dict(oh=3, ow=2)),
]

with open(OUT, "w") as f:
    json.dump({"generator": "tools/reference/gen_train_layers.py", "torch_version": torch.__version__,
               "cases": cases}, f, separators=(",", ":"))
    f.write("\n")
print(f"wrote {os.path.relpath(OUT)}: {len(cases)} cases")
