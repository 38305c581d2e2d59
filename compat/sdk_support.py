"""Support for the tests that run the Wallaroo SDK itself against Joey (test_sdk_flows.py,
test_graphql_schema.py): the SDK's GraphQL documents read from the installed package at test time
(nothing of the SDK is copied into this repo), a recorder of every GraphQL exchange a
``wallaroo.Client`` makes, and a fixture-friendly way to build clients for a fresh user."""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import graphql
import requests

from conftest import HTTP_TIMEOUT, CompatUser, JoeyServer

# What the SDK's flows in graphql-subset.md §2 send (plus gql's introspection).
SDK_OPERATIONS = {
    "ModelById", "ModelConfigById", "PipelineById", "PipelineVariantById", "ModelByName", "DeploymentById",
    "GetDeploymentForPipeline", "QueryLimitStatus", "WorkspaceById", "UserDefaultWorkspace", "CreateDefaultUserWorkspace",
    # Beyond the measured flows: `client.list_deployments()` and `Deployment.deploy()`.
    "ListDeployments", "Deploy",
}
INTROSPECTION = "IntrospectionQuery"


def sdk_root() -> Path:
    import wallaroo

    return Path(wallaroo.__file__).resolve().parent


def _gql_argument(call: ast.Call, root: Path) -> Optional[str]:
    """The document text of ``gql.gql(<arg>)``: a literal, an f-string (placeholders become ``1``,
    e.g. ``model_by_pk(id: {self._id})``), or ``queries.named("X")`` (the package's X.graphql)."""
    if not call.args:
        return None
    arg = call.args[0]
    if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
        return arg.value
    if isinstance(arg, ast.JoinedStr):
        return "".join(v.value if isinstance(v, ast.Constant) else "1" for v in arg.values)
    if (isinstance(arg, ast.Call) and isinstance(arg.func, ast.Attribute) and arg.func.attr == "named"
            and arg.args and isinstance(arg.args[0], ast.Constant)):
        path = root / "graphql" / f"{arg.args[0].value}.graphql"
        return path.read_text() if path.is_file() else None
    return None


def sdk_documents() -> dict:
    """Every document the installed SDK passes to ``gql.gql(...)``, by operation name. Documents
    built at run time from pieces (the dynamic ``ModelByName`` search) do not parse and are skipped."""
    root = sdk_root()
    found: dict = {}
    for py in sorted(root.rglob("*.py")):
        if "wallaroo_ml_ops_api_client" in py.parts:
            continue
        for node in ast.walk(ast.parse(py.read_text(), filename=str(py))):
            if not isinstance(node, ast.Call):
                continue
            f = node.func
            if not ((isinstance(f, ast.Attribute) and f.attr == "gql") or (isinstance(f, ast.Name) and f.id == "gql")):
                continue
            text = _gql_argument(node, root)
            if text is None:
                continue
            try:
                doc = graphql.parse(text)
            except graphql.GraphQLError:
                continue
            for d in doc.definitions:
                if isinstance(d, graphql.OperationDefinitionNode) and d.name:
                    where = f"{py.relative_to(root)}:{node.lineno}"
                    found.setdefault(d.name.value, []).append((where, doc))
    return found


def graphql_post(server: JoeyServer, token: Optional[str], query: str, variables=None) -> requests.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return requests.post(server.url("/v1/graphql"), json={"query": query, "variables": variables}, headers=headers,
                         timeout=HTTP_TIMEOUT)


def client_schema(server: JoeyServer, token: str) -> graphql.GraphQLSchema:
    """Joey's schema as gql sees it: graphql-core's standard introspection query, then
    ``build_client_schema``."""
    r = graphql_post(server, token, graphql.get_introspection_query())
    assert r.status_code == 200, r.text
    body = r.json()
    assert not body.get("errors"), body["errors"]
    return graphql.build_client_schema(body["data"])


@dataclass
class Exchange:
    operation: str
    variables: Optional[dict]
    errors: Optional[list]
    data: Optional[dict]


@dataclass
class GqlRecorder:
    """Wraps a client's gql transport and records every exchange (introspection included)."""

    exchanges: list = field(default_factory=list)

    def attach(self, wl) -> "GqlRecorder":
        transport = wl._gql_client.transport
        inner = transport.execute

        def execute(document, *args, **kwargs):
            result = inner(document, *args, **kwargs)
            names = [d.name.value for d in document.definitions
                     if isinstance(d, graphql.OperationDefinitionNode) and d.name]
            self.exchanges.append(Exchange(names[0] if names else "(anonymous)", kwargs.get("variable_values"),
                                           result.errors, result.data))
            return result

        transport.execute = execute
        return self

    @property
    def operations(self) -> list:
        return [e.operation for e in self.exchanges]

    def assert_clean(self) -> None:
        """No exchange had ``errors``, and only the expected operations were sent."""
        bad = [(e.operation, e.variables, e.errors) for e in self.exchanges if e.errors]
        assert not bad, f"GraphQL errors: {bad}"
        unexpected = set(self.operations) - SDK_OPERATIONS - {INTROSPECTION}
        assert not unexpected, f"operations outside the measured subset: {unexpected}"


class SdkSession:
    """Builds ``wallaroo.Client`` objects for one user, as the guides do (``user_password`` auth
    from WALLAROO_USER / WALLAROO_PASSWORD, token cache in a private XDG_CACHE_HOME)."""

    def __init__(self, server: JoeyServer, user: CompatUser, cache_dir: Path, monkeypatch):
        self.server, self.user = server, user
        monkeypatch.setenv("XDG_CACHE_HOME", str(cache_dir))
        monkeypatch.setenv("WALLAROO_USER", user.email)
        monkeypatch.setenv("WALLAROO_PASSWORD", user.password)
        for var in ("WALLAROO_TASK_ID", "WALLAROO_SDK_CREDENTIALS", "WALLAROO_URL"):
            monkeypatch.delenv(var, raising=False)
        self.recorders: list = []
        self.log_mark = server.log_path.stat().st_size if server.log_path.exists() else 0

    def client(self):
        import wallaroo

        wl = wallaroo.Client(api_endpoint=self.server.base_url, auth_type="user_password")
        rec = GqlRecorder().attach(wl)
        self.recorders.append(rec)
        return wl, rec

    def server_graphql_errors(self) -> list:
        """Lines the server logged for GraphQL answers with errors since this session began."""
        with open(self.server.log_path, "rb") as f:
            f.seek(self.log_mark)
            text = f.read().decode(errors="replace")
        return [line for line in text.splitlines() if "graphql errors" in line or "graphql request rejected" in line]

    def assert_clean(self) -> None:
        for rec in self.recorders:
            rec.assert_clean()
        assert not self.server_graphql_errors(), self.server_graphql_errors()


def default_workspace_name(email: str) -> str:
    return f"{email} - Default Workspace"

