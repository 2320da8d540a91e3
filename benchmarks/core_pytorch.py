#!/usr/bin/python3
"""Times PyTorch 1.13's quantize_per_tensor (quint8), dequantize (qint8) and
fake_quantize_per_tensor_affine on 2^20 floats, single-threaded, as bench_core times ctq's.
Prints JSON: median seconds per call."""
import json
import statistics
import time

import torch

torch.set_num_threads(1)
x = torch.randn(1 << 20) * 2
q8 = torch.quantize_per_tensor(x, 0.05, 0, torch.qint8)


def median_time(f, reps=30):
    f()
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        f()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


print(json.dumps({
    "quantize_quint8": median_time(lambda: torch.quantize_per_tensor(x, 0.05, 128, torch.quint8)),
    "dequantize_qint8": median_time(lambda: q8.dequantize()),
    "fake_quantize_cachemask": median_time(lambda: torch.fake_quantize_per_tensor_affine(x, 0.05, 128, 0, 255)),
}))
