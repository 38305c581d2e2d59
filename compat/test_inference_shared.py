"""The Wallaroo guides' inference flows end to end on the tutorial models and data (third-party
reference data read in place from ``$JOEY_SHARED_DATA``; see its README.md and spec behaviour.md
§14): upload, create, deploy, poll Running, infer pandas-records and Arrow, compare with the
recorded real engine responses and with onnxruntime, undeploy."""

import json

import numpy as np
import pyarrow as pa
import pytest

from helpers import (ARROW, PANDAS, Deployed, assert_engine_error, create_pipeline, deploy, deployment_status,
                     infer_step, new_workspace, read_arrow, set_tensor_fields, shared_file, upload_ready, wait_running)
from conftest import assert_error_body, unique

pytestmark = pytest.mark.shared


def load_json(rel):
    return json.loads(shared_file(rel).read_text())


def ort_outputs(rel: str, feeds: dict) -> dict:
    import onnxruntime as ort

    sess = ort.InferenceSession(str(shared_file(rel)), providers=["CPUExecutionProvider"])
    outs = sess.run(None, {k: np.asarray(v, dtype=np.float32) for k, v in feeds.items()})
    return {o.name: v for o, v in zip(sess.get_outputs(), outs)}


def f32(values) -> list:
    return np.asarray(values, dtype=np.float32).tolist()


@pytest.fixture(scope="module")
def ws(server, admin_token) -> int:
    return new_workspace(server, admin_token, "guides")


@pytest.fixture(scope="module")
def ccfraud(server, admin_token, ws):
    """The MLOps API guide: upload ccfraud.onnx, create a pipeline, deploy (SDK body), poll Running."""
    mv = upload_ready(server, admin_token, ws, "ccfraud", shared_file("ccfraud/ccfraud.onnx"))
    name = unique("ccfraud")
    created = create_pipeline(server, admin_token, ws, name, [infer_step(mv)])
    dep_id = deploy(server, admin_token, name, created["pipeline_variant_pk_id"], ws)
    d = Deployed(server, ws, name, created["pipeline_pk_id"], created["pipeline_variant_pk_id"], created["pipeline_variant_version"], dep_id)
    wait_running(server, admin_token, d.name)
    url = server.post("/v1/api/admin/get_pipeline_external_url", admin_token, json={"workspace_id": ws, "pipeline_name": name})
    assert url.status_code == 200 and url.json()["url"] == d.url, url.text
    yield d
    server.post("/v1/api/pipelines/undeploy", admin_token, json={"deployment_id": dep_id})


def test_ccfraud_pandas_records_1k(admin_token, ccfraud):
    rows = load_json("ccfraud/cc_data_1k.df.json")
    r = ccfraud.infer(admin_token, rows, query="dataset.exclude[]=metadata")
    assert r.status_code == 200, r.text[:2000]
    out = r.json()
    assert len(out) == len(rows) == 1001
    got = [rec["out"]["dense_1"] for rec in out]
    want = ort_outputs("ccfraud/ccfraud.onnx", {"dense_input": [row["tensor"] for row in rows]})["dense_1"]
    assert f32(got) == want.tolist()
    # The 2023 engine's recorded response to the same request.
    recorded = load_json("ccfraud/cc_data_1k.response.2023-nested.json")
    assert f32(got) == f32([rec["out"]["dense_1"] for rec in recorded])
    assert all(set(rec) == {"time", "in", "out", "anomaly"} and rec["anomaly"] == {"count": 0} for rec in out)
    assert len({rec["time"] for rec in out}) == 1
    assert sum(v[0] > 0.5 for v in got) == sum(v[0] > 0.5 for v in want.tolist())


