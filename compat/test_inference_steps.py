"""Pipelines of more than one plain model step, on the tiny committed fixtures: a two-step chain
wired with tensor_fields (as the IMDB tutorial does), a multi-input/multi-output model, an A/B
RandomSplit (random and sticky), a shadow deploy and a validation (Check) step built the way the
SDK's ``add_validations`` builds it. Expected numbers come from onnxruntime in-process."""

import json
from collections import Counter

import numpy as np
import polars as pl
import pytest

from helpers import (FIXTURES, ROWS, SDK_QUERY, close32, deploy_pipeline, infer_step, new_workspace, ref,
                     set_tensor_fields, tiny_out, upload_ready)


def ort_run(fixture: str, feeds: dict) -> dict:
    import onnxruntime as ort

    sess = ort.InferenceSession(str(FIXTURES / fixture), providers=["CPUExecutionProvider"])
    outs = sess.run(None, {k: np.asarray(v, dtype=np.float32) for k, v in feeds.items()})
    return {o.name: v for o, v in zip(sess.get_outputs(), outs)}


@pytest.fixture(scope="module")
def ws(server, admin_token) -> int:
    return new_workspace(server, admin_token, "steps")


@pytest.fixture(scope="module")
def models(server, admin_token, ws) -> dict:
    """champion and challenger are both tiny_ccfraud (same outputs, told apart by name)."""
    return {name: upload_ready(server, admin_token, ws, name, fixture) for name, fixture in [
        ("champion", "tiny_ccfraud.onnx"), ("challenger", "tiny_ccfraud.onnx"), ("embed", "step1.onnx"),
        ("classify", "step2.onnx"), ("multi", "multi_io.onnx")]}


@pytest.fixture
def deployed(server, admin_token, ws):
    """Factory: deploys ``steps`` and undeploys it after the test."""
    live = []

    def make(steps, prefix="s"):
        d = deploy_pipeline(server, admin_token, ws, steps, prefix=prefix)
        live.append(d)
        return d

    yield make
    for d in live:
        d.undeploy(admin_token)


def test_two_step_chain_with_tensor_fields(server, admin_token, models, deployed):
    embed, classify = models["embed"], models["classify"]
    assert set_tensor_fields(server, admin_token, embed, ["tensor"])["tensor_fields"] == ["tensor"]
    assert set_tensor_fields(server, admin_token, classify, ["flatten_1"])["tensor_fields"] == ["flatten_1"]
    d = deployed([infer_step(embed), infer_step(classify)], prefix="chain")
    rows = [[1.0, 2.0, 3.0, 4.0], [-1.0, 0.5, 0.0, 2.0], [0.0, 0.0, 0.0, 0.0]]
    out = d.records(admin_token, [{"tensor": r} for r in rows])
    hidden = ort_run("step1.onnx", {"input": rows})["flatten_1"]
    want = ort_run("step2.onnx", {"embeddings": hidden})["dense_1"]
    for rec, w, row in zip(out, want, rows):
        assert rec["in"] == {"tensor": row}
        assert list(rec["out"]) == ["dense_1"] and np.float32(rec["out"]["dense_1"]).tolist() == w.tolist()
        assert json.loads(rec["metadata"]["last_model"])["model_name"] == "classify"


def test_multi_input_multi_output(admin_token, models, deployed):
    d = deployed([infer_step(models["multi"])], prefix="mio")
    rng = np.random.default_rng(1)
    a, b = rng.random((4, 10)).astype(np.float32), rng.random((4, 5)).astype(np.float32)
    body = [{"input_1": x.tolist(), "input_2": y.tolist()} for x, y in zip(a, b)]
    out = d.records(admin_token, body, query=SDK_QUERY)
    want = ort_run("multi_io.onnx", {"input_1": a, "input_2": b})
    for i, rec in enumerate(out):
        assert set(rec) == {"time", "in.input_1", "in.input_2", "out.output_1", "out.output_2", "anomaly.count"}, rec
        assert np.float32(rec["out.output_1"]).tolist() == want["output_1"][i].tolist()
        assert np.float32(rec["out.output_2"]).tolist() == want["output_2"][i].tolist()


def split_step(models, hash_key=None) -> dict:
    return {"RandomSplit": {"hash_key": hash_key, "weights": [{"model": ref(models["champion"]), "weight": 2},
                                                              {"model": ref(models["challenger"]), "weight": 1}]}}


