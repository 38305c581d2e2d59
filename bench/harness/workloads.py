"""Models, request bodies and the (server x workload x concurrency) matrix.

Reference data is read in place from ../shared/data (never copied into the repository); the
generated bodies, the CNN and the float32 row files for the compute floor go to bench/out/data.
"""
import json
import os
from dataclasses import dataclass, field

import numpy as np

from common import OUT, REPO, SHARED, log

DATA = os.path.join(OUT, "data")
TINY_CCFRAUD = os.path.join(REPO, "crates", "joey-engine", "tests", "fixtures", "tiny_ccfraud.onnx")

# Servers in report order. joey-nolog is Joey started with JOEY_INFERENCE_LOGGING=off; joey-batch
# is Joey with dynamic batching on its models (main.JOEY_BATCHING).
SERVERS = ["joey", "joey-nolog", "joey-batch", "fastapi-1w", "fastapi-2w", "mlserver", "mlserver-sklearn", "floor-http"]


@dataclass
class Model:
    key: str          # pipeline / model name used on every server
    path: str
    input: str
    row_dims: list    # one row's shape, e.g. [29] or [3, 64, 64]
    output: str
    note: str = ""

    @property
    def row_len(self):
        return int(np.prod(self.row_dims))


@dataclass
class Workload:
    name: str
    model: str
    rows: int
    fmt: str                          # "json" (pandas-records) or "arrow" (Joey only)
    conc: dict                        # server -> concurrencies
    bodies: dict = field(default_factory=dict)   # "records" | "arrow" | "v2" -> file path
    f32: str = ""                     # float32 rows for the compute floor
    f32_rows: int = 0


SINGLE, BATCH = [1, 32], [1, 4]


def matrix():
    """The default matrix: 45 server x workload x concurrency cells; single-row workloads first, so
    the first repeat measures them before the big batches have grown the servers' heaps."""
    return [
        Workload("ccfraud-1", "ccfraud", 1, "json", {
            "joey": SINGLE, "joey-nolog": SINGLE, "joey-batch": SINGLE, "fastapi-1w": SINGLE,
            "fastapi-2w": SINGLE, "mlserver": SINGLE, "floor-http": SINGLE}),
        Workload("houseprice-1", "houseprice", 1, "json", {
            "joey": SINGLE, "fastapi-1w": SINGLE, "mlserver": SINGLE, "mlserver-sklearn": SINGLE}),
        Workload("cnn-1", "cnn", 1, "json", {"joey": SINGLE, "fastapi-1w": SINGLE, "mlserver": SINGLE}),
        Workload("ccfraud-10k-arrow", "ccfraud", 10254, "arrow", {"joey": BATCH, "joey-nolog": [4], "floor-http": BATCH}),
        Workload("ccfraud-10k-json", "ccfraud", 10254, "json", {
            "joey": BATCH, "joey-nolog": [4], "fastapi-1w": BATCH, "mlserver": BATCH}),
        Workload("houseprice-1k", "houseprice", 1000, "json", {
            "joey": BATCH, "fastapi-1w": [4], "mlserver": [4], "mlserver-sklearn": [4]}),
    ]


