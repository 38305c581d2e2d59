//! The Keycloak-compatible realm `master`: token endpoint grants, device flow, JWKS, discovery,
//! userinfo, and how bearer tokens are checked on the management API.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::*;

const LIST: &str = "/v1/api/workspaces/list";

fn assert_oauth_error(status: StatusCode, body: &Value, want_status: u16, want_error: &str) {
    assert_eq!(status.as_u16(), want_status, "unexpected status; body {body}");
    assert_eq!(body["error"], want_error, "unexpected OAuth error: {body}");
    assert!(body["error_description"].is_string(), "error_description should be a string: {body}");
}

/// Calls `workspaces/list` with `token` and asserts 401 with the `{"msg","code":401}` body.
async fn assert_rejected(app: &TestApp, token: &str) -> String {
    let (status, body) = app.post_json(LIST, token, json!({})).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "token should be rejected: {body}");
    assert_error_body(status, &body);
    body["msg"].as_str().unwrap().to_string()
}

fn kid_of(token: &str) -> String {
    jsonwebtoken::decode_header(token).expect("JWT header").kid.expect("kid in header")
}

#[tokio::test]
async fn password_grant_accepts_the_api_client_credentials_in_http_basic() {
    let app = spawn_app().await;
    let (status, body) = app
        .token_request(&[("grant_type", "password"), ("username", ADMIN_EMAIL), ("password", ADMIN_PASSWORD)], Some(("api-client", API_CLIENT_SECRET)))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 3600);
    assert!(body["refresh_token"].is_string(), "{body}");
    assert!(body["refresh_expires_in"].as_i64().unwrap() > 0, "{body}");
    let token = body["access_token"].as_str().unwrap();
    assert_eq!(claims_of(token)["azp"], "api-client");
    let (status, _) = app.post_json(LIST, token, json!({})).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn password_grant_accepts_the_client_id_and_secret_in_the_form() {
    let app = spawn_app().await;
    let (status, body) = app
        .token_request(
            &[
                ("grant_type", "password"),
                ("client_id", "api-client"),
                ("client_secret", API_CLIENT_SECRET),
                ("username", ADMIN_EMAIL),
                ("password", ADMIN_PASSWORD),
            ],
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(claims_of(body["access_token"].as_str().unwrap())["azp"], "api-client");
}

#[tokio::test]
async fn the_sdk_client_needs_only_its_client_id() {
    let app = spawn_app().await;
    let body = app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let token = body["access_token"].as_str().unwrap();
    assert_eq!(claims_of(token)["azp"], "sdk-client");
    assert!(body["refresh_token"].is_string());
    let (status, _) = app.post_json(LIST, token, json!({})).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn usernames_are_matched_without_regard_to_case() {
    let app = spawn_app().await;
    let admin = app.admin_token().await;
    let (status, body) =
        app.post_json("/v1/api/users/invite", &admin, json!({"email": "Mixed.Case@Example.com", "password": "a-long-password"})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    app.login("mixed.case@example.com", "a-long-password").await;
    app.login("MIXED.CASE@EXAMPLE.COM", "a-long-password").await;
}

#[tokio::test]
async fn a_refresh_rotates_the_refresh_token_and_the_old_one_is_rejected() {
    let app = spawn_app().await;
    let first = app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let old_refresh = first["refresh_token"].as_str().unwrap();

    let refresh = |rt: String| {
        let app = &app;
        async move { app.token_request(&[("grant_type", "refresh_token"), ("client_id", "sdk-client"), ("refresh_token", &rt)], None).await }
    };
    let (status, second) = refresh(old_refresh.to_string()).await;
    assert_eq!(status, StatusCode::OK, "{second}");
    let new_refresh = second["refresh_token"].as_str().expect("a new refresh token").to_string();
    assert_ne!(new_refresh, old_refresh, "the refresh token should rotate");
    let (status, _) = app.post_json(LIST, second["access_token"].as_str().unwrap(), json!({})).await;
    assert_eq!(status, StatusCode::OK);

    let (status, body) = refresh(old_refresh.to_string()).await;
    assert_oauth_error(status, &body, 400, "invalid_grant");

    let (status, third) = refresh(new_refresh).await;
    assert_eq!(status, StatusCode::OK, "the rotated refresh token should work once: {third}");
}

#[tokio::test]
async fn a_refresh_token_cannot_be_used_by_another_client() {
    let app = spawn_app().await;
    let sdk = app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let (status, body) = app
        .token_request(&[("grant_type", "refresh_token"), ("refresh_token", sdk["refresh_token"].as_str().unwrap())], Some(("api-client", API_CLIENT_SECRET)))
        .await;
    assert_oauth_error(status, &body, 400, "invalid_grant");
}

#[tokio::test]
async fn client_credentials_give_a_service_account_token_that_is_refused_on_management_routes() {
    let app = spawn_app().await;
    let (status, body) = app.token_request(&[("grant_type", "client_credentials")], Some(("api-client", API_CLIENT_SECRET))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.get("refresh_token").is_none() || body["refresh_token"].is_null(), "no refresh token for a service account: {body}");
    let token = body["access_token"].as_str().unwrap();
    let claims = claims_of(token);
    assert_eq!(claims["preferred_username"], "service-account-api-client");
    assert_eq!(claims["clientId"], "api-client");
    assert_eq!(claims["azp"], "api-client");

    let (status, body) = app.post_json(LIST, token, json!({})).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_error_body(status, &body);
}

#[tokio::test]
async fn the_public_sdk_client_cannot_use_client_credentials() {
    let app = spawn_app().await;
    let (status, body) = app.token_request(&[("grant_type", "client_credentials"), ("client_id", "sdk-client")], None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error"], "unauthorized_client");
}

#[tokio::test]
async fn a_wrong_client_secret_is_401_invalid_client() {
    let app = spawn_app().await;
    let login = [("grant_type", "password"), ("username", ADMIN_EMAIL), ("password", ADMIN_PASSWORD)];
    let resp = app.client.post(app.url(TOKEN_PATH)).form(&login).basic_auth("api-client", Some("not-the-secret")).send().await.unwrap();
    assert!(resp.headers().contains_key("www-authenticate"), "a 401 from the token endpoint should carry WWW-Authenticate");
    let (status, body) = read(resp).await;
    assert_oauth_error(status, &body, 401, "invalid_client");

    let mut form = login.to_vec();
    form.extend([("client_id", "api-client"), ("client_secret", "not-the-secret")]);
    let (status, body) = app.token_request(&form, None).await;
    assert_oauth_error(status, &body, 401, "invalid_client");

    let (status, body) = app.token_request(&[("grant_type", "client_credentials")], Some(("api-client", ""))).await;
    assert_oauth_error(status, &body, 401, "invalid_client");

    let (status, body) = app.token_request(&[("grant_type", "client_credentials")], Some(("no-such-client", "x"))).await;
    assert_oauth_error(status, &body, 401, "invalid_client");
}

#[tokio::test]
async fn a_wrong_password_is_400_invalid_grant() {
    let app = spawn_app().await;
    let (status, body) = app
        .token_request(&[("grant_type", "password"), ("client_id", "sdk-client"), ("username", ADMIN_EMAIL), ("password", "wrong-password")], None)
        .await;
    assert_oauth_error(status, &body, 400, "invalid_grant");
    let (status, body) = app
        .token_request(&[("grant_type", "password"), ("client_id", "sdk-client"), ("username", "nobody@example.com"), ("password", ADMIN_PASSWORD)], None)
        .await;
    assert_oauth_error(status, &body, 400, "invalid_grant");
}

#[tokio::test]
async fn an_unknown_grant_type_is_400_unsupported_grant_type() {
    let app = spawn_app().await;
    let (status, body) = app.token_request(&[("grant_type", "implicit"), ("client_id", "sdk-client")], None).await;
    assert_oauth_error(status, &body, 400, "unsupported_grant_type");
}

#[tokio::test]
async fn a_body_that_is_not_a_form_is_400_invalid_request() {
    let app = spawn_app().await;
    let resp = app
        .client
        .post(app.url(TOKEN_PATH))
        .json(&json!({"grant_type": "password", "client_id": "sdk-client", "username": ADMIN_EMAIL, "password": ADMIN_PASSWORD}))
        .send()
        .await
        .unwrap();
    let (status, body) = read(resp).await;
    assert_oauth_error(status, &body, 400, "invalid_request");

    let (status, body) = app.token_request(&[("client_id", "sdk-client")], None).await;
    assert_oauth_error(status, &body, 400, "invalid_request");
}

#[tokio::test]
async fn the_device_flow_issues_tokens_for_the_user_an_admin_approved() {
    let app = spawn_app().await;
    let (user_id, _) = app.invite("device.user@example.com").await;

    let resp = app.client.post(app.url(DEVICE_PATH)).form(&[("client_id", "sdk-client")]).send().await.unwrap();
    let (status, start) = read(resp).await;
    assert_eq!(status, StatusCode::OK, "{start}");
    let device_code = start["device_code"].as_str().expect("device_code").to_string();
    let user_code = start["user_code"].as_str().expect("user_code").to_string();
    assert!(start["interval"].as_i64().is_some(), "{start}");
    assert!(start["expires_in"].as_i64().unwrap() > 0, "{start}");
    let complete = start["verification_uri_complete"].as_str().expect("verification_uri_complete");
    assert!(complete.starts_with(&format!("{}/auth/", app.base)), "{complete}");
    assert!(complete.contains(&user_code), "{complete}");

    let poll = || async {
        app.token_request(&[("grant_type", "urn:ietf:params:oauth:grant-type:device_code"), ("device_code", &device_code), ("client_id", "sdk-client")], None).await
    };
    let (status, body) = poll().await;
    assert_oauth_error(status, &body, 400, "authorization_pending");

    let admin = app.admin_token().await;
    let (status, body) =
        app.post_json("/auth/realms/master/device/approve", &admin, json!({"user_code": user_code, "email": "device.user@example.com"})).await;
    assert_eq!(status, StatusCode::OK, "{body}");

    let (status, tokens) = poll().await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    let token = tokens["access_token"].as_str().unwrap();
    let claims = claims_of(token);
    assert_eq!(claims["sub"], user_id.as_str());
    assert_eq!(claims["email"], "device.user@example.com");
    assert!(tokens["refresh_token"].is_string());
    let names = app.workspace_names(token).await;
    assert_eq!(names, vec!["device.user@example.com - Default Workspace".to_string()]);

    let (status, body) = poll().await;
    assert_oauth_error(status, &body, 400, "invalid_grant");
}

#[tokio::test]
async fn only_admins_may_approve_a_device_login_on_behalf_of_someone_else() {
    let app = spawn_app().await;
    let (_, _, alice) = app.user("alice@example.com").await;
    app.invite("bob@example.com").await;
    let resp = app.client.post(app.url(DEVICE_PATH)).form(&[("client_id", "sdk-client")]).send().await.unwrap();
    let (_, start) = read(resp).await;
    let user_code = start["user_code"].as_str().unwrap();

    let (status, body) = app.post_json("/auth/realms/master/device/approve", &alice, json!({"user_code": user_code, "email": "bob@example.com"})).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_error_body(status, &body);

    let (status, body) = app.post_json("/auth/realms/master/device/approve", &alice, json!({"user_code": "NOPE-NOPE"})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_error_body(status, &body);

    // Without `email`, the caller approves the code for themselves.
    let (status, body) = app.post_json("/auth/realms/master/device/approve", &alice, json!({"user_code": user_code})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, tokens) = app
        .token_request(
            &[("grant_type", "urn:ietf:params:oauth:grant-type:device_code"), ("device_code", start["device_code"].as_str().unwrap()), ("client_id", "sdk-client")],
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{tokens}");
    assert_eq!(claims_of(tokens["access_token"].as_str().unwrap())["email"], "alice@example.com");
}

#[tokio::test]
async fn the_jwks_publishes_the_key_that_verifies_issued_tokens() {
    let app = spawn_app().await;
    let token = app.admin_token().await;
    let kid = kid_of(&token);
    assert_eq!(jsonwebtoken::decode_header(&token).unwrap().alg, Algorithm::RS256);

    let (status, jwks) = app.get("/auth/realms/master/protocol/openid-connect/certs", None).await;
    assert_eq!(status, StatusCode::OK);
    let jwk = jwks["keys"].as_array().expect("keys").iter().find(|k| k["kid"] == kid.as_str()).unwrap_or_else(|| panic!("kid {kid} not in {jwks}"));
    assert_eq!(jwk["kty"], "RSA");
    assert_eq!(jwk["alg"], "RS256");
    assert_eq!(jwk["use"], "sig");

    let key = DecodingKey::from_rsa_components(jwk["n"].as_str().unwrap(), jwk["e"].as_str().unwrap()).unwrap();
    let mut v = Validation::new(Algorithm::RS256);
    v.set_issuer(&[format!("{}/auth/realms/master", app.base)]);
    v.set_audience(&["joey"]);
    let data = jsonwebtoken::decode::<Value>(&token, &key, &v).expect("the token verifies with the published key");
    assert_eq!(data.claims["email"], ADMIN_EMAIL);

    let mut wrong_aud = Validation::new(Algorithm::RS256);
    wrong_aud.set_audience(&["someone-else"]);
    assert!(jsonwebtoken::decode::<Value>(&token, &key, &wrong_aud).is_err(), "the audience is 'joey'");
}

#[tokio::test]
async fn access_tokens_carry_the_keycloak_claims() {
    let app = spawn_app().await;
    let (user_id, password) = app.invite("claims@example.com").await;
    let token = app.token_for("claims@example.com", &password).await;
    let c = claims_of(&token);
    assert_eq!(c["sub"], user_id.as_str());
    assert_eq!(c["azp"], "sdk-client");
    assert_eq!(c["email"], "claims@example.com");
    assert_eq!(c["preferred_username"], "claims@example.com");
    assert_eq!(c["iss"], format!("{}/auth/realms/master", app.base));
    assert_eq!(c["aud"], "joey");
    let roles: Vec<&str> = c["realm_access"]["roles"].as_array().expect("realm_access.roles").iter().map(|r| r.as_str().unwrap()).collect();
    for r in ["default-roles-master", "offline_access", "uma_authorization"] {
        assert!(roles.contains(&r), "{r} missing from {roles:?}");
    }
    assert!(!roles.contains(&"admin"), "an invited user is not an admin: {roles:?}");
    let hasura = &c["https://hasura.io/jwt/claims"];
    assert_eq!(hasura["x-hasura-user-id"], user_id.as_str());
    assert_eq!(hasura["x-hasura-default-role"], "user");
    assert_eq!(hasura["x-hasura-allowed-roles"], json!(["user"]));
    assert_eq!(hasura["x-hasura-user-groups"], "{}");
    assert_eq!(c["exp"].as_i64().unwrap() - c["iat"].as_i64().unwrap(), 3600);

    let admin = claims_of(&app.admin_token().await);
    assert!(admin["realm_access"]["roles"].as_array().unwrap().contains(&json!("admin")), "{admin}");
}

#[tokio::test]
async fn a_token_signed_with_another_key_is_rejected() {
    let app = spawn_app().await;
    let real = app.admin_token().await;
    let claims = claims_of(&real);
    let other = tokio::task::spawn_blocking(|| rsa::RsaPrivateKey::new(&mut rand::rngs::OsRng, 2048).unwrap()).await.unwrap();
    let pem = rsa::pkcs1::EncodeRsaPrivateKey::to_pkcs1_pem(&other, rsa::pkcs1::LineEnding::LF).unwrap();
    let key = EncodingKey::from_rsa_pem(pem.as_bytes()).unwrap();

    // Same kid as the server's key: the signature check must fail.
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some(kid_of(&real));
    let forged = jsonwebtoken::encode(&header, &claims, &key).unwrap();
    assert_rejected(&app, &forged).await;

    // A kid the server does not know.
    header.kid = Some("not-a-server-key".into());
    let forged = jsonwebtoken::encode(&header, &claims, &key).unwrap();
    assert_rejected(&app, &forged).await;

    // No kid at all.
    let forged = jsonwebtoken::encode(&Header::new(Algorithm::RS256), &claims, &key).unwrap();
    assert_rejected(&app, &forged).await;
}

#[tokio::test]
async fn an_unsigned_alg_none_token_is_rejected() {
    let app = spawn_app().await;
    let real = app.admin_token().await;
    let header = json!({"alg": "none", "typ": "JWT", "kid": kid_of(&real)});
    let payload = real.split('.').nth(1).unwrap();
    let enc = |v: &Value| URL_SAFE_NO_PAD.encode(serde_json::to_vec(v).unwrap());
    assert_rejected(&app, &format!("{}.{payload}.", enc(&header))).await;
    assert_rejected(&app, &format!("{}.{payload}", enc(&header))).await;
}

#[tokio::test]
async fn an_hs256_token_keyed_with_the_public_key_is_rejected() {
    let app = spawn_app().await;
    let real = app.admin_token().await;
    let (_, jwks) = app.get("/auth/realms/master/protocol/openid-connect/certs", None).await;
    let n = jwks["keys"][0]["n"].as_str().unwrap().to_string();
    let mut header = Header::new(Algorithm::HS256);
    header.kid = Some(kid_of(&real));
    let forged = jsonwebtoken::encode(&header, &claims_of(&real), &EncodingKey::from_secret(n.as_bytes())).unwrap();
    assert_rejected(&app, &forged).await;
}

#[tokio::test]
async fn garbage_and_malformed_authorization_headers_are_401() {
    let app = spawn_app().await;
    assert_rejected(&app, "not-a-jwt").await;
    let resp = app.client.post(app.url(LIST)).header("authorization", "Basic YWRtaW46YWRtaW4=").json(&json!({})).send().await.unwrap();
    let (status, body) = read(resp).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_error_body(status, &body);
}

#[tokio::test]
async fn an_expired_token_is_rejected() {
    let app = spawn_app_with(|a| {
        a.access_token_ttl_secs = Some(10);
        a.refresh_token_ttl_secs = Some(10);
    })
    .await;
    let tokens = app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    assert_eq!(tokens["expires_in"], 10);
    let token = tokens["access_token"].as_str().unwrap();
    let c = claims_of(token);
    assert_eq!(c["exp"].as_i64().unwrap() - c["iat"].as_i64().unwrap(), 10);
    let (status, _) = app.post_json(LIST, token, json!({})).await;
    assert_eq!(status, StatusCode::OK, "fresh token works");

    tokio::time::sleep(std::time::Duration::from_secs(16)).await;
    let msg = assert_rejected(&app, token).await;
    assert!(msg.contains("expired"), "the reason should say the token expired: {msg}");
    let (status, body) = app
        .token_request(&[("grant_type", "refresh_token"), ("client_id", "sdk-client"), ("refresh_token", tokens["refresh_token"].as_str().unwrap())], None)
        .await;
    assert_oauth_error(status, &body, 400, "invalid_grant");
}

#[tokio::test]
async fn a_request_without_authorization_is_401_jwt_is_missing() {
    let app = spawn_app().await;
    let resp = app.client.post(app.url(LIST)).json(&json!({})).send().await.unwrap();
    let (status, body) = read(resp).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body, json!({"msg": "Jwt is missing", "code": 401}));
}

#[tokio::test]
async fn the_discovery_document_points_at_this_server() {
    let app = spawn_app().await;
    let (status, d) = app.get("/auth/realms/master/.well-known/openid-configuration", None).await;
    assert_eq!(status, StatusCode::OK);
    let realm = format!("{}/auth/realms/master", app.base);
    assert_eq!(d["issuer"], realm.as_str());
    assert_eq!(d["token_endpoint"], format!("{realm}/protocol/openid-connect/token"));
    assert_eq!(d["jwks_uri"], format!("{realm}/protocol/openid-connect/certs"));
    assert_eq!(d["userinfo_endpoint"], format!("{realm}/protocol/openid-connect/userinfo"));
    assert_eq!(d["device_authorization_endpoint"], format!("{realm}/protocol/openid-connect/auth/device"));
    let grants = d["grant_types_supported"].as_array().unwrap();
    for g in ["password", "refresh_token", "client_credentials", "urn:ietf:params:oauth:grant-type:device_code"] {
        assert!(grants.contains(&json!(g)), "{g} not in {grants:?}");
    }
    let jwks = app.client.get(d["jwks_uri"].as_str().unwrap()).send().await.unwrap();
    assert_eq!(jwks.status(), StatusCode::OK);
}

#[tokio::test]
async fn userinfo_describes_the_holder_of_the_token() {
    let app = spawn_app().await;
    let (id, _, token) = app.user("info@example.com").await;
    let (status, info) = app.get("/auth/realms/master/protocol/openid-connect/userinfo", Some(&token)).await;
    assert_eq!(status, StatusCode::OK, "{info}");
    assert_eq!(info["sub"], id.as_str());
    assert_eq!(info["email"], "info@example.com");
    let (status, body) = app.get("/auth/realms/master/protocol/openid-connect/userinfo", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_error_body(status, &body);
}

#[tokio::test]
async fn a_refresh_token_works_only_once_even_when_presented_concurrently() {
    let app = spawn_app().await;
    let tokens = app.login(ADMIN_EMAIL, ADMIN_PASSWORD).await;
    let rt = tokens["refresh_token"].as_str().unwrap();
    let form = [("grant_type", "refresh_token"), ("client_id", "sdk-client"), ("refresh_token", rt)];
    let attempts = (0..6).map(|_| app.token_request(&form, None));
    let results = futures::future::join_all(attempts).await;
    let ok = results.iter().filter(|(s, _)| *s == StatusCode::OK).count();
    assert_eq!(ok, 1, "exactly one concurrent refresh may succeed: {results:?}");
    for (s, b) in results.iter().filter(|(s, _)| *s != StatusCode::OK) {
        assert_oauth_error(*s, b, 400, "invalid_grant");
    }
}

#[tokio::test]
async fn an_approved_device_code_yields_tokens_only_once_even_when_polled_concurrently() {
    let app = spawn_app().await;
    let resp = app.client.post(app.url(DEVICE_PATH)).form(&[("client_id", "sdk-client")]).send().await.unwrap();
    let (_, start) = read(resp).await;
    let admin = app.admin_token().await;
    let (status, _) = app.post_json("/auth/realms/master/device/approve", &admin, json!({"user_code": start["user_code"]})).await;
    assert_eq!(status, StatusCode::OK);
    let form = [
        ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
        ("device_code", start["device_code"].as_str().unwrap()),
        ("client_id", "sdk-client"),
    ];
    let results = futures::future::join_all((0..6).map(|_| app.token_request(&form, None))).await;
    let ok = results.iter().filter(|(s, _)| *s == StatusCode::OK).count();
    assert_eq!(ok, 1, "a device code is redeemed once: {:?}", results.iter().map(|(s, b)| (s.as_u16(), b["error"].clone())).collect::<Vec<_>>());
}

#[tokio::test]
async fn a_user_whose_email_starts_with_service_account_is_still_a_user() {
    let app = spawn_app().await;
    let (_, _, token) = app.user("service-account-bot@example.com").await;
    let (status, body) = app.post_json(LIST, &token, json!({})).await;
    assert_eq!(status, StatusCode::OK, "an invited user may use the management API: {body}");
}
