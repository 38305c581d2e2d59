"""Helpers of the model, pipeline, inference and inference-log tests: uploads the way the SDK sends
them, polling, pipeline steps, deployments and inference requests the way the Wallaroo guides write
them, and log reads the way the SDK pages through them.

Plain ``requests`` on purpose: the tests that check a response's shape call the generated client
themselves; these helpers only set things up."""

from __future__ import annotations

import datetime
import io
import json
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np
import pyarrow as pa
import pytest
import requests

from conftest import HTTP_TIMEOUT, REPO, SHARED_DATA, JoeyServer, unique

FIXTURES = REPO / "crates" / "joey-engine" / "tests" / "fixtures"


PANDAS = "application/json; format=pandas-records"
ARROW = "application/vnd.apache.arrow.file"
SDK_QUERY = "dataset[]=*&dataset.exclude[]=metadata&dataset.separator=."  # what the SDK's infer() sends
POLL_TIMEOUT = 120


def shared_file(rel: str) -> Path:
    p = SHARED_DATA / rel
    if not p.is_file():
        pytest.fail(f"shared reference file {p} is missing (set JOEY_SHARED_DATA)")
    return p


# ---- models -------------------------------------------------------------------------------


def onnx_bytes(fixture: str, unique_copy: bool = False) -> bytes:
    """A committed fixture's bytes. ``unique_copy`` appends a fresh ModelProto.doc_string (field 6,
    last value wins), so the model stays valid but has a sha of its own: tests that count stored
    or freed bytes must not share artifacts with other tests."""
    raw = (FIXTURES / fixture).read_bytes()
    if not unique_copy:
        return raw
    doc = f"compat {uuid.uuid4()}".encode()
    assert len(doc) < 128
    return raw + b"\x32" + bytes([len(doc)]) + doc


def upload_metadata(ws: int, name: str, framework: str = "onnx", **extra) -> dict:
    """The ``metadata`` part the SDK's upload_model() builds."""
    meta = {"name": name, "visibility": "private", "workspace_id": ws,
            "conversion": {"framework": framework, "python_version": "3.8", "requirements": []}}
    meta.update(extra)
    return meta


def upload(server: JoeyServer, token: str, ws: int, name: str, data: bytes, file_name: str = "model.onnx",
           framework: str = "onnx", route: str = "upload", file_first: bool = False,
           metadata: Optional[str] = None) -> requests.Response:
    """A multipart upload like the SDK's ``_upload_model_via_models_service`` (metadata part, then the
    file), or with the parts swapped (``file_first``, what the generated client sends).
    ``metadata`` replaces the JSON text of the metadata part verbatim."""
    meta = (None, metadata if metadata is not None else json.dumps(upload_metadata(ws, name, framework)), "application/json")
    parts = [("metadata", meta), ("file", (file_name, io.BytesIO(data), "application/octet-stream"))]
    if file_first:
        parts.reverse()
    return requests.post(server.url(f"/v1/api/models/{route}"), files=parts, timeout=HTTP_TIMEOUT,
                         headers={"Authorization": f"Bearer {token}"})


def version_id_of(r: requests.Response, status: int = 200) -> int:
    """The model version id of an upload response ``{"insert_models": {"returning": [{"models": [{"id"}]}]}}``."""
    assert r.status_code == status, f"upload: {r.status_code} {r.text}"
    vid = r.json()["insert_models"]["returning"][0]["models"][0]["id"]
    assert isinstance(vid, int)
    return vid


def get_version(server: JoeyServer, token: str, vid: int) -> dict:
    r = server.post("/v1/api/models/get_model_version_by_id", token, json={"model_version_id": vid})
    assert r.status_code == 200, r.text
    return r.json()["model_version"]


def wait_version(server: JoeyServer, token: str, vid: int, timeout: float = POLL_TIMEOUT) -> dict:
    """Polls get_model_version_by_id until ``ready`` or ``error``; returns ``{model_version, config}``."""
    deadline = time.monotonic() + timeout
    while True:
        got = get_version(server, token, vid)
        if got["model_version"]["status"] in ("ready", "error"):
            return got
        assert time.monotonic() < deadline, f"model version {vid} still {got['model_version']['status']}"
        time.sleep(0.05)


