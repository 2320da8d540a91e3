#!/usr/bin/python3
"""Peer benchmark for ctq's int8 GEMM: PyTorch 1.13's quantized Linear, single-threaded.

For each shape (M, N, K): torch.ops.quantized.linear(x, packed_w, out_scale, out_zero_point), x an M x K quint8
tensor (zero point 128), the weights N x K qint8 (symmetric, zero point 0) prepacked once with
torch.ops.quantized.linear_prepack outside the timed loop, int32 accumulation, quint8 output. That is
C = requantize(A x B) with B = W^T, K x N, as bench_gemm computes it. Engines: onednn (PyTorch's own build of
oneDNN/ideep) and qnnpack. The first row of each result is checked against an integer reference before timing.

Prints JSON {"onednn": {"M/N/K": GOP/s, ...}, "qnnpack": {...}}, GOP/s = 2*M*N*K / median time of one call, the
median over --reps timed repetitions (each a batch of calls lasting ~--rep-ms) after a warm-up. An engine this
build of PyTorch lacks is left out, with a note on stderr. Run with Debian's /usr/bin/python3 (python3-torch).
"""
import argparse
import json
import statistics
import sys
import time

import torch

SHAPES = [(1, 1024, 1024), (16, 1024, 1024), (64, 1024, 1024), (256, 256, 256), (1024, 1024, 1024),
          (3136, 64, 576), (12544, 32, 27), (49, 1280, 320)]
ENGINES = ["onednn", "qnnpack"]
X_SCALE, X_ZERO_POINT = 0.02, 128
W_SCALE = 0.01
Y_ZERO_POINT = 128


def output_scale(k):
    """Output scale that keeps most of the K-long dot products of the random inputs inside uint8 (as bench_gemm)."""
    multiplier = 40.0 / (k**0.5 * 74.0 * 73.0)  # a_scale * w_scale / y_scale
    return X_SCALE * W_SCALE / multiplier


def make_case(m, n, k):
    gen = torch.Generator().manual_seed(1)
    x_int = torch.randint(0, 256, (m, k), generator=gen, dtype=torch.int32)
    w_int = torch.randint(-127, 128, (n, k), generator=gen, dtype=torch.int32)
    x = torch._make_per_tensor_quantized_tensor(x_int.to(torch.uint8), X_SCALE, X_ZERO_POINT)
    w = torch._make_per_tensor_quantized_tensor(w_int.to(torch.int8), W_SCALE, 0)
    return x, w, x_int, w_int


def check_first_row(y, x_int, w_int, y_scale):
    acc = ((x_int[0] - X_ZERO_POINT).to(torch.int64) @ w_int.T.to(torch.int64)).to(torch.float64)
    want = torch.clamp(torch.round(acc * (X_SCALE * W_SCALE / y_scale)) + Y_ZERO_POINT, 0, 255)
    got = y.int_repr()[0].to(torch.float64)
    return float((want - got).abs().max())


def time_call(f, reps, rep_seconds):
    """Median seconds per call over `reps` batches, each of enough calls to last about rep_seconds."""
    t0 = time.perf_counter()
    calls = 0
    while calls < 3 or time.perf_counter() - t0 < 0.05:  # warm-up, and an estimate of one call
        f()
        calls += 1
    per_call = (time.perf_counter() - t0) / calls
    batch = max(1, int(rep_seconds / per_call))
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        for _ in range(batch):
            f()
        times.append((time.perf_counter() - t0) / batch)
    return statistics.median(times)


def bench_engine(engine, reps, rep_seconds):
    torch.backends.quantized.engine = engine
    results = {}
    for m, n, k in SHAPES:
        key = f"{m}/{n}/{k}"
        x, w, x_int, w_int = make_case(m, n, k)
        y_scale = output_scale(k)
        packed = torch.ops.quantized.linear_prepack(w, None)
        f = lambda: torch.ops.quantized.linear(x, packed, y_scale, Y_ZERO_POINT)  # noqa: E731
        err = check_first_row(f(), x_int, w_int, y_scale)
        if err > 1:
            print(f"qlinear_pytorch: {engine} {key}: first row off by {err}, left out", file=sys.stderr)
            continue
        results[key] = 2.0 * m * n * k / time_call(f, reps, rep_seconds) * 1e-9
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
            print(f"qlinear_pytorch: this PyTorch has no {engine} engine", file=sys.stderr)
            continue
        out[engine] = bench_engine(engine, args.reps, args.rep_ms * 1e-3)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
