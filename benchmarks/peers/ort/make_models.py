#!/usr/bin/python3
"""Writes the ONNX models that bench_ort.js times: one QLinearMatMul per GEMM shape (M, N, K) of bench_gemm and one
QLinearConv per convolution shape of peer_cases.h.

models/M_N_K.onnx: Y (M x N, uint8) = QLinearMatMul(A (M x K, uint8, zero point 128), B (K x N, int8, symmetric,
an initializer), float scales, zero points), opset 13, IR version 8, as Debian's python3-onnx 1.12 writes it.
models/M_N_K.a.bin holds the input A bench_ort.js feeds, models/M_N_K.y0.bin the first row of Y computed here in
integers, which bench_ort.js checks ORT's result against before timing.

models/conv_<shape>.onnx (the shape's name with "/" as "_", e.g. conv_conv3x3_56x56x64x64): Y (1 x OH x OW x C_out,
uint8, zero point 128) = QLinearConv(X (1 x H x W x C_in, uint8, zero point 128), W (C_out x C_in/group x 3 x 3, int8,
symmetric, per-output-channel scales), B (int32, in the scale x_scale * w_scale[oc])), group = C_in for a depthwise
one. The node is ONNX Runtime's NHWC form of QLinearConv (domain com.microsoft, channels_last = 1: the operator its
NHWC transformer turns an ONNX QLinearConv into), so the input and output are NHWC like the other peers' and no
layout change is timed; the weights stay in ONNX's OIHW order. models/conv_<shape>.x.bin holds X, .y.bin all of Y
computed here in integers, which bench_ort.js checks ORT's result against before timing. Run with /usr/bin/python3.
"""
import argparse
import pathlib

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

SHAPES = [(1, 1024, 1024), (16, 1024, 1024), (64, 1024, 1024), (256, 256, 256), (1024, 1024, 1024),
          (3136, 64, 576), (12544, 32, 27), (49, 1280, 320)]
A_SCALE, A_ZERO_POINT = 0.02, 128
B_SCALE = 0.01
Y_ZERO_POINT = 128
# name, H, W, C_in, C_out, group, kernel, stride, padding: the cases of peer_cases.h
CONV_SHAPES = [
    ("conv3x3/56x56x64x64", 56, 56, 64, 64, 1, 3, 1, 1),
    ("dw3x3s1/56x56x144", 56, 56, 144, 144, 144, 3, 1, 1),
    ("dw3x3s2/56x56x144", 56, 56, 144, 144, 144, 3, 2, 1),
]


def y_scale(k):
    """Output scale that keeps most of the K-long dot products of the random inputs inside uint8 (as bench_gemm)."""
    multiplier = 40.0 / (k**0.5 * 74.0 * 73.0)  # a_scale * b_scale / y_scale
    return A_SCALE * B_SCALE / multiplier


