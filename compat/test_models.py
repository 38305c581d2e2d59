"""Model endpoints through the Wallaroo SDK's generated client (``api/model/*``), uploads also the
way ``wallaroo/client.py`` sends them (requests ``files=``: the metadata part, then the file),
with the tiny committed ONNX fixtures. The uploads of the Wallaroo tutorial models are in
test_models_shared.py."""

import hashlib
import io
import json
import time
import uuid

import pytest
import requests

from wallaroo.wallaroo_ml_ops_api_client.api.model import (
    delete_model, delete_model_versions, get_model_version_by_id, get_upload_logs, insert_model_config, list_models,
    list_versions_for_model, models_get, models_list_versions, models_upload, models_upload_and_convert,
    models_upload_stream, v1_model_get_config, v1_model_get_model_by_id)
from wallaroo.wallaroo_ml_ops_api_client.models import (
    Conversion, DeleteModelBody, DeleteModelVersionsBody, GetModelByIdRequest, InsertModelConfigRequest,
    ListModelsRequest, ListModelVersionsRequest, ModelsGetBody, ModelsListVersionsBody, UploadLogsRequest,
    UploadPayloadDoc, UploadRequest, V1ModelGetConfigBody, V1ModelGetModelByIdBody)
from wallaroo.wallaroo_ml_ops_api_client.models.framework import Framework
from wallaroo.wallaroo_ml_ops_api_client.models.models_upload_stream_visibility import ModelsUploadStreamVisibility
from wallaroo.wallaroo_ml_ops_api_client.types import File

from conftest import DATABASE_URL, JoeyServer, assert_error_body, invite_user
from helpers import (get_version, new_workspace, onnx_bytes, upload, upload_metadata, version_id_of,
                     wait_version)

TINY_SIGNATURE = {"inputs": [{"name": "dense_input", "dtype": "float32", "shape": [None, 29]}],
                  "outputs": [{"name": "dense_1", "dtype": "float32", "shape": [None, 1]}]}


def ok(resp, status=200):
    assert resp.status_code == status, f"{resp.status_code}: {resp.content!r}"
    assert resp.parsed is not None, f"the generated client did not parse {resp.content!r}"
    return resp.parsed


@pytest.fixture(scope="module")
def ws(server, admin_token) -> int:
    return new_workspace(server, admin_token, "models")


def generated_upload(client, module, ws, name, data, file_name="model.onnx", framework=Framework.ONNX):
    meta = UploadRequest(conversion=Conversion(framework=framework, requirements=[]), name=name, visibility="private",
                         workspace_id=ws)
    body = UploadPayloadDoc(file=File(payload=io.BytesIO(data), file_name=file_name, mime_type="application/octet-stream"),
                            metadata=meta)
    return module.sync_detailed(client=client, body=body)


def poll_generated(client, vid, timeout=120):
    """get_model_version_by_id through the generated client until ready/error."""
    deadline = time.monotonic() + timeout
    while True:
        parsed = ok(get_model_version_by_id.sync_detailed(client=client, body=GetModelByIdRequest(model_version_id=vid)))
        if parsed.model_version.model_version.status.value in ("ready", "error"):
            return parsed.model_version
        assert time.monotonic() < deadline, parsed.to_dict()
        time.sleep(0.05)


def model_id_by_name(server, token, ws, name) -> int:
    r = server.post("/v1/api/models/list", token, json={"workspace_id": ws})
    assert r.status_code == 200, r.text
    ids = [m["model"]["id"] for m in r.json()["models"] if m["model"]["name"] == name]
    assert len(ids) == 1, r.json()
    return ids[0]


def req_files(ws, data) -> list:
    """The SDK's parts, in its order (wallaroo/client.py _upload_model_via_models_service)."""
    return [("metadata", (None, json.dumps(upload_metadata(ws, "orders")), "application/json")),
            ("file", ("ccfraud.onnx", data, "application/octet-stream"))]


