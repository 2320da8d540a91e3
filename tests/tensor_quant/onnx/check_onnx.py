#!/usr/bin/python3
"""Checks the ONNX models test_onnx_export wrote (argument: its output folder) with Debian's
python3-onnx: the full checker, shape inference (the inferred output shape must equal ctq's),
a parse-and-reserialize giving the same bytes (ctq writes fields in protobuf's canonical order),
and every QuantizeLinear's scale and zero point against the amax ctq reports, recomputed here
as NVIDIA's exporter does (exact float equality):
  bound = 127 (255 unsigned); per tensor scale = float32(float64(amax) / bound);
  per channel scale[c] = float32(amax[c]) / float32(bound); zero point 0, int8 (uint8 unsigned).
Run with /usr/bin/python3 (the interpreter that has python3-onnx and python3-numpy)."""
import json
import sys
from pathlib import Path

import numpy as np
import onnx
from onnx import numpy_helper, shape_inference

TENSOR_INT8, TENSOR_UINT8 = onnx.TensorProto.INT8, onnx.TensorProto.UINT8


def expected_scales(q):
    amax = np.asarray(q["amax"], dtype=np.float32)
    bound = 255 if q["unsigned"] else 127
    if amax.size == 1:
        return np.asarray(np.float64(amax[0]) / bound, dtype=np.float32).reshape(())
    return amax / np.float32(bound)


def check_model(folder, entry):
    path = folder / entry["file"]
    raw = path.read_bytes()
    model = onnx.load_from_string(raw)
    onnx.checker.check_model(model, full_check=True)
    if model.SerializeToString() != raw:
        raise AssertionError(f"{path}: re-serializing gives different bytes")
    if model.ir_version != 7 or [(o.domain, o.version) for o in model.opset_import] != [("", 13)]:
        raise AssertionError(f"{path}: expected ir_version 7 and opset 13")

    inferred = shape_inference.infer_shapes(model, check_type=True, strict_mode=True)
    out = inferred.graph.output[0].type.tensor_type.shape.dim
    dims = [d.dim_param if d.dim_param else d.dim_value for d in out]
    want = list(entry["output_shape"])
    if entry["dynamic_batch"]:
        want[0] = "N"
    if dims != want:
        raise AssertionError(f"{path}: output shape {dims}, ctq's {want}")
    # Every intermediate value gets a shape from inference too (nothing left unknown).
    if len(inferred.graph.value_info) < len(model.graph.node) - 1:
        raise AssertionError(f"{path}: shape inference left values without a shape")

    inits = {t.name: t for t in model.graph.initializer}
    qnodes = [n for n in model.graph.node if n.op_type == "QuantizeLinear"]
    dqnodes = [n for n in model.graph.node if n.op_type == "DequantizeLinear"]
    quantizers = entry["quantizers"]
    if len(qnodes) != len(quantizers) or len(dqnodes) != len(quantizers):
        raise AssertionError(f"{path}: {len(qnodes)} Q / {len(dqnodes)} DQ nodes for {len(quantizers)} quantizers")
    for q in quantizers:
        node = next((n for n in qnodes if n.name == q["name"] + "/QuantizeLinear"), None)
        if node is None:
            raise AssertionError(f"{path}: no QuantizeLinear for {q['name']}")
        dq = next(n for n in dqnodes if n.input[0] == node.output[0])
        if list(dq.input[1:]) != list(node.input[1:]):
            raise AssertionError(f"{path}: {q['name']}: DequantizeLinear uses other parameters")
        scale = numpy_helper.to_array(inits[node.input[1]])
        zp_proto = inits[node.input[2]]
        zero_point = numpy_helper.to_array(zp_proto)
        want_scale = expected_scales(q)
        if scale.dtype != np.float32 or scale.shape != want_scale.shape or not np.array_equal(scale, want_scale):
            raise AssertionError(f"{path}: {q['name']}: scale {scale} != {want_scale}")
        want_type = TENSOR_UINT8 if q["unsigned"] else TENSOR_INT8
        if zp_proto.data_type != want_type or zero_point.shape != want_scale.shape or np.any(zero_point != 0):
            raise AssertionError(f"{path}: {q['name']}: zero point {zero_point} (type {zp_proto.data_type})")
        axis = [a.i for a in node.attribute if a.name == "axis"]
        if want_scale.ndim == 1:
            kept = [i for i, s in enumerate(q["amax_shape"]) if s != 1]
            if axis != kept:
                raise AssertionError(f"{path}: {q['name']}: axis {axis}, amax keeps {kept}")
        elif axis:
            raise AssertionError(f"{path}: {q['name']}: a per-tensor QuantizeLinear with an axis")
    print(f"{path.name}: checker, shape inference ({dims}), byte round trip and "
          f"{len(quantizers)} quantizers' scales and zero points: ok")


def main():
    folder = Path(sys.argv[1])
    manifest = json.loads((folder / "reference.json").read_text())
    for entry in manifest["models"]:
        check_model(folder, entry)


if __name__ == "__main__":
    main()
