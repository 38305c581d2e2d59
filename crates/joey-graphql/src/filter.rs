//! Hasura-style list arguments — `where` (`<t>_bool_exp`), `order_by` (`<t>_order_by`), `limit`,
//! `offset`, `distinct_on` — evaluated over a JSON view of each row, and the input types that
//! describe them. Views hold the columns below (and nested objects for the relationships), so the
//! table list here and the `view_*` functions in the type modules must agree.

use std::cmp::Ordering;

use async_graphql::dynamic::{Enum, Field, InputObject, InputValue, TypeRef};
use serde_json::Value as J;

use crate::support::{as_i64, nl};

/// A column's scalar type, for its comparison expression.
#[derive(Clone, Copy)]
pub(crate) enum Sc {
    Big,
    Str,
    Bool,
    Ts,
}

impl Sc {
    fn name(self) -> &'static str {
        match self {
            Sc::Big => "bigint",
            Sc::Str => "String",
            Sc::Bool => "Boolean",
            Sc::Ts => "timestamptz",
        }
    }
}

/// A table's filterable, sortable columns and object relationships (`(field, target table)`).
pub(crate) struct Table {
    pub name: &'static str,
    pub cols: &'static [(&'static str, Sc)],
    pub rels: &'static [(&'static str, &'static str)],
}

use Sc::*;

pub(crate) const TABLES: &[Table] = &[
    Table { name: "workspace", cols: &[("id", Big), ("name", Str), ("archived", Bool), ("created_at", Ts), ("created_by", Str), ("owner_id", Str)], rels: &[] },
    Table { name: "workspace_users", cols: &[("user_id", Str), ("user_type", Str), ("workspace_id", Big)], rels: &[] },
    Table { name: "user_default_workspace", cols: &[("user_id", Str), ("workspace_id", Big)], rels: &[("workspace", "workspace")] },
    Table {
        name: "models",
        cols: &[("id", Big), ("name", Str), ("owner_id", Str), ("workspace_id", Big), ("created_at", Ts), ("updated_at", Ts)],
        rels: &[("workspace", "workspace")],
    },
    Table {
        name: "model",
        cols: &[
            ("id", Big), ("model_id", Str), ("model_version", Str), ("models_pk_id", Big), ("sha", Str), ("status", Str),
            ("visibility", Str), ("file_name", Str), ("created_at", Ts), ("updated_at", Ts),
        ],
        rels: &[("model", "models")],
    },
    Table {
        name: "pipeline",
        cols: &[("id", Big), ("pipeline_id", Str), ("visibility", Str), ("workspace_id", Big), ("created_at", Ts), ("updated_at", Ts)],
        rels: &[("workspace", "workspace")],
    },
    Table { name: "pipeline_version", cols: &[("id", Big), ("version", Str), ("pipeline_id", Big), ("created_at", Ts), ("updated_at", Ts)], rels: &[] },
    Table { name: "deployment", cols: &[("id", Big), ("deploy_id", Str), ("deployed", Bool), ("pipeline_id", Big)], rels: &[] },
    Table {
        name: "deployment_pipeline_version",
        cols: &[("id", Big), ("deployment_id", Big), ("pipeline_version_id", Big), ("created_at", Ts), ("updated_at", Ts)],
        rels: &[("pipeline_version", "pipeline_version")],
    },
];

