#!/usr/bin/python3
"""Writes tests/data/qconfig_reference.json: what PyTorch 1.13's named qconfigs and
get_default_qconfig / get_default_qat_qconfig build, as the attributes of the instantiated
activation and weight observers or fake-quantizers (class, dtype, qscheme, effective quant range,
reduce_range, eps, averaging constant, channel axis, histogram bins).

Run with Debian's interpreter:  /usr/bin/python3 tools/reference/gen_qconfigs.py
"""
import json
import os
import sys
import warnings

import torch
import torch.ao.quantization as tq
import torch.ao.quantization.qconfig as qc

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "..", "tests", "data", "qconfig_reference.json")
warnings.simplefilter("ignore")

DTYPE = {torch.quint8: "quint8", torch.qint8: "qint8", torch.qint32: "qint32", torch.quint4x2: "quint4x2",
         torch.float16: "float16", torch.float32: "float32"}
QSCHEME = {torch.per_tensor_affine: "per_tensor_affine", torch.per_tensor_symmetric: "per_tensor_symmetric",
           torch.per_channel_affine: "per_channel_affine", torch.per_channel_symmetric: "per_channel_symmetric",
           torch.per_channel_affine_float_qparams: "per_channel_affine_float_qparams"}


def describe(module):
    """The attributes ctq's types must reproduce, for an instantiated observer or fake-quantizer."""
    d = {"class": type(module).__name__}
    obs = module
    if hasattr(module, "activation_post_process"):
        obs = module.activation_post_process
        d["observer"] = describe(obs)
        return d
    if hasattr(obs, "dtype"):
        d["dtype"] = DTYPE[obs.dtype]
    if hasattr(obs, "compute_dtype"):
        d["compute_dtype"] = DTYPE[obs.compute_dtype]
    for attr in ("reduce_range", "quant_min", "quant_max", "ch_axis", "bins", "upsample_rate",
                 "averaging_constant", "has_customized_qrange"):
        if hasattr(obs, attr):
            v = getattr(obs, attr)
            d[attr] = v
    if hasattr(obs, "qscheme"):
        d["qscheme"] = QSCHEME[obs.qscheme]
    if hasattr(obs, "eps"):
        d["eps"] = float(obs.eps)
    if hasattr(obs, "scale") and type(obs).__name__ == "FixedQParamsObserver":
        d["scale"] = float(obs.scale)
        d["zero_point"] = int(obs.zero_point)
    return d


def entry(name, qconfig):
    return {"name": name,
            "activation": describe(qconfig.activation()),
            "weight": describe(qconfig.weight())}


named = ["default_qconfig", "default_debug_qconfig", "default_per_channel_qconfig", "default_dynamic_qconfig",
         "float16_dynamic_qconfig", "float16_static_qconfig", "per_channel_dynamic_qconfig",
         "float_qparams_weight_only_qconfig", "float_qparams_weight_only_qconfig_4bit", "default_qat_qconfig",
         "default_dynamic_qat_qconfig", "default_weight_only_qconfig", "default_activation_only_qconfig",
         "default_qat_qconfig_v2", "default_symmetric_qnnpack_qconfig",
         "default_per_channel_symmetric_qnnpack_qconfig", "default_symmetric_qnnpack_qat_qconfig",
         "default_per_channel_symmetric_qnnpack_qat_qconfig", "default_embedding_qat_qconfig",
         "default_embedding_qat_qconfig_4bit"]
entries = [entry(n, getattr(qc, n)) for n in named]
for backend in ("fbgemm", "x86", "qnnpack", "onednn"):
    entries.append(entry(f"get_default_qconfig<{backend}>", tq.get_default_qconfig(backend)))
    entries.append(entry(f"get_default_qat_qconfig<{backend}>", tq.get_default_qat_qconfig(backend)))

os.makedirs(os.path.dirname(OUT), exist_ok=True)
with open(OUT, "w") as f:
    json.dump({"generator": "tools/reference/gen_qconfigs.py", "torch_version": torch.__version__,
               "qconfigs": entries}, f, indent=1)
    f.write("\n")
print(f"wrote {len(entries)} qconfigs to {os.path.relpath(OUT)}", file=sys.stderr)
