"""Inference at ``/v1/api/pipelines/infer/{deploy_id}-{id}/{pipeline}`` with ``requests``, the way
the Wallaroo guides and the SDK call it: pandas-records JSON and Arrow IPC files, with the SDK's
dataset query and without any, on the tiny committed ccfraud-shaped model. Multi-step, A/B, shadow
and validation pipelines are in test_inference_steps.py."""

import json

import numpy as np
import pyarrow as pa
import pytest

from conftest import assert_error_body, invite_user
from helpers import (ARROW, PANDAS, ROWS, SDK_QUERY, arrow_file, assert_engine_error, close32, deploy_pipeline,
                     infer_step, new_workspace, read_arrow, tensor_table, tiny_out, upload_ready)

METADATA_KEYS = {"last_model", "pipeline_version", "elapsed", "dropped", "partition"}


@pytest.fixture(scope="module")
def ws(server, admin_token) -> int:
    return new_workspace(server, admin_token, "infer")


@pytest.fixture(scope="module")
def tiny(server, admin_token, ws) -> dict:
    return upload_ready(server, admin_token, ws, "ccfraud", "tiny_ccfraud.onnx")


@pytest.fixture(scope="module")
def dep(server, admin_token, ws, tiny):
    d = deploy_pipeline(server, admin_token, ws, [infer_step(tiny)], prefix="ccfraud")
    yield d
    d.undeploy(admin_token)


# ---- pandas-records JSON ------------------------------------------------------------------------


@pytest.mark.parametrize("column", ["tensor", "dense_input"])
def test_single_row_nested_response_with_metadata(admin_token, dep, tiny, column):
    """No query parameters (the guides' curl): nested records, metadata included."""
    out = dep.records(admin_token, [{column: ROWS[0]}])[0]
    assert set(out) == {"time", "in", "out", "anomaly", "metadata"}, out
    assert isinstance(out["time"], int) and out["time"] > 1_600_000_000_000
    assert out["in"] == {column: ROWS[0]}
    assert list(out["out"]) == ["dense_1"] and len(out["out"]["dense_1"]) == 1
    assert close32(out["out"]["dense_1"][0], tiny_out(ROWS[0])), (out["out"], tiny_out(ROWS[0]))
    assert out["anomaly"] == {"count": 0}
    meta = out["metadata"]
    assert set(meta) == METADATA_KEYS, meta
    assert json.loads(meta["last_model"]) == {"model_name": "ccfraud", "model_sha": tiny["file_info"]["sha"]}
    assert meta["pipeline_version"] == dep.version
    assert isinstance(meta["elapsed"], list) and all(isinstance(e, int) and e >= 0 for e in meta["elapsed"])
    assert meta["dropped"] == [] and isinstance(meta["partition"], str) and meta["partition"]


def test_sdk_query_flattens_and_excludes_metadata(admin_token, dep):
    out = dep.records(admin_token, [{"tensor": r} for r in ROWS], query=SDK_QUERY)
    for row, rec in zip(ROWS, out):
        assert set(rec) == {"time", "in.tensor", "out.dense_1", "anomaly.count"}, rec
        assert rec["in.tensor"] == row and rec["anomaly.count"] == 0
        assert close32(rec["out.dense_1"][0], tiny_out(row))
    # Every row of one request carries the same time.
    assert len({rec["time"] for rec in out}) == 1


def test_dataset_selection(admin_token, dep):
    body = [{"dense_input": ROWS[1]}]
    nested_no_meta = dep.records(admin_token, body, query="dataset.exclude[]=metadata")[0]
    assert set(nested_no_meta) == {"time", "in", "out", "anomaly"}
    flat_with_meta = dep.records(admin_token, body, query="dataset.separator=.")[0]
    assert {f"metadata.{k}" for k in METADATA_KEYS} <= set(flat_with_meta), flat_with_meta
    assert {"time", "in.dense_input", "out.dense_1", "anomaly.count"} <= set(flat_with_meta)
    only = dep.records(admin_token, body, query="dataset[]=time&dataset[]=out&dataset.separator=.")[0]
    assert set(only) == {"time", "out.dense_1"}, only
    assert flat_with_meta["out.dense_1"] == nested_no_meta["out"]["dense_1"] == only["out.dense_1"]


def test_batch_keeps_row_order(admin_token, dep):
    rows = [[float(v) for v in np.random.default_rng(seed).normal(size=29)] for seed in range(50)]
    out = dep.records(admin_token, [{"tensor": r} for r in rows], query=SDK_QUERY)
    # The echo is the input as the engine read it: equal as float32 (the model's dtype; serde_json's
    # default float parsing may be 1 ulp off in float64).
    assert [np.float32(rec["in.tensor"]).tolist() for rec in out] == [np.float32(r).tolist() for r in rows]
    assert all(close32(rec["out.dense_1"][0], tiny_out(r)) for rec, r in zip(out, rows))


# ---- Arrow ---------------------------------------------------------------------------------------


