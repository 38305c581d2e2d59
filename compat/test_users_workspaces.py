"""User and workspace endpoints through the Wallaroo SDK's generated client
(``wallaroo.wallaroo_ml_ops_api_client``): its parsers raise on a missing required key, so a
parsed response is proof of a compatible shape. Plus /v1/api/config, features/list and the
Keycloak admin user API the SDK calls with plain HTTP."""

import time

import jwt
import pytest
import requests
from dateutil.parser import isoparse

from wallaroo.wallaroo_ml_ops_api_client.api.misc import features_list
from wallaroo.wallaroo_ml_ops_api_client.api.user import (
    users_activate, users_deactivate, users_edit, users_invite, users_query)
from wallaroo.wallaroo_ml_ops_api_client.api.workspace import (
    workspaces_add_user, workspaces_create, workspaces_list, workspaces_list_users, workspaces_remove_user,
    workspaces_validate)
from wallaroo.wallaroo_ml_ops_api_client.models import (
    UsersActivateBody, UsersDeactivateBody, UsersEditBody, UsersInviteBody, UsersQueryBody, WorkspacesAddUserBody,
    WorkspacesCreateBody, WorkspacesListBody, WorkspacesListUsersBody, WorkspacesRemoveUserBody)
from wallaroo.wallaroo_ml_ops_api_client.models.features_list_response_200 import FeaturesListResponse200
from wallaroo.wallaroo_ml_ops_api_client.models.users_invite_response_200 import UsersInviteResponse200
from wallaroo.wallaroo_ml_ops_api_client.models.users_invite_response_400 import UsersInviteResponse400
from wallaroo.wallaroo_ml_ops_api_client.models.users_query_response_200 import UsersQueryResponse200
from wallaroo.wallaroo_ml_ops_api_client.models.workspaces_create_response_200 import WorkspacesCreateResponse200
from wallaroo.wallaroo_ml_ops_api_client.models.workspaces_create_response_400 import WorkspacesCreateResponse400
from wallaroo.wallaroo_ml_ops_api_client.models.workspaces_list_response_200 import WorkspacesListResponse200
from wallaroo.wallaroo_ml_ops_api_client.models.workspaces_list_users_response_200 import WorkspacesListUsersResponse200
from wallaroo.wallaroo_ml_ops_api_client.models.workspaces_remove_user_response_200 import WorkspacesRemoveUserResponse200

from conftest import HTTP_TIMEOUT, assert_error_body, unique

KC_USERS = "/auth/admin/realms/master/users"
USER_KEYS = ("id", "username", "enabled", "createdTimestamp", "email")


def ok(resp, model=None):
    """Asserts a 200 and that the generated client parsed it (into ``model`` when given)."""
    assert resp.status_code == 200, f"{resp.status_code}: {resp.content!r}"
    if model is not None:
        assert isinstance(resp.parsed, model), f"parsed {type(resp.parsed)} from {resp.content!r}"
    return resp.parsed


def query_users(client, ids=None) -> dict:
    body = UsersQueryBody() if ids is None else UsersQueryBody(user_ids=ids)
    users = ok(users_query.sync_detailed(client=client, body=body), UsersQueryResponse200).users
    out = {}
    for uid, rep in users.additional_properties.items():
        assert rep is not None, uid
        rep = rep.to_dict()
        for k in USER_KEYS:
            assert k in rep, (k, rep)
        assert rep["id"] == uid
        assert isinstance(rep["createdTimestamp"], int) and rep["createdTimestamp"] > 1_600_000_000_000
        assert isinstance(rep["enabled"], bool)
        out[uid] = rep
    return out


