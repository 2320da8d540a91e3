#!/usr/bin/python3
"""Writes tests/data/qat_reference.json: PyTorch 1.13 quantization-aware training of a small
network, for ctq's tests/quantization/test_qat.cpp.

Run with Debian's interpreter, which has python3-torch:  /usr/bin/python3 tools/reference/gen_qat.py
Deterministic (fixed seed, one thread). Float arrays are lists of float32 values.

The network: quant - conv1 (Conv2d(2, 4, 3, padding 1, no bias)) + bn1 + relu1 - conv2 (depthwise
Conv2d(4, 4, 3, stride 2, padding 1, groups 4)) + bn2 - conv3 (Conv2d(4, 6, 1)) + relu3 -
AdaptiveAvgPool2d(1) - flatten - fc (Linear(6, 3)) - dequant; fused with fuse_modules_qat
([conv1, bn1, relu1], [conv2, bn2], [conv3, relu3]) and prepared with prepare_qat under
get_default_qat_qconfig("x86") (fused moving-average fake-quantizers, per-channel weights).

"params0": every parameter and BatchNorm buffer before training (PyTorch's names and layout).
"x": the input batch [4, 6, 6, 2] channels last (ctq's layout); "labels".
"steps": two SGD steps (lr 0.1, momentum 0.9, weight decay 1e-4), cross-entropy loss; before
  the second, disable_observer and freeze_bn_stats as the tutorial does. Per step: "output"
  (logits), "loss", "grads" (parameter name -> values), "state" (parameters and BatchNorm buffers
  after the update).
"quantized": the model after the two steps, converted (eval, convert) on engine onednn: "output"
  (dequantized logits for x), "scale" of the final quantized output.
"""
import json
import os
import warnings

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.ao.quantization import (DeQuantStub, QuantStub, convert, disable_observer, fuse_modules_qat,
                                   get_default_qat_qconfig, prepare_qat)
from torch.nn.intrinsic.qat import freeze_bn_stats

from refdata import flist

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "..", "tests", "data", "qat_reference.json")
warnings.simplefilter("ignore")
torch.set_num_threads(1)
torch.manual_seed(20261203)
torch.backends.quantized.engine = "onednn"


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.quant = QuantStub()
        self.conv1 = nn.Conv2d(2, 4, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(4)
        self.relu1 = nn.ReLU()
        self.conv2 = nn.Conv2d(4, 4, 3, stride=2, padding=1, groups=4)
        self.bn2 = nn.BatchNorm2d(4)
        self.conv3 = nn.Conv2d(4, 6, 1)
        self.relu3 = nn.ReLU()
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.flatten = nn.Flatten()
        self.fc = nn.Linear(6, 3)
        self.dequant = DeQuantStub()

    def forward(self, x):
        x = self.quant(x)
        x = self.relu1(self.bn1(self.conv1(x)))
        x = self.bn2(self.conv2(x))
        x = self.relu3(self.conv3(x))
        x = self.flatten(self.pool(x))
        return self.dequant(self.fc(x))


net = Net()
with torch.no_grad():
    for bn in (net.bn1, net.bn2):
        bn.weight.uniform_(0.5, 1.5)
        bn.bias.uniform_(-0.3, 0.3)
        bn.running_mean.uniform_(-0.5, 0.5)
        bn.running_var.uniform_(0.5, 2.0)
net.train()
net = fuse_modules_qat(net, [["conv1", "bn1", "relu1"], ["conv2", "bn2"], ["conv3", "relu3"]])
net.qconfig = get_default_qat_qconfig("x86")
net = prepare_qat(net)
net.train()


def state(m):
    out = {}
    for k, v in m.state_dict().items():
        if k.endswith("num_batches_tracked") or "fake_quant" in k or "activation_post_process" in k:
            continue
        out[k] = flist(v)
    return out


doc = {"params0": state(net)}
x = torch.randn(4, 2, 6, 6)
labels = torch.randint(0, 3, (4,))
doc["x"] = flist(x.permute(0, 2, 3, 1))
doc["labels"] = labels.tolist()
opt = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-4)
doc["steps"] = []
for step in range(2):
    if step == 1:
        net.apply(disable_observer)
        net.apply(freeze_bn_stats)
    opt.zero_grad()
    out = net(x)
    loss = F.cross_entropy(out, labels)
    loss.backward()
    grads = {k: flist(p.grad) for k, p in net.named_parameters()}
    opt.step()
    doc["steps"].append({"output": flist(out), "loss": float(loss), "grads": grads, "state": state(net)})

net.eval()
q = convert(net)
qout = q.fc(q.flatten(q.pool(q.conv3(q.conv2(q.conv1(q.quant(x)))))))
doc["quantized"] = {"output": flist(qout.dequantize()), "scale": float(qout.q_scale())}

with open(OUT, "w") as f:
    json.dump(doc, f)
print("wrote", OUT)
