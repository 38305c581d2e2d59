"""Joey's GraphQL schema (``/v1/graphql``) against the documents the installed Wallaroo SDK sends.

gql fetches the schema by introspection and validates every document client-side before sending
it, so a missing type, field, argument or enum value breaks the SDK without the server ever
seeing the request. These tests do the same with graphql-core: Joey's introspection →
``build_client_schema`` → ``validate`` each SDK document, read from the installed ``wallaroo``
package at test time (see sdk_support.sdk_documents)."""

import graphql
import pytest

from sdk_support import SDK_OPERATIONS, client_schema, graphql_post, sdk_documents


@pytest.fixture(scope="module")
def schema(server, admin_token) -> graphql.GraphQLSchema:
    return client_schema(server, admin_token)


@pytest.fixture(scope="module")
def documents() -> dict:
    return sdk_documents()


def test_introspection_builds_a_hasura_shaped_schema(schema):
    assert schema.query_type.name == "query_root"
    assert schema.mutation_type.name == "mutation_root"
    for scalar in ("bigint", "timestamptz", "jsonb", "float8"):
        assert isinstance(schema.get_type(scalar), graphql.GraphQLScalarType), scalar
    order_by = schema.get_type("order_by")
    assert "desc" in order_by.values and "asc" in order_by.values


def test_the_sdk_package_still_holds_every_measured_operation(documents):
    missing = SDK_OPERATIONS - set(documents)
    assert not missing, f"the installed SDK no longer sends {missing}; re-measure graphql-subset.md"


@pytest.mark.parametrize("operation", sorted(SDK_OPERATIONS))
def test_sdk_document_validates(schema, documents, operation):
    for where, doc in documents[operation]:
        errors = graphql.validate(schema, doc)
        assert not errors, f"{operation} ({where}): {[e.message for e in errors]}"


def test_pipeline_models_document_validates(schema, documents):
    """`PipelineModels` (pipeline model listing) is outside the measured flows but supported."""
    for where, doc in documents["PipelineModels"]:
        assert not graphql.validate(schema, doc), where


def test_introspection_requires_a_token(server, admin_token):
    query = graphql.get_introspection_query()
    r = graphql_post(server, None, query)
    assert r.status_code == 401, r.text
    r = graphql_post(server, "not-a-jwt", query)
    assert r.status_code == 401, r.text
    r = graphql_post(server, server.service_token(), query)
    assert r.status_code == 403, r.text


def test_graphql_errors_come_back_in_the_body(server, admin_token):
    r = graphql_post(server, admin_token, "{ workspace_by_pk(id: 1) { no_such_field } }")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["data"] is None and body["errors"][0]["message"], body
    r = graphql_post(server, admin_token, "query Q($id: bigint!) { workspace_by_pk(id: $id) { id } }", {"id": 987654321})
    assert r.status_code == 200 and r.json() == {"data": {"workspace_by_pk": None}}, r.text