def list_workspaces(client, user_id=None) -> list:
    body = WorkspacesListBody() if user_id is None else WorkspacesListBody(user_id=user_id)
    items = ok(workspaces_list.sync_detailed(client=client, body=body), WorkspacesListResponse200).workspaces
    for w in items:
        ts = isoparse(w.created_at)
        assert ts.tzinfo is not None and ts.utcoffset() is not None, w.created_at
        assert isinstance(w.archived, bool) and isinstance(w.created_by, str)
        assert all(isinstance(i, int) for i in w.models + w.pipelines)
    return items


def create_workspace(client, name=None) -> int:
    name = name or unique("ws")
    parsed = ok(workspaces_create.sync_detailed(client=client, body=WorkspacesCreateBody(workspace_name=name)),
                WorkspacesCreateResponse200)
    assert isinstance(parsed.workspace_id, int)
    return parsed.workspace_id


def members(client, ws_id) -> dict:
    resp = workspaces_list_users.sync_detailed(client=client, body=WorkspacesListUsersBody(workspace_id=ws_id))
    return {u.user_id: u.user_type for u in ok(resp, WorkspacesListUsersResponse200).users}


def remove(client, ws_id, **who) -> int:
    resp = workspaces_remove_user.sync_detailed(client=client, body=WorkspacesRemoveUserBody(workspace_id=ws_id, **who))
    return ok(resp, WorkspacesRemoveUserResponse200).affected_rows


# ---- config and features ------------------------------------------------------------------


def test_config_needs_no_auth_and_reports_x86(server):
    r = requests.get(server.url("/v1/api/config"), headers={"user-agent": "WallarooSDK/2026.1.3"}, timeout=HTTP_TIMEOUT)
    assert r.status_code == 200, r.text
    assert r.json()["default_arch"] == "x86"


def test_features_list(server, admin_client):
    parsed = ok(features_list.sync_detailed(client=admin_client), FeaturesListResponse200)
    assert parsed.name and parsed.is_auth_enabled is True
    assert all(isinstance(v, str) for v in parsed.features.additional_properties.values())
    assert_error_body(server.post("/v1/api/features/list", None), 401)


# ---- users --------------------------------------------------------------------------------


def test_invite_and_query(server, admin_client):
    email = f"{unique('inv')}@example.com"
    body = UsersInviteBody(email=email, roles=[], password="invited-pass-1")
    invited = ok(users_invite.sync_detailed(client=admin_client, body=body), UsersInviteResponse200)
    assert invited.id and invited.password == "invited-pass-1"
    everyone = query_users(admin_client)
    assert invited.id in everyone
    assert everyone[invited.id]["email"] == email and everyone[invited.id]["enabled"] is True
    assert any(u["email"] == server.admin_email for u in everyone.values())
    one = query_users(admin_client, [invited.id])
    assert list(one) == [invited.id]
    # The invitee can log in, and a generated password is returned when none is given.
    assert server.token(email, "invited-pass-1")
    body = UsersInviteBody(email=f"{unique('gen')}@example.com", roles=[])
    generated = ok(users_invite.sync_detailed(client=admin_client, body=body), UsersInviteResponse200)
    assert len(generated.password) >= 8
    assert server.token(body.email, generated.password)


def test_invite_errors(server, admin_client, new_user):
    user = new_user()
    dup = users_invite.sync_detailed(client=admin_client, body=UsersInviteBody(email=user.email, roles=[]))
    assert dup.status_code == 400 and isinstance(dup.parsed, UsersInviteResponse400), dup.content
    assert dup.parsed.msg and dup.parsed.code == 400
    # Emails are case-insensitive, as in Keycloak.
    dup = users_invite.sync_detailed(client=admin_client, body=UsersInviteBody(email=user.email.upper(), roles=[]))
    assert dup.status_code == 400, dup.content
    assert server.token(user.email.upper(), user.password)
    bad = users_invite.sync_detailed(client=admin_client, body=UsersInviteBody(email="not-an-email", roles=[]))
    assert bad.status_code == 400 and isinstance(bad.parsed, UsersInviteResponse400), bad.content
    # Only admins may invite: 403 (the SDK reads 403 as "user limit reached").
    r = server.post("/v1/api/users/invite", user.token(), json={"email": f"{unique('x')}@example.com"})
    assert_error_body(r, 403)
    assert_error_body(server.post("/v1/api/users/invite", None, json={"email": "a@example.com"}), 401)


