"""Uploads of the Wallaroo tutorial models (third-party reference data read in place from
``$JOEY_SHARED_DATA``, default ../shared/data): sha, status and the reported signature, which must
agree with what onnxruntime itself reads from each file."""

import hashlib
import json

import pytest

from helpers import new_workspace, shared_file, upload, version_id_of, wait_version

pytestmark = pytest.mark.shared

CCFRAUD_SHA = "bc85ce596945f876256f41515c7501c399fd97ebcb9ab3dd41bf03f8937b4507"
ORT_DTYPES = {"tensor(float)": "float32", "tensor(double)": "float64", "tensor(int64)": "int64", "tensor(int32)": "int32"}


def ort_signature(path) -> dict:
    import onnxruntime as ort  # only the shared tests need it (compat/requirements.txt)

    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])

    def side(items):
        return [{"name": i.name, "dtype": ORT_DTYPES[i.type], "shape": [d if isinstance(d, int) else None for d in i.shape]}
                for i in items]

    return {"inputs": side(sess.get_inputs()), "outputs": side(sess.get_outputs())}


@pytest.fixture(scope="module")
def ws(server, admin_token) -> int:
    return new_workspace(server, admin_token, "shmodels")


def test_ccfraud_upload_reports_the_wallaroo_sha_and_schema(server, admin_token, ws):
    path = shared_file("ccfraud/ccfraud.onnx")
    # The guide's own metadata part (data/upload/onnx_file_upload.json), pointed at our workspace.
    meta = json.loads(shared_file("upload/onnx_file_upload.json").read_text())
    meta["workspace_id"] = ws
    r = upload(server, admin_token, ws, meta["name"], path.read_bytes(), "ccfraud.onnx", metadata=json.dumps(meta))
    got = wait_version(server, admin_token, version_id_of(r))
    v = got["model_version"]
    assert v["status"] == "ready" and v["error_summary"] is None, v
    assert v["file_info"]["sha"] == CCFRAUD_SHA == hashlib.sha256(path.read_bytes()).hexdigest()
    assert v["file_info"]["size"] == path.stat().st_size and v["file_info"]["file_name"] == "ccfraud.onnx"
    assert v["name"] == "api-sample-model" and v["visibility"] == "public"
    assert v["signature"] == {"inputs": [{"name": "dense_input", "dtype": "float32", "shape": [None, 29]}],
                              "outputs": [{"name": "dense_1", "dtype": "float32", "shape": [None, 1]}]}
    assert got["config"]["runtime"] == "onnx"


@pytest.mark.parametrize("rel, name, inputs, outputs", [
    ("houseprice/rf_model.onnx", "rf-model", [("float_input", [None, 18])], [("variable", [None, 1])]),
    ("imdb/embedder.onnx", "embedder", [("input", [None, 100])], [("flatten_1", [None, 800])]),
    ("imdb/sentiment_model.onnx", "sentiment", [("embeddings", [None, 800])], [("dense_1", [None, 1])]),
    ("multi_io/multi_io.onnx", "multi-io", [("input_1", [None, 10]), ("input_2", [None, 5])],
     [("output_1", [None, 3]), ("output_2", [None, 2])]),
])
def test_tutorial_models_load_and_report_their_schema(server, admin_token, ws, rel, name, inputs, outputs):
    path = shared_file(rel)
    v = wait_version(server, admin_token, version_id_of(upload(server, admin_token, ws, name, path.read_bytes(), path.name)))["model_version"]
    assert v["status"] == "ready", v
    assert v["file_info"]["sha"] == hashlib.sha256(path.read_bytes()).hexdigest()
    sig = v["signature"]
    assert [(i["name"], i["shape"]) for i in sig["inputs"]] == inputs
    assert [(o["name"], o["shape"]) for o in sig["outputs"]] == outputs
    assert sig == ort_signature(path)
