"""Inference logs on the tiny committed fixtures: every inference a deployment serves is read back
through the Plateau-style log API the SDK uses (``plateau/get_topic_name``, ``GET /v1/logs/topic/{topic}``,
``POST /v1/logs/topic/{topic}/records``) and through ``POST /v1/api/pipelines/get_logs``, and must
match what the inference returned row for row: in both orders, across pages, with time ranges,
dataset selection and the separator; schema changes end a page; failed inferences land in
``<topic>-failures``; membership and token kinds guard every call (spec mlops-api.md §6.6,
behaviour.md §9)."""

from __future__ import annotations

import datetime
import json
import socket
import time
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pytest

from conftest import JoeyServer, assert_error_body, invite_user, unique
from helpers import (ARROW, PANDAS, SDK_QUERY, arrow_file, assert_engine_error, check_chain, close32, create_pipeline,
                     deploy, deploy_pipeline, get_logs, infer_step, iso, log_page, log_pages, log_records, log_rows,
                     new_workspace, read_arrow, tensor_table, tiny_out, topic_of, upload_ready, wait_logged, wait_running)

FLAT = {"dataset.separator": "."}
COLUMNS = ["time", "in.tensor", "out.dense_1", "anomaly.count"]
METADATA = ["metadata.last_model", "metadata.pipeline_version", "metadata.elapsed", "metadata.dropped", "metadata.partition"]


def f32(values) -> list:
    return np.asarray(values, dtype=np.float32).tolist()


def flatten(rec: dict) -> dict:
    """A nested record (``{"in": {"tensor": ..}, ...}``) as flat dotted keys; flat ones stay as they are."""
    out = {}
    for k, v in rec.items():
        if isinstance(v, dict) and k != "time":
            out.update({f"{k}.{kk}": vv for kk, vv in v.items()})
        else:
            out[k] = v
    return out


def assert_same_rows(got: list, want: list, what: str = "") -> None:
    """Log rows equal to inference rows: same time and anomaly count, in.tensor and out.dense_1 equal as float32."""
    assert len(got) == len(want), f"{what}: {len(got)} rows, expected {len(want)}"
    for i, (g, w) in enumerate(zip(got, want)):
        g, w = flatten(g), flatten(w)
        ctx = f"{what} row {i}"
        assert g["time"] == w["time"], (ctx, g["time"], w["time"])
        assert f32(g["in.tensor"]) == f32(w["in.tensor"]), ctx
        assert f32(g["out.dense_1"]) == f32(w["out.dense_1"]), (ctx, g["out.dense_1"], w["out.dense_1"])
        assert g["anomaly.count"] == w["anomaly.count"], ctx


# ---- one deployment, six requests -------------------------------------------------------------------


@dataclass
class Sent:
    """One inference request and its response rows (flat)."""

    kind: str  # "json" or "arrow"
    inputs: list
    rows: list = field(default_factory=list)

    @property
    def time(self) -> int:
        return self.rows[0]["time"]


# (kind, number of rows, query, Accept): single- and multi-row requests, pandas-records JSON and
# Arrow, nested, flat and SDK-style responses. The JSON ones log `in.tensor` as list<double>, the
# Arrow ones (fixed_size_list<float32>[29] with tensor_type metadata) as list<float>.
REQUESTS = [
    ("json", 3, SDK_QUERY, None),
    ("json", 1, None, None),
    ("json", 4, "dataset.exclude[]=metadata", ARROW),
    ("arrow", 2, None, ARROW),
    ("arrow", 1, SDK_QUERY, None),
    ("json", 2, "dataset.separator=.", None),
]


def response_rows(r) -> list:
    assert r.status_code == 200, r.text[:2000]
    if r.headers["content-type"] == ARROW:
        return [flatten(rec) for rec in read_arrow(r.content).to_pylist()]
    return [flatten(rec) for rec in r.json()]


@pytest.fixture(scope="module")
def ws(server, admin_token) -> int:
    return new_workspace(server, admin_token, "logs")


@pytest.fixture(scope="module")
def tiny(server, admin_token, ws) -> dict:
    return upload_ready(server, admin_token, ws, "ccfraud", "tiny_ccfraud.onnx")


@pytest.fixture(scope="module")
def flow(server, admin_token, ws, tiny):
    """Deploys tiny_ccfraud and sends REQUESTS (distinct random rows); waits until the log holds them."""
    d = deploy_pipeline(server, admin_token, ws, [infer_step(tiny)], prefix="logs")
    rng = np.random.default_rng(20240611)
    sent = []
    for kind, n, query, accept in REQUESTS:
        inputs = [[float(v) for v in rng.normal(size=29)] for _ in range(n)]
        if kind == "json":
            r = d.infer(admin_token, [{"tensor": row} for row in inputs], query=query, accept=accept)
        else:
            r = d.infer(admin_token, arrow_file(tensor_table("tensor", inputs, 29)), content_type=ARROW, query=query, accept=accept)
        s = Sent(kind, inputs, response_rows(r))
        assert len(s.rows) == n and len({row["time"] for row in s.rows}) == 1
        for row, x in zip(s.rows, inputs):
            assert close32(row["out.dense_1"][0], tiny_out(x))
            assert f32(row["in.tensor"]) == f32(x)
        sent.append(s)
        time.sleep(0.003)  # distinct request times (ms), for the time-range tests
    times = [s.time for s in sent]
    assert times == sorted(times) and len(set(times)) == len(times), times
    topic = topic_of(server, admin_token, d.pipeline_pk_id)
    wait_logged(server, admin_token, topic, sum(len(s.rows) for s in sent))
    yield d, topic, sent
    d.undeploy(admin_token)


