use joey_core::ports::{AuthStore, UserStore, WorkspaceStore};
use joey_core::user::{DeviceGrant, NewUser, OidcClient, RefreshGrant, SigningKey};
use joey_core::workspace::Role;
use joey_core::Error;
use joey_store::SqlStore;

fn new_user(email: &str) -> NewUser {
    NewUser {
        id: uuid::Uuid::new_v4().to_string(),
        username: email.to_string(),
        email: email.to_string(),
        first_name: "Ann".into(),
        last_name: "Lee".into(),
        is_admin: false,
        password_hash: Some("$argon2id$fake".into()),
    }
}

pub async fn users_round_trip_and_duplicates_conflict(s: &SqlStore) {
    let u = s.create_user(new_user("a@x.io"), 1000).await.unwrap();
    let got = s.get_user(&u.id).await.unwrap().unwrap();
    assert_eq!(got, u);
    assert_eq!(s.find_user_by_email("a@x.io").await.unwrap().unwrap().id, u.id);
    assert_eq!(s.find_user_by_username("a@x.io").await.unwrap().unwrap().id, u.id);
    assert!(s.get_user("nope").await.unwrap().is_none());
    let dup = s.create_user(new_user("a@x.io"), 1001).await.unwrap_err();
    assert!(matches!(dup, Error::Conflict(_)), "{dup:?}");
    let v = s.create_user(new_user("b@x.io"), 1002).await.unwrap();
    assert_eq!(s.count_users().await.unwrap(), 2);
    let some = s.list_users(Some(std::slice::from_ref(&v.id))).await.unwrap();
    assert_eq!(some.len(), 1);
    assert_eq!(some[0].email, "b@x.io");
    s.record_login(&u.id, 5000).await.unwrap();
    assert_eq!(s.get_user(&u.id).await.unwrap().unwrap().last_login_ms, Some(5000));
    s.set_password_hash(&u.id, "h2").await.unwrap();
    assert_eq!(s.get_user(&u.id).await.unwrap().unwrap().password_hash.as_deref(), Some("h2"));
}

pub async fn disabling_a_user_revokes_refresh_grants(s: &SqlStore) {
    let mut u = s.create_user(new_user("c@x.io"), 1).await.unwrap();
    let g = RefreshGrant { token_hash: "t1".into(), user_id: u.id.clone(), client_id: "sdk-client".into(), expires_at_ms: 99 };
    s.insert_refresh_grant(&g).await.unwrap();
    u.enabled = false;
    u.first_name = "Changed".into();
    s.update_user(&u).await.unwrap();
    let back = s.get_user(&u.id).await.unwrap().unwrap();
    assert!(!back.enabled);
    assert_eq!(back.first_name, "Changed");
    assert!(s.take_refresh_grant("t1").await.unwrap().is_none());
}

pub async fn refresh_grants_are_taken_once(s: &SqlStore) {
    let u = s.create_user(new_user("d@x.io"), 1).await.unwrap();
    let g = RefreshGrant { token_hash: "t2".into(), user_id: u.id.clone(), client_id: "api-client".into(), expires_at_ms: 42 };
    s.insert_refresh_grant(&g).await.unwrap();
    assert_eq!(s.take_refresh_grant("t2").await.unwrap(), Some(g));
    assert_eq!(s.take_refresh_grant("t2").await.unwrap(), None);
    for h in ["a", "b"] {
        let g = RefreshGrant { token_hash: h.into(), user_id: u.id.clone(), client_id: "c".into(), expires_at_ms: 1 };
        s.insert_refresh_grant(&g).await.unwrap();
    }
    assert_eq!(s.revoke_refresh_grants(&u.id).await.unwrap(), 2);
}

pub async fn device_grants_are_approved_by_user_code(s: &SqlStore) {
    let g = DeviceGrant {
        device_code: "dev1".into(),
        user_code: "ABCD-EFGH".into(),
        client_id: "sdk-client".into(),
        expires_at_ms: 10_000,
        approved_user_id: None,
    };
    s.insert_device_grant(&g).await.unwrap();
    assert_eq!(s.get_device_grant("dev1").await.unwrap(), Some(g.clone()));
    assert!(!s.approve_device_grant("WRONG", "u1", 5).await.unwrap());
    assert!(!s.approve_device_grant("ABCD-EFGH", "u1", 20_000).await.unwrap(), "expired codes cannot be approved");
    assert!(s.take_approved_device_grant("dev1").await.unwrap().is_none(), "an unapproved grant cannot be taken");
    assert!(s.approve_device_grant("ABCD-EFGH", "u1", 5).await.unwrap());
    assert!(!s.approve_device_grant("ABCD-EFGH", "u2", 5).await.unwrap(), "an approved code cannot be re-approved by someone else");
    assert_eq!(s.get_device_grant("dev1").await.unwrap().unwrap().approved_user_id.as_deref(), Some("u1"));
    let taken = s.take_approved_device_grant("dev1").await.unwrap().unwrap();
    assert_eq!(taken.approved_user_id.as_deref(), Some("u1"));
    assert!(s.take_approved_device_grant("dev1").await.unwrap().is_none(), "taken once");
    assert!(s.get_device_grant("dev1").await.unwrap().is_none());
    s.insert_device_grant(&g).await.unwrap();
    s.delete_device_grant("dev1").await.unwrap();
    assert!(s.get_device_grant("dev1").await.unwrap().is_none());
}