def test_ccfraud_arrow_10k_matches_the_recorded_response(admin_token, ccfraud):
    body = shared_file("ccfraud/cc_data_10k.arrow").read_bytes()
    r = ccfraud.infer(admin_token, body, content_type=ARROW, accept=ARROW)
    assert r.status_code == 200, r.text[:2000]
    assert r.headers["content-type"] == ARROW
    got = read_arrow(r.content)
    recorded = pa.ipc.open_file(str(shared_file("ccfraud/cc_data_10k.response.arrow"))).read_all()
    assert got.num_rows == recorded.num_rows == 10254
    assert got.column_names == recorded.column_names, (got.schema, recorded.schema)
    for col in ("time", "out", "anomaly"):  # `in`: test_ccfraud_arrow_echo_has_the_recorded_type
        assert got.schema.field(col).type == recorded.schema.field(col).type, \
            f"{col}: got {got.schema.field(col).type}, recorded {recorded.schema.field(col).type}"
    assert f32(got.column("in").combine_chunks().field("tensor").to_pylist()) == \
           f32(recorded.column("in").combine_chunks().field("tensor").to_pylist())
    dense = [v[0] for v in got.column("out").combine_chunks().field("dense_1").to_pylist()]
    expected = load_json("ccfraud/cc_data_10k.expected_dense_1.json")["dense_1"]
    assert f32(dense) == f32(expected)
    assert f32(dense) == f32([v[0] for v in recorded.column("out").combine_chunks().field("dense_1").to_pylist()])
    assert sum(v > 0.5 for v in dense) == 21
    assert len(set(got.column("time").to_pylist())) == 1
    assert set(got.column("anomaly").combine_chunks().field("count").to_pylist()) == {0}


def test_ccfraud_arrow_echo_has_the_recorded_type(admin_token, ccfraud):
    body = shared_file("ccfraud/cc_data_10k.arrow").read_bytes()
    r = ccfraud.infer(admin_token, body, content_type=ARROW, accept=ARROW)
    assert r.status_code == 200, r.text[:2000]
    recorded = pa.ipc.open_file(str(shared_file("ccfraud/cc_data_10k.response.arrow"))).read_all()
    assert read_arrow(r.content).schema.field("in").type == recorded.schema.field("in").type


def test_ccfraud_api_1k_flattened_like_the_recorded_response(admin_token, ccfraud):
    rows = load_json("ccfraud/cc_data_api_1k.df.json")
    recorded = load_json("ccfraud/cc_data_api_1k.response.flattened.json")
    r = ccfraud.infer(admin_token, rows, query="dataset.separator=.")
    assert r.status_code == 200, r.text[:2000]
    out = r.json()
    assert len(out) == len(rows)
    for i, (rec, want) in enumerate(zip(out, recorded)):  # the recording stops after 1000 rows
        assert set(rec) == set(want), (i, sorted(rec), sorted(want))
        assert f32(rec["out.dense_1"]) == f32(want["out.dense_1"]), i
        assert f32(rec["in.dense_input"]) == f32(want["in.dense_input"]), i
        assert rec["anomaly.count"] == want["anomaly.count"] == 0
        assert json.loads(rec["metadata.last_model"])["model_sha"] == json.loads(want["metadata.last_model"])["model_sha"]
        assert rec["metadata.pipeline_version"] == ccfraud.version and rec["metadata.dropped"] == []
        assert len(rec["metadata.elapsed"]) == len(want["metadata.elapsed"])
    assert len({rec["time"] for rec in out}) == 1