def upload_ready(server: JoeyServer, token: str, ws: int, name: str, fixture_or_path, **kw) -> dict:
    """Uploads a fixture name or a path and waits for ``ready``; returns the version record."""
    path = fixture_or_path if isinstance(fixture_or_path, Path) else FIXTURES / fixture_or_path
    mv = wait_version(server, token, version_id_of(upload(server, token, ws, name, path.read_bytes(), path.name, **kw)))
    assert mv["model_version"]["status"] == "ready", mv["model_version"]
    return mv["model_version"]


def ref(mv: dict) -> dict:
    """The step model reference ``{"name", "version", "sha"}`` of a model version record."""
    return {"name": mv["name"], "version": mv["file_info"]["version"], "sha": mv["file_info"]["sha"]}


def set_tensor_fields(server: JoeyServer, token: str, mv: dict, fields: list) -> dict:
    r = server.post("/v1/api/models/insert_model_config", token, json={"model_version_id": mv["id"], "tensor_fields": fields})
    assert r.status_code == 200, r.text
    return r.json()["model_config"]


def new_workspace(server: JoeyServer, token: str, prefix: str = "ws") -> int:
    r = server.post("/v1/api/workspaces/create", token, json={"workspace_name": unique(prefix)})
    assert r.status_code == 200, r.text
    return r.json()["workspace_id"]


# ---- pipelines and deployments ------------------------------------------------------------


def infer_step(*models: dict) -> dict:
    return {"ModelInference": {"models": [ref(m) for m in models]}}


def create_pipeline(server: JoeyServer, token: str, ws: int, name: str, steps: list) -> dict:
    r = server.post("/v1/api/pipelines/create", token, json={"pipeline_id": name, "workspace_id": ws, "definition": {"steps": steps}})
    assert r.status_code == 200, f"create {name}: {r.status_code} {r.text}"
    return r.json()


def engine_config(ws: int, replicas: int = 1) -> dict:
    """What the SDK's DeploymentConfigBuilder emits for ``.cpus(1).replica_count(replicas)``."""
    return {"engine": {"cpu": 1, "replicas": replicas, "resources": {"limits": {"cpu": 1, "memory": "1Gi"},
                                                              "requests": {"cpu": 1, "memory": "1Gi"}}},
            "enginelb": {}, "engineAux": {"images": {}}, "workspace_id": ws}


def deploy(server: JoeyServer, token: str, name: str, version_pk: int, ws: int, replicas: int = 1) -> int:
    """The SDK's own deploy body: only deploy_id, pipeline_version_pk_id and engine_config."""
    r = server.post("/v1/api/pipelines/deploy", token,
                    json={"deploy_id": name, "pipeline_version_pk_id": version_pk, "engine_config": engine_config(ws, replicas)})
    assert r.status_code == 200, f"deploy {name}: {r.status_code} {r.text}"
    dep_id = r.json()["id"]
    assert isinstance(dep_id, int)
    return dep_id


def deployment_status(server: JoeyServer, token: str, dep_name: str) -> requests.Response:
    return server.post("/v1/api/status/get_deployment", token, json={"name": dep_name})


def wait_running(server: JoeyServer, token: str, dep_name: str, timeout: float = POLL_TIMEOUT) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        r = deployment_status(server, token, dep_name)
        assert r.status_code == 200, f"status {dep_name}: {r.status_code} {r.text}"
        body = r.json()
        assert body["status"] in ("Starting", "Running"), body
        if body["status"] == "Running":
            return body
        assert time.monotonic() < deadline, f"{dep_name} still {body}"
        time.sleep(0.05)


@dataclass
class Deployed:
    server: JoeyServer
    ws: int
    pipeline: str
    pipeline_pk_id: int
    version_pk_id: int
    version: str
    id: int

    @property
    def name(self) -> str:
        return f"{self.pipeline}-{self.id}"

    @property
    def url(self) -> str:
        return self.server.url(f"/v1/api/pipelines/infer/{self.name}/{self.pipeline}")

    def infer(self, token: Optional[str], body, content_type: str = PANDAS, accept: Optional[str] = None,
              query: Optional[str] = None) -> requests.Response:
        """POSTs ``body`` (rows → pandas-records JSON; bytes as they are) to the inference URL."""
        data = body if isinstance(body, (bytes, bytearray)) else json.dumps(body).encode()
        headers = {"Content-Type": content_type}
        if accept:
            headers["Accept"] = accept
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        url = self.url + (f"?{query}" if query else "")
        return requests.post(url, data=data, headers=headers, timeout=HTTP_TIMEOUT)

    def records(self, token: str, rows: list, query: Optional[str] = None) -> list:
        r = self.infer(token, rows, query=query)
        assert r.status_code == 200, f"infer {self.name}: {r.status_code} {r.text[:2000]}"
        assert r.headers["content-type"].startswith("application/json"), r.headers
        out = r.json()
        assert isinstance(out, list) and len(out) == len(rows), out
        return out

    def undeploy(self, token: str) -> None:
        r = self.server.post("/v1/api/pipelines/undeploy", token, json={"deployment_id": self.id})
        assert r.status_code == 200, r.text


