//! Partition-local row offsets.
//!
//! Every `metadata.partition` value (an engine replica, an edge) numbers its own rows 0, 1,
//! 2, … in append order; rows without a value belong to the partition `""`. These are the
//! offsets of `GET /v1/logs/topic/{topic}` and of the `{partition: offset}` iterators of the
//! records API: a client that seeds `{p: end_p - n}` for every partition (the SDK's
//! `get_raw_logs`) gets the newest `n` rows of each, however the partitions interleave.
//!
//! Per indexed batch the store keeps, per partition, the first local offset and the row count
//! ([`BatchParts`]); a sealed segment's `.meta` holds the counts and the offsets its
//! partitions had reached when it was created (`carry`), so nothing is rescanned at open and
//! offsets are never reused, even once retention removed every earlier segment.

use std::collections::BTreeMap;

use arrow::array::AsArray;
use arrow::compute::cast;
use arrow::datatypes::{DataType, Int32Type};
use arrow::record_batch::RecordBatch;

use crate::Order;

/// Partition name -> offset (the next row's, or an iterator position).
pub type Offsets = BTreeMap<String, u64>;

/// The rows of one partition in one batch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct PartRun {
    pub name: String,
    /// Local offset of the partition's first row in the batch.
    pub first: u64,
    pub count: u32,
}

/// The partitions of one indexed batch (each once).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct BatchParts(pub Vec<PartRun>);

/// The partition of every row of `batch`: (names, one index into `names` per row).
pub(crate) fn row_partitions(batch: &RecordBatch) -> (Vec<String>, Vec<u32>) {
    let n = batch.num_rows();
    let Some(col) = batch.column_by_name("metadata.partition") else {
        return (vec![String::new()], vec![0; n]);
    };
    let mut names: Vec<String> = Vec::new();
    // Stored records hold the column dictionary-encoded: map each key once.
    if let Some(dict) = col.as_dictionary_opt::<Int32Type>() {
        if let Some(values) = dict.values().as_string_opt::<i32>() {
            let key_ids: Vec<u32> = values.iter().map(|v| intern_owned(&mut names, v)).collect();
            let rows = dict
                .keys()
                .iter()
                .map(|k| match k.and_then(|k| key_ids.get(usize::try_from(k).ok()?)) {
                    Some(&id) => id,
                    None => intern_owned(&mut names, None),
                })
                .collect();
            return (names, rows);
        }
    }
    let plain = cast(col, &DataType::Utf8).ok();
    let rows = match plain.as_ref().and_then(|c| c.as_string_opt::<i32>()) {
        Some(s) => s.iter().map(|v| intern_owned(&mut names, v)).collect(),
        None => vec![intern_owned(&mut names, None); n],
    };
    (names, rows)
}

/// Index of `v` (null = `""`) in `names`, appending it when new. Partitions per batch are
/// few, so a linear search beats hashing.
fn intern_owned(names: &mut Vec<String>, v: Option<&str>) -> u32 {
    let v = v.unwrap_or("");
    match names.iter().position(|n| n == v) {
        Some(i) => i as u32,
        None => {
            names.push(v.to_string());
            names.len() as u32 - 1
        }
    }
}

/// Rows per partition of `batch` (each partition once).
pub(crate) fn counts(batch: &RecordBatch) -> Vec<(String, u32)> {
    let (names, rows) = row_partitions(batch);
    let mut counts = vec![0u32; names.len()];
    for r in rows {
        counts[r as usize] += 1;
    }
    names.into_iter().zip(counts).filter(|(_, c)| *c > 0).collect()
}

/// Gives the rows of `counts` their local offsets, advancing `next`.
pub(crate) fn assign(counts: Vec<(String, u32)>, next: &mut Offsets) -> BatchParts {
    BatchParts(
        counts
            .into_iter()
            .map(|(name, count)| {
                let slot = next.entry(name.clone()).or_insert(0);
                let first = *slot;
                *slot += u64::from(count);
                PartRun { name, first, count }
            })
            .collect(),
    )
}

impl BatchParts {
    /// Advances `next` past this batch's rows.
    pub fn advance(&self, next: &mut Offsets) {
        for r in &self.0 {
            let end = r.first + u64::from(r.count);
            let slot = next.entry(r.name.clone()).or_insert(end);
            *slot = (*slot).max(end);
        }
    }

    /// Whether no row of the batch lies past the per-partition `cursor` in `order`.
    pub fn before_cursor(&self, order: Order, cursor: &Offsets) -> bool {
        self.0.iter().all(|r| match (order, cursor.get(&r.name)) {
            (_, None) => false,
            (Order::Asc, Some(&c)) => r.first + u64::from(r.count) <= c,
            (Order::Desc, Some(&c)) => r.first >= c,
        })
    }