def test_invite_with_admin_role_creates_an_admin(server, admin_client):
    email = f"{unique('adm')}@example.com"
    body = UsersInviteBody(email=email, roles=["admin"], password="invited-admin-1")
    invited = ok(users_invite.sync_detailed(client=admin_client, body=body), UsersInviteResponse200)
    token = server.token(email, "invited-admin-1")
    claims = jwt.decode(token, options={"verify_signature": False})
    assert "admin" in claims["realm_access"]["roles"], claims["realm_access"]
    # Admin powers: may invite and query everyone.
    r = server.post("/v1/api/users/invite", token, json={"email": f"{unique('by')}@example.com"})
    assert r.status_code == 200, r.text
    assert invited.id in query_users(server.client(token))
    # Without the role (the SDK's `roles: []`) the invitee is a plain user.
    plain = f"{unique('pl')}@example.com"
    ok(users_invite.sync_detailed(client=admin_client, body=UsersInviteBody(email=plain, roles=[], password="plain-user-1")))
    plain_token = server.token(plain, "plain-user-1")
    assert "admin" not in jwt.decode(plain_token, options={"verify_signature": False})["realm_access"]["roles"]
    assert_error_body(server.post("/v1/api/users/invite", plain_token, json={"email": f"{unique('no')}@example.com"}), 403)


def test_deactivate_and_activate(server, admin_client, new_user):
    user = new_user()
    resp = users_deactivate.sync_detailed(client=admin_client, body=UsersDeactivateBody(email=user.email))
    ok(resp)
    assert resp.parsed is not None and resp.parsed.to_dict() == {}
    assert query_users(admin_client, [user.id])[user.id]["enabled"] is False
    r = server.token_request({"grant_type": "password", "username": user.email, "password": user.password})
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant"
    resp = users_activate.sync_detailed(client=admin_client, body=UsersActivateBody(email=user.email))
    ok(resp)
    assert resp.parsed is not None and resp.parsed.to_dict() == {}
    assert query_users(admin_client, [user.id])[user.id]["enabled"] is True
    assert user.token()
    # Non-admins may not, and unknown emails are a 400.
    r = server.post("/v1/api/users/deactivate", user.token(), json={"email": server.admin_email})
    assert_error_body(r, 403)
    r = users_activate.sync_detailed(client=admin_client, body=UsersActivateBody(email="ghost@example.com"))
    assert r.status_code == 400 and r.parsed.msg, r.content


def test_edit_user(server, admin_client, new_user):
    user = new_user()
    body = UsersEditBody(id=user.id, first_name="Ada", last_name="Lovelace", email=user.email, enabled=True, is_admin=True)
    ok(users_edit.sync_detailed(client=admin_client, body=body))
    rep = query_users(admin_client, [user.id])[user.id]
    assert (rep["firstName"], rep["lastName"]) == ("Ada", "Lovelace")
    # Now an admin: may invite.
    promoted = user.token()
    r = server.post("/v1/api/users/invite", promoted, json={"email": f"{unique('p')}@example.com"})
    assert r.status_code == 200, r.text
    body.is_admin = False
    ok(users_edit.sync_detailed(client=admin_client, body=body))
    r = server.post("/v1/api/users/invite", user.token(), json={"email": f"{unique('p')}@example.com"})
    assert_error_body(r, 403)
    # Non-admins may not edit anyone (not even themselves).
    r = server.post("/v1/api/user", user.token(), json=body.to_dict())
    assert_error_body(r, 403)


# ---- Keycloak admin user API (plain HTTP, as the SDK's client.py does) ---------------------


