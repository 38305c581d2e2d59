"""Pipelines and deployments through the generated client (``api/pipelines``, ``api/misc``,
``api/admin``, ``api/plateau``): create (new and new version), reads, SDK-style deploy, status
polling, the external URL and topic name, undeploy/redeploy, and the 409s of deleting what is
deployed. Inference itself is in test_inference*.py."""

import json
import time
import uuid

import polars as pl
import pytest

from wallaroo.wallaroo_ml_ops_api_client.api.admin import admin_get_pipeline_external_url
from wallaroo.wallaroo_ml_ops_api_client.api.misc import status_get_deployment
from wallaroo.wallaroo_ml_ops_api_client.api.pipelines import (
    delete_pipeline, delete_pipeline_versions, get_pipeline_by_name, list_pipeline_versions, list_pipelines,
    pipelines_create, pipelines_deploy, pipelines_get_version, pipelines_undeploy)
from wallaroo.wallaroo_ml_ops_api_client.api.plateau import plateau_get_topic_name
from wallaroo.wallaroo_ml_ops_api_client.models import (
    AdminGetPipelineExternalUrlBody, DeletePipelineBody, LegacyPipelineVersion, DeletePipelineVersionsBody, GetPipelineByNameBody,
    ListPipelinesBody, ListPipelineVersionsBody, PipelinesCreateBody, PipelinesDeployBody, PipelinesGetVersionBody,
    PipelinesUndeployBody, PlateauGetTopicNameBody, StatusGetDeploymentBody)
from wallaroo.wallaroo_ml_ops_api_client.models.pipelines_create_body_definition_type_0 import PipelinesCreateBodyDefinitionType0

from conftest import assert_error_body, invite_user, unique
from helpers import (Deployed, assert_engine_error, create_pipeline, deploy, deployment_status, engine_config, get_version,
                     infer_step, new_workspace, onnx_bytes, upload, upload_ready, version_id_of, wait_running,
                     wait_version)

ROW = {"dense_input": [0.25] * 29}


def ok(resp, status=200):
    assert resp.status_code == status, f"{resp.status_code}: {resp.content!r}"
    assert resp.parsed is not None, f"the generated client did not parse {resp.content!r}"
    return resp.parsed


@pytest.fixture(scope="module")
def ws(server, admin_token) -> int:
    return new_workspace(server, admin_token, "pipes")


@pytest.fixture(scope="module")
def tiny(server, admin_token, ws) -> dict:
    return upload_ready(server, admin_token, ws, "tiny", "tiny_ccfraud.onnx")


def create(client, ws, name, steps):
    body = PipelinesCreateBody(pipeline_id=name, workspace_id=ws, definition=PipelinesCreateBodyDefinitionType0.from_dict({"steps": steps}))
    return pipelines_create.sync_detailed(client=client, body=body)


def sdk_deploy(client, name, version_pk, ws) -> int:
    body = PipelinesDeployBody(deploy_id=name, pipeline_version_pk_id=version_pk, engine_config=engine_config(ws))
    return ok(pipelines_deploy.sync_detailed(client=client, body=body)).id


def poll_running(client, dep_name, timeout=120):
    deadline = time.monotonic() + timeout
    while True:
        st = ok(status_get_deployment.sync_detailed(client=client, body=StatusGetDeploymentBody(name=dep_name)))
        if st.status.value == "Running":
            return st
        assert st.status.value == "Starting" and time.monotonic() < deadline, st.to_dict()
        time.sleep(0.05)


# ---- create and read ------------------------------------------------------------------------


