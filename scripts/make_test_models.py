#!/usr/bin/env python3
"""Build the tiny ONNX test models used by crates/joey-engine/tests.

Run with the project's ORT venv (scripts/install-ort.sh creates it):

    .ort/bin/python scripts/make_test_models.py

Only `onnx.helper` and numpy are used (no torch / sklearn), all weights are fixed
and deterministic, so re-running the script reproduces the committed files
byte-for-byte. The weights are documented here and re-derived in the Rust tests.
"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "crates", "joey-engine", "tests", "fixtures")
OPSET = [helper.make_opsetid("", 17)]
IR_VERSION = 8  # accepted by every onnxruntime >= 1.13
N = "N"  # symbolic batch dimension


def lin_weights(rows, cols, scale=10.0):
    """Deterministic weights: w[i, j] = (((i * cols + j) % 7) - 3) / scale (exact in float32 for scale 8/16)."""
    k = np.arange(rows * cols, dtype=np.int64).reshape(rows, cols)
    return (((k % 7) - 3) / scale).astype(np.float32)


def save(graph, name):
    model = helper.make_model(graph, opset_imports=OPSET, producer_name="joey-make_test_models")
    model.ir_version = IR_VERSION
    onnx.checker.check_model(model)
    path = os.path.join(OUT, name)
    with open(path, "wb") as f:
        f.write(model.SerializeToString())
    print(f"wrote {path} ({os.path.getsize(path)} bytes)")


def vi(name, elem, shape):
    return helper.make_tensor_value_info(name, elem, shape)


def tiny_ccfraud():
    # dense_1 = sigmoid(dense_input @ W + b), W[i, 0] = ((i % 7) - 3) / 8, b = 0.125
    w = lin_weights(29, 1, 8.0)
    b = np.array([0.125], dtype=np.float32)
    nodes = [
        helper.make_node("MatMul", ["dense_input", "W"], ["mm"]),
        helper.make_node("Add", ["mm", "B"], ["logit"]),
        helper.make_node("Sigmoid", ["logit"], ["dense_1"]),
    ]
    g = helper.make_graph(
        nodes, "tiny_ccfraud",
        [vi("dense_input", TensorProto.FLOAT, [N, 29])],
        [vi("dense_1", TensorProto.FLOAT, [N, 1])],
        initializer=[numpy_helper.from_array(w, "W"), numpy_helper.from_array(b, "B")],
    )
    save(g, "tiny_ccfraud.onnx")


def multi_io():
    # output_1 = input_1 @ W1 (W1 = lin_weights(10, 3, 8))
    # output_2 = input_2 @ W2 (W2 = lin_weights(5, 2, 8)) + 1.0
    w1 = lin_weights(10, 3, 8.0)
    w2 = lin_weights(5, 2, 8.0)
    one = np.array([1.0], dtype=np.float32)
    nodes = [
        helper.make_node("MatMul", ["input_1", "W1"], ["output_1"]),
        helper.make_node("MatMul", ["input_2", "W2"], ["mm2"]),
        helper.make_node("Add", ["mm2", "ONE"], ["output_2"]),
    ]
    g = helper.make_graph(
        nodes, "multi_io",
        [vi("input_1", TensorProto.FLOAT, [N, 10]), vi("input_2", TensorProto.FLOAT, [N, 5])],
        [vi("output_1", TensorProto.FLOAT, [N, 3]), vi("output_2", TensorProto.FLOAT, [N, 2])],
        initializer=[numpy_helper.from_array(w1, "W1"), numpy_helper.from_array(w2, "W2"),
                     numpy_helper.from_array(one, "ONE")],
    )
    save(g, "multi_io.onnx")


def dtypes():
    # Pass-through model covering every dtype family:
    #   f64_in  float64 [N,3]   -> Identity      -> f64_out  float64 [N,3]
    #   i32_in  int32   [N,2]   -> Add 1         -> i32_out  int32   [N,2]
    #   i64_in  int64   [N]     -> Identity      -> i64_out  int64   [N]      (rank 1)
    #   u8_in   uint8   [N,2]   -> Identity      -> u8_out   uint8   [N,2]
    #   b_in    bool    [N,2]   -> Not           -> b_out    bool    [N,2]
    #   s_in    string  [N,2]   -> Identity      -> s_out    string  [N,2]
    #   r3_in   float32 [N,4]   -> Reshape       -> r3_out   float32 [N,2,2]  (rank-3 output)
    #   cube_in float32 [N,2,2] -> Mul 2         -> cube_out float32 [N,2,2]  (rank-3 input)
    #   dyn_in  float32 [N,k]   -> Identity      -> dyn_out  float32 [N,k]    (dynamic per-row dim)
    i32_one = np.array([1], dtype=np.int32)
    two = np.array([2.0], dtype=np.float32)
    shape = np.array([-1, 2, 2], dtype=np.int64)
    nodes = [
        helper.make_node("Identity", ["f64_in"], ["f64_out"]),
        helper.make_node("Add", ["i32_in", "I32_ONE"], ["i32_out"]),
        helper.make_node("Identity", ["i64_in"], ["i64_out"]),
        helper.make_node("Identity", ["u8_in"], ["u8_out"]),
        helper.make_node("Not", ["b_in"], ["b_out"]),
        helper.make_node("Identity", ["s_in"], ["s_out"]),
        helper.make_node("Reshape", ["r3_in", "SHAPE"], ["r3_out"]),
        helper.make_node("Mul", ["cube_in", "TWO"], ["cube_out"]),
        helper.make_node("Identity", ["dyn_in"], ["dyn_out"]),
    ]
    g = helper.make_graph(
        nodes, "dtypes",
        [
            vi("f64_in", TensorProto.DOUBLE, [N, 3]),
            vi("i32_in", TensorProto.INT32, [N, 2]),
            vi("i64_in", TensorProto.INT64, [N]),
            vi("u8_in", TensorProto.UINT8, [N, 2]),
            vi("b_in", TensorProto.BOOL, [N, 2]),
            vi("s_in", TensorProto.STRING, [N, 2]),
            vi("r3_in", TensorProto.FLOAT, [N, 4]),
            vi("cube_in", TensorProto.FLOAT, [N, 2, 2]),
            vi("dyn_in", TensorProto.FLOAT, [N, "k"]),
        ],
        [
            vi("f64_out", TensorProto.DOUBLE, [N, 3]),
            vi("i32_out", TensorProto.INT32, [N, 2]),
            vi("i64_out", TensorProto.INT64, [N]),
            vi("u8_out", TensorProto.UINT8, [N, 2]),
            vi("b_out", TensorProto.BOOL, [N, 2]),
            vi("s_out", TensorProto.STRING, [N, 2]),
            vi("r3_out", TensorProto.FLOAT, [N, 2, 2]),
            vi("cube_out", TensorProto.FLOAT, [N, 2, 2]),
            vi("dyn_out", TensorProto.FLOAT, [N, "k"]),
        ],
        initializer=[numpy_helper.from_array(i32_one, "I32_ONE"), numpy_helper.from_array(two, "TWO"),
                     numpy_helper.from_array(shape, "SHAPE")],
    )
    save(g, "dtypes.onnx")


def chain():
    # step1: flatten_1 = relu(input @ A), A = lin_weights(4, 8, 8)         [N,4] -> [N,8]
    # step2: dense_1 = sigmoid(embeddings @ C), C = lin_weights(8, 1, 8)   [N,8] -> [N,1]
    a = lin_weights(4, 8, 8.0)
    c = lin_weights(8, 1, 8.0)
    g1 = helper.make_graph(
        [helper.make_node("MatMul", ["input", "A"], ["mm"]), helper.make_node("Relu", ["mm"], ["flatten_1"])],
        "step1",
        [vi("input", TensorProto.FLOAT, [N, 4])],
        [vi("flatten_1", TensorProto.FLOAT, [N, 8])],
        initializer=[numpy_helper.from_array(a, "A")],
    )
    save(g1, "step1.onnx")
    g2 = helper.make_graph(
        [helper.make_node("MatMul", ["embeddings", "C"], ["mm"]), helper.make_node("Sigmoid", ["mm"], ["dense_1"])],
        "step2",
        [vi("embeddings", TensorProto.FLOAT, [N, 8])],
        [vi("dense_1", TensorProto.FLOAT, [N, 1])],
        initializer=[numpy_helper.from_array(c, "C")],
    )
    save(g2, "step2.onnx")


def sequence_out():
    # A model whose output is not a tensor (a sequence of tensors), like skl2onnx's ZipMap output.
    seq_type = helper.make_tensor_sequence_value_info("seq", TensorProto.FLOAT, [N, 2])
    g = helper.make_graph(
        [helper.make_node("SequenceConstruct", ["x"], ["seq"])],
        "sequence_out",
        [vi("x", TensorProto.FLOAT, [N, 2])],
        [seq_type],
    )
    save(g, "sequence_out.onnx")


def corrupt():
    # Deterministic garbage that is not a valid ONNX protobuf.
    data = bytes((i * 37 + 11) % 256 for i in range(512))
    path = os.path.join(OUT, "corrupt.onnx")
    with open(path, "wb") as f:
        f.write(b"\xff\xff\xff\xffnot an onnx model\n" + data)
    print(f"wrote {path} ({os.path.getsize(path)} bytes)")


def main():
    os.makedirs(OUT, exist_ok=True)
    tiny_ccfraud()
    multi_io()
    dtypes()
    chain()
    sequence_out()
    corrupt()
    return 0


if __name__ == "__main__":
    sys.exit(main())
