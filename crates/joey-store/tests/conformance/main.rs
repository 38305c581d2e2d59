//! The store conformance suite: every behaviour runs on SQLite (always) and on PostgreSQL
//! (`#[ignore]`d unless run with `--ignored` and `JOEY_TEST_POSTGRES_URL` pointing at a server on
//! which the user may create databases; each test gets a fresh database).

mod identity;
mod models;
mod pipelines;
mod support;

/// Generates `sqlite::<name>` and `postgres::<name>` tests for each behaviour `<module>::<name>`.
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
    models::create_model_version_makes_the_model_then_adds_versions,
    models::models_and_versions_are_found_by_id_and_uuid,
    models::model_listings_return_versions_oldest_first_with_latest_config,
    models::model_status_error_and_signature_are_stored,
    models::configs_round_trip_and_the_latest_wins,
    models::filter_threshold_alternates_between_some_and_none,
    models::upload_log_lines_come_back_in_order,
    models::deleting_versions_frees_only_unreferenced_shas_and_empty_models,
    models::sha_referenced_counts_every_version,
    models::versions_in_status_lists_matching_versions_in_id_order,
    models::deployed_flag_follows_active_deployments,
    models::workspace_list_reports_model_and_pipeline_ids,
    models::concurrent_first_uploads_of_a_name_make_one_model,
    pipelines::create_pipeline_version_makes_the_pipeline_then_adds_versions,
    pipelines::pipelines_and_versions_are_found_and_listed,
    pipelines::deleting_a_pipeline_removes_its_deployment_and_versions,
    pipelines::deleting_pipeline_versions_keeps_the_others,
    pipelines::activation_keeps_one_deployment_id_per_pipeline,
    pipelines::deactivation_and_active_listing,
    pipelines::model_version_deployed_follows_active_deployments,
);