def test_create_then_a_new_version_of_the_same_name(server, admin_token, admin_client, ws, tiny):
    name = unique("pv")
    first = ok(create(admin_client, ws, name, [infer_step(tiny)]))
    second = ok(create(admin_client, ws, name, [infer_step(tiny), infer_step(tiny)]))
    assert second.pipeline_pk_id == first.pipeline_pk_id
    assert second.pipeline_variant_pk_id != first.pipeline_variant_pk_id
    assert second.pipeline_variant_version != first.pipeline_variant_version
    uuid.UUID(first.pipeline_variant_version)
    got = ok(get_pipeline_by_name.sync_detailed(client=admin_client, body=GetPipelineByNameBody(pipeline_name=name, workspace_id=ws)))
    assert got.pipeline.id == first.pipeline_pk_id and got.pipeline.name == name and got.workspace.id == ws
    assert isinstance(got.plateau_topic, str) and got.plateau_topic
    listed = ok(list_pipelines.sync_detailed(client=admin_client, body=ListPipelinesBody(workspace_id=ws))).pipelines
    mine = [p for p in listed if p.pipeline.name == name]
    assert len(mine) == 1 and mine[0].pipeline.id == first.pipeline_pk_id
    r = list_pipeline_versions.sync_detailed(client=admin_client, body=ListPipelineVersionsBody(pipeline_id=name, workspace_id=ws))
    assert all(v.pipeline.name == name for v in ok(r).pipeline_versions)
    raw = json.loads(r.content)["pipeline_versions"]  # see test_pipeline_version_records_parse for the parsed form
    assert [v["pipeline_version"]["version"] for v in raw] == [first.pipeline_variant_version, second.pipeline_variant_version]
    got_v = ok(pipelines_get_version.sync_detailed(client=admin_client, body=PipelinesGetVersionBody(version=second.pipeline_variant_version)))
    assert got_v.pipeline_id == name and got_v.version == second.pipeline_variant_version
    assert got_v.definition.to_dict() == {"steps": [infer_step(tiny), infer_step(tiny)]}
    assert_error_body(server.post("/v1/api/pipelines/get_version", admin_token, json={"version": str(uuid.uuid4())}), 404)


def test_pipeline_version_records_parse(admin_client, ws, tiny):
    name = unique("legacy")
    ok(create(admin_client, ws, name, [infer_step(tiny)]))
    versions = ok(list_pipeline_versions.sync_detailed(
        client=admin_client, body=ListPipelineVersionsBody(pipeline_id=name, workspace_id=ws))).pipeline_versions
    assert all(isinstance(v.pipeline_version, LegacyPipelineVersion) for v in versions), [type(v.pipeline_version) for v in versions]


def test_empty_pipeline(server, admin_token, ws):
    r = server.post("/v1/api/pipelines/create", admin_token, json={"pipeline_id": unique("empty"), "workspace_id": ws, "definition": {}})
    assert r.status_code == 200, r.text


def polars_check(expr) -> dict:
    """What the SDK's add_validations builds: ``{"Check": {"tree": [expr.alias(name).meta.write_json()]}}``."""
    return {"Check": {"tree": [expr.meta.write_json()]}}


@pytest.mark.parametrize("case, pipeline, steps, mentions", [
    ("uppercase/underscore name", "Bad_Name", "tiny", "Bad_Name"),
    ("leading dash", "-bad", "tiny", "-bad"),
    ("too long", "a" * 64, "tiny", "63"),
    ("unknown model version", None, [{"ModelInference": {"models": [
        {"name": "tiny", "version": "00000000-0000-0000-0000-000000000000", "sha": "0" * 64}]}}], "00000000-0000-0000-0000-000000000000"),
    ("unsupported step kind", None, [{"Average": {}}], "Average"),
    ("unknown step kind", None, [{"Frobnicate": {}}], "Frobnicate"),
    ("aggregation in a check", None, [polars_check((pl.col("out.dense_1").list.get(0).mean() > 0.5).alias("mean_high"))], "mean_high"),
    ("window in a check", None, [polars_check((pl.col("out.dense_1").list.get(0).over("x") > 0.5).alias("win"))], "win"),
    ("check that is not JSON", None, [{"Check": {"tree": ["pl.col('x') > 1"]}}], "polars"),
    ("validation named count", None, [polars_check((pl.col("out.dense_1").list.get(0) > 0.5).alias("count"))], "count"),
])
def test_create_errors_are_400(server, admin_token, ws, tiny, case, pipeline, steps, mentions):
    if steps == "tiny":
        steps = [infer_step(tiny)]
    elif steps and "Check" in steps[0]:
        steps = [infer_step(tiny)] + steps
    name = pipeline or unique("bad")
    r = server.post("/v1/api/pipelines/create", admin_token, json={"pipeline_id": name, "workspace_id": ws, "definition": {"steps": steps}})
    body = assert_error_body(r, 400)
    assert mentions in body["msg"], body
    assert_error_body(server.post("/v1/api/pipelines/get_pipeline_by_name", admin_token,
                                  json={"pipeline_name": name, "workspace_id": ws}), 404)


# ---- deploy, status, URLs, undeploy ---------------------------------------------------------


