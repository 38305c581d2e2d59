"""Shared fixtures of the Joey compatibility suite.

A session-scoped ``server`` fixture starts ``joey serve`` (``$JOEY_BIN``, default
``<repo>/target/debug/joey``) on a free port with a temporary data dir and fixed test credentials,
waits for ``/health`` and stops it at the end. ``server.restart()`` restarts it on the same port
and data dir (the token issuer contains the port, so a token from before the restart stays valid).
With ``$JOEY_COMPAT_DATABASE_URL`` set, the server gets ``--database-url`` and the whole suite runs
on that database (PostgreSQL). It must be empty or used only by this suite before: the server
creates the bootstrap admin only when it has no users. Tests use unique names, so running the
suite again on the same database is fine (e.g. `scripts/pg-start.sh` with its own JOEY_PG_DIR/PORT).
Every instance flushes its inference log store every ``LOG_FLUSH_INTERVAL_MS`` (100 ms, not the
default second), so the log tests see what was inferred quickly; the JOEY_LOG_* and
JOEY_INFERENCE_LOGGING settings are the fixture's, never inherited.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import pytest
import requests
from requests.auth import HTTPBasicAuth

from wallaroo.wallaroo_ml_ops_api_client.client import AuthenticatedClient

REPO = Path(__file__).resolve().parent.parent
JOEY_BIN = os.environ.get("JOEY_BIN", str(REPO / "target" / "debug" / "joey"))
DATABASE_URL = os.environ.get("JOEY_COMPAT_DATABASE_URL") or None

ADMIN_EMAIL = "compat-admin@example.com"
ADMIN_PASSWORD = "compat-admin-password-1"
CLIENT_SECRET = "compat-api-client-secret"
REALM = "/auth/realms/master"
OIDC = REALM + "/protocol/openid-connect"
HTTP_TIMEOUT = 30
# `joey serve` settings (env spellings) that this fixture decides; inherited values are dropped.
CONTROLLED_ENV = {
    "JOEY_CONFIG", "JOEY_LISTEN", "JOEY_DATA_DIR", "JOEY_DATABASE_URL", "JOEY_PUBLIC_URL", "JOEY_ADMIN_EMAIL",
    "JOEY_ADMIN_PASSWORD", "JOEY_API_CLIENT_SECRET", "JOEY_ACCESS_TOKEN_TTL_SECS", "JOEY_REFRESH_TOKEN_TTL_SECS",
    "JOEY_TOKEN_AUDIENCE", "JOEY_JSON_BODY_LIMIT", "JOEY_DEFAULT_ARCH", "JOEY_LOG_FORMAT", "JOEY_UPLOAD_LIMIT_BYTES",
    "JOEY_INFER_BODY_LIMIT", "JOEY_INFERENCE_LOGGING", "JOEY_LOG_FLUSH_INTERVAL_MS", "JOEY_LOG_FLUSH_ROWS",
    "JOEY_LOG_QUEUE_CAPACITY", "JOEY_LOG_FSYNC", "JOEY_LOG_DISK_BUDGET_BYTES", "JOEY_LOG_RETENTION_HOURS",
    "JOEY_LOG_RETENTION_BYTES_PER_TOPIC", "JOEY_TEST_DEPLOY_DELAY_MS",
}
# The inference log store flushes at least this often (ms): short, so log tests need not wait a second
# (the server's default is 1000). Every instance the suite starts gets it.
LOG_FLUSH_INTERVAL_MS = 100
# The third-party reference data (Wallaroo tutorial models and recorded responses) read in place by
# the tests marked `shared`; see /work/shared/data/README.md. Never copied into the repo.
SHARED_DATA = Path(os.environ.get("JOEY_SHARED_DATA") or REPO.parent / "shared" / "data")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def unique(prefix: str = "c") -> str:
    """A short unique, DNS-safe suffix for names that must not collide across runs."""
    return f"{prefix}{uuid.uuid4().hex[:10]}"


@dataclass
class JoeyServer:
    """One ``joey serve`` process and what a test needs to talk to it."""

    data_dir: Path
    port: int = field(default_factory=free_port)
    database_url: Optional[str] = DATABASE_URL
    extra_args: list = field(default_factory=list)
    admin_email: str = ADMIN_EMAIL
    admin_password: str = ADMIN_PASSWORD
    client_secret: str = CLIENT_SECRET
    proc: Optional[subprocess.Popen] = None
    starts: int = 0

    def __repr__(self) -> str:
        return f"JoeyServer({self.base_url}, data_dir={self.data_dir})"

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def token_url(self) -> str:
        return self.base_url + OIDC + "/token"

    @property
    def issuer(self) -> str:
        return self.base_url + REALM

    @property
    def log_path(self) -> Path:
        return self.data_dir.parent / f"{self.data_dir.name}-joey.log"

    def start(self, with_bootstrap_env: bool = True) -> None:
        """Starts the server and waits for /health. ``with_bootstrap_env=False`` leaves out the
        admin password and api-client secret, so a restart must find them in the store."""
        if not os.access(JOEY_BIN, os.X_OK):
            pytest.exit(f"joey binary not found at {JOEY_BIN}; run `cargo build -p joey-server` or set JOEY_BIN", 2)
        # Settings under test come from this fixture only; anything else (JOEY_ORT_LIBRARY,
        # ORT_DYLIB_PATH, ...) passes through.
        env = {k: v for k, v in os.environ.items() if k not in CONTROLLED_ENV and not k.startswith("JOEY_EXTERNAL_")}
        env["RUST_LOG"] = os.environ.get("RUST_LOG", "info")
        env["JOEY_ADMIN_EMAIL"] = self.admin_email
        if with_bootstrap_env:
            env["JOEY_ADMIN_PASSWORD"] = self.admin_password
            env["JOEY_API_CLIENT_SECRET"] = self.client_secret
        args = [JOEY_BIN, "serve", "--data-dir", str(self.data_dir), "--listen", f"127.0.0.1:{self.port}"]
        if "--log-flush-interval-ms" not in self.extra_args:
            args += ["--log-flush-interval-ms", str(LOG_FLUSH_INTERVAL_MS)]
        if self.database_url:
            args += ["--database-url", self.database_url]
        args += [str(a) for a in self.extra_args]
        log = open(self.log_path, "ab")
        log.write(f"\n===== start #{self.starts + 1}: {' '.join(args)}\n".encode())
        log.flush()
        # cwd = the repo, so the server finds the project's own .ort environment (install-ort.sh).
        self.proc = subprocess.Popen(args, env=env, cwd=REPO, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        log.close()
        self.starts += 1
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"joey exited with {self.proc.returncode}; log:\n{self.log_tail()}")
            try:
                r = requests.get(self.base_url + "/health", timeout=2)
                if r.status_code == 200 and r.text.strip() == "ok":
                    return
            except requests.RequestException:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"joey did not answer /health within 60 s; log:\n{self.log_tail()}")

    def stop(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=15)
        self.proc = None

    def restart(self, with_bootstrap_env: bool = False) -> None:
        """Stops and starts the server on the same port and data dir (and database)."""
        self.stop()
        self.start(with_bootstrap_env=with_bootstrap_env)

    def log_tail(self, n: int = 60) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return "(no log)"

    # ---- HTTP helpers ---------------------------------------------------------------------

    def url(self, path: str) -> str:
        return self.base_url + path

    def token_request(self, data: dict, secret: Optional[str] = None, client_id: str = "api-client") -> requests.Response:
        """A token request the way the Wallaroo guides write it: HTTP Basic api-client:secret."""
        secret = self.client_secret if secret is None else secret
        return requests.post(self.token_url, auth=HTTPBasicAuth(client_id, secret), data=data, timeout=HTTP_TIMEOUT)

    def password_token(self, username: str, password: str) -> dict:
        r = self.token_request({"grant_type": "password", "username": username, "password": password})
        assert r.status_code == 200, f"password grant for {username}: {r.status_code} {r.text}"
        return r.json()

    def token(self, username: str, password: str) -> str:
        return self.password_token(username, password)["access_token"]

    def admin_token(self) -> str:
        return self.token(self.admin_email, self.admin_password)

    def service_token(self) -> str:
        r = self.token_request({"grant_type": "client_credentials"})
        assert r.status_code == 200, r.text
        return r.json()["access_token"]

    def post(self, path: str, token: Optional[str], json=None, **kw) -> requests.Response:
        headers = kw.pop("headers", {})
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        return requests.post(self.url(path), json=json, headers=headers, timeout=HTTP_TIMEOUT, **kw)

    def get(self, path: str, token: Optional[str], **kw) -> requests.Response:
        headers = kw.pop("headers", {})
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        return requests.get(self.url(path), headers=headers, timeout=HTTP_TIMEOUT, **kw)

    def client(self, token: str) -> AuthenticatedClient:
        """The generated Wallaroo client, authenticated with ``token``."""
        return AuthenticatedClient(base_url=self.base_url, token=token, headers={"user-agent": "WallarooSDK/2026.1.3"})


@dataclass
class CompatUser:
    server: JoeyServer
    id: str
    email: str
    password: str

    def token(self) -> str:
        return self.server.token(self.email, self.password)


def invite_user(server: JoeyServer, admin_token: str, email: Optional[str] = None, password: Optional[str] = None) -> CompatUser:
    """Creates a user through ``users/invite`` the way the SDK does (no ``roles`` key)."""
    email = email or f"{unique('u')}@example.com"
    body = {"email": email}
    if password is not None:
        body["password"] = password
    r = server.post("/v1/api/users/invite", admin_token, json=body)
    assert r.status_code == 200, f"invite {email}: {r.status_code} {r.text}"
    out = r.json()
    assert isinstance(out.get("id"), str) and out["id"], out
    assert isinstance(out.get("password"), str) and out["password"], out
    if password is not None:
        assert out["password"] == password
    return CompatUser(server, out["id"], email, out["password"])


def assert_error_body(r: requests.Response, status: int) -> dict:
    """Asserts the status and the MLOps error body ``{"msg": str, "code": status}``."""
    assert r.status_code == status, f"expected {status}, got {r.status_code}: {r.text}"
    body = r.json()
    assert isinstance(body, dict), body
    assert isinstance(body.get("msg"), str) and body["msg"], body
    assert body.get("code") == status, body
    return body


def assert_oauth_error(r: requests.Response, status: int, error: str) -> dict:
    """Asserts an OAuth2 token-endpoint error ``{"error", "error_description"}``."""
    assert r.status_code == status, f"expected {status} {error}, got {r.status_code}: {r.text}"
    body = r.json()
    assert body.get("error") == error, body
    return body


# ---- fixtures -----------------------------------------------------------------------------


@pytest.fixture(scope="session")
def tmp_root():
    d = Path(tempfile.mkdtemp(prefix="joey-compat-"))
    yield d
    if os.environ.get("JOEY_COMPAT_KEEP") != "1":
        shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(scope="session")
def server(tmp_root):
    s = JoeyServer(data_dir=tmp_root / "data")
    s.start()
    yield s
    s.stop()


@pytest.fixture(scope="session")
def admin_token(server) -> str:
    return server.admin_token()


@pytest.fixture(scope="session")
def admin_client(server, admin_token) -> AuthenticatedClient:
    return server.client(admin_token)


@pytest.fixture
def new_user(server, admin_token):
    """Factory: ``new_user()`` invites a fresh user with a known password."""

    def make(password: Optional[str] = None) -> CompatUser:
        return invite_user(server, admin_token, password=password or f"pw-{uuid.uuid4().hex}")

    return make


@pytest.fixture(scope="session")
def short_ttl_server(tmp_root):
    """A second instance whose access tokens live 10 s (the minimum), for the expiry test. It
    uses its own SQLite data dir even on a PostgreSQL run: only token lifetimes are under test."""
    s = JoeyServer(data_dir=tmp_root / "short-ttl", database_url=None,
                   extra_args=["--access-token-ttl-secs", "10", "--refresh-token-ttl-secs", "600"])
    s.start()
    yield s
    s.stop()


@pytest.fixture(scope="session")
def slow_deploy_server(tmp_root):
    """A second instance whose deployments stay `Starting` for 8 s (the hidden test knob), so the
    SDK's deploy wait reaches its limit-status check (from the 7th poll, one per second). Own
    SQLite data dir: only the deployment timing is under test."""
    s = JoeyServer(data_dir=tmp_root / "slow-deploy", database_url=None, extra_args=["--test-deploy-delay-ms", "8000"])
    s.start()
    yield s
    s.stop()


@pytest.fixture(autouse=True)
def _shared_data_present(request):
    """Tests marked `shared` need SHARED_DATA: skipped when it is absent by default, failed when
    JOEY_SHARED_DATA names a folder that is not there (CI sets it, or has ../shared)."""
    if request.node.get_closest_marker("shared") is None or SHARED_DATA.is_dir():
        return
    if os.environ.get("JOEY_SHARED_DATA"):
        pytest.fail(f"JOEY_SHARED_DATA={SHARED_DATA} is not a directory")
    pytest.skip(f"shared reference data not found at {SHARED_DATA} (set JOEY_SHARED_DATA)")


def pytest_report_header(config):
    return [f"joey binary: {JOEY_BIN}", f"database: {DATABASE_URL or 'sqlite (temp data dir)'}",
            f"shared data: {SHARED_DATA}{'' if SHARED_DATA.is_dir() else ' (missing)'}"]
