"""Token service compatibility: the Wallaroo guides' token requests, the SDK's sdk-client and
device-code flows, discovery/userinfo, JWT contents checked against the JWKS, and the ways a bad
or stale token must be refused."""

import base64
import hashlib
import hmac
import json
import time
import uuid

import jwt
import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from requests.auth import HTTPBasicAuth

from conftest import HTTP_TIMEOUT, OIDC, REALM, assert_error_body, assert_oauth_error, invite_user, unique

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
BASE_ROLES = {"default-roles-master", "offline_access", "uma_authorization"}


# ---- helpers ------------------------------------------------------------------------------


def verify(server, token: str, ttl: int = 3600) -> dict:
    """Verifies ``token`` against the server's JWKS with PyJWT and checks the Keycloak claims."""
    header = jwt.get_unverified_header(token)
    assert header["alg"] == "RS256", header
    assert header.get("kid"), header
    signing_key = jwt.PyJWKClient(server.url(OIDC + "/certs")).get_signing_key_from_jwt(token)
    claims = jwt.decode(token, signing_key.key, algorithms=["RS256"], audience="joey", issuer=server.issuer)
    assert claims["iss"] == server.issuer
    assert claims["aud"] in ("joey", ["joey"])
    assert claims["exp"] - claims["iat"] == ttl, claims
    assert abs(claims["iat"] - time.time()) < 120, claims
    assert isinstance(claims["sub"], str) and claims["sub"]
    hasura = claims["https://hasura.io/jwt/claims"]
    assert hasura["x-hasura-user-id"] == claims["sub"]
    assert hasura["x-hasura-default-role"] == "user"
    assert "user" in hasura["x-hasura-allowed-roles"]
    assert isinstance(hasura["x-hasura-user-groups"], str)
    assert BASE_ROLES <= set(claims["realm_access"]["roles"]), claims["realm_access"]
    return claims


def check_user_claims(claims: dict, email: str, azp: str, admin: bool) -> None:
    uuid.UUID(claims["sub"])  # Keycloak user ids are UUIDs
    assert claims["azp"] == azp
    assert claims["email"] == email
    assert claims["preferred_username"] == email
    assert ("admin" in claims["realm_access"]["roles"]) == admin


def check_token_response(body: dict, refresh: bool = True) -> None:
    assert isinstance(body["access_token"], str)
    assert body["expires_in"] == 3600
    assert body["token_type"].lower() == "bearer"
    if refresh:
        assert isinstance(body["refresh_token"], str) and body["refresh_token"]
        assert isinstance(body["refresh_expires_in"], int) and body["refresh_expires_in"] > 0


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def server_kid_and_pem(server):
    jwks = requests.get(server.url(OIDC + "/certs"), timeout=HTTP_TIMEOUT).json()
    key = jwks["keys"][0]
    public = jwt.algorithms.RSAAlgorithm.from_jwk(json.dumps(key))
    pem = public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    return key["kid"], pem


def can_list(server, token) -> requests.Response:
    return server.post("/v1/api/workspaces/list", token, json={})


# ---- expiry, part 1 (a second instance whose tokens live 10 s; part 2 is the last test)


@pytest.fixture(scope="module")
def short_lived(short_ttl_server):
    """A token from the 10 s instance, fetched once; the expiry test waits only what is left."""
    s = short_ttl_server
    return s, s.password_token(s.admin_email, s.admin_password)


def test_short_lived_token_works_before_expiry(short_lived):
    s, tok = short_lived
    assert tok["expires_in"] == 10
    verify(s, tok["access_token"], ttl=10)
    assert can_list(s, tok["access_token"]).status_code == 200



# ---- (a) the guides' three token requests -------------------------------------------------