/// `order_by`, the comparison expressions and every table's `_bool_exp` / `_order_by`.
pub(crate) fn input_types() -> (Enum, Vec<InputObject>) {
    let order = Enum::new("order_by").items(["asc", "asc_nulls_first", "asc_nulls_last", "desc", "desc_nulls_first", "desc_nulls_last"]);
    let mut inputs = Vec::new();
    for sc in [Big, Str, Bool, Ts] {
        let t = sc.name();
        let mut o = InputObject::new(format!("{t}_comparison_exp")).field(InputValue::new("_is_null", nl("Boolean")));
        let mut ops = vec!["_eq", "_neq"];
        if !matches!(sc, Bool) {
            ops.extend(["_gt", "_gte", "_lt", "_lte"]);
        }
        if matches!(sc, Str) {
            ops.extend(["_like", "_ilike", "_nlike", "_nilike"]);
        }
        for op in ops {
            o = o.field(InputValue::new(op, nl(t)));
        }
        o = o.field(InputValue::new("_in", TypeRef::named_nn_list(t))).field(InputValue::new("_nin", TypeRef::named_nn_list(t)));
        inputs.push(o);
    }
    for t in TABLES {
        let exp = format!("{}_bool_exp", t.name);
        let mut b = InputObject::new(&exp)
            .field(InputValue::new("_and", TypeRef::named_nn_list(&exp)))
            .field(InputValue::new("_or", TypeRef::named_nn_list(&exp)))
            .field(InputValue::new("_not", nl(&exp)));
        let mut o = InputObject::new(format!("{}_order_by", t.name));
        for (c, sc) in t.cols {
            b = b.field(InputValue::new(*c, nl(&format!("{}_comparison_exp", sc.name()))));
            o = o.field(InputValue::new(*c, nl("order_by")));
        }
        for (r, target) in t.rels {
            b = b.field(InputValue::new(*r, nl(&format!("{target}_bool_exp"))));
            o = o.field(InputValue::new(*r, nl(&format!("{target}_order_by"))));
        }
        inputs.push(b);
        inputs.push(o);
    }
    (order, inputs)
}

/// Adds `where`, `order_by` (when `sorted`), `limit` and `offset` to a list field of `table`.
pub(crate) fn list_args(f: Field, table: &str, sorted: bool) -> Field {
    let mut f = f.argument(InputValue::new("where", nl(&format!("{table}_bool_exp"))));
    if sorted {
        f = f.argument(InputValue::new("order_by", TypeRef::named_nn_list(format!("{table}_order_by"))));
    }
    f.argument(InputValue::new("limit", nl("Int"))).argument(InputValue::new("offset", nl("Int")))
}

/// Applies `where`, `order_by`, `offset` and `limit` from `args` to `rows`, viewing each with `view`.
pub(crate) fn select<T>(rows: Vec<T>, args: &J, view: impl Fn(&T) -> J) -> Vec<T> {
    let w = args.get("where").filter(|w| !w.is_null());
    let mut kept: Vec<(J, T)> = rows.into_iter().map(|r| (view(&r), r)).filter(|(v, _)| w.is_none_or(|w| matches(w, v))).collect();
    if let Some(order) = args.get("order_by").filter(|o| !o.is_null()) {
        let keys = sort_keys(order);
        kept.sort_by(|a, b| compare_by(&keys, &a.0, &b.0));
    }
    let offset = args.get("offset").and_then(as_i64).unwrap_or(0).max(0) as usize;
    let limit = args.get("limit").and_then(as_i64).map(|l| l.max(0) as usize).unwrap_or(usize::MAX);
    kept.into_iter().skip(offset).take(limit).map(|(_, r)| r).collect()
}

fn items(v: &J) -> Vec<&J> {
    match v {
        J::Array(a) => a.iter().collect(),
        J::Null => Vec::new(),
        other => vec![other],
    }
}

/// Whether the row view satisfies a `<t>_bool_exp`.
pub(crate) fn matches(w: &J, row: &J) -> bool {
    let Some(m) = w.as_object() else { return true };
    m.iter().all(|(k, c)| match k.as_str() {
        "_and" => items(c).iter().all(|x| matches(x, row)),
        "_or" => {
            let l = items(c);
            l.is_empty() || l.iter().any(|x| matches(x, row))
        }
        "_not" => c.is_null() || !matches(c, row),
        column => {
            let v = row.get(column).unwrap_or(&J::Null);
            match (c.as_object(), v) {
                (None, _) => true,
                (Some(sub), J::Object(_)) if !sub.keys().any(|k| k == "_is_null") => matches(c, v),
                (Some(ops), _) => ops.iter().all(|(op, arg)| compare_op(op, arg, v)),
            }
        }
    })
}