# ---- uploads ------------------------------------------------------------------------------


def test_upload_in_either_part_order_creates_versions_of_one_model(server, admin_token, admin_client, ws):
    data = onnx_bytes("tiny_ccfraud.onnx", unique_copy=True)
    # The SDK's order: metadata first (check the bytes on the wire, not just the list we passed).
    req = requests.Request("POST", server.url("/v1/api/models/upload"), files=req_files(ws, data)).prepare()
    assert req.body.index(b'name="metadata"') < req.body.index(b'name="file"')
    first = version_id_of(upload(server, admin_token, ws, "orders", data, "ccfraud.onnx"))
    assert wait_version(server, admin_token, first)["model_version"]["status"] == "ready"
    # The generated client's order: file first.
    r = generated_upload(admin_client, models_upload, ws, "orders", data, "ccfraud.onnx")
    second = ok(r).insert_models.returning[0].models[0].id
    assert second != first
    assert wait_version(server, admin_token, second)["model_version"]["status"] == "ready"
    # And requests with the parts swapped by hand.
    swapped = requests.Request("POST", server.url("/v1/api/models/upload"), files=list(reversed(req_files(ws, data)))).prepare()
    assert swapped.body.index(b'name="file"') < swapped.body.index(b'name="metadata"')
    third = version_id_of(upload(server, admin_token, ws, "orders", data, "ccfraud.onnx", file_first=True))
    v = wait_version(server, admin_token, third)["model_version"]
    assert v["status"] == "ready"
    assert v["file_info"]["sha"] == hashlib.sha256(data).hexdigest() and v["file_info"]["size"] == len(data)
    listed = ok(list_versions_for_model.sync_detailed(client=admin_client, body=ListModelVersionsRequest(model_id="orders", workspace_id=ws)))
    assert len(listed.models) == 1
    assert sorted(mv.model_version.id for mv in listed.models[0].model_versions) == [first, second, third]
    assert len({str(mv.model_version.file_info.version) for mv in listed.models[0].model_versions}) == 3


def test_upload_and_convert_answers_202(server, admin_token, admin_client, ws):
    r = generated_upload(admin_client, models_upload_and_convert, ws, "converted", onnx_bytes("multi_io.onnx"), "multi_io.onnx")
    vid = ok(r, 202).insert_models.returning[0].models[0].id
    configured = poll_generated(admin_client, vid)
    assert configured.model_version.status.value == "ready"
    assert configured.config.runtime.value == "onnx"
    # The SDK's own upload_and_convert (requests-style, metadata first) too.
    r = upload(server, admin_token, ws, "converted", onnx_bytes("multi_io.onnx"), "multi_io.onnx", route="upload_and_convert")
    assert wait_version(server, admin_token, version_id_of(r, 202))["model_version"]["status"] == "ready"


def test_upload_stream_takes_metadata_from_the_query(server, admin_token, admin_client, ws):
    data = onnx_bytes("tiny_ccfraud.onnx")
    r = models_upload_stream.sync_detailed(client=admin_client, body=File(payload=io.BytesIO(data)), name="streamed",
                                           filename="streamed.onnx", visibility=ModelsUploadStreamVisibility.PUBLIC,
                                           workspace_id=ws)
    vid = ok(r).insert_models.returning[0].models[0].id
    v = wait_version(server, admin_token, vid)["model_version"]
    assert v["status"] == "ready" and v["name"] == "streamed" and v["workspace_id"] == ws
    assert v["file_info"]["file_name"] == "streamed.onnx" and v["visibility"] == "public"
    assert v["signature"] == TINY_SIGNATURE
    # The query string is required.
    r = server.post("/v1/api/models/upload_stream", admin_token, data=data, params={"name": "streamed", "workspace_id": ws},
                    headers={"Content-Type": "application/octet-stream"})
    assert_error_body(r, 400)