def deploy_pipeline(server: JoeyServer, token: str, ws: int, steps: list, prefix: str = "p", replicas: int = 1) -> Deployed:
    """Creates a pipeline with ``steps``, deploys it SDK-style and waits for ``Running``."""
    name = unique(prefix)
    created = create_pipeline(server, token, ws, name, steps)
    dep_id = deploy(server, token, name, created["pipeline_variant_pk_id"], ws, replicas)
    d = Deployed(server, ws, name, created["pipeline_pk_id"], created["pipeline_variant_pk_id"],
                 created["pipeline_variant_version"], dep_id)
    wait_running(server, token, d.name)
    return d


# ---- inference payloads and the tiny model's expected outputs -------------------------------------------------------------------


def arrow_file(table: pa.Table) -> bytes:
    sink = pa.BufferOutputStream()
    with pa.ipc.new_file(sink, table.schema) as w:
        w.write_table(table)
    return sink.getvalue().to_pybytes()


def read_arrow(raw: bytes) -> pa.Table:
    return pa.ipc.open_file(pa.BufferReader(raw)).read_all()


def tensor_table(column: str, rows: list, width: int) -> pa.Table:
    """A table like the tutorials' .arrow inputs: fixed_size_list<float32>[width] with tensor_type metadata."""
    field = pa.field(column, pa.list_(pa.float32(), width), metadata={"tensor_type": json.dumps({"shape": [width]})})
    return pa.Table.from_arrays([pa.array(rows, type=field.type)], schema=pa.schema([field]))


def assert_engine_error(r: requests.Response, status: int, error: Optional[str] = None) -> dict:
    """The engine's error body ``{"code", "status": "error", "error", "source"}``."""
    assert r.status_code == status, f"expected {status}, got {r.status_code}: {r.text}"
    body = r.json()
    assert body.get("code") == status and body.get("status") == "error", body
    assert isinstance(body.get("error"), str) and body["error"], body
    assert body.get("source") in ("engine", "platform"), body
    if error is not None:
        assert body["error"] == error, body
    return body


# tiny_ccfraud.onnx: sigmoid(x @ W + 0.125), W[i] = ((i % 7) - 3) / 8 (fixtures/README.md).
W = np.array([((i % 7) - 3) / 8 for i in range(29)], dtype=np.float32)
ROWS = [[((r * 29 + i) % 11 - 5) / 4 for i in range(29)] for r in range(5)]  # five distinct rows


def tiny_out(row) -> np.float32:
    """sigmoid(x @ W + 0.125) in float32, as the fixture computes it."""
    z = np.float32(np.dot(np.asarray(row, dtype=np.float32), W) + np.float32(0.125))
    return np.float32(1) / (np.float32(1) + np.exp(-z, dtype=np.float32))


def close32(got, want) -> bool:
    """Equal up to float32 summation order (numpy's dot vs ONNX Runtime's MatMul): a few ulps."""
    return abs(float(got) - float(want)) <= 2e-6 * abs(float(want))


# ---- inference logs -------------------------------------------------------------------------------


LOG_WAIT = 15  # seconds a test waits for inferred rows to show up in the log (the suite flushes every 100 ms)


@dataclass
class LogPage:
    """One page of ``POST /v1/logs/topic/{topic}/records``: the Arrow table and its schema metadata
    ``status`` = ``{"status", "next"}``."""

    table: pa.Table
    status: str
    next: Optional[dict]

    @property
    def rows(self) -> list:
        return self.table.to_pylist()

    @property
    def schema(self) -> pa.Schema:
        """The data schema, without the page's ``status`` metadata."""
        meta = {k: v for k, v in (self.table.schema.metadata or {}).items() if k != b"status"}
        return self.table.schema.with_metadata(meta)


