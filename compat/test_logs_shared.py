"""The inference logs of the guides' ccfraud flow (third-party reference data read in place from
``$JOEY_SHARED_DATA``): upload ccfraud.onnx, deploy, infer cc_data_1k.df.json (1001 rows, pandas
records) and cc_data_10k.arrow (10254 rows), then read every row back through the topic API (pages
of 1000, both orders, a time range) and through pipelines/get_logs (JSON and Arrow): each logged
``out.dense_1`` equals the inference response row for row (float32) and, for the Arrow batch, the
real engine's recorded numbers (cc_data_10k.expected_dense_1.json)."""

import json

import numpy as np
import pyarrow as pa
import pytest

from helpers import (ARROW, SDK_QUERY, check_chain, deploy_pipeline, get_logs, infer_step, iso, log_pages, new_workspace,
                     read_arrow, shared_file, topic_of, upload_ready, wait_logged)

pytestmark = pytest.mark.shared

FLAT = {"dataset.separator": "."}
N_JSON, N_ARROW = 1001, 10254


def f32(values) -> np.ndarray:
    return np.asarray(values, dtype=np.float32)


def column(pages: list, name: str) -> list:
    return [v for p in pages for v in p.table.column(name).to_pylist()]


@pytest.fixture(scope="module")
def flow(server, admin_token):
    """Deploys ccfraud.onnx and sends the 1k pandas-records and the 10k Arrow requests; waits for the log."""
    ws = new_workspace(server, admin_token, "logs-ccfraud")
    mv = upload_ready(server, admin_token, ws, "ccfraud", shared_file("ccfraud/ccfraud.onnx"))
    d = deploy_pipeline(server, admin_token, ws, [infer_step(mv)], prefix="ccfraud-logs")
    rows = json.loads(shared_file("ccfraud/cc_data_1k.df.json").read_text())
    r = d.infer(admin_token, rows, query=SDK_QUERY)
    assert r.status_code == 200, r.text[:2000]
    json_out = r.json()
    assert len(json_out) == len(rows) == N_JSON
    table = pa.ipc.open_file(str(shared_file("ccfraud/cc_data_10k.arrow"))).read_all()
    r = d.infer(admin_token, shared_file("ccfraud/cc_data_10k.arrow").read_bytes(), content_type=ARROW, accept=ARROW, query=SDK_QUERY)
    assert r.status_code == 200, r.text[:2000]
    arrow_out = read_arrow(r.content)
    assert arrow_out.num_rows == table.num_rows == N_ARROW
    topic = topic_of(server, admin_token, d.pipeline_pk_id)
    wait_logged(server, admin_token, topic, N_JSON + N_ARROW, {"page_size": 5000}, timeout=60)
    yield {
        "d": d, "ws": ws, "topic": topic, "rows": rows, "table": table,
        "json_time": json_out[0]["time"], "arrow_time": arrow_out.column("time")[0].as_py(),
        # out.dense_1 of every row, in request order, as the inference answered it.
        "dense_1": f32([rec["out.dense_1"] for rec in json_out] + arrow_out.column("out.dense_1").to_pylist()),
        "in": f32([row["tensor"] for row in rows] + table.column("tensor").to_pylist()),
    }
    d.undeploy(admin_token)


def expected_10k() -> np.ndarray:
    return f32(json.loads(shared_file("ccfraud/cc_data_10k.expected_dense_1.json").read_text())["dense_1"])


