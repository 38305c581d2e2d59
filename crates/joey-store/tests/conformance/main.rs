//! The store conformance suite: every behaviour runs on SQLite (always) and on PostgreSQL
//! (`#[ignore]`d unless run with `--ignored` and `JOEY_TEST_POSTGRES_URL` pointing at a server on
//! which the user may create databases; each test gets a fresh database).

mod identity;
mod support;

/// Generates `sqlite::<name>` and `postgres::<name>` tests for each behaviour `identity::<name>`.
macro_rules! conformance {
    ($($module:ident :: $name:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test] async fn $name() { let s = crate::support::sqlite().await; crate::$module::$name(&s.store).await; })*
        }
        mod postgres {
            $(#[tokio::test] #[ignore = "needs JOEY_TEST_POSTGRES_URL"] async fn $name() { let s = crate::support::postgres().await; crate::$module::$name(&s.store).await; })*
        }
    };
}

conformance!(
    identity::users_round_trip_and_duplicates_conflict,
    identity::disabling_a_user_revokes_refresh_grants,
    identity::refresh_grants_are_taken_once,
    identity::device_grants_are_approved_by_user_code,
    identity::clients_and_keys_persist,
    identity::workspace_creation_makes_the_creator_owner,
    identity::duplicate_workspace_names_conflict,
    identity::membership_is_upserted_and_removed_idempotently,
    identity::listing_workspaces_filters_by_member,
    identity::migrations_are_idempotent,
);
