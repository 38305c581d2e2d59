"""Starting, preparing, addressing and stopping every server under test.

Each server runs in its own session (process group) so stop() can end it and all its workers;
main.py calls stop() from a finally block and on SIGTERM/SIGINT.
"""
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
import uuid

from common import BENCH, OUT, REPO, free_port, http, http_json, rss_mib, wait_http_ok

LOGS = os.path.join(OUT, "logs")
JOEY_BIN = os.path.join(REPO, "target", "release", "joey")
FLOOR_HTTP = os.path.join(BENCH, "floor", "target", "release", "floor-http")
CT_RECORDS = "application/json; format=pandas-records"
CT_ARROW = "application/vnd.apache.arrow.file"


class Server:
    kind = "?"

    def __init__(self, name):
        self.name, self.proc, self.port, self.info = name, None, None, {}

    @property
    def base(self):
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self):
        return self.proc.pid

    def _spawn(self, cmd, env=None, cwd=None, health="/health", health_timeout=180):
        os.makedirs(LOGS, exist_ok=True)
        self.logfile = os.path.join(LOGS, f"{self.name}.log")
        env = dict(os.environ if env is None else env)
        env.pop("RUST_BACKTRACE", None)  # engines.md pitfall 12
        t0 = self._t0 = time.monotonic()
        with open(self.logfile, "wb") as lf:
            self.proc = subprocess.Popen(cmd, stdout=lf, stderr=subprocess.STDOUT, env=env, cwd=cwd,
                                         start_new_session=True)
        try:
            wait_http_ok(self.base + health, self.proc, health_timeout)
        except RuntimeError as e:
            raise RuntimeError(f"{self.name} did not start: {e}; last log lines:\n{self.tail_log()}") from None
        self.info["start_to_ready_s"] = time.monotonic() - t0
        time.sleep(1.0)
        self.info["idle_rss_after_start_mib"] = rss_mib(self.pid)

    def tail_log(self, n=15):
        try:
            with open(self.logfile, errors="replace") as f:
                return "".join(f.readlines()[-n:])
        except OSError:
            return ""

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def setup(self, models, workloads):
        """Loads/deploys models where the server needs it. Records idle RSS with models loaded."""
        self.info["idle_rss_with_models_mib"] = rss_mib(self.pid)

    def stop(self):
        if self.proc is None or self.proc.poll() is not None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=10)
        except (subprocess.TimeoutExpired, ProcessLookupError):
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait(timeout=10)

    def target(self, w, model):
        """(url, body file, content type, accept, auth header) for workload w."""
        raise NotImplementedError