def test_keycloak_admin_user_api(server, admin_token, new_user):
    user = new_user()
    r = server.get(KC_USERS, admin_token, params={"email": user.email})
    assert r.status_code == 200, r.text
    found = r.json()
    assert isinstance(found, list) and len(found) == 1, found
    rep = found[0]
    for k in USER_KEYS:
        assert k in rep, (k, rep)
    assert rep["id"] == user.id and rep["email"] == user.email and rep["enabled"] is True
    none = server.get(KC_USERS, admin_token, params={"email": "nobody-here@example.com"})
    assert none.status_code == 200 and none.json() == []
    one = server.get(f"{KC_USERS}/{user.id}", admin_token)
    assert one.status_code == 200 and one.json()["id"] == user.id
    assert server.get(f"{KC_USERS}/no-such-user", admin_token).status_code == 404
    # deactivate_user(): PUT the full representation with enabled flipped -> 204.
    rep["enabled"] = False
    put = requests.put(server.url(f"{KC_USERS}/{user.id}"), json=rep, timeout=HTTP_TIMEOUT,
                       headers={"Authorization": f"Bearer {admin_token}"})
    assert put.status_code == 204, put.text
    assert server.get(f"{KC_USERS}/{user.id}", admin_token).json()["enabled"] is False
    r = server.token_request({"grant_type": "password", "username": user.email, "password": user.password})
    assert r.status_code == 400
    rep["enabled"] = True
    put = requests.put(server.url(f"{KC_USERS}/{user.id}"), json=rep, timeout=HTTP_TIMEOUT,
                       headers={"Authorization": f"Bearer {admin_token}"})
    assert put.status_code == 204, put.text
    token = user.token()
    # A plain user may not flip anyone.
    put = requests.put(server.url(f"{KC_USERS}/{user.id}"), json=rep, timeout=HTTP_TIMEOUT,
                       headers={"Authorization": f"Bearer {token}"})
    assert_error_body(put, 403)


# ---- workspaces ---------------------------------------------------------------------------


def test_every_user_has_a_default_workspace(server, admin_client, new_user):
    user = new_user()
    mine = list_workspaces(server.client(user.token()))
    default = f"{user.email} - Default Workspace"
    assert default in [w.name for w in mine], [w.name for w in mine]
    assert f"{server.admin_email} - Default Workspace" in [w.name for w in list_workspaces(admin_client)]
    # Admins may list another user's workspaces; the user may list their own by id.
    assert default in [w.name for w in list_workspaces(admin_client, user_id=user.id)]
    assert default in [w.name for w in list_workspaces(server.client(user.token()), user_id=user.id)]


def test_create_and_list(server, new_user):
    user = new_user()
    client = server.client(user.token())
    name = unique("create")
    ws_id = create_workspace(client, name)
    listed = {w.id: w for w in list_workspaces(client)}
    assert ws_id in listed
    w = listed[ws_id]
    assert w.name == name and w.archived is False and w.models == [] and w.pipelines == []
    assert w.created_by in (user.id, user.email)
    assert abs(isoparse(w.created_at).timestamp() - time.time()) < 300
    assert members(client, ws_id) == {user.id: "OWNER"}


