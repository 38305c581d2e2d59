//! How the flat internal column names (`in.tensor`, `out.dense_1`, `metadata.elapsed`, `time`)
//! map to the nested or flattened response layouts.

use std::borrow::Cow;

use arrow::datatypes::Schema;

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
}