def test_deploy_lifecycle(server, admin_token, admin_client, ws, tiny):
    name = unique("life")
    created = ok(create(admin_client, ws, name, [infer_step(tiny)]))
    dep_id = sdk_deploy(admin_client, name, created.pipeline_variant_pk_id, ws)
    d = Deployed(server, ws, name, created.pipeline_pk_id, created.pipeline_variant_pk_id, created.pipeline_variant_version, dep_id)
    st = poll_running(admin_client, d.name)
    assert st.details == [] and st.engines and st.engine_lbs and st.sidekicks == []
    engine = st.engines[0].to_dict()
    assert engine["pipeline_statuses"]["pipelines"] == [{"id": name, "status": "Running", "version": created.pipeline_variant_version}]
    models = engine["model_statuses"]["models"]
    assert [(m["name"], m["model_version_id"], m["sha"], m["status"]) for m in models] == \
           [("tiny", tiny["id"], tiny["file_info"]["sha"], "Running")]
    url = ok(admin_get_pipeline_external_url.sync_detailed(
        client=admin_client, body=AdminGetPipelineExternalUrlBody(workspace_id=ws, pipeline_name=name))).url
    assert url == f"{server.base_url}/v1/api/pipelines/infer/{name}-{dep_id}/{name}" == d.url
    topic = ok(plateau_get_topic_name.sync_detailed(client=admin_client, body=PlateauGetTopicNameBody(pipeline_pk_id=created.pipeline_pk_id)))
    assert isinstance(topic.topic_name, str) and topic.topic_name
    by_name = server.post("/v1/api/pipelines/get_pipeline_by_name", admin_token, json={"pipeline_name": name, "workspace_id": ws}).json()
    assert by_name["plateau_topic"] == topic.topic_name
    assert by_name["deployment"]["id"] == dep_id and by_name["deployment"]["deployed"] is True
    assert d.records(admin_token, [ROW])[0]["out"]["dense_1"]

    # What is deployed cannot be deleted.
    r = delete_pipeline.sync_detailed(client=admin_client, body=DeletePipelineBody(pipeline_id=name, workspace_id=ws))
    assert r.status_code == 409, r.content
    assert_error_body(server.post("/v1/api/pipelines/delete_pipeline", admin_token, json={"pipeline_id": name, "workspace_id": ws}), 409)
    assert_error_body(server.post("/v1/api/pipelines/delete_pipeline_versions", admin_token,
                                  json={"pipeline_versions": [created.pipeline_variant_version]}), 409)
    assert_error_body(server.post("/v1/api/models/delete_model_versions", admin_token,
                                  json={"model_versions": [tiny["file_info"]["version"]], "confirm_delete": True}), 409)
    assert_error_body(server.post("/v1/api/models/delete_model", admin_token,
                                  json={"model_id": "tiny", "workspace_id": ws, "confirm_delete": True}), 409)

    ok(pipelines_undeploy.sync_detailed(client=admin_client, body=PipelinesUndeployBody(deployment_id=dep_id)))
    assert_error_body(deployment_status(server, admin_token, d.name), 404)
    assert_engine_error(d.infer(admin_token, [ROW]), 404, "Deployment not found")
    assert d.infer(admin_token, [ROW]).json() == {"code": 404, "status": "error", "error": "Deployment not found", "source": "platform"}
    assert_error_body(server.post("/v1/api/admin/get_pipeline_external_url", admin_token, json={"workspace_id": ws, "pipeline_name": name}), 404)

    # Redeploying reuses the deployment (same id, so the same URL).
    assert sdk_deploy(admin_client, name, created.pipeline_variant_pk_id, ws) == dep_id
    poll_running(admin_client, d.name)
    assert d.records(admin_token, [ROW])[0]["out"]["dense_1"]
    d.undeploy(admin_token)

    deleted = ok(delete_pipeline.sync_detailed(client=admin_client, body=DeletePipelineBody(pipeline_id=name, workspace_id=ws)))
    assert deleted.pipeline_id == name and deleted.workspace_id == ws
    r = get_pipeline_by_name.sync_detailed(client=admin_client, body=GetPipelineByNameBody(pipeline_name=name, workspace_id=ws))
    assert r.status_code == 404
    assert get_version(server, admin_token, tiny["id"])["model_version"]["status"] == "ready"


