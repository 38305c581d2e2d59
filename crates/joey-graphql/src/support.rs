//! Small building blocks: request data, field constructors, scalars and value conversions.

use std::any::Any;
use std::future::Future;
use std::sync::Arc;

use async_graphql::dynamic::{Field, FieldFuture, FieldValue, InputValue, ResolverContext, Scalar, TypeRef};
use async_graphql::Value as Gv;
use joey_core::{Caller, Platform};
use serde_json::Value as J;

/// What every resolver needs: the platform and the authenticated caller (request data).
#[derive(Clone)]
pub(crate) struct Env {
    pub platform: Platform,
    pub caller: Caller,
    pub deployer: Arc<dyn crate::Deployer>,
}

/// A resolver's answer.
pub(crate) type Out = async_graphql::Result<Option<FieldValue<'static>>>;

/// Maps a domain error to a GraphQL error. Internal details are logged, never sent.
pub(crate) fn gerr(e: joey_core::Error) -> async_graphql::Error {
    match e {
        joey_core::Error::Internal(msg) => {
            tracing::error!(error = %msg, "graphql resolver failed");
            async_graphql::Error::new("internal error")
        }
        other => async_graphql::Error::new(other.to_string()),
    }
}

/// A column computed from the parent row without I/O.
pub(crate) fn col<T: Any + Send + Sync>(name: &str, ty: TypeRef, f: fn(&T) -> Gv) -> Field {
    Field::new(name, ty, move |ctx| {
        let v = ctx.parent_value.try_downcast_ref::<T>().map(f);
        FieldFuture::new(async move {
            match v? {
                Gv::Null => Ok(None),
                v => Ok(Some(FieldValue::value(v))),
            }
        })
    })
}

/// A field that needs the platform (a relationship or a root field): `f(env, parent, args)`.
/// The arguments arrive as one JSON object (enum values as strings).
pub(crate) fn rel<T, F, Fut>(name: &str, ty: TypeRef, f: F) -> Field
where
    T: Any + Clone + Send + Sync,
    F: Fn(Env, T, J) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Out> + Send + 'static,
{
    let f = Arc::new(f);
    Field::new(name, ty, move |ctx| {
        let started = start(&ctx, &*f);
        FieldFuture::new(async move {
            let out: Option<FieldValue<'_>> = started?.await?;
            Ok(out)
        })
    })
}

fn start<T, F, Fut>(ctx: &ResolverContext<'_>, f: &F) -> async_graphql::Result<Fut>
where
    T: Any + Clone + Send + Sync,
    F: Fn(Env, T, J) -> Fut,
{
    let parent = ctx.parent_value.try_downcast_ref::<T>()?.clone();
    let env = ctx.data::<Env>()?.clone();
    Ok(f(env, parent, args_json(ctx)))
}

/// A root field (`query_root` / `mutation_root`): `f(env, args)`.
pub(crate) fn root<F, Fut>(name: &str, ty: TypeRef, f: F) -> Field
where
    F: Fn(Env, J) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Out> + Send + 'static,
{
    let f = Arc::new(f);
    Field::new(name, ty, move |ctx| {
        let started = ctx.data::<Env>().map(|env| f(env.clone(), args_json(&ctx)));
        FieldFuture::new(async move {
            let out: Option<FieldValue<'_>> = started?.await?;
            Ok(out)
        })
    })
}

fn args_json(ctx: &ResolverContext<'_>) -> J {
    let mut m = serde_json::Map::new();
    for (k, v) in ctx.args.as_index_map() {
        m.insert(k.to_string(), v.clone().into_json().unwrap_or(J::Null));
    }
    J::Object(m)
}

/// An object value.
pub(crate) fn obj<T: Any + Send + Sync>(row: T) -> FieldValue<'static> {
    FieldValue::owned_any(row)
}

/// A list of object values.
pub(crate) fn objs<T: Any + Send + Sync>(rows: impl IntoIterator<Item = T>) -> Out {
    Ok(Some(FieldValue::list(rows.into_iter().map(obj))))
}

/// An optional object value.
pub(crate) fn opt<T: Any + Send + Sync>(row: Option<T>) -> Out {
    Ok(row.map(obj))
}

/// Reads an id argument (`bigint`: a JSON number, or a string of digits).
pub(crate) fn id_arg(args: &J, name: &str) -> async_graphql::Result<i64> {
    let v = args.get(name).unwrap_or(&J::Null);
    as_i64(v).ok_or_else(|| async_graphql::Error::new(format!("argument '{name}' must be an integer id, not {v}")))
}

pub(crate) fn as_i64(v: &J) -> Option<i64> {
    match v {
        J::Number(n) => n.as_i64().or_else(|| n.as_f64().filter(|f| f.fract() == 0.0).map(|f| f as i64)),
        J::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// The scalars (Hasura's lowercase names).
pub(crate) fn scalars() -> Vec<Scalar> {
    let big = |v: &Gv| match v {
        Gv::Number(n) => n.is_i64() || n.is_u64(),
        Gv::String(s) => s.trim().parse::<i64>().is_ok(),
        _ => false,
    };
    let ts = |v: &Gv| matches!(v, Gv::String(s) if chrono::DateTime::parse_from_rfc3339(s).is_ok());
    vec![
        Scalar::new("bigint").description("64-bit integer").validator(big),
        Scalar::new("float8").description("double precision").validator(|v| matches!(v, Gv::Number(_))),
        Scalar::new("jsonb").description("any JSON value"),
        Scalar::new("timestamptz").description("RFC 3339 timestamp with offset").validator(ts),
        Scalar::new("uuid").validator(|v| matches!(v, Gv::String(_))),
    ]
}

pub(crate) fn big(v: i64) -> Gv {
    Gv::from(v)
}

pub(crate) fn s(v: &str) -> Gv {
    Gv::String(v.to_string())
}

pub(crate) fn opt_s(v: Option<&str>) -> Gv {
    v.map(s).unwrap_or(Gv::Null)
}

pub(crate) fn json(v: &J) -> Gv {
    Gv::from_json(v.clone()).unwrap_or(Gv::Null)
}

/// RFC 3339 with microseconds and an explicit offset (`+00:00`), as dateutil's isoparse wants.
pub(crate) fn ts_ms(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms).unwrap_or_default().to_rfc3339_opts(chrono::SecondsFormat::Micros, false)
}

pub(crate) fn ts_utc(t: &chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Micros, false)
}

/// Type references, Hasura style.
pub(crate) fn nn(t: &str) -> TypeRef {
    TypeRef::named_nn(t)
}
pub(crate) fn nl(t: &str) -> TypeRef {
    TypeRef::named(t)
}
pub(crate) fn list_nn(t: &str) -> TypeRef {
    TypeRef::named_nn_list_nn(t)
}

/// `id: bigint!`, the argument of every `*_by_pk`.
pub(crate) fn pk_arg() -> InputValue {
    InputValue::new("id", nn("bigint"))
}

/// The version Joey reports as `created_on_version`.
pub(crate) const VERSION: &str = env!("CARGO_PKG_VERSION");
