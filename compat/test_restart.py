"""Restart the session server on the same data dir (and database): users, workspaces, members,
OIDC clients and signing keys persist, and tokens issued before the restart keep working.

The restart leaves out JOEY_ADMIN_PASSWORD and JOEY_API_CLIENT_SECRET, so the admin login and the
api-client secret can only work if they were persisted. The rest of the suite keeps using the
restarted server."""

import jwt
import requests

from conftest import HTTP_TIMEOUT, OIDC, assert_error_body, invite_user, unique


def test_state_and_tokens_survive_a_restart(server, admin_token):
    user = invite_user(server, admin_token, password="restart-pass-1")
    user_tokens = server.password_token(user.email, user.password)
    sdk = requests.post(server.token_url, timeout=HTTP_TIMEOUT, data={
        "client_id": "sdk-client", "grant_type": "password", "username": user.email, "password": user.password})
    assert sdk.status_code == 200, sdk.text
    service = server.service_token()
    ws_name = unique("persist")
    r = server.post("/v1/api/workspaces/create", user_tokens["access_token"], json={"workspace_name": ws_name})
    assert r.status_code == 200, r.text
    ws_id = r.json()["workspace_id"]
    r = server.post("/v1/api/workspaces/add_user", user_tokens["access_token"],
                    json={"workspace_id": ws_id, "email": server.admin_email, "user_type": "collaborator"})
    assert r.status_code == 200, r.text
    before_members = server.post("/v1/api/workspaces/list_users", admin_token, json={"workspace_id": ws_id}).json()
    before_user = server.post("/v1/api/users/query", admin_token, json={"user_ids": [user.id]}).json()["users"][user.id]
    kids_before = {k["kid"] for k in requests.get(server.url(OIDC + "/certs"), timeout=HTTP_TIMEOUT).json()["keys"]}

    server.restart(with_bootstrap_env=False)

    # The signing key is the same one.
    kids_after = {k["kid"] for k in requests.get(server.url(OIDC + "/certs"), timeout=HTTP_TIMEOUT).json()["keys"]}
    assert jwt.get_unverified_header(user_tokens["access_token"])["kid"] in kids_after
    assert kids_before <= kids_after
    # Tokens issued before the restart still verify.
    r = server.post("/v1/api/workspaces/list", user_tokens["access_token"], json={})
    assert r.status_code == 200, r.text
    listed = {w["id"]: w for w in r.json()["workspaces"]}
    assert ws_id in listed and listed[ws_id]["name"] == ws_name
    assert f"{user.email} - Default Workspace" in [w["name"] for w in listed.values()]
    r = server.post("/v1/api/workspaces/list_users", admin_token, json={"workspace_id": ws_id})
    assert r.status_code == 200 and r.json() == before_members, r.text
    r = server.post("/v1/api/users/query", admin_token, json={"user_ids": [user.id]})
    assert r.status_code == 200, r.text
    after_user = r.json()["users"][user.id]
    assert {k: after_user[k] for k in ("id", "email", "username", "enabled", "createdTimestamp")} == \
           {k: before_user[k] for k in ("id", "email", "username", "enabled", "createdTimestamp")}
    assert server.post("/v1/api/features/list", sdk.json()["access_token"]).status_code == 200
    # A service-account token still verifies (403 on management routes, not 401).
    assert_error_body(server.post("/v1/api/workspaces/list", service, json={}), 403)
    # Refresh tokens persist, for both clients.
    r = server.token_request({"grant_type": "refresh_token", "refresh_token": user_tokens["refresh_token"]})
    assert r.status_code == 200, r.text
    r = requests.post(server.token_url, timeout=HTTP_TIMEOUT, data={
        "client_id": "sdk-client", "grant_type": "refresh_token", "refresh_token": sdk.json()["refresh_token"]})
    assert r.status_code == 200, r.text
    # Passwords and the api-client secret persist (neither was given to the restarted server).
    assert server.token(user.email, user.password)
    assert server.token(server.admin_email, server.admin_password)
    assert server.service_token()
    r = server.token_request({"grant_type": "client_credentials"}, secret="not-the-secret")
    assert r.status_code == 401
