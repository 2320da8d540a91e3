"""Timing shared by the PyTorch side of the compare_*.sh benchmarks."""
import statistics
import time

import torch


def median_time(f, min_seconds=0.3, reps=7):
    """Median over `reps` batches of the time per call of f(); each batch runs long enough to time
    (at least min_seconds / reps), after three warm-up calls, without autograd."""
    with torch.no_grad():
        for _ in range(3):
            f()
        n = 1
        while True:
            t0 = time.perf_counter()
            for _ in range(n):
                f()
            if time.perf_counter() - t0 >= min_seconds / reps:
                break
            n *= 2
        times = []
        for _ in range(reps):
            t0 = time.perf_counter()
            for _ in range(n):
                f()
            times.append((time.perf_counter() - t0) / n)
    return statistics.median(times)