# ---- reads --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tiny(server, admin_token, ws) -> dict:
    """One ready tiny_ccfraud version (model `tiny`): the full get_model_version_by_id record."""
    mv = wait_version(server, admin_token, version_id_of(upload(server, admin_token, ws, "tiny", onnx_bytes("tiny_ccfraud.onnx"), "tiny_ccfraud.onnx")))
    assert mv["model_version"]["status"] == "ready", mv
    return mv


def test_get_model_version_by_id_and_its_alias(server, admin_token, admin_client, tiny):
    vid = tiny["model_version"]["id"]
    parsed = poll_generated(admin_client, vid)
    v = parsed.model_version
    assert v.id == vid and v.name == "tiny" and v.status.value == "ready" and v.error_summary is None
    assert v.file_info.sha == hashlib.sha256(onnx_bytes("tiny_ccfraud.onnx")).hexdigest()
    assert v.file_info.size == len(onnx_bytes("tiny_ccfraud.onnx")) and v.file_info.file_name == "tiny_ccfraud.onnx"
    assert isinstance(v.file_info.version, uuid.UUID)
    assert v.conversion.framework == Framework.ONNX and v.created_by == server.admin_email
    assert parsed.config.model_version_id == vid and parsed.config.runtime.value == "onnx"
    assert parsed.config.tensor_fields is None
    assert tiny["model_version"]["signature"] == TINY_SIGNATURE
    # The guide's name for the same call answers the same record.
    alias = server.post("/v1/api/models/get_version_by_id", admin_token, json={"model_version_id": vid})
    assert alias.status_code == 200 and alias.json()["model_version"] == get_version(server, admin_token, vid)
    assert_error_body(server.post("/v1/api/models/get_version_by_id", admin_token, json={"model_version_id": 987654321}), 404)


def test_list_get_and_get_by_id(server, admin_client, ws, tiny):
    vid = tiny["model_version"]["id"]
    models = ok(list_models.sync_detailed(client=admin_client, body=ListModelsRequest(workspace_id=ws))).models
    item = next(m for m in models if m.model.name == "tiny")
    assert item.model.workspace_id == ws and item.workspace.id == ws
    assert [mv.model_version.id for mv in item.model_versions] == [vid]
    ws_name = item.workspace.name
    by_name = ok(list_models.sync_detailed(client=admin_client, body=ListModelsRequest(workspace_name=ws_name))).models
    assert {m.model.id for m in by_name} == {m.model.id for m in models}
    model_id = item.model.id
    got = ok(models_get.sync_detailed(client=admin_client, body=ModelsGetBody(id=model_id)))
    assert got.id == model_id and got.name == "tiny" and got.workspace.id == ws
    assert [(m.id, m.model_id, m.models_pk_id) for m in got.models] == [(vid, "tiny", model_id)]
    assert got.models[0].sha == tiny["model_version"]["file_info"]["sha"]
    by_id = ok(v1_model_get_model_by_id.sync_detailed(client=admin_client, body=V1ModelGetModelByIdBody(id=model_id)))
    assert by_id.id == model_id and by_id.name == "tiny" and by_id.workspace_id == ws
    assert by_id.model_config.id == tiny["config"]["id"]
    assert_error_body(server.post("/v1/api/models/get", server.admin_token(), json={"id": 987654321}), 404)
    assert_error_body(server.post("/v1/api/models/get_by_id", server.admin_token(), json={"id": 987654321}), 404)


def test_list_versions(admin_client, ws, tiny):
    vid = tiny["model_version"]["id"]
    model_id = ok(list_versions_for_model.sync_detailed(
        client=admin_client, body=ListModelVersionsRequest(model_id="tiny", workspace_id=ws))).models[0].model.id
    items = ok(models_list_versions.sync_detailed(client=admin_client, body=ModelsListVersionsBody(model_id="tiny", models_pk_id=model_id)))
    assert [(i.id, i.model_id, i.models_pk_id, i.status) for i in items] == [(vid, "tiny", model_id, "ready")]
    assert items[-1].model_version == tiny["model_version"]["file_info"]["version"]
    assert items[-1].sha == tiny["model_version"]["file_info"]["sha"] and items[-1].file_name == "tiny_ccfraud.onnx"