def test_jwks_and_discovery(server):
    jwks = requests.get(server.url(OIDC + "/certs"), timeout=HTTP_TIMEOUT).json()
    assert jwks["keys"], jwks
    for k in jwks["keys"]:
        assert k["kty"] == "RSA" and k["kid"] and k["n"] and k["e"]
        assert k.get("alg", "RS256") == "RS256" and k.get("use", "sig") == "sig"
    d = requests.get(server.url(REALM + "/.well-known/openid-configuration"), timeout=HTTP_TIMEOUT).json()
    assert d["issuer"] == server.issuer
    assert d["token_endpoint"] == server.token_url
    assert d["jwks_uri"] == server.url(OIDC + "/certs")
    assert d["userinfo_endpoint"] == server.url(OIDC + "/userinfo")
    assert d["device_authorization_endpoint"] == server.url(OIDC + "/auth/device")
    assert {"password", "refresh_token", "client_credentials", DEVICE_GRANT} <= set(d["grant_types_supported"])


def test_password_grant_as_in_the_guide(server):
    r = requests.post(server.token_url, auth=HTTPBasicAuth("api-client", server.client_secret),
                      data={"grant_type": "password", "username": server.admin_email, "password": server.admin_password},
                      timeout=HTTP_TIMEOUT)
    assert r.status_code == 200, r.text
    check_token_response(r.json())
    claims = verify(server, r.json()["access_token"])
    check_user_claims(claims, server.admin_email, "api-client", admin=True)
    assert can_list(server, r.json()["access_token"]).status_code == 200
    # The guide's optional scope=offline_access is accepted too.
    r = server.token_request({"grant_type": "password", "username": server.admin_email,
                              "password": server.admin_password, "scope": "offline_access"})
    assert r.status_code == 200, r.text
    verify(server, r.json()["access_token"])


def test_client_secret_in_the_form_body(server):
    """client_secret_post, which discovery advertises next to HTTP Basic."""
    r = requests.post(server.token_url, timeout=HTTP_TIMEOUT, data={
        "grant_type": "client_credentials", "client_id": "api-client", "client_secret": server.client_secret})
    assert r.status_code == 200, r.text
    assert verify(server, r.json()["access_token"])["preferred_username"] == "service-account-api-client"
    r = requests.post(server.token_url, timeout=HTTP_TIMEOUT, data={
        "grant_type": "client_credentials", "client_id": "api-client", "client_secret": "wrong"})
    assert_oauth_error(r, 401, "invalid_client")
    # A confidential client without any secret is refused as well.
    r = requests.post(server.token_url, timeout=HTTP_TIMEOUT, data={
        "grant_type": "password", "client_id": "api-client", "username": server.admin_email, "password": server.admin_password})
    assert_oauth_error(r, 401, "invalid_client")


def test_refresh_grant_rotates_the_refresh_token(server, new_user):
    user = new_user()
    first = server.password_token(user.email, user.password)
    r = requests.post(server.token_url, auth=HTTPBasicAuth("api-client", server.client_secret),
                      data={"grant_type": "refresh_token", "refresh_token": first["refresh_token"]}, timeout=HTTP_TIMEOUT)
    assert r.status_code == 200, r.text
    second = r.json()
    check_token_response(second)
    assert second["refresh_token"] != first["refresh_token"]
    claims = verify(server, second["access_token"])
    check_user_claims(claims, user.email, "api-client", admin=False)
    assert claims["sub"] == user.id
    # Rotation: the old refresh token is spent.
    again = server.token_request({"grant_type": "refresh_token", "refresh_token": first["refresh_token"]})
    assert_oauth_error(again, 400, "invalid_grant")
    # The new one works (once).
    third = server.token_request({"grant_type": "refresh_token", "refresh_token": second["refresh_token"]})
    assert third.status_code == 200, third.text


def test_client_credentials_grant_is_the_service_account(server):
    r = requests.post(server.token_url, auth=HTTPBasicAuth("api-client", server.client_secret),
                      data={"grant_type": "client_credentials"}, timeout=HTTP_TIMEOUT)
    assert r.status_code == 200, r.text
    check_token_response(r.json(), refresh=False)
    claims = verify(server, r.json()["access_token"])
    assert claims["preferred_username"] == "service-account-api-client"
    assert claims["azp"] == "api-client"
    assert claims.get("clientId") == "api-client"


