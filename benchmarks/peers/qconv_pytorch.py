#!/usr/bin/python3
"""Peer benchmark for ctq's int8 convolution: PyTorch 1.13's quantized conv2d, single-threaded.

For each shape of peer_cases.h (batch 1: a 3x3 convolution 56x56x64 -> 64, padding 1, and 3x3 depthwise
convolutions of 56x56x144, groups = 144, padding 1, stride 1 and 2): torch.ops.quantized.conv2d(x, packed_w,
y_scale, y_zero_point), x a quint8 tensor (zero point 128) in channels_last memory (NHWC, so that no layout change is
timed), the weights qint8 symmetric with per-output-channel scales (per_channel_affine, zero points 0, axis 0)
prepacked once with torch.ops.quantized.conv2d_prepack outside the timed loop together with the bias, quint8 output
(zero point 128). PyTorch takes the bias as float: it is the integer bias of the case times x_scale * w_scale[oc],
which the engines quantize back to the same integers. Engines: onednn (PyTorch's own build of oneDNN/ideep) and
qnnpack. The whole output is checked against an integer reference (off by at most 1) before timing.

Prints JSON {"onednn": {"<shape>": {"gops": GOP/s, "us": microseconds per call}, ...}, "qnnpack": {...}}, GOP/s =
2 * OH*OW*C_out * KH*KW*C_in/groups / median time of one call, timed as qlinear_pytorch.py times (the median over
--reps repetitions, each a batch of calls lasting ~--rep-ms, after a warm-up). An engine this build of PyTorch lacks
is left out, with a note on stderr. Run with Debian's /usr/bin/python3 (python3-torch).
"""
import argparse
import json
import sys

import torch
import torch.nn.functional as F

from qlinear_pytorch import time_call

# name, H, W, C_in, C_out, groups, kernel, stride, padding: the cases of peer_cases.h
SHAPES = [
    ("conv3x3/56x56x64x64", 56, 56, 64, 64, 1, 3, 1, 1),
    ("dw3x3s1/56x56x144", 56, 56, 144, 144, 144, 3, 1, 1),
    ("dw3x3s2/56x56x144", 56, 56, 144, 144, 144, 3, 2, 1),
]
ENGINES = ["onednn", "qnnpack"]
X_SCALE, X_ZERO_POINT = 0.02, 128
W_SCALE = 0.01
Y_ZERO_POINT = 128


def make_case(h, w, c_in, c_out, groups, kernel):
    """Random x, w, bias and the scales, as peer_cases.h makes them (a different random stream)."""
    depth = kernel * kernel * c_in // groups
    base = 40.0 / (depth**0.5 * 74.0 * 73.0)  # x_scale * w_scale / y_scale, most outputs inside uint8
    gen = torch.Generator().manual_seed(1)
    x_int = torch.randint(0, 256, (1, c_in, h, w), generator=gen, dtype=torch.int32)
    w_int = torch.randint(-127, 128, (c_out, c_in // groups, kernel, kernel), generator=gen, dtype=torch.int32)
    bias_range = int(depth**0.5 * 74.0 * 73.0 / 2.0)
    bias_int = torch.randint(-bias_range, bias_range + 1, (c_out,), generator=gen, dtype=torch.int64)
    w_scale = W_SCALE * (0.75 + 0.5 * torch.arange(c_out, dtype=torch.float64) / max(c_out - 1, 1))
    y_scale = X_SCALE * W_SCALE / base
    x = torch._make_per_tensor_quantized_tensor(x_int.to(torch.uint8), X_SCALE, X_ZERO_POINT)
    x = x.contiguous(memory_format=torch.channels_last)
    w_q = torch._make_per_channel_quantized_tensor(w_int.to(torch.int8), w_scale, torch.zeros(c_out, dtype=torch.int64),
                                                   0)
    bias = (bias_int.to(torch.float64) * X_SCALE * w_scale).to(torch.float32)
    return x, w_q, bias, y_scale, (x_int, w_int, bias_int, w_scale)


def max_error(y, ints, y_scale, stride, padding, groups):
    """Largest difference between y and the integer reference (exact in float64: the sums stay below 2^53)."""
    x_int, w_int, bias_int, w_scale = ints
    acc = F.conv2d((x_int - X_ZERO_POINT).to(torch.float64), w_int.to(torch.float64), bias_int.to(torch.float64),
                   stride=stride, padding=padding, groups=groups)
    multiplier = (X_SCALE * w_scale / y_scale).view(1, -1, 1, 1)
    want = torch.clamp(torch.round(acc * multiplier) + Y_ZERO_POINT, 0, 255)
    return float((want - y.int_repr().to(torch.float64)).abs().max())


def bench_engine(engine, reps, rep_seconds):
    torch.backends.quantized.engine = engine
    results = {}
    for name, h, w, c_in, c_out, groups, kernel, stride, padding in SHAPES:
        x, w_q, bias, y_scale, ints = make_case(h, w, c_in, c_out, groups, kernel)
        try:
            packed = torch.ops.quantized.conv2d_prepack(w_q, bias, [stride, stride], [padding, padding], [1, 1],
                                                        groups)
            f = lambda: torch.ops.quantized.conv2d(x, packed, y_scale, Y_ZERO_POINT)  # noqa: E731
            err = max_error(f(), ints, y_scale, stride, padding, groups)
        except RuntimeError as e:
            print(f"qconv_pytorch: {engine} {name}: {str(e).splitlines()[0]}, left out", file=sys.stderr)
            continue
        if err > 1:
            print(f"qconv_pytorch: {engine} {name}: output off by {err}, left out", file=sys.stderr)
            continue
        seconds = time_call(f, reps, rep_seconds)
        oh = (h + 2 * padding - kernel) // stride + 1
        ow = (w + 2 * padding - kernel) // stride + 1
        ops = 2.0 * oh * ow * c_out * kernel * kernel * (c_in // groups)
        results[name] = {"gops": ops / seconds * 1e-9, "us": seconds * 1e6}
    return results


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=7, help="timed repetitions per shape (median reported)")
    parser.add_argument("--rep-ms", type=float, default=20.0, help="length of one repetition, milliseconds")
    args = parser.parse_args()
    torch.set_num_threads(1)
    out = {}
    for engine in ENGINES:
        if engine not in torch.backends.quantized.supported_engines:
            print(f"qconv_pytorch: this PyTorch has no {engine} engine", file=sys.stderr)
            continue
        out[engine] = bench_engine(engine, args.reps, args.rep_ms * 1e-3)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