class Joey(Server):
    kind = "joey"
    EMAIL, PASSWORD, SECRET = "bench@joey.local", "bench-Passw0rd!", "bench-client-secret"

    def __init__(self, name, logging_on, batching=None):
        super().__init__(name)
        self.logging = "on" if logging_on else "off"
        self.batching = batching  # a dynamic_batching_config set on every model before deploying
        self.deployments = {}

    def start(self):
        self.data_dir = tempfile.mkdtemp(prefix=f"{self.name}-")
        self.port = free_port()
        env = dict(os.environ, JOEY_ADMIN_EMAIL=self.EMAIL, JOEY_ADMIN_PASSWORD=self.PASSWORD,
                   JOEY_API_CLIENT_SECRET=self.SECRET, JOEY_INFERENCE_LOGGING=self.logging,
                   JOEY_ACCESS_TOKEN_TTL_SECS="86400")
        self._spawn([JOEY_BIN, "serve", "--data-dir", self.data_dir, "--listen", f"127.0.0.1:{self.port}"], env)

    def log_counters(self):
        """(rows appended, rows shed) by the log store so far, from `GET /metrics`."""
        import urllib.request
        with urllib.request.urlopen(self.base + "/metrics", timeout=5) as r:
            text = r.read().decode()
        values = dict(line.split()[:2] for line in text.splitlines() if line.startswith("joey_log_rows_"))
        return int(float(values.get("joey_log_rows_appended_total", 0))), int(float(values.get("joey_log_rows_dropped_total", 0)))

    def token(self, grant):
        import base64
        basic = base64.b64encode(f"api-client:{self.SECRET}".encode()).decode()
        form = {"grant_type": grant}
        if grant == "password":
            form.update(username=self.EMAIL, password=self.PASSWORD)
        body = "&".join(f"{k}={v}" for k, v in form.items()).encode()
        r = http_json("POST", self.base + "/auth/realms/master/protocol/openid-connect/token", body,
                      {"Authorization": f"Basic {basic}", "Content-Type": "application/x-www-form-urlencoded"})
        return r["access_token"]

    def _upload(self, admin, model):
        boundary = uuid.uuid4().hex
        meta = {"name": model.key, "visibility": "private", "workspace_id": 1,
                "conversion": {"framework": "onnx", "requirements": []}}
        with open(model.path, "rb") as f:
            data = f.read()
        body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"metadata\"\r\n"
                f"Content-Type: application/json\r\n\r\n{json.dumps(meta)}\r\n"
                f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{model.key}.onnx\"\r\n"
                f"Content-Type: application/octet-stream\r\n\r\n").encode() + data + f"\r\n--{boundary}--\r\n".encode()
        r = http_json("POST", self.base + "/v1/api/models/upload", body,
                      {"Authorization": f"Bearer {admin}", "Content-Type": f"multipart/form-data; boundary={boundary}"})
        return r["insert_models"]["returning"][0]["models"][0]["id"]

    def setup(self, models, workloads):
        admin = self.token("password")
        self.infer_token = self.token("client_credentials")
        auth = {"Authorization": f"Bearer {admin}"}
        for key in sorted({w.model for w in workloads if self.name in w.conc}):
            model = models[key]
            vid = self._upload(admin, model)
            t0 = time.monotonic()
            while True:
                mv = http_json("POST", self.base + "/v1/api/models/get_version_by_id", {"model_version_id": vid}, auth)
                st = mv["model_version"]["model_version"]["status"]
                if st == "ready":
                    break
                if st in ("error", "failed") or time.monotonic() - t0 > 120:
                    raise RuntimeError(f"{self.name}: model {key} version {vid} status {st}: {mv}")
                time.sleep(0.05)
            if self.batching:
                http_json("POST", self.base + "/v1/api/models/insert_model_config",
                          {"model_version_id": vid, "dynamic_batching_config": self.batching}, auth)
            fi = mv["model_version"]["model_version"]["file_info"]
            pipe = f"bench-{key}"
            p = http_json("POST", self.base + "/v1/api/pipelines/create", {
                "pipeline_id": pipe, "workspace_id": 1, "definition": {"steps": [{"ModelInference": {"models": [
                    {"name": key, "version": fi["version"], "sha": fi["sha"]}]}}]}}, auth)
            t0 = time.monotonic()
            d = http_json("POST", self.base + "/v1/api/pipelines/deploy", {
                "deploy_id": pipe, "pipeline_version_pk_id": p["pipeline_variant_pk_id"],
                "engine_config": {"engine": {"replicas": 1}}}, auth)
            name = f"{pipe}-{d['id']}"
            while True:
                st = http_json("POST", self.base + "/v1/api/status/get_deployment", {"name": name}, auth)["status"]
                if st == "Running":
                    break
                if st == "Error" or time.monotonic() - t0 > 120:
                    raise RuntimeError(f"{self.name}: deployment {name} is {st}")
                time.sleep(0.01)
            self.info.setdefault("deploy_to_running_s", {})[key] = time.monotonic() - t0
            self.deployments[key] = (name, pipe)
        super().setup(models, workloads)

    def target(self, w, model):
        name, pipe = self.deployments[w.model]
        url = f"{self.base}/v1/api/pipelines/infer/{name}/{pipe}"
        auth = f"Bearer {self.infer_token}"
        if w.fmt == "arrow":
            return url, w.bodies["arrow"], CT_ARROW, CT_ARROW, auth
        return url, w.bodies["records"], CT_RECORDS, "", auth

    def stop(self):
        super().stop()
        shutil.rmtree(getattr(self, "data_dir", ""), ignore_errors=True)


class FastAPI(Server):
    kind = "fastapi"

    def __init__(self, name, workers):
        super().__init__(name)
        self.workers = workers

    def start(self, models):
        self.port = free_port()
        venv = os.path.join(BENCH, ".venv-fastapi")
        env = dict(os.environ, BENCH_MODELS=json.dumps({k: m.path for k, m in models.items()}), BENCH_ORT_THREADS="1")
        self._spawn([os.path.join(venv, "bin", "uvicorn"), "fastapi_app:app", "--host", "127.0.0.1",
                     "--port", str(self.port), "--workers", str(self.workers), "--loop", "uvloop",
                     "--http", "httptools", "--no-access-log", "--log-level", "warning"],
                    env, cwd=os.path.join(BENCH, "servers"))
        if self.workers > 1:
            time.sleep(3)  # first 200 comes from the first worker; let the others load their models

    def target(self, w, model):
        return f"{self.base}/pipelines/{w.model}", w.bodies["records"], "application/json", "", ""