    /// (partition name, local offset) of every row of `batch`, the batch these parts describe.
    pub fn locals<'a>(&'a self, batch: &RecordBatch) -> Vec<(&'a str, u64)> {
        let (names, rows) = row_partitions(batch);
        let mut next: Vec<(&str, u64)> = names
            .iter()
            .map(|n| match self.0.iter().find(|r| &r.name == n) {
                Some(r) => (r.name.as_str(), r.first),
                None => ("", u64::MAX), // not indexed: the meta disagrees with the data
            })
            .collect();
        rows.into_iter()
            .map(|r| {
                let slot = &mut next[r as usize];
                let out = *slot;
                slot.1 = slot.1.saturating_add(1);
                out
            })
            .collect()
    }
}

/// The per-batch counts of a segment in its `.meta`: partition names once, then per batch
/// `[name index, count]` pairs.
pub(crate) fn to_meta(parts: &[BatchParts]) -> (Vec<String>, Vec<Vec<[u32; 2]>>) {
    let mut names: Vec<String> = Vec::new();
    let batches = parts
        .iter()
        .map(|p| {
            p.0.iter()
                .map(|r| [intern_owned(&mut names, Some(&r.name)), r.count])
                .collect()
        })
        .collect();
    (names, batches)
}

/// Rebuilds the parts of a segment from its `.meta`, starting from `carry`; None when the
/// meta does not describe `rows` (rows per batch).
pub(crate) fn from_meta(
    carry: &Offsets,
    names: &[String],
    batches: &[Vec<[u32; 2]>],
    rows: &[u32],
) -> Option<Vec<BatchParts>> {
    if batches.len() != rows.len() {
        return None;
    }
    let mut next = carry.clone();
    batches
        .iter()
        .zip(rows)
        .map(|(b, &n)| {
            let counts = b
                .iter()
                .map(|[i, c]| Some((names.get(*i as usize)?.clone(), *c)))
                .collect::<Option<Vec<_>>>()?;
            let sum: u64 = counts.iter().map(|(_, c)| u64::from(*c)).sum();
            (sum == u64::from(n)).then(|| assign(counts, &mut next))
        })
        .collect()
}

/// Per partition: the pointwise maximum of `into` and `from`.
pub(crate) fn merge_max(into: &mut Offsets, from: &Offsets) {
    for (k, &v) in from {
        let slot = into.entry(k.clone()).or_insert(v);
        *slot = (*slot).max(v);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::array::{DictionaryArray, StringArray};
    use arrow::datatypes::{Field, Schema};

    use super::*;

    fn batch(col: arrow::array::ArrayRef) -> RecordBatch {
        let schema = Schema::new(vec![Field::new("metadata.partition", col.data_type().clone(), true)]);
        RecordBatch::try_new(Arc::new(schema), vec![col]).unwrap()
    }

    #[test]
    fn plain_dictionary_and_null_values_number_their_own_rows() {
        let plain = batch(Arc::new(StringArray::from(vec![Some("a"), None, Some("b"), Some("a")])));
        let dict: DictionaryArray<Int32Type> = vec![Some("a"), None, Some("b"), Some("a")].into_iter().collect();
        let dict = batch(Arc::new(dict));
        for b in [&plain, &dict] {
            let mut c = counts(b);
            c.sort();
            assert_eq!(c, vec![("".into(), 1), ("a".into(), 2), ("b".into(), 1)]);
            let mut next = Offsets::from([("a".into(), 10)]);
            let parts = assign(counts(b), &mut next);
            assert_eq!(next, Offsets::from([("a".into(), 12), ("".into(), 1), ("b".into(), 1)]));
            assert_eq!(parts.locals(b), vec![("a", 10), ("", 0), ("b", 0), ("a", 11)]);
            let cursor = Offsets::from([("a".into(), 12), ("".into(), 1), ("b".into(), 1)]);
            assert!(parts.before_cursor(Order::Asc, &cursor));
            assert!(!parts.before_cursor(Order::Asc, &Offsets::from([("a".into(), 12)])), "unnamed partitions are read");
            assert!(parts.before_cursor(Order::Desc, &Offsets::from([("a".into(), 10), ("".into(), 0), ("b".into(), 0)])));
        }
        let none = RecordBatch::try_new(Arc::new(Schema::new(vec![Field::new("x", DataType::Utf8, true)])), vec![Arc::new(StringArray::from(vec!["q"; 3]))]).unwrap();
        assert_eq!(counts(&none), vec![("".into(), 3)]);
    }

    #[test]
    fn summaries_round_trip_and_are_refused_when_they_disagree_with_the_index() {
        let carry = Offsets::from([("a".into(), 5)]);
        let mut next = carry.clone();
        let parts = vec![
            assign(vec![("a".into(), 3), ("b".into(), 1)], &mut next),
            assign(vec![("b".into(), 2)], &mut next),
        ];
        let (names, batches) = to_meta(&parts);
        assert_eq!(names, vec!["a".to_string(), "b".to_string()]);
        assert_eq!(from_meta(&carry, &names, &batches, &[4, 2]), Some(parts));
        assert_eq!(from_meta(&carry, &names, &batches, &[4, 3]), None, "row counts differ");
        assert_eq!(from_meta(&carry, &names, &batches, &[4]), None, "batch counts differ");
        assert_eq!(from_meta(&carry, &names[..1], &batches, &[4, 2]), None, "unknown name index");
    }
}