fn compare_op(op: &str, arg: &J, v: &J) -> bool {
    if op == "_is_null" {
        return arg.as_bool().is_none_or(|want| want == v.is_null());
    }
    if arg.is_null() {
        return true; // Hasura ignores a null operand
    }
    if v.is_null() {
        return false; // SQL: comparisons with NULL are not true
    }
    let ord = || cmp(v, arg);
    match op {
        "_eq" => ord() == Some(Ordering::Equal),
        "_neq" => ord() != Some(Ordering::Equal),
        "_gt" => ord() == Some(Ordering::Greater),
        "_gte" => matches!(ord(), Some(Ordering::Greater | Ordering::Equal)),
        "_lt" => ord() == Some(Ordering::Less),
        "_lte" => matches!(ord(), Some(Ordering::Less | Ordering::Equal)),
        "_in" => items(arg).iter().any(|a| cmp(v, a) == Some(Ordering::Equal)),
        "_nin" => !items(arg).iter().any(|a| cmp(v, a) == Some(Ordering::Equal)),
        "_like" | "_nlike" | "_ilike" | "_nilike" => {
            let (Some(text), Some(pat)) = (v.as_str(), arg.as_str()) else { return false };
            let fold = op.contains('i');
            let hit = if fold { like(&text.to_lowercase(), &pat.to_lowercase()) } else { like(text, pat) };
            hit != op.starts_with("_n")
        }
        _ => false,
    }
}

/// SQL LIKE: `%` any run, `_` one character.
fn like(text: &str, pat: &str) -> bool {
    let (t, p): (Vec<char>, Vec<char>) = (text.chars().collect(), pat.chars().collect());
    fn go(t: &[char], p: &[char]) -> bool {
        match p.first() {
            None => t.is_empty(),
            Some('%') => (0..=t.len()).any(|i| go(&t[i..], &p[1..])),
            Some('_') => !t.is_empty() && go(&t[1..], &p[1..]),
            Some(c) => t.first() == Some(c) && go(&t[1..], &p[1..]),
        }
    }
    go(&t, &p)
}

/// Compares a row value with an operand: numbers numerically (ids may arrive as strings),
/// timestamps as instants, other strings and booleans as themselves.
fn cmp(v: &J, arg: &J) -> Option<Ordering> {
    match (v, arg) {
        (J::Number(a), J::Number(b)) => match (a.as_i64(), b.as_i64()) {
            (Some(x), Some(y)) => Some(x.cmp(&y)),
            _ => a.as_f64()?.partial_cmp(&b.as_f64()?),
        },
        (J::Number(_), J::String(_)) => cmp(v, &J::from(as_i64(arg)?)),
        (J::String(a), J::String(b)) => {
            match (chrono::DateTime::parse_from_rfc3339(a), chrono::DateTime::parse_from_rfc3339(b)) {
                (Ok(x), Ok(y)) => Some(x.cmp(&y)),
                _ => Some(a.cmp(b)),
            }
        }
        (J::Bool(a), J::Bool(b)) => Some(a.cmp(b)),
        _ => None,
    }
}

/// `(path, direction)` pairs in priority order, from `[{col: desc}, {rel: {col: asc}}]`.
fn sort_keys(order: &J) -> Vec<(Vec<String>, String)> {
    fn walk(v: &J, path: &mut Vec<String>, out: &mut Vec<(Vec<String>, String)>) {
        if let Some(m) = v.as_object() {
            for (k, sub) in m {
                path.push(k.clone());
                match sub {
                    J::String(dir) => out.push((path.clone(), dir.clone())),
                    _ => walk(sub, path, out),
                }
                path.pop();
            }
        }
    }
    let mut out = Vec::new();
    for o in items(order) {
        walk(o, &mut Vec::new(), &mut out);
    }
    out
}