class MLServer(Server):
    """MLServer 1.7.1 with default settings except debug=false (no per-request access log)."""
    kind = "mlserver"

    def __init__(self, name, sklearn_model=None):
        super().__init__(name)
        self.sklearn_model = sklearn_model  # path of a joblib RandomForestRegressor

    def start(self, models):
        self.repo_dir = tempfile.mkdtemp(prefix=f"{self.name}-")
        self.port = free_port()
        settings = {"debug": False, "http_port": self.port, "grpc_port": free_port(), "metrics_port": free_port()}
        with open(os.path.join(self.repo_dir, "settings.json"), "w") as f:
            json.dump(settings, f)
        shutil.copy(os.path.join(BENCH, "servers", "mlserver_ort.py"), self.repo_dir)
        if self.sklearn_model:
            specs = {"houseprice": ("mlserver_sklearn.SKLearnModel", self.sklearn_model)}
        else:
            specs = {k: ("mlserver_ort.OrtRuntime", m.path) for k, m in models.items()}
        for key, (impl, uri) in specs.items():
            os.makedirs(os.path.join(self.repo_dir, key))
            with open(os.path.join(self.repo_dir, key, "model-settings.json"), "w") as f:
                json.dump({"name": key, "implementation": impl, "parameters": {"uri": uri}}, f)
        self.models = list(specs)
        venv = os.path.join(BENCH, ".venv-mlserver")
        self._spawn([os.path.join(venv, "bin", "mlserver"), "start", self.repo_dir], cwd=self.repo_dir,
                    health="/v2/health/ready")
        for key in self.models:
            wait_http_ok(f"{self.base}/v2/models/{key}/ready", self.proc, 120)
        self.info["start_to_ready_s"] = max(self.info["start_to_ready_s"], time.monotonic() - self._t0 - 1.0)

    def target(self, w, model):
        return f"{self.base}/v2/models/{w.model}/infer", w.bodies["v2"], "application/json", "", ""

    def stop(self):
        super().stop()
        shutil.rmtree(getattr(self, "repo_dir", ""), ignore_errors=True)


# Bytes of Joey's answer per workload (from its answer check), for the floor's transfer runs.
ANSWER_BYTES = {}


class FloorHTTP(Server):
    kind = "floor"

    def start(self, models):
        self.port = free_port()
        self._spawn([FLOOR_HTTP, str(self.port)], health="/")

    def target(self, w, model):
        if w.fmt == "arrow":
            # The transfer floor: the same request body in, as many bytes out as Joey answers.
            n = ANSWER_BYTES.get(w.name)
            if n is None:
                raise RuntimeError(f"floor-http on {w.name} needs Joey's answer size: run it with joey")
            return f"{self.base}/bytes/{n}", w.bodies["arrow"], CT_ARROW, "", ""
        return f"{self.base}/", w.bodies["records"], "application/json", "", ""


def check_answer(server, w, model, expected):
    """One request before the timed runs: must be 200, and the first output must match ORT-python."""
    url, body_file, ct, accept, auth = server.target(w, model)
    headers = {"Content-Type": ct}
    if accept:
        headers["Accept"] = accept
    if auth:
        headers["Authorization"] = auth
    with open(body_file, "rb") as f:
        status, raw = http("POST", url, f.read(), headers, timeout=120)
    if status != 200:
        raise RuntimeError(f"{server.name} answered {status} on {w.name}: {raw[:300]!r}")
    if server.name == "joey":
        ANSWER_BYTES[w.name] = len(raw)
    if server.kind == "floor" or accept == CT_ARROW or expected is None or server.name == "mlserver-sklearn":
        # the sklearn stand-in is a refit forest: its outputs are close to, not equal to, the ONNX model's
        return None
    doc = json.loads(raw)
    if server.kind == "mlserver":
        got = doc["outputs"][0]["data"][0]
    else:
        out = doc[0]["out"]
        got = next(iter(out.values()))
        while isinstance(got, list):
            got = got[0]
    if abs(got - expected) > 1e-3 * max(1.0, abs(expected)):
        raise RuntimeError(f"{server.name} {w.name}: first output {got} != ORT-python {expected}")
    return None
