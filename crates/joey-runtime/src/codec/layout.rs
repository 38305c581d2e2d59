//! How the flat internal column names (`in.tensor`, `out.dense_1`, `metadata.elapsed`, `time`)
//! map to the nested or flattened response layouts.

use std::borrow::Cow;
use std::rc::Rc;
use std::sync::Arc;

use arrow::datatypes::{Schema, SchemaRef};

/// Splits a dotted path into its group (text before the first `.`) and the rest.
/// `time` (no dot) has no group.
pub(crate) fn split_group(name: &str) -> Option<(&str, &str)> {
    name.split_once('.')
}

/// The flattened key of a column: the first `.` replaced by `separator`.
pub(crate) fn flat_name<'a>(name: &'a str, separator: &str) -> Cow<'a, str> {
    match split_group(name) {
        Some((group, rest)) if separator != "." => Cow::Owned(format!("{group}{separator}{rest}")),
        _ => Cow::Borrowed(name),
    }
}

/// One top-level entry of the nested layout.
#[derive(Debug, PartialEq)]
pub(crate) enum Slot<'a> {
    /// A column without a group (`time`), by index.
    Top(usize),
    /// A group (`in`, `out`, `out_m2`, `anomaly`, `metadata`) and its members:
    /// (column index, name inside the group). Groups appear where their first column does.
    Group(&'a str, Vec<(usize, &'a str)>),
}

/// The nested layout of a schema.
pub(crate) fn nest(schema: &Schema) -> Vec<Slot<'_>> {
    let mut slots: Vec<Slot<'_>> = Vec::new();
    for (i, field) in schema.fields().iter().enumerate() {
        match split_group(field.name()) {
            None => slots.push(Slot::Top(i)),
            Some((group, rest)) => {
                let existing = slots.iter_mut().find_map(|s| match s {
                    Slot::Group(g, members) if *g == group => Some(members),
                    _ => None,
                });
                match existing {
                    Some(members) => members.push((i, rest)),
                    None => slots.push(Slot::Group(group, vec![(i, rest)])),
                }
            }
        }
    }
    slots
}

/// One entry of a JSON row: a column's `"key":`, or a group's `"key":` and its members'.
pub(crate) enum KeyEntry {
    Col(Vec<u8>, usize),
    Group(Vec<u8>, Vec<(Vec<u8>, usize)>),
}

/// The escaped keys of one response layout (column names + separator), and the size of the
/// last row printed with them (so the next answer's buffer is sized once).
pub(crate) struct JsonKeys {
    pub entries: Vec<KeyEntry>,
    pub row_bytes: std::cell::Cell<usize>,
}

/// Layouts a thread keeps: answers of one deployment share a schema, so its keys are escaped
/// once, not on every request.
const KEPT_LAYOUTS: usize = 8;

/// A kept layout: the schema it was made for, the separator, the keys.
type Kept = (SchemaRef, Option<String>, Rc<JsonKeys>);