fn compare_by(keys: &[(Vec<String>, String)], a: &J, b: &J) -> Ordering {
    for (path, dir) in keys {
        let get = |row: &J| path.iter().try_fold(row, |v, k| v.get(k)).cloned().unwrap_or(J::Null);
        let (x, y) = (get(a), get(b));
        let desc = dir.starts_with("desc");
        // PostgreSQL's defaults: NULLS LAST for asc, NULLS FIRST for desc.
        let nulls_first = if dir.ends_with("nulls_first") { true } else if dir.ends_with("nulls_last") { false } else { desc };
        let o = match (x.is_null(), y.is_null()) {
            (true, true) => Ordering::Equal,
            (true, false) => if nulls_first { Ordering::Less } else { Ordering::Greater },
            (false, true) => if nulls_first { Ordering::Greater } else { Ordering::Less },
            (false, false) => {
                let o = cmp(&x, &y).unwrap_or(Ordering::Equal);
                if desc { o.reverse() } else { o }
            }
        };
        if o != Ordering::Equal {
            return o;
        }
    }
    Ordering::Equal
}

/// Keeps the first row of each distinct combination of `columns` (Hasura's `distinct_on`).
pub(crate) fn distinct_on<T>(rows: Vec<T>, columns: &J, view: impl Fn(&T) -> J) -> Vec<T> {
    let cols: Vec<&str> = items(columns).iter().filter_map(|c| c.as_str()).collect();
    if cols.is_empty() {
        return rows;
    }
    let mut seen: Vec<Vec<J>> = Vec::new();
    rows.into_iter()
        .filter(|r| {
            let v = view(r);
            let key: Vec<J> = cols.iter().map(|c| v.get(*c).cloned().unwrap_or(J::Null)).collect();
            if seen.contains(&key) {
                false
            } else {
                seen.push(key);
                true
            }
        })
        .collect()
}

/// Helper for tests and roots: the `{_eq: x}` operand of `column` if `w` pins it (top level or
/// inside `_and`).
pub(crate) fn pinned<'a>(w: &'a J, column: &str) -> Option<&'a J> {
    let m = w.as_object()?;
    if let Some(v) = m.get(column).and_then(|c| c.get("_eq")).filter(|v| !v.is_null()) {
        return Some(v);
    }
    m.get("_and").and_then(|a| items(a).into_iter().find_map(|x| pinned(x, column)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn where_order_limit() {
        let rows = vec![json!({"id": 1, "name": "a", "w": {"name": "x"}}), json!({"id": 2, "name": "b", "w": {"name": "y"}}), json!({"id": 3, "name": "ab", "w": null})];
        let ids = |args: J| select(rows.clone(), &args, |r| r.clone()).iter().map(|r| r["id"].as_i64().unwrap()).collect::<Vec<_>>();
        assert_eq!(ids(json!({"where": {"name": {"_like": "a%"}}})), vec![1, 3]);
        assert_eq!(ids(json!({"where": {"_and": [{"id": {"_gt": "1"}}, {"name": {"_ilike": "%B"}}]}})), vec![2, 3]);
        assert_eq!(ids(json!({"where": {"w": {"name": {"_eq": "y"}}}})), vec![2]);
        assert_eq!(ids(json!({"where": {"_not": {"id": {"_in": [1, 2]}}}})), vec![3]);
        assert_eq!(ids(json!({"where": {"_or": [{"id": {"_eq": 1}}, {"w": {"_is_null": true}}]}})), vec![1, 3]);
        assert_eq!(ids(json!({"order_by": [{"id": "desc"}], "limit": 2})), vec![3, 2]);
        assert_eq!(ids(json!({"order_by": {"w": {"name": "desc"}}, "offset": 1})), vec![2, 1]);
        assert_eq!(pinned(&json!({"_and": [{"a": {"_eq": 1}}, {"b": {"_eq": "x"}}]}), "b"), Some(&json!("x")));
        let d = distinct_on(rows.clone(), &json!("k"), |_| json!({"k": 1}));
        assert_eq!(d.len(), 1);
    }
}
