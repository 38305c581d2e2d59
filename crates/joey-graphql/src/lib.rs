//! The GraphQL endpoint of the Wallaroo API (`/v1/graphql`): the Hasura-shaped subset the
//! Wallaroo SDK uses (see `shared/spec/graphql-subset.md`), resolved through `Platform`.
//!
//! Transport-free: the HTTP layer authenticates the caller and hands in the request JSON
//! (`{query, variables, operationName}`); the answer is the GraphQL response JSON
//! (`{data, errors?}`). Names are Hasura's, verbatim (a dynamic schema: no renaming).
//!
//! Vocabulary (easy to get backwards): table `models` is the named model, table `model` is one
//! model version (`model_id` = the model *name*, `models_pk_id` = the named model's id).
//!
//! Authorization: every resolver goes through a `Platform` method that takes the `Caller`, so a
//! row of a workspace the caller is not a member of is `null` (`*_by_pk`) or left out (lists).

mod filter;
mod roots;
mod support;
mod types_pipe;
mod types_ws;

use std::sync::{Arc, OnceLock};

use async_graphql::dynamic::{Schema, SchemaError};
use joey_core::platform::DeploymentPlan;
use joey_core::{Caller, Platform};
use serde_json::{json, Value};

/// The schema bound to a platform. Cheap to create and clone: the schema itself is built once
/// per process and shared.
#[derive(Clone)]
pub struct JoeySchema {
    inner: &'static Schema,
    platform: Platform,
    deployer: Arc<dyn Deployer>,
}

/// What the `Deploy` mutation (`update_deployment_by_pk`) needs from the serving runtime, after
/// the platform has recorded the change: bring a deployment's models up, or stop serving it.
pub trait Deployer: Send + Sync {
    fn start(&self, plan: DeploymentPlan);
    fn stop(&self, deployment_id: i64);
}

impl JoeySchema {
    /// The schema in SDL (for docs and debugging).
    pub fn sdl(&self) -> String {
        self.inner.sdl()
    }
}

/// The schema, resolving against `platform`; deploy mutations go through `deployer`.
pub fn schema(platform: Platform, deployer: Arc<dyn Deployer>) -> JoeySchema {
    static BUILT: OnceLock<Schema> = OnceLock::new();
    JoeySchema { inner: BUILT.get_or_init(|| build().expect("the GraphQL schema is valid")), platform, deployer }
}

fn build() -> Result<Schema, SchemaError> {
    let mut b = Schema::build("query_root", Some("mutation_root"), None).register(roots::query_root()).register(roots::mutation_root());
    for s in support::scalars() {
        b = b.register(s);
    }
    let (order_by, inputs) = filter::input_types();
    b = b.register(order_by).register(types_pipe::dmc_select_column());
    for i in inputs {
        b = b.register(i);
    }
    let (enums, inputs) = roots::insert_inputs();
    for e in enums {
        b = b.register(e);
    }
    for i in inputs {
        b = b.register(i);
    }
    for o in types_ws::types().into_iter().chain(types_pipe::types()) {
        b = b.register(o);
    }
    b.finish()
}

/// Executes one GraphQL request for `caller`. Never fails: request and resolver problems come
/// back in `errors` (and are logged at warn level with the operation's name).
pub async fn execute(schema: &JoeySchema, caller: Caller, request: Value) -> Value {
    let req: async_graphql::Request = match serde_json::from_value(request) {
        Ok(r) => r,
        Err(e) => {
            let msg = format!("invalid GraphQL request: {e}");
            tracing::warn!(error = %msg, "graphql request rejected");
            return json!({"data": null, "errors": [{"message": msg}]});
        }
    };
    let operation = operation_label(&req);
    let req = req.data(support::Env { platform: schema.platform.clone(), caller, deployer: schema.deployer.clone() });
    let resp = schema.inner.execute(req).await;
    if resp.errors.is_empty() {
        tracing::debug!(%operation, "graphql ok");
    } else {
        let messages: Vec<String> = resp.errors.iter().map(|e| e.message.clone()).collect();
        tracing::warn!(%operation, errors = ?messages, "graphql errors");
    }
    serde_json::to_value(&resp).unwrap_or_else(|e| json!({"data": null, "errors": [{"message": format!("cannot encode the response: {e}")}]}))
}

/// `operationName`, else the first `query X` / `mutation X` of the document (gql sends no name).
fn operation_label(req: &async_graphql::Request) -> String {
    if let Some(name) = &req.operation_name {
        return name.clone();
    }
    let head = req.query.trim_start();
    let head = head.split(['(', '{']).next().unwrap_or("").trim();
    if head.is_empty() { "(anonymous)".to_string() } else { head.to_string() }
}

#[cfg(test)]
mod tests {
    #[test]
    fn schema_builds_with_hasura_names() {
        let sdl = super::build().expect("schema").sdl();
        for needle in ["type query_root", "model_by_pk(id: bigint!): model", "scalar jsonb", "input model_bool_exp", "insert_workspace_one("] {
            assert!(sdl.contains(needle), "{needle} missing from:\n{sdl}");
        }
    }
}