def test_sdk_client_password_and_refresh_with_form_client_id_only(server, new_user):
    user = new_user()
    r = requests.post(server.token_url, timeout=HTTP_TIMEOUT, headers={"User-Agent": "WallarooSDK/2026.1.3"},
                      data={"client_id": "sdk-client", "username": user.email, "password": user.password, "grant_type": "password"})
    assert r.status_code == 200, r.text
    check_token_response(r.json())
    check_user_claims(verify(server, r.json()["access_token"]), user.email, "sdk-client", admin=False)
    rr = requests.post(server.token_url, timeout=HTTP_TIMEOUT,
                       data={"client_id": "sdk-client", "grant_type": "refresh_token", "refresh_token": r.json()["refresh_token"]})
    assert rr.status_code == 200, rr.text
    check_user_claims(verify(server, rr.json()["access_token"]), user.email, "sdk-client", admin=False)
    # A public client cannot get a service-account token.
    cc = requests.post(server.token_url, data={"client_id": "sdk-client", "grant_type": "client_credentials"}, timeout=HTTP_TIMEOUT)
    assert cc.status_code in (400, 401), cc.text
    assert cc.json()["error"] in ("unauthorized_client", "invalid_client")


def test_userinfo(server, new_user):
    user = new_user()
    r = server.get(OIDC + "/userinfo", user.token())
    assert r.status_code == 200, r.text
    assert r.json()["sub"] == user.id
    assert r.json()["email"] == user.email
    assert_error_body(server.get(OIDC + "/userinfo", None), 401)


# ---- device flow (the SDK's "sso" auth type) ----------------------------------------------


def device_start(server) -> dict:
    r = requests.post(server.url(OIDC + "/auth/device"), data={"client_id": "sdk-client"}, timeout=HTTP_TIMEOUT)
    assert r.status_code == 200, r.text
    d = r.json()
    for k in ("device_code", "user_code", "verification_uri_complete", "interval", "expires_in"):
        assert k in d, d
    assert isinstance(d["interval"], int) and isinstance(d["expires_in"], int) and d["expires_in"] > 0
    assert d["verification_uri_complete"].startswith(server.base_url + "/auth/")
    assert d["user_code"] in d["verification_uri_complete"]
    return d


def device_poll(server, device_code: str) -> requests.Response:
    return requests.post(server.token_url, timeout=HTTP_TIMEOUT,
                         data={"grant_type": DEVICE_GRANT, "device_code": device_code, "client_id": "sdk-client"})


def test_device_flow_approved_by_admin(server, admin_token, new_user):
    user = new_user()
    d = device_start(server)
    assert_oauth_error(device_poll(server, d["device_code"]), 400, "authorization_pending")
    # A non-admin cannot approve on behalf of someone else.
    other = new_user()
    r = server.post(REALM + "/device/approve", other.token(), json={"user_code": d["user_code"], "email": user.email})
    assert_error_body(r, 403)
    assert_oauth_error(device_poll(server, d["device_code"]), 400, "authorization_pending")
    r = server.post(REALM + "/device/approve", admin_token, json={"user_code": d["user_code"], "email": user.email})
    assert r.status_code == 200, r.text
    tok = device_poll(server, d["device_code"])
    assert tok.status_code == 200, tok.text
    check_token_response(tok.json())
    claims = verify(server, tok.json()["access_token"])
    check_user_claims(claims, user.email, "sdk-client", admin=False)
    assert claims["sub"] == user.id
    # The code is single-use.
    assert device_poll(server, d["device_code"]).status_code == 400


def test_device_flow_approved_by_the_user_themselves(server, new_user):
    user = new_user()
    d = device_start(server)
    r = server.post(REALM + "/device/approve", user.token(), json={"user_code": d["user_code"]})
    assert r.status_code == 200, r.text
    tok = device_poll(server, d["device_code"])
    assert tok.status_code == 200, tok.text
    assert verify(server, tok.json()["access_token"])["email"] == user.email


def test_device_flow_unknown_code(server, admin_token):
    assert_oauth_error(device_poll(server, "no-such-device-code"), 400, "invalid_grant")
    r = server.post(REALM + "/device/approve", admin_token, json={"user_code": "ZZZZ-ZZZZ"})
    assert_error_body(r, 400)