def test_model_configs(server, admin_token, admin_client, tiny):
    vid = tiny["model_version"]["id"]
    first = ok(v1_model_get_config.sync_detailed(client=admin_client, body=V1ModelGetConfigBody(model_id=vid))).model_config
    assert first.id == tiny["config"]["id"] and first.runtime == "onnx" and first.tensor_fields is None
    body = InsertModelConfigRequest(model_version_id=vid, tensor_fields=["tensor"], batch_config="single")
    inserted = ok(insert_model_config.sync_detailed(client=admin_client, body=body)).model_config
    assert inserted.id != first.id and inserted.model_version_id == vid
    assert inserted.tensor_fields == ["tensor"] and inserted.batch_config == "single" and inserted.runtime.value == "onnx"
    latest = ok(v1_model_get_config.sync_detailed(client=admin_client, body=V1ModelGetConfigBody(model_id=vid))).model_config
    assert latest.id == inserted.id and latest.tensor_fields == ["tensor"]
    assert get_version(server, admin_token, vid)["config"]["id"] == inserted.id
    # Back to no tensor_fields (other tests of this module use the model by its ONNX input name).
    reset = ok(insert_model_config.sync_detailed(client=admin_client, body=InsertModelConfigRequest(model_version_id=vid)))
    assert reset.model_config.tensor_fields is None and reset.model_config.id > inserted.id
    assert_error_body(server.post("/v1/api/models/insert_model_config", admin_token, json={"model_version_id": 987654321}), 404)


def test_upload_logs(admin_client, tiny):
    vid = tiny["model_version"]["id"]
    logs = ok(get_upload_logs.sync_detailed(client=admin_client, body=UploadLogsRequest(model_version_id=vid))).logs
    assert logs and all(isinstance(line, str) for line in logs)
    assert any(tiny["model_version"]["file_info"]["sha"] in line for line in logs), logs
    one = ok(get_upload_logs.sync_detailed(client=admin_client, body=UploadLogsRequest(model_version_id=vid, lines=1))).logs
    assert one == logs[-1:]


# ---- models that do not load ---------------------------------------------------------------


def test_corrupt_onnx_ends_in_error_with_a_summary(server, admin_token, admin_client, ws):
    vid = version_id_of(upload(server, admin_token, ws, "corrupt", onnx_bytes("corrupt.onnx"), "corrupt.onnx"))
    v = poll_generated(admin_client, vid).model_version
    assert v.status.value == "error"
    assert isinstance(v.error_summary, str) and "onnx" in v.error_summary.lower(), v.error_summary
    logs = ok(get_upload_logs.sync_detailed(client=admin_client, body=UploadLogsRequest(model_version_id=vid))).logs
    assert any(v.error_summary in line for line in logs), logs


def test_framework_without_a_runtime_ends_in_error(server, admin_token, admin_client, ws):
    r = generated_upload(admin_client, models_upload_and_convert, ws, "torchy", b"not really a torch model", "model.pt",
                         framework=Framework.PYTORCH)
    v = poll_generated(admin_client, ok(r, 202).insert_models.returning[0].models[0].id).model_version
    assert v.status.value == "error" and v.conversion.framework == Framework.PYTORCH
    assert "pytorch" in v.error_summary and "runtime" in v.error_summary, v.error_summary


@pytest.mark.parametrize("case, name, framework, metadata, mentions", [
    ("unknown framework", "fine", "banana", None, "banana"),
    ("uppercase name", "Bad", "onnx", None, "Bad"),
    ("underscore name", "bad_name", "onnx", None, "bad_name"),
    ("malformed metadata", "fine", "onnx", '{"name": "fine", ', "metadata"),
    ("metadata not an object", "fine", "onnx", "[1, 2]", "metadata"),
])
def test_bad_uploads_are_400_and_leave_nothing(server, admin_token, case, name, framework, metadata, mentions):
    ws = new_workspace(server, admin_token, "bad")
    r = upload(server, admin_token, ws, name, onnx_bytes("tiny_ccfraud.onnx"), framework=framework, metadata=metadata)
    body = assert_error_body(r, 400)
    assert mentions in body["msg"], body
    assert server.post("/v1/api/models/list", admin_token, json={"workspace_id": ws}).json() == {"models": []}