def test_pages_of_1000_oldest_first(server, admin_token, flow):
    pages = log_pages(server, admin_token, flow["topic"], {"page_size": 1000, **FLAT})
    check_chain(pages, 1000)
    # 1000 + 1 pandas rows (the page ends where the Arrow batch's schema starts), then 10 x 1000 + 254.
    assert [p.table.num_rows for p in pages] == [1000, 1] + [1000] * 10 + [254]
    assert [p.status for p in pages] == ["RecordLimited", "SchemaChange"] + ["RecordLimited"] * 10 + ["All"]
    dense = f32(column(pages, "out.dense_1"))
    assert np.array_equal(dense, flow["dense_1"])
    assert np.array_equal(dense[N_JSON:, 0], expected_10k())
    assert np.array_equal(f32(column(pages, "in.tensor")), flow["in"])
    times = column(pages, "time")
    assert times == [flow["json_time"]] * N_JSON + [flow["arrow_time"]] * N_ARROW
    assert all(c == 0 for c in column(pages, "anomaly.count"))


def test_pages_of_1000_newest_first(server, admin_token, flow):
    pages = log_pages(server, admin_token, flow["topic"], {"page_size": 1000, "order": "desc", **FLAT})
    check_chain(pages, 1000)
    assert [p.table.num_rows for p in pages] == [1000] * 10 + [254, 1000, 1]
    dense = f32(column(pages, "out.dense_1"))
    assert np.array_equal(dense, flow["dense_1"][::-1])
    assert np.array_equal(dense[:N_ARROW, 0], expected_10k()[::-1])
    assert np.array_equal(f32(column(pages, "in.tensor")), flow["in"][::-1])


def test_time_range_of_the_arrow_batch(server, admin_token, flow):
    assert flow["arrow_time"] > flow["json_time"]
    pages = log_pages(server, admin_token, flow["topic"], {"time.start": iso(flow["arrow_time"]), "page_size": 4000, **FLAT})
    assert [p.table.num_rows for p in pages] == [4000, 4000, 2254]
    assert np.array_equal(f32(column(pages, "out.dense_1"))[:, 0], expected_10k())
    pages = log_pages(server, admin_token, flow["topic"], {"time.end": iso(flow["arrow_time"]), "page_size": 4000, **FLAT})
    assert [p.table.num_rows for p in pages] == [N_JSON]


def get_logs_all(server, token, body: dict, accept=None) -> list:
    """get_logs pages, cursor chained: [(rows as dicts, status)]."""
    out, cursor = [], None
    while True:
        r = get_logs(server, token, {**body, **({"cursor": cursor} if cursor else {})}, accept=accept)
        assert r.status_code == 200, r.text[:2000]
        rows = read_arrow(r.content).to_pylist() if accept == ARROW else r.json()
        status, cursor = r.headers["x-iteration-status"], r.headers.get("x-iteration-cursor")
        out.append((rows, status))
        if status == "All":
            assert cursor is None
            return out
        assert cursor and rows and len(out) < 100


@pytest.mark.parametrize("order", ["asc", "desc"])
def test_get_logs_json_and_arrow_give_the_same_rows(server, admin_token, flow, order):
    body = {"pipeline_name": flow["d"].pipeline, "workspace_id": flow["ws"], "order": order}
    as_json = get_logs_all(server, admin_token, body)
    as_arrow = get_logs_all(server, admin_token, body, accept=ARROW)
    assert [(len(rows), s) for rows, s in as_json] == [(len(rows), s) for rows, s in as_arrow]
    # The default page of 1000 rows.
    assert max(len(rows) for rows, _ in as_json) == 1000 and len(as_json) == 13
    j = [rec for rows, _ in as_json for rec in rows]
    a = [rec for rows, _ in as_arrow for rec in rows]
    want = flow["dense_1"] if order == "asc" else flow["dense_1"][::-1]
    for got in (j, a):
        assert np.array_equal(f32([rec["out"]["dense_1"] for rec in got]), want)
        assert np.array_equal(f32([rec["in"]["tensor"] for rec in got]), flow["in"] if order == "asc" else flow["in"][::-1])
    assert [rec["time"] for rec in j] == [rec["time"] for rec in a]
    assert [rec["anomaly"] for rec in j] == [rec["anomaly"] for rec in a] == [{"count": 0}] * (N_JSON + N_ARROW)
