"""Hand-rolled FastAPI + onnxruntime server: what a team typically writes instead of a platform.

Run: uvicorn fastapi_app:app --workers N  (env BENCH_MODELS='{"name": "/path/model.onnx", ...}',
BENCH_ORT_THREADS intra-op threads, default 1). POST /pipelines/{name} takes the same pandas-records
body as Joey ([{"tensor": [...]}, ...]) and answers a Wallaroo-like nested pandas-records JSON
(time, in, out, anomaly, metadata) like Joey's. GET /health answers 200.
"""
import os
import time

import numpy as np
import onnxruntime as ort
import orjson
from fastapi import FastAPI, Request, Response

_opts = ort.SessionOptions()
_opts.intra_op_num_threads = int(os.environ.get("BENCH_ORT_THREADS", "1"))
MODELS = {}
for _name, _path in orjson.loads(os.environ["BENCH_MODELS"]).items():
    _sess = ort.InferenceSession(_path, _opts, providers=["CPUExecutionProvider"])
    _inp = _sess.get_inputs()[0]
    _dims = [d if isinstance(d, int) and d > 0 else -1 for d in _inp.shape[1:]]
    MODELS[_name] = (_sess, _inp.name, _dims, [o.name for o in _sess.get_outputs()])

app = FastAPI()


@app.get("/health")
async def health():
    return Response(b"ok", media_type="text/plain")


@app.post("/pipelines/{name}")
async def infer(name: str, request: Request):
    t0 = time.perf_counter_ns()
    entry = MODELS.get(name)
    if entry is None:
        return Response(orjson.dumps({"error": "no such pipeline"}), status_code=404, media_type="application/json")
    sess, inp, dims, outs = entry
    rows = orjson.loads(await request.body())
    x = np.asarray([r["tensor"] for r in rows], dtype=np.float32)
    if -1 not in dims:
        x = x.reshape([len(rows), *dims])
    t1 = time.perf_counter_ns()
    result = sess.run(None, {inp: x})
    t2 = time.perf_counter_ns()
    now = int(time.time() * 1000)
    out_cols = [r.reshape(len(rows), -1).tolist() for r in result]
    meta = {"last_model": '{"model_name":"%s"}' % name, "pipeline_version": "", "elapsed": [t1 - t0, t2 - t1],
            "dropped": [], "partition": "fastapi"}
    body = [{"time": now, "in": {"tensor": row["tensor"]}, "out": {o: col[i] for o, col in zip(outs, out_cols)},
             "anomaly": {"count": 0}, "metadata": meta} for i, row in enumerate(rows)]
    return Response(orjson.dumps(body), media_type="application/json; format=pandas-records")