def all_rows(sent: list) -> list:
    return [row for s in sent for row in s.rows]


def kind_of(sent: list) -> dict:
    """time -> "json"/"arrow" of each request."""
    return {s.time: s.kind for s in sent}


def test_topic_name_and_partitions(server, admin_token, ws, flow):
    d, topic, sent = flow
    assert topic == f"workspace-{ws}-pipeline-{d.pipeline}-inference"
    r = server.get(f"/v1/logs/topic/{topic}", admin_token)
    assert r.status_code == 200, r.text
    parts = r.json()["partitions"]
    assert len(parts) == 1, parts
    (name, span), = parts.items()
    assert isinstance(name, str) and name
    # Offsets of the partition's rows: the first is 0, `end` one past the last (what the SDK's
    # get_raw_logs assumes; see test_sdk_get_raw_logs_returns_the_newest_limit_rows).
    n = len(all_rows(sent))
    assert span == {"start": 0, "end": n}, span
    # The same name through the pipeline-name variant.
    r = server.post("/v1/api/plateau/get_pipeline_topic_name", admin_token, json={"pipeline_name": d.pipeline, "workspace_id": ws})
    assert r.status_code == 200 and r.json() == {"topic_name": topic}, r.text


def test_logs_match_the_inference_row_for_row(server, admin_token, flow):
    d, topic, sent = flow
    pages = log_pages(server, admin_token, topic, {"page_size": 100, **FLAT})
    check_chain(pages, 100)
    for p in pages:
        assert p.table.column_names == COLUMNS, p.table.schema
        assert p.table.schema.field("time").type == pa.int64()
        assert p.table.schema.field("anomaly.count").type == pa.uint32()
        assert p.table.schema.field("out.dense_1").type.value_type == pa.float32()
    assert_same_rows(log_rows(pages), all_rows(sent), "asc")
    # Oldest first is also the default order.
    assert log_rows(log_pages(server, admin_token, topic, FLAT)) == log_rows(pages)


def test_desc_is_newest_first(server, admin_token, flow):
    d, topic, sent = flow
    pages = log_pages(server, admin_token, topic, {"page_size": 100, "order": "desc", **FLAT})
    check_chain(pages, 100)
    assert_same_rows(log_rows(pages), all_rows(sent)[::-1], "desc")


@pytest.mark.parametrize("order", ["asc", "desc"])
def test_pages_of_three_give_every_row_once(server, admin_token, flow, order):
    d, topic, sent = flow
    pages = log_pages(server, admin_token, topic, {"page_size": 3, "order": order, **FLAT})
    check_chain(pages, 3)
    want = all_rows(sent) if order == "asc" else all_rows(sent)[::-1]
    assert_same_rows(log_rows(pages), want, order)
    # A page holds rows of one schema: never JSON- and Arrow-submitted requests together.
    kinds = kind_of(sent)
    for p in pages:
        assert len({kinds[row["time"]] for row in p.rows}) == 1, [row["time"] for row in p.rows]
    # The iterator is the previous page's `next`, as the SDK sends it: a page read again with the
    # same iterator is the same page.
    again = log_page(server, admin_token, topic, {"page_size": 3, "order": order, **FLAT}, pages[0].next)
    assert again.rows == pages[1].rows and again.status == pages[1].status and again.next == pages[1].next


@pytest.mark.parametrize("order", ["asc", "desc"])
def test_time_range_selects_the_requests_inside_it(server, admin_token, flow, order):
    d, topic, sent = flow
    # [time of request 1, time of request 4): requests 1, 2 and 3, across a JSON/Arrow schema change.
    start, end = sent[1].time, sent[4].time
    want = [row for s in sent[1:4] for row in s.rows]
    want = want if order == "asc" else want[::-1]
    for page_size in (100, 3):
        params = {"time.start": iso(start), "time.end": iso(end), "page_size": page_size, "order": order, **FLAT}
        pages = log_pages(server, admin_token, topic, params)
        check_chain(pages, page_size)
        assert_same_rows(log_rows(pages), want, f"{order} page_size={page_size}")
    # Other spellings of the same instants: Z, another UTC offset.
    other = log_rows(log_pages(server, admin_token, topic, {"time.start": iso(start, z=True), "order": order,
                                                            "time.end": iso(end, datetime.timezone(datetime.timedelta(hours=5, minutes=30))), **FLAT}))
    assert_same_rows(other, want, "Z/+05:30")
    # Open-ended ranges.
    after = log_rows(log_pages(server, admin_token, topic, {"time.start": iso(sent[4].time), **FLAT}))
    assert_same_rows(after, [row for s in sent[4:] for row in s.rows], "time.start only")
    before = log_rows(log_pages(server, admin_token, topic, {"time.end": iso(sent[1].time), **FLAT}))
    assert_same_rows(before, sent[0].rows, "time.end only")
    # A range around no request is empty.
    empty = log_pages(server, admin_token, topic, {"time.start": iso(sent[0].time - 60_000), "time.end": iso(sent[0].time - 1000)})
    assert len(empty) == 1 and empty[0].table.num_rows == 0 and empty[0].status == "All"