def make_cnn(path):
    """A small CNN built with onnx.helper: 3x(Conv3x3+Relu) with 2 MaxPools, GAP, Gemm -> 10 logits."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper
    rng = np.random.default_rng(7)
    inits, nodes, prev, cin = [], [], "input", 3
    for i, cout in enumerate([16, 32, 64]):
        w = (rng.standard_normal((cout, cin, 3, 3)) * np.sqrt(2.0 / (cin * 9))).astype(np.float32)
        inits += [numpy_helper.from_array(w, f"w{i}"), numpy_helper.from_array(np.zeros(cout, np.float32), f"b{i}")]
        nodes += [helper.make_node("Conv", [prev, f"w{i}", f"b{i}"], [f"c{i}"], pads=[1, 1, 1, 1]),
                  helper.make_node("Relu", [f"c{i}"], [f"r{i}"])]
        prev = f"r{i}"
        if i < 2:
            nodes.append(helper.make_node("MaxPool", [prev], [f"p{i}"], kernel_shape=[2, 2], strides=[2, 2]))
            prev = f"p{i}"
        cin = cout
    wf = (rng.standard_normal((10, 64)) * 0.1).astype(np.float32)
    inits += [numpy_helper.from_array(wf, "wf"), numpy_helper.from_array(np.zeros(10, np.float32), "bf")]
    nodes += [helper.make_node("GlobalAveragePool", [prev], ["gap"]),
              helper.make_node("Flatten", ["gap"], ["flat"]),
              helper.make_node("Gemm", ["flat", "wf", "bf"], ["logits"], transB=1)]
    graph = helper.make_graph(
        nodes, "bench_cnn",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", 3, 64, 64])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", 10])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="joey-bench")
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, path)


def _records(path):
    with open(path) as f:
        return [r["tensor"] for r in json.load(f)]


def _cycle(rows, n):
    return [rows[i % len(rows)] for i in range(n)]


def _dump(path, obj):
    with open(path, "w") as f:
        json.dump(obj, f, separators=(",", ":"))


def prepare():
    """Builds models + bodies; returns (models by key, workloads, notes). Skips what has no data."""
    os.makedirs(DATA, exist_ok=True)
    notes, models, rows = [], {}, {}
    cc = os.path.join(SHARED, "ccfraud")
    if os.path.isfile(os.path.join(cc, "ccfraud.onnx")):
        models["ccfraud"] = Model("ccfraud", os.path.join(cc, "ccfraud.onnx"), "dense_input", [29], "dense_1",
                                  "Wallaroo's ccfraud Keras MLP (../shared/data/ccfraud/ccfraud.onnx)")
        rows["ccfraud"] = _records(os.path.join(cc, "cc_data_1k.df.json"))
    else:
        notes.append(f"{SHARED} missing: ccfraud uses the tiny test fixture with synthetic rows, "
                     "no Arrow workload and no house-price model")
        models["ccfraud"] = Model("ccfraud", TINY_CCFRAUD, "dense_input", [29], "dense_1",
                                  "tiny_ccfraud.onnx test fixture (../shared missing)")
        rows["ccfraud"] = np.round(np.random.default_rng(1).standard_normal((1001, 29)), 6).tolist()
    hp = os.path.join(SHARED, "houseprice")
    if os.path.isfile(os.path.join(hp, "rf_model.onnx")):
        models["houseprice"] = Model("houseprice", os.path.join(hp, "rf_model.onnx"), "float_input", [18],
                                     "variable", "house-price RandomForestRegressor, 100 trees (skl2onnx)")
        rows["houseprice"] = _records(os.path.join(hp, "xtest-1k.df.json"))
    cnn_path = os.path.join(DATA, "cnn.onnx")
    if not os.path.isfile(cnn_path):
        make_cnn(cnn_path)
    models["cnn"] = Model("cnn", cnn_path, "input", [3, 64, 64], "logits",
                          "generated CNN: 3x(Conv3x3+Relu), 2 MaxPool, GAP, Gemm; [N,3,64,64] -> 10")
    rows["cnn"] = np.round(np.random.default_rng(3).random((1, 12288)), 4).tolist()

    out = []
    for w in matrix():
        m = models.get(w.model)
        if m is None or (w.fmt == "arrow" and not os.path.isfile(os.path.join(cc, "cc_data_10k.arrow"))):
            notes.append(f"workload {w.name} skipped: its data is missing")
            continue
        src = rows[w.model]  # single-row bodies use row 0 (houseprice: = xtest-1.df.json)
        req = _cycle(src, w.rows)
        base = os.path.join(DATA, w.name)
        if w.fmt == "arrow":
            w.bodies["arrow"] = os.path.join(cc, "cc_data_10k.arrow")
        else:
            _dump(base + ".records.json", [{"tensor": r} for r in req])
            w.bodies["records"] = base + ".records.json"
            flat = [v for r in req for v in r]
            _dump(base + ".v2.json", {"inputs": [{"name": m.input, "shape": [w.rows, *m.row_dims],
                                                  "datatype": "FP32", "data": flat}]})
            w.bodies["v2"] = base + ".v2.json"
        # The compute floor cycles over 1001 rows for single-row calls, or reuses the batch.
        floor_rows = src if w.rows == 1 and len(src) > 1 else req
        w.f32 = base + ".f32"
        np.asarray(floor_rows, dtype="<f4").tofile(w.f32)
        w.f32_rows = len(floor_rows)
        out.append(w)
    log(f"prepared {len(out)} workloads in {DATA}")
    return models, out, notes


def expected_first_output(model, first_row):
    """The reference output of the first row through onnxruntime-python (sanity check of answers)."""
    import onnxruntime as ort
    s = ort.InferenceSession(model.path, providers=["CPUExecutionProvider"])
    x = np.asarray([first_row], dtype=np.float32).reshape([1, *model.row_dims])
    return float(np.asarray(s.run(None, {model.input: x})[0]).ravel()[0])
