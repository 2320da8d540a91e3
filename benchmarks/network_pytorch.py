#!/usr/bin/python3
"""Times PyTorch 1.13 on the MobileNetV2 that bench_network times in ctq (the same structure as
tests/quantization/mobilenet_v2.hpp: ConvBNReLU units, residual adds through FloatFunctional,
52 fusion groups), one 224 x 224 image, one thread: the float model, and the int8 model after
eager-mode fuse / prepare / calibrate (2 images) / convert with get_default_qconfig(engine's
backend). Engine: onednn on x86 (Debian's PyTorch has no FBGEMM), qnnpack elsewhere.
Prints JSON: median seconds per forward, float and int8."""
import json
import platform
import statistics
import time
import warnings
from collections import OrderedDict

import torch
import torch.nn as nn
from torch.ao.quantization import DeQuantStub, QuantStub, convert, fuse_modules, get_default_qconfig, prepare

warnings.simplefilter("ignore")
torch.set_num_threads(1)
torch.manual_seed(0)


def conv_bn_relu(cin, cout, k, s, groups=1):
    return nn.Sequential(OrderedDict([("0", nn.Conv2d(cin, cout, k, s, (k - 1) // 2, groups=groups, bias=False)),
                                      ("1", nn.BatchNorm2d(cout)), ("2", nn.ReLU())]))


class Residual(nn.Module):
    def __init__(self, body):
        super().__init__()
        self.body = body
        self.skip_add = torch.nn.quantized.FloatFunctional()

    def forward(self, x):
        return self.skip_add.add(x, self.body(x))


def block(cin, cout, s, t):
    h = cin * t
    layers = [] if t == 1 else [conv_bn_relu(cin, h, 1, 1)]
    layers += [conv_bn_relu(h, h, 3, s, groups=h), nn.Conv2d(h, cout, 1, 1, 0, bias=False), nn.BatchNorm2d(cout)]
    body = nn.Sequential(*layers)
    return Residual(body) if s == 1 and cin == cout else body


SPECS = [(32, 16, 1, 1), (16, 24, 2, 6), (24, 24, 1, 6), (24, 32, 2, 6), (32, 32, 1, 6), (32, 32, 1, 6),
         (32, 64, 2, 6), (64, 64, 1, 6), (64, 64, 1, 6), (64, 64, 1, 6), (64, 96, 1, 6), (96, 96, 1, 6),
         (96, 96, 1, 6), (96, 160, 2, 6), (160, 160, 1, 6), (160, 160, 1, 6), (160, 320, 1, 6)]


def mobilenet_v2():
    features = nn.Sequential(conv_bn_relu(3, 32, 3, 2), *[block(*s) for s in SPECS], conv_bn_relu(320, 1280, 1, 1))
    return nn.Sequential(OrderedDict([("quant", QuantStub()), ("features", features),
                                      ("pool", nn.AdaptiveAvgPool2d(1)), ("flatten", nn.Flatten()),
                                      ("classifier", nn.Linear(1280, 1000)), ("dequant", DeQuantStub())])).eval()


def fuse_groups(model):
    groups = []
    for name, m in model.named_modules():
        if isinstance(m, nn.Sequential) and len(m) == 3 and isinstance(m[2], nn.ReLU):
            groups.append([f"{name}.0", f"{name}.1", f"{name}.2"])
        elif isinstance(m, nn.Sequential) and isinstance(m[-1], nn.BatchNorm2d) and isinstance(m[-2], nn.Conv2d):
            n = len(m)
            groups.append([f"{name}.{n - 2}", f"{name}.{n - 1}"])
    assert len(groups) == 52, len(groups)
    return groups


def median_time(f, reps=20):
    with torch.no_grad():
        f()
        times = []
        for _ in range(reps):
            t0 = time.perf_counter()
            f()
            times.append(time.perf_counter() - t0)
    return statistics.median(times)


x86 = platform.machine() in ("x86_64", "AMD64")
engine, backend = ("onednn", "x86") if x86 else ("qnnpack", "qnnpack")
torch.backends.quantized.engine = engine
model = mobilenet_v2()
x = torch.randn(1, 3, 224, 224)
t_float = median_time(lambda: model(x))
q = fuse_modules(model, fuse_groups(model))
q.qconfig = get_default_qconfig(backend)
prepare(q, inplace=True)
with torch.no_grad():
    for _ in range(2):
        q(torch.randn(1, 3, 224, 224))
convert(q, inplace=True)
t_int8 = median_time(lambda: q(x))
print(json.dumps({"engine": engine, "float": t_float, "int8": t_int8}))