def test_missing_parts_are_400(server, admin_token, ws):
    auth = {"Authorization": f"Bearer {admin_token}"}
    url = server.url("/v1/api/models/upload")
    only_file = requests.post(url, headers=auth, files=[("file", ("m.onnx", onnx_bytes("tiny_ccfraud.onnx"), "application/octet-stream"))])
    assert "metadata" in assert_error_body(only_file, 400)["msg"]
    only_meta = requests.post(url, headers=auth, files=[("metadata", (None, json.dumps(upload_metadata(ws, "nofile")), "application/json"))])
    assert "file" in assert_error_body(only_meta, 400)["msg"]
    assert_error_body(requests.post(url, headers=auth, json=upload_metadata(ws, "notmultipart")), 400)
    assert_error_body(requests.post(url, files=[("file", ("m.onnx", b"x"))]), 401)


def test_models_in_another_users_workspace_are_invisible(server, admin_token, tiny, ws):
    stranger = invite_user(server, admin_token, password="stranger-pass-1")
    tok = stranger.token()
    vid = tiny["model_version"]["id"]
    model_id = model_id_by_name(server, admin_token, ws, "tiny")
    for path, body in [("get_model_version_by_id", {"model_version_id": vid}), ("get_version_by_id", {"model_version_id": vid}),
                       ("get", {"id": model_id}), ("get_by_id", {"id": model_id}), ("list", {"workspace_id": ws}),
                       ("get_config_by_id", {"model_id": vid}), ("list_versions_for_model", {"model_id": "tiny", "workspace_id": ws}),
                       ("insert_model_config", {"model_version_id": vid, "tensor_fields": ["x"]}),
                       ("get_upload_logs", {"model_version_id": vid}),
                       ("delete_model", {"model_id": "tiny", "workspace_id": ws, "confirm_delete": True}),
                       ("delete_model_versions", {"model_versions": [tiny["model_version"]["file_info"]["version"]], "confirm_delete": True})]:
        assert_error_body(server.post(f"/v1/api/models/{path}", tok, json=body), 404)
    r = server.post("/v1/api/models/list_versions", tok, json={"model_id": "tiny", "models_pk_id": model_id})
    assert r.status_code in (200, 404) and (r.status_code == 404 or r.json() == []), r.text
    assert_error_body(upload(server, tok, ws, "intruder", onnx_bytes("tiny_ccfraud.onnx")), 404)
    assert get_version(server, admin_token, vid)["model_version"]["status"] == "ready"


# ---- deletes ------------------------------------------------------------------------------


def stored_artifacts(server: JoeyServer, sha: str) -> list:
    return [p for p in (server.data_dir / "artifacts").rglob(sha) if p.is_file()]


def test_identical_bytes_are_stored_once_and_freed_with_the_last_version(server, admin_token, admin_client, ws):
    data = onnx_bytes("tiny_ccfraud.onnx", unique_copy=True)
    sha = hashlib.sha256(data).hexdigest()
    uuids = []
    for name in ("twin-a", "twin-b"):
        v = wait_version(server, admin_token, version_id_of(upload(server, admin_token, ws, name, data)))["model_version"]
        assert v["status"] == "ready" and v["file_info"]["sha"] == sha
        uuids.append(v["file_info"]["version"])
    assert len(stored_artifacts(server, sha)) == 1
    freed = ok(delete_model_versions.sync_detailed(client=admin_client, body=DeleteModelVersionsBody(
        model_versions=[uuid.UUID(uuids[0])], confirm_delete=True)))
    assert freed.bytes_ == 0
    assert len(stored_artifacts(server, sha)) == 1
    assert_error_body(server.post("/v1/api/models/delete_model_versions", admin_token, json={"model_versions": [uuids[0]]}), 404)
    freed = ok(delete_model_versions.sync_detailed(client=admin_client, body=DeleteModelVersionsBody(
        model_versions=[uuid.UUID(uuids[1])], confirm_delete=True)))
    assert freed.bytes_ == len(data)
    assert stored_artifacts(server, sha) == []


