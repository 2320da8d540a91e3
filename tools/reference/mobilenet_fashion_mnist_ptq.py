#!/usr/bin/python3
"""PyTorch 1.13 side by side with examples/mobilenet_fashion_mnist: the same architecture in
PyTorch (NCHW), the same float weights (the example's safetensors checkpoint, state_dict names
and layouts as PyTorch's), the same normalized images and the same calibration images (the first
1,024 training images in file order, 32 batches of 32), then the tutorial's two PTQ rows with
torch.ao.quantization (fuse_modules, prepare, calibrate, convert): default_qconfig and
get_default_qconfig("x86"), on the x86 engine (onednn where PyTorch has no x86 engine,
as Debian's). Reports each row's test accuracy and, given the
example's JSON (which holds ctq's predicted class per test image for each row), the fraction of
test images where ctq and PyTorch predict the same class.

  /usr/bin/python3 tools/reference/mobilenet_fashion_mnist_ptq.py \
      [--checkpoint examples/data/mobilenet_fashion_mnist.safetensors] [--ctq results/mobilenet_fashion_mnist.json] \
      [--data /usr/share/datasets/fashion-mnist] [--out results/mobilenet_fashion_mnist_pytorch.json] [--self-check]

--self-check measures how much agreement to expect: PyTorch against itself when the calibration
images move by one ulp each (last-bit differences, as a different float summation order makes in
the activations the observers see).
"""
import argparse
import gzip
import json
import os
import struct
import warnings

import numpy as np
import torch
import torch.nn as nn
from torch.ao.quantization import (DeQuantStub, QuantStub, convert, default_qconfig, fuse_modules,
                                   get_default_qconfig, prepare)

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
warnings.simplefilter("ignore")
torch.set_num_threads(1)

MEAN, STD = np.float32(0.2860), np.float32(0.3530)


def read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    magic, = struct.unpack(">I", data[:4])
    rank = magic & 0xFF
    if magic >> 8 != 0x08:
        raise ValueError(path + ": not an IDX file of unsigned bytes")
    dims = struct.unpack(">" + "I" * rank, data[4:4 + 4 * rank])
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * rank).reshape(dims)


def load(data_dir, split):
    images = read_idx(os.path.join(data_dir, split + "-images-idx3-ubyte.gz"))
    labels = read_idx(os.path.join(data_dir, split + "-labels-idx1-ubyte.gz"))
    x = images.astype(np.float32) / np.float32(255.0)  # as the example: pixels / 255 in float
    x = (x - MEAN) / STD
    return torch.from_numpy(np.ascontiguousarray(x[:, None, :, :])), torch.from_numpy(labels.astype(np.int64))


def read_safetensors(path):
    with open(path, "rb") as f:
        n, = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n))
        blob = f.read()
    out = {}
    for name, e in header.items():
        if name == "__metadata__":
            continue
        if e["dtype"] != "F32":
            raise ValueError(name + ": expected F32")
        b, end = e["data_offsets"]
        out[name] = torch.from_numpy(np.frombuffer(blob[b:end], dtype="<f4").copy()).reshape(e["shape"])
    return out