@pytest.mark.parametrize("bound", ["time.start", "time.end"])
def test_sub_millisecond_bounds(server, admin_token, flow, bound):
    """Row times are whole milliseconds; a bound between two milliseconds (the SDK sends isoformat()
    with microseconds) must not move a row across it. Request 2 at t: before t + 0.5 ms."""
    d, topic, sent = flow
    t = sent[2].time
    half = datetime.datetime.fromtimestamp(t // 1000, tz=datetime.timezone.utc).replace(microsecond=(t % 1000) * 1000 + 500)
    rows = log_rows(log_pages(server, admin_token, topic, {bound: half.isoformat(), **FLAT}))
    want = sent[3:] if bound == "time.start" else sent[:3]
    assert sorted({r["time"] for r in rows}) == [s.time for s in want], half.isoformat()


def test_metadata_columns_when_asked_for(server, admin_token, tiny, flow):
    d, topic, sent = flow
    partition, = server.get(f"/v1/logs/topic/{topic}", admin_token).json()["partitions"]
    pages = log_pages(server, admin_token, topic, [("dataset[]", "time"), ("dataset[]", "out"), ("dataset[]", "metadata"),
                                                   ("dataset.separator", ".")])
    rows = log_rows(pages)
    assert len(rows) == len(all_rows(sent))
    for p in pages:
        assert p.table.column_names == ["time", "out.dense_1"] + METADATA, p.table.schema
    for row, want in zip(rows, all_rows(sent)):
        assert row["time"] == want["time"] and f32(row["out.dense_1"]) == f32(want["out.dense_1"])
        assert row["metadata.partition"] == partition
        assert row["metadata.pipeline_version"] == d.version
        assert json.loads(row["metadata.last_model"]) == {"model_name": "ccfraud", "model_sha": tiny["file_info"]["sha"]}
        assert row["metadata.dropped"] == []
        assert len(row["metadata.elapsed"]) == 2 and all(isinstance(e, int) and e >= 0 for e in row["metadata.elapsed"])
        # The requests answered with metadata (1, 3 and 5) answered the very metadata that was logged.
        if "metadata.partition" in want:
            assert {k: row[k] for k in METADATA} == {k: want[k] for k in METADATA}, (row, want)
    assert sum("metadata.partition" in w for w in all_rows(sent)) == 5
    # metadata alone, and one metadata path alone.
    meta = log_pages(server, admin_token, topic, {"dataset[]": "metadata", **FLAT})
    assert all(p.table.column_names == METADATA for p in meta)
    assert log_rows(meta) == [{k: r[k] for k in METADATA} for r in rows]
    only = log_rows(log_pages(server, admin_token, topic, {"dataset[]": "metadata.partition", **FLAT}))
    assert only == [{"metadata.partition": partition}] * len(rows)
    # Left out by default, and by the SDK's own exclusion.
    for params in ({"dataset[]": "*", **FLAT}, [("dataset[]", "*"), ("dataset.exclude[]", "metadata"), ("dataset.separator", ".")]):
        assert all(p.table.column_names == COLUMNS for p in log_pages(server, admin_token, topic, params)), params


def test_without_a_separator_columns_are_nested(server, admin_token, flow):
    d, topic, sent = flow
    nested = log_pages(server, admin_token, topic, {"page_size": 100})
    flat = log_pages(server, admin_token, topic, {"page_size": 100, **FLAT})
    for p in nested:
        assert p.table.column_names == ["time", "in", "out", "anomaly"], p.table.schema
        assert pa.types.is_struct(p.table.schema.field("out").type)
        assert p.table.schema.field("anomaly").type == pa.struct([pa.field("count", pa.uint32(), nullable=False)])
    assert [flatten(r) for r in log_rows(nested)] == log_rows(flat)
    assert_same_rows(log_rows(nested), all_rows(sent), "nested")
    # dataset selection works on the nested layout too.
    outs = log_rows(log_pages(server, admin_token, topic, [("dataset[]", "time"), ("dataset[]", "out.dense_1")]))
    assert [set(r) for r in outs] == [{"time", "out"}] * len(outs)
    assert [f32(r["out"]["dense_1"]) for r in outs] == [f32(r["out.dense_1"]) for r in all_rows(sent)]


def test_unknown_topic_of_a_member_workspace_is_empty(server, admin_token, ws):
    topic = f"workspace-{ws}-pipeline-{unique('none')}-inference"
    pages = log_pages(server, admin_token, topic)
    assert len(pages) == 1 and pages[0].table.num_rows == 0 and pages[0].status == "All"
    r = server.get(f"/v1/logs/topic/{topic}", admin_token)
    assert r.status_code == 200 and r.json() == {"partitions": {}}, r.text


# ---- pipelines/get_logs -------------------------------------------------------------------------------


def get_logs_pages(server, token, body: dict, accept=None, query=None) -> list:
    """Every page of get_logs, passing `x-iteration-cursor` back as `cursor`: [(rows, status)]."""
    pages, cursor = [], None
    while True:
        r = get_logs(server, token, {**body, **({"cursor": cursor} if cursor else {})}, accept=accept, query=query)
        assert r.status_code == 200, r.text[:2000]
        status = r.headers.get("x-iteration-status")
        assert status in ("All", "RecordLimited", "ByteLimited", "SchemaChange"), r.headers
        cursor = r.headers.get("x-iteration-cursor")
        assert (cursor is None) == (status == "All"), r.headers
        if accept == ARROW:
            assert r.headers["content-type"] == ARROW, r.headers
            rows = read_arrow(r.content).to_pylist()
        else:
            assert r.headers["content-type"].startswith("application/json"), r.headers
            rows = r.json()
        pages.append((rows, status))
        if status == "All":
            return pages
        assert rows and len(pages) < 1000


@pytest.mark.parametrize("accept", [None, PANDAS, ARROW])
@pytest.mark.parametrize("order", ["asc", "desc", "Asc", "Desc"])
def test_get_logs_pages_with_the_cursor(server, admin_token, ws, flow, accept, order):
    d, topic, sent = flow
    body = {"pipeline_name": d.pipeline, "workspace_id": ws, "order": order, "page_size": 5}
    pages = get_logs_pages(server, admin_token, body, accept=accept)
    rows = [r for rows, _ in pages for r in rows]
    want = all_rows(sent) if order.lower() == "asc" else all_rows(sent)[::-1]
    assert_same_rows(rows, want, f"get_logs {order} {accept}")
    for (page, status), _ in zip(pages, pages[1:]):
        assert status in ("RecordLimited", "SchemaChange") and len(page) <= 5
        if status == "RecordLimited":
            assert len(page) == 5
    # Nested records like the inference response, metadata left out.
    assert all(set(r) == {"time", "in", "out", "anomaly"} for r in rows), rows[0]
    # The same rows as the topic API, page for page.
    topic_pages = log_pages(server, admin_token, topic, {"page_size": 5, "order": order.lower()})
    assert [(len(p.rows), p.status) for p in topic_pages] == [(len(rows), status) for rows, status in pages]
    assert_same_rows(rows, log_rows(topic_pages), "get_logs vs records")


def test_get_logs_one_page_and_the_default_page_size(server, admin_token, ws, flow):
    d, topic, sent = flow
    r = get_logs(server, admin_token, {"pipeline_name": d.pipeline, "workspace_id": ws, "order": "asc"})
    assert r.status_code == 200, r.text
    # All rows fit the default page of 1000, but the JSON/Arrow schema change ends the first page.
    first = r.json()
    assert_same_rows(first, [row for s in sent[:3] for row in s.rows], "first page")
    assert r.headers["x-iteration-status"] == "SchemaChange" and r.headers["x-iteration-cursor"]
    # The SDK's separator gives flat records; metadata when asked for.
    r = get_logs(server, admin_token, {"pipeline_name": d.pipeline, "workspace_id": ws, "order": "desc", "page_size": 1},
                 query="dataset.separator=.")
    assert r.status_code == 200, r.text
    assert [list(rec) for rec in r.json()] == [COLUMNS], r.json()
    assert_same_rows(r.json(), all_rows(sent)[-1:], "flat desc")
    assert r.headers["x-iteration-status"] == "RecordLimited"
    r = get_logs(server, admin_token, {"pipeline_name": d.pipeline, "workspace_id": ws, "page_size": 1},
                 query="dataset[]=time&dataset[]=metadata.partition&dataset.separator=.")
    assert r.status_code == 200 and set(r.json()[0]) == {"time", "metadata.partition"}, r.text


def test_get_logs_time_range(server, admin_token, ws, flow):
    d, topic, sent = flow
    body = {"pipeline_name": d.pipeline, "workspace_id": ws, "order": "asc", "page_size": 100,
            "start_time": iso(sent[2].time), "end_time": iso(sent[5].time)}
    rows = [r for rows, _ in get_logs_pages(server, admin_token, body) for r in rows]
    assert_same_rows(rows, [row for s in sent[2:5] for row in s.rows], "get_logs time range")


def test_get_logs_of_a_pipeline_without_logs(server, admin_token, ws, tiny):
    name = unique("quiet")
    create_pipeline(server, admin_token, ws, name, [infer_step(tiny)])
    r = get_logs(server, admin_token, {"pipeline_name": name, "workspace_id": ws})
    assert r.status_code == 200 and r.json() == [], r.text
    assert r.headers["x-iteration-status"] == "All" and "x-iteration-cursor" not in r.headers
    assert_error_body(get_logs(server, admin_token, {"pipeline_name": unique("nope"), "workspace_id": ws}), 404)


# ---- schema changes and failures --------------------------------------------------------------------


def test_a_new_pipeline_version_with_another_model_is_a_schema_change(server, admin_token, ws, tiny):
    """Version 1 (tiny_ccfraud, out.dense_1) then version 2 (step1, out.flatten_1) deployed on the same
    pipeline: one topic, and every read stops at the boundary with SchemaChange."""
    step1 = upload_ready(server, admin_token, ws, "embed", "step1.onnx")
    v1 = deploy_pipeline(server, admin_token, ws, [infer_step(tiny)], prefix="evolve")
    try:
        rng = np.random.default_rng(5)
        first = []
        for n in (2, 1):
            first += response_rows(v1.infer(admin_token, [{"tensor": rng.normal(size=29).tolist()} for _ in range(n)], query=SDK_QUERY))
        created = create_pipeline(server, admin_token, ws, v1.pipeline, [infer_step(step1)])
        assert created["pipeline_pk_id"] == v1.pipeline_pk_id and created["pipeline_variant_version"] != v1.version
        assert deploy(server, admin_token, v1.pipeline, created["pipeline_variant_pk_id"], ws) == v1.id
        wait_running(server, admin_token, v1.name)
        second = []
        deadline = time.monotonic() + 30
        while len(second) < 3:  # the new version serves once it is Running
            r = v1.infer(admin_token, [{"tensor": rng.normal(size=4).tolist()}], query=SDK_QUERY)
            if r.status_code == 200:
                second += response_rows(r)
            assert time.monotonic() < deadline, r.text
        assert all(set(row) == {"time", "in.tensor", "out.flatten_1", "anomaly.count"} for row in second), second
        topic = topic_of(server, admin_token, v1.pipeline_pk_id)
        pages = wait_logged(server, admin_token, topic, len(first) + len(second), {"page_size": 100, **FLAT})
        assert [(p.status, p.table.num_rows) for p in pages] == [("SchemaChange", len(first)), ("All", len(second))]
        assert pages[0].table.column_names == COLUMNS
        assert pages[1].table.column_names == ["time", "in.tensor", "out.flatten_1", "anomaly.count"]
        assert_same_rows(pages[0].rows, first, "version 1")
        for got, want in zip(pages[1].rows, second):
            assert got["time"] == want["time"] and f32(got["out.flatten_1"]) == f32(want["out.flatten_1"])
            assert f32(got["in.tensor"]) == f32(want["in.tensor"])
        # Newest first: version 2 first, then the SchemaChange page boundary, then version 1.
        desc = log_pages(server, admin_token, topic, {"page_size": 100, "order": "desc", **FLAT})
        assert [(p.status, p.table.num_rows) for p in desc] == [("SchemaChange", len(second)), ("All", len(first))]
        assert desc[0].rows == pages[1].rows[::-1] and desc[1].rows == pages[0].rows[::-1]
        # A full page at the boundary: the next page starts with the other schema.
        small = log_pages(server, admin_token, topic, {"page_size": len(first), **FLAT})
        assert [p.table.num_rows for p in small] == [len(first), len(second)]
        # metadata.pipeline_version tells the versions apart.
        meta = log_rows(log_pages(server, admin_token, topic, {"dataset[]": "metadata.pipeline_version", **FLAT}))
        assert [m["metadata.pipeline_version"] for m in meta] == [v1.version] * len(first) + [created["pipeline_variant_version"]] * len(second)
        # get_logs reports the change in its header.
        r = get_logs(server, admin_token, {"pipeline_name": v1.pipeline, "workspace_id": ws, "order": "asc"})
        assert r.status_code == 200 and len(r.json()) == len(first), r.text
        assert r.headers["x-iteration-status"] == "SchemaChange"
        r = get_logs(server, admin_token, {"pipeline_name": v1.pipeline, "workspace_id": ws, "order": "asc",
                                           "cursor": r.headers["x-iteration-cursor"]})
        assert r.status_code == 200 and [rec["out"]["flatten_1"] for rec in r.json()] == [row["out.flatten_1"] for row in second]
        assert r.headers["x-iteration-status"] == "All"
    finally:
        v1.undeploy(admin_token)


def test_failed_inferences_land_in_the_failures_topic(server, admin_token, ws, tiny):
    d = deploy_pipeline(server, admin_token, ws, [infer_step(tiny)], prefix="fail")
    try:
        topic = topic_of(server, admin_token, d.pipeline_pk_id)
        good = [0.25] * 29
        short = [0.5] * 5
        e1 = assert_engine_error(d.infer(admin_token, [{"tensor": short}]), 400)
        e2 = assert_engine_error(d.infer(admin_token, [{"tensor": good}, {"tensor": good[:28]}]), 400)
        # Not decodable: no row to log.
        assert_engine_error(d.infer(admin_token, b'[{"tensor": [1.0, 2', content_type=PANDAS), 400)
        ok = response_rows(d.infer(admin_token, [{"tensor": good}], query=SDK_QUERY))
        pages = wait_logged(server, admin_token, topic + "-failures", 3, FLAT)
        rows = log_rows(pages)
        assert all(list(r) == ["time", "in.tensor", "error"] for r in rows), rows
        assert [f32(r["in.tensor"]) for r in rows] == [f32(short), f32(good), f32(good[:28])]
        assert [r["error"] for r in rows] == [e1["error"], e2["error"], e2["error"]]
        assert "29" in e1["error"] and rows[0]["time"] <= rows[1]["time"] == rows[2]["time"] <= ok[0]["time"]
        # The successful one only in the topic itself.
        assert_same_rows(log_rows(wait_logged(server, admin_token, topic, 1, FLAT)), ok, "ok")
        # Newest first too.
        assert log_rows(log_pages(server, admin_token, topic + "-failures", {"order": "desc", **FLAT})) == rows[::-1]
    finally:
        d.undeploy(admin_token)


def test_concurrent_requests_and_every_inference_route_are_logged_once(server, admin_token, ws, tiny):
    """Requests from 8 threads at once, plus the /infer and edge /pipelines aliases: each row is logged
    exactly once, and the rows of one request stay together and in order."""
    import requests
    from concurrent.futures import ThreadPoolExecutor

    d = deploy_pipeline(server, admin_token, ws, [infer_step(tiny)], prefix="busy")
    try:
        topic = topic_of(server, admin_token, d.pipeline_pk_id)

        def body(rid: int, n: int) -> bytes:
            # The first value names the request and the row.
            return json.dumps([{"tensor": [rid + k / 8] + [0.125 * ((rid + k + i) % 5) for i in range(28)]} for k in range(n)]).encode()

        headers = {"Authorization": f"Bearer {admin_token}", "Content-Type": PANDAS}
        sizes = {}

        def send(rid: int, url: str):
            n = 1 + rid % 3
            sizes[rid] = n
            r = requests.post(url + "?" + SDK_QUERY, data=body(rid, n), headers=headers, timeout=60)
            assert r.status_code == 200, r.text
            return rid, r.json()

        urls = [d.url, server.url(f"/infer/{d.name}/{d.pipeline}"), server.url(f"/pipelines/{d.pipeline}")]
        answers = [send(rid, url) for rid, url in enumerate(urls)]
        with ThreadPoolExecutor(8) as pool:
            answers += list(pool.map(lambda rid: send(rid, d.url), range(3, 67)))
        n = sum(sizes.values())
        rows = log_rows(wait_logged(server, admin_token, topic, n, {"page_size": 1000, **FLAT}))
        firsts = [f32(r["in.tensor"])[0] for r in rows]
        # Every row once, and the rows of a request together, in their order.
        assert sorted(firsts) == sorted(f32([rid + k / 8 for rid, m in sizes.items() for k in range(m)])), firsts
        for rid, out in answers:
            i = firsts.index(f32([rid])[0])
            assert_same_rows(rows[i:i + sizes[rid]], out, f"request {rid}")
        # Pages of 7 give the same rows.
        assert log_rows(log_pages(server, admin_token, topic, {"page_size": 7, **FLAT})) == rows
    finally:
        d.undeploy(admin_token)


# ---- who may read logs, and bad requests ------------------------------------------------------------


def log_routes(server, token, ws, pipeline, topic) -> dict:
    return {
        "partitions": server.get(f"/v1/logs/topic/{topic}", token),
        "records": log_records(server, token, topic),
        "failures": log_records(server, token, topic + "-failures"),
        "get_logs": get_logs(server, token, {"pipeline_name": pipeline, "workspace_id": ws}),
    }


def test_service_account_tokens_get_403(server, ws, flow):
    d, topic, _ = flow
    for route, r in log_routes(server, server.service_token(), ws, d.pipeline, topic).items():
        assert r.status_code == 403, (route, r.status_code, r.text)
        assert_error_body(r, 403)


def test_service_account_topic_name_by_id_is_403(server, ws, flow):
    d, _, _ = flow
    sa = server.service_token()
    assert_error_body(server.post("/v1/api/plateau/get_topic_name", sa, json={"pipeline_name": d.pipeline, "workspace_id": ws}), 403)
    assert_error_body(server.post("/v1/api/plateau/get_topic_name", sa, json={"pipeline_pk_id": d.pipeline_pk_id}), 403)


def test_non_members_get_404_until_they_are_added(server, admin_token, ws, flow):
    d, topic, sent = flow
    outsider = invite_user(server, admin_token, password="logs-outsider-1")
    for route, r in log_routes(server, outsider.token(), ws, d.pipeline, topic).items():
        assert_error_body(r, 404)
    r = server.post("/v1/api/workspaces/add_user", admin_token, json={"workspace_id": ws, "email": outsider.email})
    assert r.status_code == 200, r.text
    for route, r in log_routes(server, outsider.token(), ws, d.pipeline, topic).items():
        assert r.status_code == 200, (route, r.text)
    assert_same_rows(log_rows(log_pages(server, outsider.token(), topic, FLAT)), all_rows(sent), "member")


def test_no_or_a_bad_token_is_401(server, ws, flow):
    d, topic, _ = flow
    for token in (None, "not-a-token"):
        for route, r in log_routes(server, token, ws, d.pipeline, topic).items():
            assert r.status_code == 401, (route, token, r.status_code, r.text)


def test_topics_outside_the_naming_scheme_are_404(server, admin_token):
    for topic in ("pipeline-x-inference", "workspace-abc-pipeline-x-inference", "workspace-987654321-pipeline-x-inference"):
        assert_error_body(server.get(f"/v1/logs/topic/{topic}", admin_token), 404)
        assert_error_body(log_records(server, admin_token, topic), 404)


@pytest.mark.parametrize("params", [
    {"time.start": "yesterday"},
    {"time.start": "2024-01-01"},
    {"time.end": "2024-01-01T00:00:00"},  # no offset: not RFC 3339
    {"time.start": "2024-02-01T00:00:00Z", "time.end": "2024-01-01T00:00:00Z"},
    {"order": "sideways"},
    {"order": "newest"},
    {"page_size": "ten"},
    {"page_size": "-1"},
])
def test_bad_records_queries_are_400(server, admin_token, flow, params):
    d, topic, _ = flow
    assert_error_body(log_records(server, admin_token, topic, params), 400)


def test_a_bad_iterator_is_400(server, admin_token, flow):
    d, topic, _ = flow
    r = server.post(f"/v1/logs/topic/{topic}/records", admin_token, data=b'{"offset": ', headers={"Content-Type": "application/json"})
    assert_error_body(r, 400)


@pytest.mark.parametrize("extra", [
    {"order": "sideways"},
    {"start_time": "yesterday", "end_time": "2030-01-01T00:00:00Z"},
    {"start_time": "2024-01-01T00:00:00Z"},  # both or neither
    {"end_time": "2030-01-01T00:00:00Z"},
    {"cursor": "not-a-cursor"},
])
def test_bad_get_logs_requests_are_400(server, admin_token, ws, flow, extra):
    d, topic, _ = flow
    assert_error_body(get_logs(server, admin_token, {"pipeline_name": d.pipeline, "workspace_id": ws, **extra}), 400)


def test_a_non_ascii_query_is_answered(server, admin_token, flow):
    """A query with raw UTF-8 bytes after a '%' (hyper lets them through) gets an answer (400 or 200),
    not a dropped connection. Inference and get_logs parse the same bytes fine."""
    d, topic, _ = flow
    token = admin_token
    for query in (b"time.start=%1\xc3\xa9", b"order=%a\xc3\xa9x"):
        raw = (b"POST /v1/logs/topic/" + topic.encode() + b"/records?" + query + b" HTTP/1.1\r\nHost: x\r\n"
               b"Authorization: Bearer " + token.encode() + b"\r\nContent-Type: application/json\r\n"
               b"Content-Length: 2\r\nConnection: close\r\n\r\n{}")
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as s:
            s.sendall(raw)
            got = b""
            while chunk := s.recv(65536):
                got += chunk
        status = got.split(b"\r\n", 1)[0]
        assert status.startswith(b"HTTP/1.1 ") and status.split()[1] in (b"200", b"400"), (query, got[:300])


# ---- restart ------------------------------------------------------------------------------------------


def test_logs_survive_a_restart_and_offsets_continue(tmp_root):
    """An instance of its own: rows logged before a restart are read back after it, the rows logged
    after it continue the offsets, and a read crosses the restart without a schema change."""
    s = JoeyServer(data_dir=tmp_root / "logs-restart", database_url=None)
    s.start()
    try:
        token = s.admin_token()
        w = new_workspace(s, token, "logs-restart")
        mv = upload_ready(s, token, w, "ccfraud", "tiny_ccfraud.onnx")
        d = deploy_pipeline(s, token, w, [infer_step(mv)], prefix="restart")
        topic = topic_of(s, token, d.pipeline_pk_id)
        rows = response_rows(d.infer(token, [{"tensor": [0.5] * 29}, {"tensor": [-0.5] * 29}], query=SDK_QUERY))
        wait_logged(s, token, topic, 2)
        s.restart(with_bootstrap_env=False)
        token = s.admin_token()
        assert_same_rows(log_rows(log_pages(s, token, topic, FLAT)), rows, "after restart")
        wait_running(s, token, d.name)
        rows += response_rows(d.infer(token, [{"tensor": [0.125] * 29}], query=SDK_QUERY))
        pages = wait_logged(s, token, topic, 3, FLAT)
        assert [p.status for p in pages] == ["All"], [p.status for p in pages]
        assert_same_rows(log_rows(pages), rows, "across the restart")
        assert_same_rows(log_rows(log_pages(s, token, topic, {"page_size": 1, "order": "desc", **FLAT})), rows[::-1], "desc")
        parts = s.get(f"/v1/logs/topic/{topic}", token).json()["partitions"]
        assert len(parts) == 1 and list(parts.values())[0] == {"start": 0, "end": 3}, parts
    finally:
        s.stop()


# ---- the SDK's raw-log reader --------------------------------------------------------------------------


@pytest.fixture
def sdk_member(server, admin_token, ws, tmp_path, monkeypatch):
    """A wallaroo.Client of a fresh member of the log workspace."""
    from sdk_support import SdkSession

    user = invite_user(server, admin_token, password=f"pw-{unique()}")
    r = server.post("/v1/api/workspaces/add_user", admin_token, json={"workspace_id": ws, "email": user.email})
    assert r.status_code == 200, r.text
    wl, _ = SdkSession(server, user, tmp_path / "sdk-cache", monkeypatch).client()
    return wl


def test_sdk_get_raw_logs_reads_the_topic(sdk_member, flow):
    """``Client.get_raw_logs``: partitions, then pages seeded with per-partition offsets."""
    d, topic, sent = flow
    df = sdk_member.get_raw_logs(topic, limit=1000, dataset_separator=".")
    assert list(df.columns) == COLUMNS, df.columns
    assert_same_rows(df.to_dict("records"), all_rows(sent), "get_raw_logs")


def test_sdk_get_raw_logs_returns_the_newest_limit_rows(sdk_member, flow):
    d, topic, sent = flow
    for limit in (1, 5):
        df = sdk_member.get_raw_logs(topic, limit=limit, dataset_separator=".")
        assert df["time"].tolist() == [row["time"] for row in all_rows(sent)[-limit:]], (limit, len(df))


def test_replicas_are_partitions_with_their_own_offsets(server, admin_token, ws, tiny, sdk_member):
    """Two replicas log into two partitions of one topic; each numbers its own rows, so the SDK's
    get_raw_logs (``{partition: end - share}`` iterators) returns the newest ``limit`` rows, and
    the records API's ``next`` is a ``{partition: offset}`` object that pages through every row once."""
    d = deploy_pipeline(server, admin_token, ws, [infer_step(tiny)], prefix="replicas", replicas=2)
    try:
        rows = []
        for i in range(12):  # single-row requests: the replicas take turns
            rows += response_rows(d.infer(admin_token, [{"tensor": [i / 16] * 29}]))
            time.sleep(0.002)
        topic = topic_of(server, admin_token, d.pipeline_pk_id)
        wait_logged(server, admin_token, topic, 12)
        parts = server.get(f"/v1/logs/topic/{topic}", admin_token).json()["partitions"]
        assert len(parts) == 2 and all(span == {"start": 0, "end": 6} for span in parts.values()), parts
        assert set(parts) == {r["metadata.partition"] for r in rows}, parts
        for limit in (2, 5, 12):
            # The SDK gives each partition limit // 2 rows (one more to the first when odd).
            want = []
            for k, name in enumerate(parts):
                share = limit // 2 + (k < limit % 2)
                want += [i for i, r in enumerate(rows) if r["metadata.partition"] == name][-share:]
            df = sdk_member.get_raw_logs(topic, limit=limit, dataset_separator=".")
            assert_same_rows(df.to_dict("records"), [rows[i] for i in sorted(want)], f"get_raw_logs limit={limit}")
        for order in ("asc", "desc"):
            pages = log_pages(server, admin_token, topic, {"page_size": 5, "order": order, **FLAT})
            assert [p.table.num_rows for p in pages] == [5, 5, 2], order
            for p in pages[:-1]:
                assert set(p.next) <= set(parts) and all(isinstance(v, int) for v in p.next.values()), p.next
            want = rows if order == "asc" else rows[::-1]
            assert_same_rows(log_rows(pages), want, order)
    finally:
        d.undeploy(admin_token)


def test_sdk_get_raw_logs_reads_the_failures_topic(server, admin_token, sdk_member, ws, tiny):
    d = deploy_pipeline(server, admin_token, ws, [infer_step(tiny)], prefix="rawfail")
    try:
        topic = topic_of(server, admin_token, d.pipeline_pk_id) + "-failures"
        err = assert_engine_error(d.infer(admin_token, [{"tensor": [0.5] * 5}]), 400)
        wait_logged(server, admin_token, topic, 1)
        df = sdk_member.get_raw_logs(topic, limit=10, dataset_separator=".")
        assert len(df) == 1, df
        assert df["error"].tolist() == [err["error"]]
    finally:
        d.undeploy(admin_token)