thread_local! {
    static LAYOUTS: std::cell::RefCell<Vec<Kept>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// The keys of `schema` printed with `separator` (nested by group without one), from this
/// thread's cache when the same column names were printed with it recently.
pub(crate) fn json_keys(schema: &SchemaRef, separator: Option<&str>) -> Rc<JsonKeys> {
    let same = |s: &SchemaRef| Arc::ptr_eq(s, schema) || (s.fields().len() == schema.fields().len() && s.fields().iter().zip(schema.fields()).all(|(a, b)| a.name() == b.name()));
    LAYOUTS.with_borrow_mut(|kept| {
        let make = || (schema.clone(), separator.map(str::to_string), Rc::new(JsonKeys { entries: build_keys(schema, separator), row_bytes: std::cell::Cell::new(0) }));
        crate::recent::recent(kept, KEPT_LAYOUTS, |(s, sep, _)| sep.as_deref() == separator && same(s), make, |(_, _, keys)| keys.clone())
    })
}

fn build_keys(schema: &Schema, separator: Option<&str>) -> Vec<KeyEntry> {
    match separator {
        Some(sep) => schema.fields().iter().enumerate().map(|(i, f)| KeyEntry::Col(key_bytes(&flat_name(f.name(), sep)), i)).collect(),
        None => nest(schema)
            .into_iter()
            .map(|slot| match slot {
                Slot::Top(i) => KeyEntry::Col(key_bytes(schema.field(i).name()), i),
                Slot::Group(g, members) => KeyEntry::Group(key_bytes(g), members.into_iter().map(|(i, name)| (key_bytes(name), i)).collect()),
            })
            .collect(),
    }
}

/// `"name":` escaped.
pub(crate) fn key_bytes(name: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(name.len() + 3);
    super::jsonw::write_str(&mut k, name);
    k.push(b':');
    k
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::datatypes::{DataType, Field};

    #[test]
    fn groups_by_first_dot() {
        let names = [
            "time",
            "in.a.b",
            "out.y",
            "in.c",
            "out_m2.y",
            "anomaly.count",
        ];
        let schema = Schema::new(
            names
                .iter()
                .map(|n| Field::new(*n, DataType::Int64, true))
                .collect::<Vec<_>>(),
        );
        assert_eq!(
            nest(&schema),
            vec![
                Slot::Top(0),
                Slot::Group("in", vec![(1, "a.b"), (3, "c")]),
                Slot::Group("out", vec![(2, "y")]),
                Slot::Group("out_m2", vec![(4, "y")]),
                Slot::Group("anomaly", vec![(5, "count")]),
            ]
        );
        assert_eq!(flat_name("in.a.b", "_"), "in_a.b");
        assert_eq!(flat_name("in.a.b", "."), "in.a.b");
        assert_eq!(flat_name("time", "/"), "time");
    }

    fn keys_text(k: &JsonKeys) -> Vec<String> {
        let t = |b: &[u8]| String::from_utf8(b.to_vec()).unwrap();
        k.entries
            .iter()
            .map(|e| match e {
                KeyEntry::Col(key, i) => format!("{}{i}", t(key)),
                KeyEntry::Group(key, m) => format!("{}{{{}}}", t(key), m.iter().map(|(k, i)| format!("{}{i}", t(k))).collect::<Vec<_>>().join(",")),
            })
            .collect()
    }

    #[test]
    fn json_keys_are_reused_per_layout_and_separator() {
        let schema = |names: &[&str]| Arc::new(Schema::new(names.iter().map(|n| Field::new(*n, DataType::Int64, true)).collect::<Vec<_>>()));
        let a = schema(&["time", "in.x", "out.y"]);
        let nested = json_keys(&a, None);
        assert_eq!(keys_text(&nested), ["\"time\":0", "\"in\":{\"x\":1}", "\"out\":{\"y\":2}"]);
        assert!(Rc::ptr_eq(&nested, &json_keys(&a, None)), "same schema, same separator: reused");
        // Another schema object with the same names (a projection, a new pipeline version) reuses them too.
        assert!(Rc::ptr_eq(&nested, &json_keys(&schema(&["time", "in.x", "out.y"]), None)));
        assert_eq!(keys_text(&json_keys(&a, Some("_"))), ["\"time\":0", "\"in_x\":1", "\"out_y\":2"]);
        assert_eq!(keys_text(&json_keys(&a, Some("."))), ["\"time\":0", "\"in.x\":1", "\"out.y\":2"]);
        assert_eq!(keys_text(&json_keys(&schema(&["time", "in.x", "out.z"]), None)), ["\"time\":0", "\"in\":{\"x\":1}", "\"out\":{\"z\":2}"]);
        // More layouts than are kept: the least recently used goes, answers stay right.
        for i in 0..2 * KEPT_LAYOUTS {
            let name = format!("out.c{i}");
            assert_eq!(keys_text(&json_keys(&schema(&[name.as_str()]), None)), [format!("\"out\":{{\"c{i}\":0}}")]);
        }
        assert!(!Rc::ptr_eq(&nested, &json_keys(&a, None)), "evicted, then made anew");
    }
}