def test_imdb_two_step_chain(server, admin_token, ws):
    embedder = upload_ready(server, admin_token, ws, "embedder-o", shared_file("imdb/embedder.onnx"))
    sentiment = upload_ready(server, admin_token, ws, "smodel-o", shared_file("imdb/sentiment_model.onnx"))
    set_tensor_fields(server, admin_token, embedder, ["tensor"])
    set_tensor_fields(server, admin_token, sentiment, ["flatten_1"])
    name = unique("imdb")
    created = create_pipeline(server, admin_token, ws, name, [infer_step(embedder), infer_step(sentiment)])
    dep_id = deploy(server, admin_token, name, created["pipeline_variant_pk_id"], ws)
    d = Deployed(server, ws, name, created["pipeline_pk_id"], created["pipeline_variant_pk_id"], created["pipeline_variant_version"], dep_id)
    wait_running(server, admin_token, d.name)
    rows = load_json("imdb/singleton.df.json")
    out = d.records(admin_token, rows)
    hidden = ort_outputs("imdb/embedder.onnx", {"input": [rows[0]["tensor"]]})["flatten_1"]
    want = ort_outputs("imdb/sentiment_model.onnx", {"embeddings": hidden})["dense_1"]
    assert list(out[0]["out"]) == ["dense_1"]
    assert f32(out[0]["out"]["dense_1"]) == want[0].tolist()
    assert json.loads(out[0]["metadata"]["last_model"])["model_name"] == "smodel-o"
    d.undeploy(admin_token)


def test_house_price_random_forest(server, admin_token, ws):
    mv = upload_ready(server, admin_token, ws, "housepricesagacontrol", shared_file("houseprice/rf_model.onnx"))
    name = unique("houseprice")
    created = create_pipeline(server, admin_token, ws, name, [infer_step(mv)])
    dep_id = deploy(server, admin_token, name, created["pipeline_variant_pk_id"], ws)
    d = Deployed(server, ws, name, created["pipeline_pk_id"], created["pipeline_variant_pk_id"], created["pipeline_variant_version"], dep_id)
    wait_running(server, admin_token, d.name)
    rows = load_json("houseprice/xtest-1k.df.json")
    out = d.records(admin_token, rows, query="dataset[]=*&dataset.exclude[]=metadata&dataset.separator=.")
    want = ort_outputs("houseprice/rf_model.onnx", {"float_input": [row["tensor"] for row in rows]})["variable"]
    got = np.asarray([rec["out.variable"] for rec in out], dtype=np.float64)
    assert got.shape == want.shape == (1000, 1)
    assert np.allclose(got, want.astype(np.float64), rtol=1e-6, atol=0), np.max(np.abs(got - want) / np.abs(want))
    d.undeploy(admin_token)


def test_multi_io_notebook_request(server, admin_token, ws):
    mv = upload_ready(server, admin_token, ws, "multi-io", shared_file("multi_io/multi_io.onnx"))
    name = unique("multiio")
    created = create_pipeline(server, admin_token, ws, name, [infer_step(mv)])
    dep_id = deploy(server, admin_token, name, created["pipeline_variant_pk_id"], ws)
    d = Deployed(server, ws, name, created["pipeline_pk_id"], created["pipeline_variant_pk_id"], created["pipeline_variant_version"], dep_id)
    wait_running(server, admin_token, d.name)
    ref = load_json("multi_io/multi_io.seed1.request_and_expected.json")
    out = d.records(admin_token, ref["request_pandas_records"], query="dataset[]=*&dataset.exclude[]=metadata&dataset.separator=.")
    for rec, want in zip(out, ref["expected_out"]):
        assert f32(rec["out.output_1"]) == f32(want["output_1"]) and f32(rec["out.output_2"]) == f32(want["output_2"])
    d.undeploy(admin_token)


def test_undeploy_ends_the_guide(server, admin_token, ccfraud):
    """Runs last in this module: the guide's final undeploy, then status and inference are 404."""
    rows = load_json("ccfraud/cc_data_api_1k.df.json")[:1]
    assert ccfraud.records(admin_token, rows)
    ccfraud.undeploy(admin_token)
    assert_error_body(deployment_status(server, admin_token, ccfraud.name), 404)
    r = ccfraud.infer(admin_token, rows, content_type=PANDAS)
    assert r.json() == {"code": 404, "status": "error", "error": "Deployment not found", "source": "platform"}
    assert_engine_error(r, 404)
