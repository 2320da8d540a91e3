#!/usr/bin/python3
"""Writes tests/data/train_reference.json: PyTorch 1.13 training a small model with SGD, for
ctq's tests/nn/test_train.cpp (Linear, the activations' backward passes, Dropout-free Sequential
and residual composition, CrossEntropyLoss, SGD, CosineAnnealingLR).

Run with Debian's interpreter, which has python3-torch:  /usr/bin/python3 tools/reference/gen_train.py
Deterministic (fixed seed, one thread). Float arrays are lists of float32 values.

"activations": per activation name, "x", "g" (upstream gradient), "y", "gx" (autograd).
"cross_entropy": per label_smoothing ("0", "0.1"): "logits" [N, C], "labels", "loss", "grad".
"cosine": "base_lr", "t_max", "eta_min", "lrs": the learning rate after each of 14 scheduler steps.
"sgd": per optimizer setting: the model (Linear(12, 16) - Hardswish - residual(Linear(16, 16) -
  ReLU) - Linear(16, 5)) and its parameters "params0" (name -> values, PyTorch's order and
  layout), "x" [8, 12], "labels", then per step (3 steps, cosine schedule with T_max 2 stepped
  after each step): "loss", "logits", "grads" (name -> values), "params" (after the update), "lr".
"""
import json
import os
import warnings

import torch
import torch.nn as nn
import torch.nn.functional as F

from refdata import flist

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "..", "tests", "data", "train_reference.json")
warnings.simplefilter("ignore")
torch.set_num_threads(1)
torch.manual_seed(20261202)

doc = {}

# --- activations: inputs kept away from the kinks, except where a kink's choice is tested ---------
acts = {
    "ReLU": nn.ReLU(), "ReLU6": nn.ReLU6(), "Hardtanh": nn.Hardtanh(-1.0, 1.0), "Hardswish": nn.Hardswish(),
    "Hardsigmoid": nn.Hardsigmoid(), "Sigmoid": nn.Sigmoid(), "Tanh": nn.Tanh(), "ELU": nn.ELU(1.0),
    "LeakyReLU": nn.LeakyReLU(0.01),
}
x = torch.randn(64) * 4.0
# the kinks themselves: 0, 6, -1, 1, -3, 3 (each activation's derivative choice there)
x = torch.cat([x, torch.tensor([0.0, 6.0, -1.0, 1.0, -3.0, 3.0])])
doc["activations"] = {}
for name, act in acts.items():
    xi = x.clone().requires_grad_(True)
    y = act(xi)
    g = torch.randn_like(y)
    y.backward(g)
    doc["activations"][name] = {"x": flist(x), "g": flist(g), "y": flist(y), "gx": flist(xi.grad)}

# --- cross entropy -------------------------------------------------------------------------------
doc["cross_entropy"] = {}
logits = torch.randn(6, 7) * 3.0
labels = torch.randint(0, 7, (6,))
for s in (0.0, 0.1):
    li = logits.clone().requires_grad_(True)
    loss = F.cross_entropy(li, labels, label_smoothing=s)
    loss.backward()
    doc["cross_entropy"][str(s)] = {"logits": flist(logits), "labels": labels.tolist(), "loss": float(loss),
                                    "grad": flist(li.grad)}

# --- cosine schedule -----------------------------------------------------------------------------
p = nn.Parameter(torch.zeros(1))
opt = torch.optim.SGD([p], lr=0.05)
sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=5, eta_min=0.001)
lrs = []
for _ in range(14):
    opt.step()
    sched.step()
    lrs.append(opt.param_groups[0]["lr"])
doc["cosine"] = {"base_lr": 0.05, "t_max": 5, "eta_min": 0.001, "lrs": lrs}


# --- SGD on a small model ------------------------------------------------------------------------
class Residual(nn.Module):
    def __init__(self, body):
        super().__init__()
        self.body = body

    def forward(self, x):
        return x + self.body(x)


def make_model():
    torch.manual_seed(7)
    return nn.Sequential(nn.Linear(12, 16), nn.Hardswish(), Residual(nn.Sequential(nn.Linear(16, 16), nn.ReLU())),
                         nn.Linear(16, 5))


SETTINGS = {
    "plain": dict(lr=0.1),
    "momentum_wd": dict(lr=0.1, momentum=0.9, weight_decay=4e-5),
    "nesterov": dict(lr=0.1, momentum=0.9, weight_decay=1e-3, nesterov=True),
    "dampening": dict(lr=0.05, momentum=0.5, dampening=0.3),
}
x = torch.randn(8, 12)
labels = torch.randint(0, 5, (8,))
doc["sgd"] = {}
for name, kw in SETTINGS.items():
    model = make_model()
    opt = torch.optim.SGD(model.parameters(), **kw)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=2)
    case = {"options": kw, "params0": {k: flist(v) for k, v in model.named_parameters()}, "x": flist(x),
            "labels": labels.tolist(), "steps": []}
    for step in range(3):
        opt.zero_grad()
        out = model(x)
        loss = F.cross_entropy(out, labels)
        loss.backward()
        grads = {k: flist(v.grad) for k, v in model.named_parameters()}
        lr = opt.param_groups[0]["lr"]
        opt.step()
        sched.step()
        case["steps"].append({"loss": float(loss), "logits": flist(out), "grads": grads, "lr_used": lr,
                              "params": {k: flist(v) for k, v in model.named_parameters()}})
    doc["sgd"][name] = case

with open(OUT, "w") as f:
    json.dump(doc, f)
print("wrote", OUT)
