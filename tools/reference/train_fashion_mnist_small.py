#!/usr/bin/python3
"""Trains the small CNN of ctq's examples/tensor_quant_calibration.cpp on Fashion-MNIST and writes
examples/data/fashion_mnist_cnn.safetensors (its weights, BatchNorm folded into the convolutions)
and examples/data/fashion_mnist_cnn.json (the architecture, PyTorch's float test accuracy of the
saved model and its predicted class for each test image, which the example compares its own with).

Trained:   conv1(1->16, 3x3, pad 1)-BN-ReLU-MaxPool2 - conv2(16->32)-BN-ReLU-MaxPool2
           - conv3(32->64)-BN-ReLU - AdaptiveAvgPool(1) - Flatten - fc(64->10)
Saved:     the same with each BatchNorm folded into the convolution before it (eval statistics:
           w' = w g / sqrt(var + eps), b' = (b - mean) g / sqrt(var + eps) + beta), so the model a
           user calibrates is Conv-ReLU-... as TensorRT sees it after its own folding.
Input:     pixels / 255 in [0, 1], one channel; ctq's example uses the same.

Data: Debian's dataset-fashion-mnist (/usr/share/datasets/fashion-mnist, IDX files, gzip).
Fixed seeds, 2 threads: about 3-5 minutes on 2 idle cores (30-45 s an epoch; far longer on a busy
machine). Test accuracy 89.67% (PyTorch 1.13).

Run with Debian's interpreter:  /usr/bin/python3 tools/reference/train_fashion_mnist_small.py
"""
import collections
import gzip
import json
import os
import sys
import time

import numpy as np
import torch
import torch.nn as nn

from safetensors_io import write_safetensors

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "..", "examples", "data")
DATA = sys.argv[1] if len(sys.argv) > 1 else "/usr/share/datasets/fashion-mnist"
EPOCHS, BATCH, LR = 6, 128, 3e-3

torch.set_num_threads(2)
torch.manual_seed(20261202)
np.random.seed(20261202)


def read_idx(name):
    with gzip.open(os.path.join(DATA, name), "rb") as f:
        raw = f.read()
    dims = raw[3]
    shape = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def images(name):
    return torch.from_numpy(read_idx(name).astype(np.float32) / 255.0).unsqueeze(1)  # [N, 1, 28, 28]


def labels(name):
    return torch.from_numpy(read_idx(name).astype(np.int64))


x_train, y_train = images("train-images-idx3-ubyte.gz"), labels("train-labels-idx1-ubyte.gz")
x_test, y_test = images("t10k-images-idx3-ubyte.gz"), labels("t10k-labels-idx1-ubyte.gz")


def conv_bn(cin, cout):
    return [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU()]


trained = nn.Sequential(*conv_bn(1, 16), nn.MaxPool2d(2), *conv_bn(16, 32), nn.MaxPool2d(2), *conv_bn(32, 64),
                        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, 10))


def accuracy(model, x, y):
    model.eval()
    with torch.no_grad():
        correct = sum(int((model(x[i:i + 1000]).argmax(1) == y[i:i + 1000]).sum()) for i in range(0, len(x), 1000))
    return correct / len(x)


steps = EPOCHS * ((len(x_train) + BATCH - 1) // BATCH)
optimizer = torch.optim.AdamW(trained.parameters(), lr=LR, weight_decay=1e-4)
schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=LR, total_steps=steps)
loss_fn = nn.CrossEntropyLoss()
start = time.time()
for epoch in range(EPOCHS):
    trained.train()
    order = torch.randperm(len(x_train))
    for i in range(0, len(x_train), BATCH):
        idx = order[i:i + BATCH]
        optimizer.zero_grad()
        loss = loss_fn(trained(x_train[idx]), y_train[idx])
        loss.backward()
        optimizer.step()
        schedule.step()
    print(f"epoch {epoch + 1}: loss {loss.item():.4f}, test accuracy {accuracy(trained, x_test, y_test):.4f}, "
          f"{time.time() - start:.0f} s", flush=True)
trained_accuracy = accuracy(trained, x_test, y_test)


def fold(conv, bn):
    """The convolution that computes bn(conv(x)) with bn's running statistics."""
    factor = bn.weight / torch.sqrt(bn.running_var + bn.eps)
    folded = nn.Conv2d(conv.in_channels, conv.out_channels, conv.kernel_size, padding=conv.padding, bias=True)
    with torch.no_grad():
        folded.weight.copy_(conv.weight * factor.reshape(-1, 1, 1, 1))
        bias = conv.bias if conv.bias is not None else torch.zeros_like(bn.running_mean)
        folded.bias.copy_((bias - bn.running_mean) * factor + bn.bias)
    return folded


t = trained
model = nn.Sequential(collections.OrderedDict([
    ("conv1", fold(t[0], t[1])), ("relu1", nn.ReLU()), ("pool1", nn.MaxPool2d(2)),
    ("conv2", fold(t[4], t[5])), ("relu2", nn.ReLU()), ("pool2", nn.MaxPool2d(2)),
    ("conv3", fold(t[8], t[9])), ("relu3", nn.ReLU()),
    ("avgpool", nn.AdaptiveAvgPool2d(1)), ("flatten", nn.Flatten()), ("fc", nn.Linear(64, 10)),
]))
model.fc.load_state_dict(t[13].state_dict())
float_accuracy = accuracy(model, x_test, y_test)
model.eval()
with torch.no_grad():
    predictions = torch.cat([model(x_test[i:i + 1000]).argmax(1) for i in range(0, len(x_test), 1000)])
print(f"test accuracy: trained (with BatchNorm) {trained_accuracy:.4f}, saved (folded) {float_accuracy:.4f}")

os.makedirs(OUT, exist_ok=True)
state = model.state_dict()
size = write_safetensors(os.path.join(OUT, "fashion_mnist_cnn.safetensors"), list(state.items()),
                         metadata={"format": "pt", "note": "written by tools/reference/train_fashion_mnist_small.py"})
info = {
    "generator": "tools/reference/train_fashion_mnist_small.py",
    "torch_version": torch.__version__,
    "architecture": "conv1(1->16,3x3,pad1)-relu1-pool1(max 2) - conv2(16->32,3x3,pad1)-relu2-pool2(max 2) - "
                    "conv3(32->64,3x3,pad1)-relu3 - avgpool(adaptive 1x1) - flatten - fc(64->10); "
                    "BatchNorm folded into conv1..3; input: pixels / 255, [N, 1, 28, 28]",
    "training": f"{EPOCHS} epochs, batch {BATCH}, AdamW lr {LR} one-cycle, weight decay 1e-4, seed 20261202",
    "float_test_accuracy": float_accuracy,
    "float_test_correct": round(float_accuracy * len(x_test)),
    "test_images": len(x_test),
    "float_test_predictions": "".join(str(int(c)) for c in predictions),  # the saved model's class per test image
    "trained_test_accuracy_with_batchnorm": trained_accuracy,
}
with open(os.path.join(OUT, "fashion_mnist_cnn.json"), "w") as f:
    json.dump(info, f, indent=1)
    f.write("\n")
print(f"wrote {len(state)} tensors, {size} bytes; {time.time() - start:.0f} s")
