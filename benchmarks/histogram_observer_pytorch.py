#!/usr/bin/python3
"""Times PyTorch's HistogramObserver the way bench_histogram_observer times ctq's: a fresh
observer, one observation of the data, calculate_qparams. Prints JSON: seconds per repetition
(median and minimum) for the whole step and for calculate_qparams alone.
Usage: histogram_observer_pytorch.py DATA_FILE [REPETITIONS]   (DATA_FILE: float32 values)"""
import json
import statistics
import sys
import time
import warnings

import numpy as np
import torch
from torch.ao.quantization.observer import HistogramObserver

warnings.simplefilter("ignore")
torch.set_num_threads(1)
x = torch.from_numpy(np.fromfile(sys.argv[1], dtype=np.float32))
reps = int(sys.argv[2]) if len(sys.argv) > 2 else 10
whole, qparams = [], []
for _ in range(reps):
    t0 = time.perf_counter()
    o = HistogramObserver()
    o(x)
    t1 = time.perf_counter()
    scale, zp = o.calculate_qparams()
    t2 = time.perf_counter()
    whole.append(t2 - t0)
    qparams.append(t2 - t1)
print(json.dumps({"elements": x.numel(), "whole_median_s": statistics.median(whole), "whole_min_s": min(whole),
                  "qparams_median_s": statistics.median(qparams), "scale": float(scale), "zero_point": int(zp)}))