def test_delete_model_removes_every_version(server, admin_token, admin_client, ws):
    sizes = 0
    for _ in range(2):
        data = onnx_bytes("multi_io.onnx", unique_copy=True)
        sizes += len(data)
        assert wait_version(server, admin_token, version_id_of(upload(server, admin_token, ws, "doomed", data)))["model_version"]["status"] == "ready"
    model_id = model_id_by_name(server, admin_token, ws, "doomed")
    freed = ok(delete_model.sync_detailed(client=admin_client, body=DeleteModelBody(model_id="doomed", workspace_id=ws, confirm_delete=True)))
    assert freed.bytes_ == sizes
    assert_error_body(server.post("/v1/api/models/get", admin_token, json={"id": model_id}), 404)
    names = [m["model"]["name"] for m in server.post("/v1/api/models/list", admin_token, json={"workspace_id": ws}).json()["models"]]
    assert "doomed" not in names
    body = {"model_id": "doomed", "workspace_id": ws, "confirm_delete": True}
    assert_error_body(server.post("/v1/api/models/delete_model", admin_token, json=body), 404)


# ---- upload size limit ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def small_upload_server(tmp_root):
    """An instance that accepts model files of at most 1000 bytes (own SQLite data dir)."""
    s = JoeyServer(data_dir=tmp_root / "upload-limit", database_url=None, extra_args=["--upload-limit-bytes", "1000"])
    s.start()
    yield s
    s.stop()


def test_upload_over_the_limit_is_413_and_leaves_nothing(small_upload_server):
    s = small_upload_server
    tok = s.admin_token()
    ws = new_workspace(s, tok, "limit")
    small = onnx_bytes("tiny_ccfraud.onnx")
    assert wait_version(s, tok, version_id_of(upload(s, tok, ws, "small", small)))["model_version"]["status"] == "ready"
    big = small + b"\0" * 4000
    for route, file_first in (("upload", False), ("upload", True), ("upload_and_convert", False)):
        assert_error_body(upload(s, tok, ws, "big", big, route=route, file_first=file_first), 413)
    r = s.post("/v1/api/models/upload_stream", tok, data=big, headers={"Content-Type": "application/octet-stream"},
               params={"name": "big", "filename": "big.onnx", "visibility": "private", "workspace_id": ws})
    assert_error_body(r, 413)
    models = s.post("/v1/api/models/list", tok, json={"workspace_id": ws}).json()["models"]
    assert [m["model"]["name"] for m in models] == ["small"] and len(models[0]["model_versions"]) == 1
    staging = s.data_dir / "artifacts" / "staging"
    assert not staging.exists() or list(staging.iterdir()) == []


# ---- the SQLite write race -------------------------------------------------------------------


def test_back_to_back_uploads_all_succeed(server, admin_token):
    ws = new_workspace(server, admin_token, "race")
    statuses = []
    for i in range(12):
        data = onnx_bytes("tiny_ccfraud.onnx", unique_copy=True)
        statuses += [upload(server, admin_token, ws, f"race{i}", data).status_code for _ in range(2)]
    assert statuses == [200] * len(statuses), statuses
    # Let the loads finish before the next test.
    for m in server.post("/v1/api/models/list", admin_token, json={"workspace_id": ws}).json()["models"]:
        for mv in m["model_versions"]:
            wait_version(server, admin_token, mv["model_version"]["id"])