def served_by(rec) -> str:
    split = rec["out._model_split"]
    assert isinstance(split, list) and len(split) == 1 and isinstance(split[0], str), split
    return json.loads(split[0])["name"]


def test_ab_random_split_follows_the_weights(admin_token, models, deployed):
    d = deployed([split_step(models)], prefix="ab")
    counts = Counter()
    for i in range(600):
        rec = d.records(admin_token, [{"dense_input": ROWS[i % len(ROWS)]}], query=SDK_QUERY)[0]
        counts[served_by(rec)] += 1
        assert close32(rec["out.dense_1"][0], tiny_out(ROWS[i % len(ROWS)]))
    assert set(counts) == {"champion", "challenger"}, counts
    assert abs(counts["champion"] / 600 - 2 / 3) <= 0.08, counts
    # The split record names the model version that served the row; metadata.last_model agrees.
    rec = d.records(admin_token, [{"dense_input": ROWS[0]}], query="dataset.separator=.")[0]
    split = json.loads(rec["out._model_split"][0])
    assert split["version"] == models[split["name"]]["file_info"]["version"]
    assert json.loads(rec["metadata.last_model"])["model_name"] == split["name"]


def test_ab_split_is_sticky_on_the_hash_key(admin_token, models, deployed):
    d = deployed([split_step(models, hash_key="session_id")], prefix="sticky")
    seen = {}
    for key in (0.1, 0.9, "user-42", "user-7", "abc"):
        names = {served_by(d.records(admin_token, [{"dense_input": ROWS[0], "session_id": key}], query=SDK_QUERY)[0])
                 for _ in range(12)}
        assert len(names) == 1, (key, names)
        seen[key] = names.pop()
    # A value in [0, 1) is used as the draw itself: below 2/3 the first model, above it the second.
    assert (seen[0.1], seen[0.9]) == ("champion", "challenger"), seen
    rec = d.records(admin_token, [{"dense_input": ROWS[0], "session_id": "abc"}], query=SDK_QUERY)[0]
    assert rec["in.session_id"] == "abc"


def test_shadow_deploy_reports_the_challenger_beside_the_champion(admin_token, models, deployed):
    steps = [{"ModelInference": {"models": [ref(models["champion"]), ref(models["challenger"])]}},
             {"AuditResults": {"from": 1, "to": None}}, {"MultiOut": {}}]
    d = deployed(steps, prefix="shadow")
    out = d.records(admin_token, [{"dense_input": r} for r in ROWS[:3]], query=SDK_QUERY)
    for rec, row in zip(out, ROWS):
        assert {"out.dense_1", "out_challenger.dense_1"} <= set(rec), rec
        assert close32(rec["out.dense_1"][0], tiny_out(row)) and close32(rec["out_challenger.dense_1"][0], tiny_out(row))
    nested = d.records(admin_token, [{"dense_input": ROWS[0]}])[0]
    assert set(nested["out"]) == {"dense_1"} and set(nested["out_challenger"]) == {"dense_1"}, nested
    assert json.loads(nested["metadata"]["last_model"])["model_name"] == "champion"


def test_check_step_flags_anomalies(admin_token, models, deployed):
    # What Pipeline.add_validations(too_high=...) appends: Check.from_validation_dict in wallaroo/pipeline_config.py.
    validations = {"too_high": pl.col("out.dense_1").list.get(0) > 0.5}
    check = {"Check": {"tree": [expr.alias(name).meta.write_json() for name, expr in validations.items()]}}
    d = deployed([infer_step(models["champion"]), check], prefix="check")
    rows = ROWS + [[5.0] + [0.0] * 28, [0.0] * 29]
    want = [bool(tiny_out(r) > 0.5) for r in rows]
    assert True in want and False in want
    out = d.records(admin_token, [{"dense_input": r} for r in rows], query=SDK_QUERY)
    for rec, flag in zip(out, want):
        assert rec["anomaly.too_high"] is flag, rec
        assert rec["anomaly.count"] == int(flag), rec
    nested = d.records(admin_token, [{"dense_input": rows[-2]}])[0]
    assert nested["anomaly"] == {"count": 0, "too_high": False}, nested