def make_model(m, n, k, b):
    def scalar(name, dtype, value):
        return helper.make_tensor(name, dtype, [], [value])

    inits = [
        scalar("a_scale", TensorProto.FLOAT, A_SCALE),
        scalar("a_zero_point", TensorProto.UINT8, A_ZERO_POINT),
        numpy_helper.from_array(b, "b"),
        scalar("b_scale", TensorProto.FLOAT, B_SCALE),
        scalar("b_zero_point", TensorProto.INT8, 0),
        scalar("y_scale", TensorProto.FLOAT, y_scale(k)),
        scalar("y_zero_point", TensorProto.UINT8, Y_ZERO_POINT),
    ]
    node = helper.make_node(
        "QLinearMatMul",
        ["a", "a_scale", "a_zero_point", "b", "b_scale", "b_zero_point", "y_scale", "y_zero_point"],
        ["y"],
    )
    graph = helper.make_graph(
        [node],
        f"qlinear_matmul_{m}_{n}_{k}",
        [helper.make_tensor_value_info("a", TensorProto.UINT8, [m, k])],
        [helper.make_tensor_value_info("y", TensorProto.UINT8, [m, n])],
        initializer=inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], producer_name="ctq-peers")
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def make_conv_case(h, w, c_in, c_out, group, kernel, stride, padding, rng):
    """Random X, W, B and scales as peer_cases.h makes them (another random stream), and Y from them in integers."""
    depth = kernel * kernel * c_in // group
    base = 40.0 / (depth**0.5 * 74.0 * 73.0)  # x_scale * w_scale / y_scale, most outputs inside uint8
    x = rng.integers(0, 256, (h, w, c_in), dtype=np.uint8)
    wt = rng.integers(-127, 128, (c_out, c_in // group, kernel, kernel), dtype=np.int8)
    bias_range = int(depth**0.5 * 74.0 * 73.0 / 2.0)
    bias = rng.integers(-bias_range, bias_range + 1, c_out, dtype=np.int32)
    w_scale = (B_SCALE * (0.75 + 0.5 * np.arange(c_out) / max(c_out - 1, 1))).astype(np.float32)
    y_scale = np.float32(A_SCALE * B_SCALE / base)
    # Reference: padding holds the zero point, i.e. adds nothing once it is taken off.
    oh = (h + 2 * padding - kernel) // stride + 1
    ow = (w + 2 * padding - kernel) // stride + 1
    xs = np.pad(x.astype(np.int64) - A_ZERO_POINT, ((padding, padding), (padding, padding), (0, 0)))
    gi, go = c_in // group, c_out // group
    wg = wt.astype(np.int64).reshape(group, go, gi, kernel, kernel)
    acc = np.zeros((oh, ow, group, go), dtype=np.int64)
    for kh in range(kernel):
        for kw in range(kernel):
            patch = xs[kh:kh + stride * (oh - 1) + 1:stride, kw:kw + stride * (ow - 1) + 1:stride]
            acc += np.einsum("hwgi,goi->hwgo", patch.reshape(oh, ow, group, gi), wg[:, :, :, kh, kw])
    acc = acc.reshape(oh, ow, c_out) + bias
    multiplier = np.float64(A_SCALE) * w_scale.astype(np.float64) / np.float64(y_scale)
    y = np.clip(np.rint(acc * multiplier) + Y_ZERO_POINT, 0, 255).astype(np.uint8)
    return x, wt, bias, w_scale, y_scale, y


def make_conv_model(name, shape, wt, bias, w_scale, y_scale):
    _, h, w, c_in, c_out, group, kernel, stride, padding = shape
    oh = (h + 2 * padding - kernel) // stride + 1
    ow = (w + 2 * padding - kernel) // stride + 1

    def scalar(tensor_name, dtype, value):
        return helper.make_tensor(tensor_name, dtype, [], [value])

    inits = [
        scalar("x_scale", TensorProto.FLOAT, A_SCALE),
        scalar("x_zero_point", TensorProto.UINT8, A_ZERO_POINT),
        numpy_helper.from_array(wt, "w"),
        numpy_helper.from_array(w_scale, "w_scale"),
        numpy_helper.from_array(np.zeros(c_out, dtype=np.int8), "w_zero_point"),
        scalar("y_scale", TensorProto.FLOAT, float(y_scale)),
        scalar("y_zero_point", TensorProto.UINT8, Y_ZERO_POINT),
        numpy_helper.from_array(bias, "b"),
    ]
    node = helper.make_node(
        "QLinearConv",
        ["x", "x_scale", "x_zero_point", "w", "w_scale", "w_zero_point", "y_scale", "y_zero_point", "b"],
        ["y"],
        domain="com.microsoft",
        channels_last=1,
        group=group,
        kernel_shape=[kernel, kernel],
        pads=[padding] * 4,
        strides=[stride, stride],
    )
    graph = helper.make_graph(
        [node],
        f"qlinear_conv_{name.replace('/', '_')}",
        [helper.make_tensor_value_info("x", TensorProto.UINT8, [1, h, w, c_in])],
        [helper.make_tensor_value_info("y", TensorProto.UINT8, [1, oh, ow, c_out])],
        initializer=inits,
    )
    opsets = [helper.make_opsetid("", 13), helper.make_opsetid("com.microsoft", 1)]
    model = helper.make_model(graph, opset_imports=opsets, producer_name="ctq-peers")
    model.ir_version = 8
    onnx.checker.check_model(model)  # the com.microsoft node itself is not checked: onnx does not know it
    return model


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=pathlib.Path, default=pathlib.Path(__file__).resolve().parent / "models")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(1)
    for m, n, k in SHAPES:
        a = rng.integers(0, 256, (m, k), dtype=np.uint8)
        b = rng.integers(-127, 128, (k, n), dtype=np.int8)
        acc = (a[0].astype(np.int64) - A_ZERO_POINT) @ b.astype(np.int64)
        y0 = np.clip(np.rint(acc * (A_SCALE * B_SCALE / y_scale(k))) + Y_ZERO_POINT, 0, 255).astype(np.uint8)
        stem = args.out / f"{m}_{n}_{k}"
        onnx.save(make_model(m, n, k, b), f"{stem}.onnx")
        a.tofile(f"{stem}.a.bin")
        y0.tofile(f"{stem}.y0.bin")
    for shape in CONV_SHAPES:
        name = shape[0]
        x, wt, bias, w_scale, conv_y_scale, y = make_conv_case(*shape[1:], np.random.default_rng(1))
        stem = args.out / f"conv_{name.replace('/', '_')}"
        onnx.save(make_conv_model(name, shape, wt, bias, w_scale, conv_y_scale), f"{stem}.onnx")
        x.tofile(f"{stem}.x.bin")
        y.tofile(f"{stem}.y.bin")
    print(f"make_models: {len(SHAPES) + len(CONV_SHAPES)} models in {args.out}")


if __name__ == "__main__":
    main()