pub async fn clients_and_keys_persist(s: &SqlStore) {
    let c = OidcClient { client_id: "api-client".into(), secret_hash: Some("h".into()) };
    s.upsert_client(&c).await.unwrap();
    s.upsert_client(&OidcClient { client_id: "sdk-client".into(), secret_hash: None }).await.unwrap();
    assert_eq!(s.get_client("api-client").await.unwrap(), Some(c));
    let updated = OidcClient { client_id: "api-client".into(), secret_hash: Some("h2".into()) };
    s.upsert_client(&updated).await.unwrap();
    assert_eq!(s.get_client("api-client").await.unwrap(), Some(updated));
    assert_eq!(s.get_client("sdk-client").await.unwrap().unwrap().secret_hash, None);
    assert!(s.get_client("other").await.unwrap().is_none());
    let k1 = SigningKey { kid: "k1".into(), private_pem: "PEM1".into(), created_at_ms: 1 };
    let k2 = SigningKey { kid: "k2".into(), private_pem: "PEM2".into(), created_at_ms: 2 };
    s.insert_signing_key(&k2).await.unwrap();
    s.insert_signing_key(&k1).await.unwrap();
    assert_eq!(s.list_signing_keys().await.unwrap(), vec![k1, k2]);
}

pub async fn workspace_creation_makes_the_creator_owner(s: &SqlStore) {
    let u = s.create_user(new_user("e@x.io"), 1).await.unwrap();
    let ws = s.create_workspace("team-a", &u.id, 1_700_000_000_123).await.unwrap();
    assert_eq!(ws.name, "team-a");
    assert_eq!(ws.created_by, u.id);
    assert_eq!(ws.created_at.timestamp_millis(), 1_700_000_000_123);
    assert!(!ws.archived);
    assert_eq!(s.get_workspace(ws.id).await.unwrap(), Some(ws.clone()));
    assert_eq!(s.find_workspace_by_name("team-a").await.unwrap(), Some(ws.clone()));
    assert_eq!(s.member_role(ws.id, &u.id).await.unwrap(), Some(Role::Owner));
    assert!(s.get_workspace(ws.id + 1000).await.unwrap().is_none());
}

pub async fn duplicate_workspace_names_conflict(s: &SqlStore) {
    let u = s.create_user(new_user("f@x.io"), 1).await.unwrap();
    s.create_workspace("dup", &u.id, 1).await.unwrap();
    let err = s.create_workspace("dup", &u.id, 2).await.unwrap_err();
    assert!(matches!(err, Error::Conflict(_)), "{err:?}");
    assert_eq!(s.list_workspaces(None).await.unwrap().len(), 1, "the failed insert left nothing behind");
}

pub async fn membership_is_upserted_and_removed_idempotently(s: &SqlStore) {
    let owner = s.create_user(new_user("g@x.io"), 1).await.unwrap();
    let other = s.create_user(new_user("h@x.io"), 2).await.unwrap();
    let ws = s.create_workspace("shared", &owner.id, 3).await.unwrap();
    s.put_member(ws.id, &other.id, Role::Collaborator).await.unwrap();
    assert_eq!(s.member_role(ws.id, &other.id).await.unwrap(), Some(Role::Collaborator));
    s.put_member(ws.id, &other.id, Role::Owner).await.unwrap();
    assert_eq!(s.member_role(ws.id, &other.id).await.unwrap(), Some(Role::Owner));
    assert_eq!(s.list_members(ws.id).await.unwrap().len(), 2);
    assert_eq!(s.remove_member(ws.id, &other.id).await.unwrap(), 1);
    assert_eq!(s.remove_member(ws.id, &other.id).await.unwrap(), 0);
    assert_eq!(s.member_role(ws.id, &other.id).await.unwrap(), None);
    let err = s.put_member(ws.id, "no-such-user", Role::Owner).await.unwrap_err();
    assert!(matches!(err, Error::InvalidInput(_)), "foreign keys are enforced: {err:?}");
}

pub async fn listing_workspaces_filters_by_member(s: &SqlStore) {
    let a = s.create_user(new_user("i@x.io"), 1).await.unwrap();
    let b = s.create_user(new_user("j@x.io"), 2).await.unwrap();
    let w1 = s.create_workspace("w1", &a.id, 3).await.unwrap();
    let w2 = s.create_workspace("w2", &b.id, 4).await.unwrap();
    s.put_member(w2.id, &a.id, Role::Collaborator).await.unwrap();
    let all: Vec<i64> = s.list_workspaces(None).await.unwrap().iter().map(|w| w.workspace.id).collect();
    assert_eq!(all, vec![w1.id, w2.id]);
    let of_b: Vec<i64> = s.list_workspaces(Some(&b.id)).await.unwrap().iter().map(|w| w.workspace.id).collect();
    assert_eq!(of_b, vec![w2.id]);
    let of_a = s.list_workspaces(Some(&a.id)).await.unwrap();
    assert_eq!(of_a.len(), 2);
    assert!(of_a.iter().all(|w| w.model_ids.is_empty() && w.pipeline_ids.is_empty()));
}

pub async fn migrations_are_idempotent(s: &SqlStore) {
    let u = s.create_user(new_user("k@x.io"), 1).await.unwrap();
    // Re-running every migration on an up-to-date database must be a no-op that keeps data.
    joey_store::SqlStore::migrate_again_for_tests(s).await.unwrap();
    assert!(s.get_user(&u.id).await.unwrap().is_some());
}
