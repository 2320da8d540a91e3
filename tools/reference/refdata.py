"""Encoding shared by the reference generators: how float32 values and tensors go into JSON."""
import base64
import math

import numpy as np


def f32(v):
    """A float32 value as JSON: a number (exact: every float32 is a double), or "nan", "inf",
    "-inf" for non-finite values."""
    v = float(np.float32(v))
    if math.isnan(v):
        return "nan"
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    return v


def flist(t):
    """A tensor's values, flattened row-major, as a list of f32."""
    return [f32(v) for v in t.detach().reshape(-1).tolist()]


def b64(t):
    """Base64 of the little-endian float32 bytes of a tensor, flattened row-major."""
    a = np.ascontiguousarray(t.detach().numpy().reshape(-1), dtype="<f4")
    return base64.b64encode(a.tobytes()).decode("ascii")


def state_value(t):
    """min_val / max_val buffers: a scalar for per-tensor observers, a list for per-channel ones."""
    if t.dim() == 0:
        return f32(t.item())
    return [f32(v) for v in t.reshape(-1).tolist()]