def test_arrow_in_arrow_out(admin_token, dep):
    r = dep.infer(admin_token, arrow_file(tensor_table("tensor", ROWS, 29)), content_type=ARROW, accept=ARROW)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == ARROW
    t = read_arrow(r.content)
    assert t.num_rows == len(ROWS)
    assert t.column_names[:4] == ["time", "in", "out", "anomaly"], t.schema
    assert t.schema.field("time").type == pa.int64()
    assert t.schema.field("anomaly").type == pa.struct([pa.field("count", pa.uint32(), nullable=False)])
    rows = t.to_pylist()
    assert len({row["time"] for row in rows}) == 1
    for want, row in zip(ROWS, rows):
        assert np.allclose(row["in"]["tensor"], np.float32(want))
        assert len(row["out"]["dense_1"]) == 1 and close32(row["out"]["dense_1"][0], tiny_out(want))
        assert row["anomaly"]["count"] == 0


def test_arrow_with_the_sdk_query_is_flat(admin_token, dep):
    r = dep.infer(admin_token, arrow_file(tensor_table("tensor", ROWS, 29)), content_type=ARROW, accept=ARROW, query=SDK_QUERY)
    assert r.status_code == 200, r.text
    t = read_arrow(r.content)
    assert t.column_names == ["time", "in.tensor", "out.dense_1", "anomaly.count"], t.schema
    got = [v[0] for v in t.column("out.dense_1").to_pylist()]
    assert all(close32(g, tiny_out(w)) for g, w in zip(got, ROWS))


def test_arrow_in_json_out_and_json_in_arrow_out(admin_token, dep):
    r = dep.infer(admin_token, arrow_file(tensor_table("tensor", ROWS[:2], 29)), content_type=ARROW, query=SDK_QUERY)
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/json"), r.text
    assert [close32(rec["out.dense_1"][0], tiny_out(w)) for rec, w in zip(r.json(), ROWS)] == [True, True]
    r = dep.infer(admin_token, [{"tensor": ROWS[2]}], accept=ARROW)
    assert r.status_code == 200 and r.headers["content-type"] == ARROW, r.text
    assert close32(read_arrow(r.content).to_pylist()[0]["out"]["dense_1"][0], tiny_out(ROWS[2]))


# ---- who may call it ------------------------------------------------------------------------------


def test_service_account_token_may_infer_but_not_manage(server, dep):
    sa = server.service_token()
    assert dep.records(sa, [{"tensor": ROWS[0]}], query=SDK_QUERY)[0]["out.dense_1"]
    assert_error_body(server.post("/v1/api/workspaces/list", sa, json={}), 403)


def test_missing_or_bad_token_is_401_with_the_engine_body(dep):
    assert_engine_error(dep.infer(None, [{"tensor": ROWS[0]}]), 401)
    assert_engine_error(dep.infer("not-a-token", [{"tensor": ROWS[0]}]), 401)


def test_user_outside_the_workspace_gets_404(server, admin_token, dep):
    outsider = invite_user(server, admin_token, password="outside-pass-1")
    assert_engine_error(dep.infer(outsider.token(), [{"tensor": ROWS[0]}]), 404, "Deployment not found")
    # Once a member, the same user may infer.
    r = server.post("/v1/api/workspaces/add_user", admin_token, json={"workspace_id": dep.ws, "email": outsider.email})
    assert r.status_code == 200, r.text
    assert dep.records(outsider.token(), [{"tensor": ROWS[0]}])


def test_unknown_deployment_or_pipeline_is_404(server, admin_token, dep):
    for path in (f"/v1/api/pipelines/infer/{dep.pipeline}-987654/{dep.pipeline}", f"/v1/api/pipelines/infer/{dep.name}/other",
                 "/v1/api/pipelines/infer/nothing-1/nothing"):
        r = server.post(path, admin_token, data=json.dumps([{"tensor": ROWS[0]}]), headers={"Content-Type": PANDAS})
        assert_engine_error(r, 404, "Deployment not found")


# ---- bad requests ----------------------------------------------------------------------------------


@pytest.mark.parametrize("case, body, content_type, mentions", [
    ("short row", [{"tensor": ROWS[0][:5]}], PANDAS, ["dense_input", "29"]),
    ("one ragged row", [{"tensor": ROWS[0]}, {"tensor": ROWS[1][:28]}], PANDAS, ["dense_input", "29"]),
    ("unknown columns", [{"foo": ROWS[0], "bar": ROWS[1]}], PANDAS, ["dense_input"]),
    ("strings", [{"tensor": ["a"] * 29}], PANDAS, ["dense_input"]),
    ("malformed JSON", b'[{"tensor": [1.0, 2', PANDAS, ["JSON"]),
    ("not a list of rows", b'{"tensor": 5}', PANDAS, []),
    ("no rows", b"[]", PANDAS, []),
    ("invalid Arrow bytes", b"ARROW1\0\0not really arrow", ARROW, ["Arrow"]),
    ("JSON sent as Arrow", json.dumps([{"tensor": ROWS[0]}]).encode(), ARROW, ["Arrow"]),
])
def test_bad_input_is_400_with_a_reason(admin_token, dep, case, body, content_type, mentions):
    err = assert_engine_error(dep.infer(admin_token, body, content_type=content_type), 400)
    assert err["source"] == "engine"
    for word in mentions:
        assert word in err["error"], err