def topic_of(server: JoeyServer, token: str, pipeline_pk_id: int) -> str:
    r = server.post("/v1/api/plateau/get_topic_name", token, json={"pipeline_pk_id": pipeline_pk_id})
    assert r.status_code == 200, f"get_topic_name: {r.status_code} {r.text}"
    return r.json()["topic_name"]


def log_records(server: JoeyServer, token: Optional[str], topic: str, params=None, iterator=None) -> requests.Response:
    """``POST /v1/logs/topic/{topic}/records`` the way the SDK sends it (Arrow Accept, iterator body);
    ``params`` is a dict or a list of pairs (``requests`` URL-encodes them, as httpx does for the SDK)."""
    headers = {"Accept": ARROW}
    return server.post(f"/v1/logs/topic/{topic}/records", token, json={} if iterator is None else iterator,
                       params=params, headers=headers)


def log_page(server: JoeyServer, token: str, topic: str, params=None, iterator=None) -> LogPage:
    r = log_records(server, token, topic, params, iterator)
    assert r.status_code == 200, f"records of {topic}: {r.status_code} {r.text[:2000]}"
    assert r.headers["content-type"] == ARROW, r.headers
    t = read_arrow(r.content)
    meta = t.schema.metadata or {}
    assert b"status" in meta, t.schema
    status = json.loads(meta[b"status"])
    assert set(status) == {"status", "next"}, status
    assert status["status"] in ("All", "RecordLimited", "ByteLimited", "SchemaChange"), status
    # `next` is null exactly when nothing more matches.
    assert (status["next"] is None) == (status["status"] == "All"), status
    return LogPage(t, status["status"], status["next"])


def log_pages(server: JoeyServer, token: str, topic: str, params=None, max_pages: int = 10_000) -> list:
    """Every page of ``topic``, chaining iterators (``{}``, then each page's ``next``) until ``All``."""
    pages, iterator = [], {}
    while True:
        page = log_page(server, token, topic, params, iterator)
        pages.append(page)
        if page.status == "All":
            return pages
        assert page.table.num_rows > 0, f"an empty page that is not the last: {page.status} {page.next}"
        assert page.next != iterator, f"the iterator did not move: {iterator}"
        assert len(pages) < max_pages, "too many pages"
        iterator = page.next


def log_rows(pages: list) -> list:
    return [row for p in pages for row in p.rows]


def wait_logged(server: JoeyServer, token: str, topic: str, n: int, params=None, timeout: float = LOG_WAIT) -> list:
    """Polls the log of ``topic`` until it holds ``n`` rows; returns its pages (asc). Fails on more."""
    deadline = time.monotonic() + timeout
    while True:
        pages = log_pages(server, token, topic, params)
        got = sum(p.table.num_rows for p in pages)
        assert got <= n, f"{topic} holds {got} rows, expected {n}"
        if got == n:
            return pages
        assert time.monotonic() < deadline, f"{topic} holds {got} of {n} rows after {timeout} s"
        time.sleep(0.05)


def get_logs(server: JoeyServer, token: Optional[str], body: dict, accept: Optional[str] = None, query: Optional[str] = None) -> requests.Response:
    """``POST /v1/api/pipelines/get_logs``."""
    headers = {"Accept": accept} if accept else {}
    return server.post("/v1/api/pipelines/get_logs" + (f"?{query}" if query else ""), token, json=body, headers=headers)


def iso(ms: int, tz: datetime.timezone = datetime.timezone.utc, z: bool = False) -> str:
    """RFC 3339 with milliseconds (``...+00:00``, or ``...Z``), like the SDK's ``isoformat()``."""
    t = datetime.datetime.fromtimestamp(ms // 1000, tz=tz) + datetime.timedelta(milliseconds=ms % 1000)
    s = t.isoformat(timespec="milliseconds")
    return s.replace("+00:00", "Z") if z else s


def check_chain(pages: list, page_size: int) -> None:
    """Pages of one read: full when RecordLimited, a schema change only where the schema changes."""
    for p, q in zip(pages, pages[1:]):
        assert p.table.num_rows <= page_size
        assert p.status in ("RecordLimited", "SchemaChange"), p.status
        assert isinstance(p.next, dict), p.next
        if p.status == "RecordLimited":
            assert p.table.num_rows == page_size, (p.status, p.table.num_rows)
        else:
            assert p.schema != q.schema, f"SchemaChange between pages of the same schema {p.schema}"
    assert pages[-1].status == "All" and pages[-1].next is None