def test_add_list_remove_users(server, new_user):
    owner, guest, third = new_user(), new_user(), new_user()
    client = server.client(owner.token())
    ws_id = create_workspace(client)
    body = WorkspacesAddUserBody(workspace_id=ws_id, email=guest.email, user_id=None, url="http://localhost:3000",
                                 user_type="collaborator")
    added = ok(workspaces_add_user.sync_detailed(client=client, body=body))
    assert added is not None and added.to_dict() == {}
    ok(workspaces_add_user.sync_detailed(client=client, body=WorkspacesAddUserBody(workspace_id=ws_id, user_id=third.id)))
    assert members(client, ws_id) == {owner.id: "OWNER", guest.id: "COLLABORATOR", third.id: "COLLABORATOR"}
    guest_client = server.client(guest.token())
    assert ws_id in [w.id for w in list_workspaces(guest_client)]
    assert guest.id in members(guest_client, ws_id)
    # A collaborator may not change members.
    r = server.post("/v1/api/workspaces/add_user", guest.token(), json={"workspace_id": ws_id, "email": owner.email})
    assert_error_body(r, 403)
    # Removal is idempotent: 1 then 0, by email and by id.
    assert remove(client, ws_id, email=guest.email) == 1
    assert remove(client, ws_id, email=guest.email) == 0
    assert remove(client, ws_id, user_id=third.id) == 1
    assert remove(client, ws_id, user_id=third.id) == 0
    assert members(client, ws_id) == {owner.id: "OWNER"}
    assert_error_body(server.post("/v1/api/workspaces/list_users", guest.token(), json={"workspace_id": ws_id}), 404)
    # Adding an unknown user is a 400.
    r = workspaces_add_user.sync_detailed(client=client, body=WorkspacesAddUserBody(workspace_id=ws_id, email="ghost@example.com"))
    assert r.status_code == 400 and r.parsed.msg, r.content


def test_validate(admin_client, server, new_user):
    resp = workspaces_validate.sync_detailed(client=admin_client)
    assert resp.status_code == 200, resp.content
    assert resp.content.strip() in (b"null", b"{}") or resp.parsed is not None
    assert_error_body(server.post("/v1/api/workspaces/validate", new_user().token()), 403)


def test_duplicate_workspace_name_is_400(admin_client):
    name = unique("dup")
    create_workspace(admin_client, name)
    resp = workspaces_create.sync_detailed(client=admin_client, body=WorkspacesCreateBody(workspace_name=name))
    assert resp.status_code == 400 and isinstance(resp.parsed, WorkspacesCreateResponse400), resp.content
    assert resp.parsed.code == 400 and name in resp.parsed.msg


@pytest.mark.parametrize("raw, must_mention", [
    (b"{not json", "json"),
    (b'{"workspace_name": ', "json"),
    (b"[1, 2]", ""),
    (b'{"workspace_name": 7}', ""),
    (b"{}", "workspace_name"),
])
def test_bad_json_bodies_are_400(server, admin_token, raw, must_mention):
    r = server.post("/v1/api/workspaces/create", admin_token, data=raw, headers={"Content-Type": "application/json"})
    body = assert_error_body(r, 400)
    assert must_mention in body["msg"].lower(), body


def test_wrong_field_type_is_400(server, admin_token):
    for path in ("/v1/api/workspaces/list_users", "/v1/api/workspaces/add_user", "/v1/api/workspaces/remove_user"):
        assert_error_body(server.post(path, admin_token, json={"workspace_id": "x", "email": server.admin_email}), 400)
    assert_error_body(server.post("/v1/api/users/query", admin_token, json={"user_ids": "not-a-list"}), 400)
    assert_error_body(server.post("/v1/api/workspaces/create", admin_token, json={"workspace_name": ""}), 400)


def test_unknown_route_is_an_error_body(server, admin_token):
    assert_error_body(server.post("/v1/api/no/such/route", admin_token, json={}), 404)


def test_wrong_method_is_405(server, admin_token):
    for method in ("GET", "PUT", "DELETE", "PATCH"):
        r = requests.request(method, server.url("/v1/api/workspaces/list"), timeout=HTTP_TIMEOUT,
                             headers={"Authorization": f"Bearer {admin_token}"})
        body = assert_error_body(r, 405)
        assert method in body["msg"], body
    # The inference route is POST-only too, and /v1/api/config GET-only.
    assert_error_body(requests.get(server.url("/v1/api/pipelines/infer/x-1/x"), timeout=HTTP_TIMEOUT), 405)
    assert_error_body(requests.post(server.url("/v1/api/config"), json={}, timeout=HTTP_TIMEOUT), 405)