# --- the architecture of examples/mobilenet_fashion_mnist/model.hpp ------------------------------
def conv_bn_relu(cin, cout, k, s, groups=1):
    return nn.Sequential(nn.Conv2d(cin, cout, k, s, (k - 1) // 2, groups=groups, bias=False), nn.BatchNorm2d(cout),
                         nn.ReLU())


def body(cin, cout, s, t):
    h = cin * t
    layers = [] if t == 1 else [conv_bn_relu(cin, h, 1, 1)]
    layers += [conv_bn_relu(h, h, 3, s, groups=h), nn.Conv2d(h, cout, 1, bias=False), nn.BatchNorm2d(cout)]
    return nn.Sequential(*layers)


class Residual(nn.Module):
    def __init__(self, b):
        super().__init__()
        self.body = b
        self.skip_add = nn.quantized.FloatFunctional()

    def forward(self, x):
        return self.skip_add.add(x, self.body(x))


BLOCKS = [(16, 16, 1, 1), (16, 24, 2, 4), (24, 24, 1, 4), (24, 32, 2, 4), (32, 32, 1, 4)]


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.quant = QuantStub()
        blocks = [Residual(body(*b)) if b[2] == 1 and b[0] == b[1] else body(*b) for b in BLOCKS]
        self.features = nn.Sequential(conv_bn_relu(1, 16, 3, 2), *blocks, conv_bn_relu(32, 128, 1, 1))
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.flatten = nn.Flatten()
        self.classifier = nn.Sequential(nn.Dropout(0.2), nn.Linear(128, 10))
        self.dequant = DeQuantStub()

    def forward(self, x):
        return self.dequant(self.classifier(self.flatten(self.pool(self.features(self.quant(x))))))


def fuse_groups(net):
    """The example's fusion groups: conv+bn+relu per ConvBNReLU, conv+bn per projection."""
    groups = []
    for name, m in net.named_modules():
        if isinstance(m, nn.Sequential) and len(m) == 3 and isinstance(m[2], nn.ReLU):
            groups.append([name + ".0", name + ".1", name + ".2"])
        if isinstance(m, nn.Sequential) and isinstance(m[-1], nn.BatchNorm2d):
            n = len(m)
            groups.append([f"{name}.{n - 2}", f"{name}.{n - 1}"])
    return groups


def predict(model, x):
    out = []
    with torch.no_grad():
        for b in range(0, x.shape[0], 250):
            out.append(model(x[b:b + 250]).argmax(1))
    return torch.cat(out)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--checkpoint", default=os.path.join(ROOT, "examples", "data", "mobilenet_fashion_mnist.safetensors"))
    ap.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    ap.add_argument("--ctq", default=None, help="the example's mobilenet_fashion_mnist.json (for agreement)")
    ap.add_argument("--out", default=None)
    ap.add_argument("--self-check", action="store_true",
                    help="also calibrate on the same images moved by one ulp each (the size of the differences a "
                         "different float summation order makes) and report how often PyTorch agrees with itself")
    a = ap.parse_args()

    # Debian's PyTorch is built without FBGEMM: no 'x86' engine; its x86 qconfig then runs on onednn.
    engine = "x86" if "x86" in torch.backends.quantized.supported_engines else "onednn"
    torch.backends.quantized.engine = engine
    train_x, _ = load(a.data, "train")
    test_x, test_y = load(a.data, "t10k")
    net = Net()
    missing, unexpected = net.load_state_dict(read_safetensors(a.checkpoint), strict=False)
    if unexpected or any(not k.endswith("num_batches_tracked") for k in missing):
        raise SystemExit(f"checkpoint does not fit: missing {missing}, unexpected {unexpected}")
    net.eval()

    rows = {}
    preds = {"float": predict(net, test_x)}
    calibration = [train_x[b:b + 32] for b in range(0, 1024, 32)]

    def ptq(qconfig, images):
        m = Net()
        m.load_state_dict(net.state_dict())
        m.eval()
        m = fuse_modules(m, fuse_groups(m))
        m.qconfig = qconfig
        prepare(m, inplace=True)
        with torch.no_grad():
            for xb in images:
                m(xb)
        convert(m, inplace=True)
        return predict(m, test_x)

    qconfigs = (("int8, default_qconfig (min/max, per-tensor)", default_qconfig),
                ("int8, x86 qconfig (histogram, per-channel)", get_default_qconfig("x86")))
    for key, qconfig in qconfigs:
        preds[key] = ptq(qconfig, calibration)
    self_agreement = {}
    if a.self_check:
        moved = [torch.nextafter(xb, torch.full_like(xb, float("inf"))) for xb in calibration]
        for key, qconfig in qconfigs:
            p = ptq(qconfig, moved)
            self_agreement[key] = float((p == preds[key]).double().mean())
            print(f"{key:46s} PyTorch calibrated on images moved by one ulp: {100 * float((p == test_y).double().mean()):.2f}%, "
                  f"same class as unmoved on {100 * self_agreement[key]:.2f}% of images")

    ctq = None
    if a.ctq:
        with open(a.ctq) as f:
            ctq = {r["method"]: r for r in json.load(f)["rows"]}
    for key, p in preds.items():
        row = {"accuracy": float((p == test_y).double().mean())}
        if ctq and key in ctq and "predictions" in ctq[key]:
            theirs = torch.tensor(ctq[key]["predictions"])
            if theirs.shape != p.shape:
                raise SystemExit(f"{key}: ctq has {theirs.shape[0]} predictions, PyTorch {p.shape[0]}")
            row["ctq_accuracy"] = ctq[key]["accuracy"]
            row["agreement"] = float((theirs == p).double().mean())
        if key in self_agreement:
            row["self_agreement_one_ulp"] = self_agreement[key]
        rows[key] = row
        extra = ""
        if "agreement" in row:
            extra = f"  ctq {100 * row['ctq_accuracy']:.2f}%  same class on {100 * row['agreement']:.2f}% of images"
        print(f"{key:46s} PyTorch {100 * row['accuracy']:.2f}%{extra}")
    if a.out:
        with open(a.out, "w") as f:
            json.dump({"torch": torch.__version__, "engine": engine, "rows": rows}, f, indent=2)


if __name__ == "__main__":
    main()