# ---- (c) negatives: the token endpoint ----------------------------------------------------


def test_wrong_client_secret_is_invalid_client(server):
    r = server.token_request({"grant_type": "password", "username": server.admin_email, "password": server.admin_password},
                             secret="not-the-secret")
    assert_oauth_error(r, 401, "invalid_client")
    assert_oauth_error(server.token_request({"grant_type": "client_credentials"}, secret="nope"), 401, "invalid_client")
    r = server.token_request({"grant_type": "client_credentials"}, client_id="no-such-client", secret="x")
    assert_oauth_error(r, 401, "invalid_client")


def test_wrong_password_is_invalid_grant(server):
    r = server.token_request({"grant_type": "password", "username": server.admin_email, "password": "wrong-password"})
    assert_oauth_error(r, 400, "invalid_grant")
    r = server.token_request({"grant_type": "password", "username": "nobody@example.com", "password": "whatever1"})
    assert_oauth_error(r, 400, "invalid_grant")


def test_unsupported_grant_type(server):
    assert_oauth_error(server.token_request({"grant_type": "authorization_code", "code": "x"}), 400, "unsupported_grant_type")
    assert_oauth_error(server.token_request({"grant_type": "refresh_token", "refresh_token": "garbage"}), 400, "invalid_grant")


# ---- (c) negatives: bearer tokens on the API ----------------------------------------------


def test_missing_or_malformed_token_is_401(server):
    assert_error_body(can_list(server, None), 401)
    assert_error_body(can_list(server, "not-a-jwt"), 401)
    r = requests.post(server.url("/v1/api/workspaces/list"), json={}, headers={"Authorization": "Basic Zm9vOmJhcg=="},
                      timeout=HTTP_TIMEOUT)
    assert_error_body(r, 401)


def test_forged_tokens_are_401(server, admin_token):
    kid, pem = server_kid_and_pem(server)
    claims = jwt.decode(admin_token, options={"verify_signature": False})
    mine = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    # Signed by another key, claiming the server's kid (signature check) and an unknown kid.
    for use_kid in (kid, uuid.uuid4().hex):
        forged = jwt.encode(claims, mine, algorithm="RS256", headers={"kid": use_kid})
        assert_error_body(can_list(server, forged), 401)
    # alg "none".
    header = b64url(json.dumps({"alg": "none", "typ": "JWT", "kid": kid}).encode())
    body = b64url(json.dumps(claims).encode())
    assert_error_body(can_list(server, f"{header}.{body}."), 401)
    header_n = b64url(json.dumps({"alg": "None", "typ": "JWT"}).encode())
    assert_error_body(can_list(server, f"{header_n}.{body}."), 401)
    # HS256 keyed with the server's public key (the classic algorithm-confusion attack).
    header_h = b64url(json.dumps({"alg": "HS256", "typ": "JWT", "kid": kid}).encode())
    signing_input = f"{header_h}.{body}".encode()
    sig = b64url(hmac.new(pem, signing_input, hashlib.sha256).digest())
    assert_error_body(can_list(server, f"{header_h}.{body}.{sig}"), 401)
    # A real token whose payload was edited (same signature).
    h, _, s = admin_token.split(".")
    edited = dict(claims, email="evil@example.com", exp=claims["exp"] + 3600)
    assert_error_body(can_list(server, f"{h}.{b64url(json.dumps(edited).encode())}.{s}"), 401)
    # The genuine token still works.
    assert can_list(server, admin_token).status_code == 200


def test_service_account_token_is_403_on_management_routes(server):
    sa = server.service_token()
    assert_error_body(can_list(server, sa), 403)
    assert_error_body(server.post("/v1/api/workspaces/create", sa, json={"workspace_name": unique("sa")}), 403)
    assert_error_body(server.post("/v1/api/users/query", sa, json={}), 403)