def test_delete_pipeline_versions(server, admin_token, admin_client, ws, tiny):
    name = unique("dpv")
    first = create_pipeline(server, admin_token, ws, name, [infer_step(tiny)])
    second = create_pipeline(server, admin_token, ws, name, [infer_step(tiny)])
    gone = ok(delete_pipeline_versions.sync_detailed(client=admin_client, body=DeletePipelineVersionsBody(
        pipeline_versions=[uuid.UUID(first["pipeline_variant_version"])])))
    assert [str(v) for v in gone.pipeline_versions] == [first["pipeline_variant_version"]]
    left = server.post("/v1/api/pipelines/list_pipeline_versions", admin_token, json={"pipeline_id": name, "workspace_id": ws}).json()
    assert [v["pipeline_version"]["version"] for v in left["pipeline_versions"]] == [second["pipeline_variant_version"]]


def test_model_version_says_deployed_while_deployed(server, admin_token, ws):
    mv = upload_ready(server, admin_token, ws, "flagged", "multi_io.onnx")
    name = unique("flag")
    created = create_pipeline(server, admin_token, ws, name, [infer_step(mv)])
    dep_id = deploy(server, admin_token, name, created["pipeline_variant_pk_id"], ws)
    wait_running(server, admin_token, f"{name}-{dep_id}")
    try:
        assert get_version(server, admin_token, mv["id"])["model_version"]["deployed"] is True
    finally:
        server.post("/v1/api/pipelines/undeploy", admin_token, json={"deployment_id": dep_id})


def test_a_deployment_that_cannot_start_answers_503(server, admin_token, ws):
    """Not racy: a model in status `error` never becomes ready, so the deployment never runs."""
    bad = wait_version(server, admin_token, version_id_of(upload(server, admin_token, ws, "broken", onnx_bytes("corrupt.onnx"))))["model_version"]
    assert bad["status"] == "error"
    name = unique("nostart")
    created = create_pipeline(server, admin_token, ws, name, [infer_step(bad)])
    dep_id = deploy(server, admin_token, name, created["pipeline_variant_pk_id"], ws)
    d = Deployed(server, ws, name, created["pipeline_pk_id"], created["pipeline_variant_pk_id"], created["pipeline_variant_version"], dep_id)
    deadline = time.monotonic() + 60
    while True:
        st = deployment_status(server, admin_token, d.name)
        assert st.status_code == 200, st.text
        assert st.json()["status"] in ("Starting", "Error"), st.json()
        body = assert_engine_error(d.infer(admin_token, [ROW]), 503)
        assert body["source"] == "platform"
        if st.json()["status"] == "Error" or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert st.json()["status"] == "Error" and "broken" in " ".join(st.json()["details"]), st.json()
    d.undeploy(admin_token)
    assert_error_body(deployment_status(server, admin_token, d.name), 404)
    assert_engine_error(d.infer(admin_token, [ROW]), 404, "Deployment not found")


def test_other_users_cannot_see_or_touch_a_deployment(server, admin_token, ws, tiny):
    name = unique("priv")
    created = create_pipeline(server, admin_token, ws, name, [infer_step(tiny)])
    dep_id = deploy(server, admin_token, name, created["pipeline_variant_pk_id"], ws)
    d = Deployed(server, ws, name, created["pipeline_pk_id"], created["pipeline_variant_pk_id"], created["pipeline_variant_version"], dep_id)
    wait_running(server, admin_token, d.name)
    tok = invite_user(server, admin_token, password="outsider-pass-1").token()
    assert_error_body(deployment_status(server, tok, d.name), 404)
    assert_engine_error(d.infer(tok, [ROW]), 404, "Deployment not found")
    for path, body in [("pipelines/get_pipeline_by_name", {"pipeline_name": name, "workspace_id": ws}),
                       ("pipelines/list_pipelines", {"workspace_id": ws}),
                       ("pipelines/list_pipeline_versions", {"pipeline_id": name, "workspace_id": ws}),
                       ("pipelines/get_version", {"version": created["pipeline_variant_version"]}),
                       ("pipelines/create", {"pipeline_id": name, "workspace_id": ws, "definition": {"steps": [infer_step(tiny)]}}),
                       ("pipelines/deploy", {"deploy_id": name, "pipeline_version_pk_id": created["pipeline_variant_pk_id"]}),
                       ("pipelines/undeploy", {"deployment_id": dep_id}),
                       ("pipelines/delete_pipeline", {"pipeline_id": name, "workspace_id": ws}),
                       ("admin/get_pipeline_external_url", {"workspace_id": ws, "pipeline_name": name}),
                       ("plateau/get_topic_name", {"pipeline_pk_id": created["pipeline_pk_id"]})]:
        assert_error_body(server.post(f"/v1/api/{path}", tok, json=body), 404)
    assert d.records(admin_token, [ROW])  # still running for its owner
    d.undeploy(admin_token)