def test_non_member_gets_404_for_another_users_workspace(server, new_user):
    owner, stranger = new_user(), new_user()
    r = server.post("/v1/api/workspaces/create", owner.token(), json={"workspace_name": unique("priv")})
    assert r.status_code == 200, r.text
    ws = r.json()["workspace_id"]
    st = stranger.token()
    assert_error_body(server.post("/v1/api/workspaces/list_users", st, json={"workspace_id": ws}), 404)
    body = {"workspace_id": ws, "email": stranger.email}
    assert_error_body(server.post("/v1/api/workspaces/add_user", st, json=body), 404)
    assert_error_body(server.post("/v1/api/workspaces/remove_user", st, json=body), 404)
    listed = server.post("/v1/api/workspaces/list", st, json={}).json()["workspaces"]
    assert ws not in [w["id"] for w in listed]
    # Same answer as for a workspace that does not exist.
    assert_error_body(server.post("/v1/api/workspaces/list_users", st, json={"workspace_id": 987654321}), 404)


def test_deactivated_user_is_locked_out_until_reactivated(server, admin_token):
    user = invite_user(server, admin_token, password="deact-password-1")
    first = server.password_token(user.email, user.password)
    spare = server.password_token(user.email, user.password)  # an unused refresh token
    assert can_list(server, first["access_token"]).status_code == 200
    r = server.post("/v1/api/users/deactivate", admin_token, json={"email": user.email})
    assert r.status_code == 200 and r.json() == {}, r.text
    login = server.token_request({"grant_type": "password", "username": user.email, "password": user.password})
    assert_oauth_error(login, 400, "invalid_grant")
    assert_error_body(can_list(server, first["access_token"]), 401)
    refresh = server.token_request({"grant_type": "refresh_token", "refresh_token": first["refresh_token"]})
    assert_oauth_error(refresh, 400, "invalid_grant")
    r = server.post("/v1/api/users/activate", admin_token, json={"email": user.email})
    assert r.status_code == 200 and r.json() == {}, r.text
    fresh = server.password_token(user.email, user.password)
    assert can_list(server, fresh["access_token"]).status_code == 200
    # Refresh tokens issued before the deactivation were revoked for good.
    stale = server.token_request({"grant_type": "refresh_token", "refresh_token": spare["refresh_token"]})
    assert_oauth_error(stale, 400, "invalid_grant")


def test_user_whose_email_looks_like_a_service_account_is_still_a_user(server, admin_token):
    """Service accounts are recognised by the signed ``clientId`` claim, not by the
    ``service-account-`` prefix of ``preferred_username``: a user with such an email is a user."""
    email, password = f"service-account-{unique('x')}@example.com", "lookalike-pass-1"
    r = server.post("/v1/api/users/invite", admin_token, json={"email": email, "password": password})
    if r.status_code == 400:
        return  # refusing the reserved prefix at invite time would be fine too
    assert r.status_code == 200, r.text
    token = server.token(email, password)
    claims = verify(server, token)
    assert claims["preferred_username"] == email and "clientId" not in claims
    assert can_list(server, token).status_code == 200
    assert server.post("/v1/api/users/deactivate", admin_token, json={"email": email}).status_code == 200
    assert_error_body(server.get(OIDC + "/userinfo", token), 401)
    assert_error_body(can_list(server, token), 401)


def test_admin_cannot_deactivate_themselves(server, admin_token):
    assert_error_body(server.post("/v1/api/users/deactivate", admin_token, json={"email": server.admin_email}), 400)
    assert can_list(server, admin_token).status_code == 200


# ---- expiry, part 2 ------------------------------------------------------------------------


def test_expired_token_is_401_and_refresh_still_works(short_lived):
    """Runs last in this module so the wait overlaps the other tests (at most ~16 s)."""
    s, tok = short_lived
    claims = jwt.decode(tok["access_token"], options={"verify_signature": False})
    wait = claims["exp"] + 6 - time.time()  # the server allows 5 s of clock leeway
    if wait > 0:
        time.sleep(wait)
    assert_error_body(can_list(s, tok["access_token"]), 401)
    r = s.token_request({"grant_type": "refresh_token", "refresh_token": tok["refresh_token"]})
    assert r.status_code == 200, r.text
    assert can_list(s, r.json()["access_token"]).status_code == 200
