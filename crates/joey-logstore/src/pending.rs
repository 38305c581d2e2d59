//! What the writer holds between appends and writes: appended batches grouped per topic, and
//! the rule that decides which of them are joined before they are written.
//!
//! Joining costs a copy of every byte, so only small batches are joined: a request's own
//! batch of [`JOIN_BELOW`] rows or more becomes its own batch message as it is (a 10k-row
//! record is not copied again). The many one-row batches of a busy single-row endpoint mostly
//! arrive already joined, copied at append into a stage (`stage.rs`); what the stage cannot
//! copy is joined here (one message per few hundred rows, not per request).

use std::sync::Arc;
use std::time::Instant;

use arrow::compute::concat_batches;
use arrow::record_batch::RecordBatch;

/// Batches with fewer rows than this are joined with their small neighbours.
pub(crate) const JOIN_BELOW: usize = 256;

/// Batches of one topic waiting to be written; consecutive equal schemas share a group.
pub(crate) struct Pending {
    pub groups: Vec<Vec<RecordBatch>>,
    pub rows: usize,
    /// Arrow memory of the pending batches (released from `queued_bytes` when written).
    pub bytes: u64,
    pub since: Instant,
}

impl Pending {
    pub fn new() -> Pending {
        Pending { groups: Vec::new(), rows: 0, bytes: 0, since: Instant::now() }
    }

    pub fn push(&mut self, batch: RecordBatch, bytes: u64) {
        self.rows += batch.num_rows();
        self.bytes += bytes;
        match self.groups.last_mut() {
            Some(g) if same_schema(&g[0], &batch) => g.push(batch),
            _ => self.groups.push(vec![batch]),
        }
    }
}

pub(crate) fn same_schema(a: &RecordBatch, b: &RecordBatch) -> bool {
    same_schema_ref(a.schema_ref(), b.schema_ref())
}

/// Equal schemas, checked by pointer first (one layout's batches share one `Arc`).
pub(crate) fn same_schema_ref(a: &arrow::datatypes::SchemaRef, b: &arrow::datatypes::SchemaRef) -> bool {
    Arc::ptr_eq(a, b) || a == b
}

/// A topic's consecutive appends of one schema, with their summed Arrow memory.
pub(crate) struct Run {
    pub topic: String,
    pub batches: Vec<RecordBatch>,
    pub bytes: u64,
}

/// Splits inbox entries into runs: per topic, in order, a new run at each schema change.
pub(crate) fn runs(entries: Vec<(String, RecordBatch, u64)>) -> Vec<Run> {
    let mut runs: Vec<Run> = Vec::new();
    let mut last_run: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    for (topic, batch, bytes) in entries {
        match last_run.get(&topic).map(|&i| &mut runs[i]) {
            Some(run) if same_schema(&run.batches[0], &batch) => {
                run.batches.push(batch);
                run.bytes += bytes;
            }
            _ => {
                last_run.insert(topic.clone(), runs.len());
                runs.push(Run { topic, batches: vec![batch], bytes });
            }
        }
    }
    runs
}

/// Joins each stretch of consecutive small batches (fewer than [`JOIN_BELOW`] rows), up to
/// `max_rows` rows per join; other batches pass through untouched. Order is kept. Batches
/// that cannot be joined (only batches of different schemas cannot) pass through as they are.
pub(crate) fn coalesce(batches: Vec<RecordBatch>, max_rows: usize) -> Vec<RecordBatch> {
    let mut out = Vec::with_capacity(batches.len().min(16));
    let mut small: Vec<RecordBatch> = Vec::new();
    let mut small_rows = 0;
    let flush = |small: &mut Vec<RecordBatch>, out: &mut Vec<RecordBatch>| {
        if small.len() > 1 {
            if let Ok(joined) = concat_batches(small[0].schema_ref(), small.iter()) {
                small.clear();
                out.push(joined);
            }
        }
        out.append(small);
    };
    for b in batches {
        let rows = b.num_rows();
        if rows >= JOIN_BELOW {
            flush(&mut small, &mut out);
            small_rows = 0;
            out.push(b);
            continue;
        }
        if small_rows + rows > max_rows {
            flush(&mut small, &mut out);
            small_rows = 0;
        }
        small_rows += rows;
        small.push(b);
    }
    flush(&mut small, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{ArrayRef, Int64Array};

    fn batch(first: i64, n: usize) -> RecordBatch {
        let ids: ArrayRef = Arc::new(Int64Array::from_iter_values(first..first + n as i64));
        RecordBatch::try_from_iter(vec![("id", ids)]).unwrap()
    }

    fn shape(batches: &[RecordBatch]) -> Vec<usize> {
        batches.iter().map(RecordBatch::num_rows).collect()
    }

    #[test]
    fn small_batches_are_joined_up_to_the_row_limit_and_big_ones_pass_untouched() {
        let big = batch(5, 300);
        let input = vec![batch(0, 2), batch(2, 3), big.clone(), batch(305, 100), batch(405, 100), batch(505, 100), batch(605, 1)];
        let out = coalesce(input, 250);
        assert_eq!(shape(&out), vec![5, 300, 200, 101]);
        assert_eq!(out[1].column(0).to_data().buffers()[0].as_ptr(), big.column(0).to_data().buffers()[0].as_ptr(), "not copied");
        let ids: Vec<i64> = out.iter().flat_map(|b| b.column(0).as_any().downcast_ref::<Int64Array>().unwrap().values().to_vec()).collect();
        assert_eq!(ids, (0..606).collect::<Vec<_>>());
        assert!(coalesce(Vec::new(), 10).is_empty());
    }

    #[test]
    fn runs_follow_topics_and_schema_changes_in_order() {
        let other: ArrayRef = Arc::new(arrow::array::StringArray::from(vec!["x"]));
        let other = RecordBatch::try_from_iter(vec![("name", other)]).unwrap();
        let entries = vec![("a".to_string(), batch(0, 1), 1), ("b".to_string(), batch(0, 1), 2), ("a".to_string(), batch(1, 1), 3), ("a".to_string(), other, 4), ("a".to_string(), batch(2, 1), 5)];
        let r = runs(entries);
        let summary: Vec<(&str, usize, u64)> = r.iter().map(|r| (r.topic.as_str(), r.batches.len(), r.bytes)).collect();
        assert_eq!(summary, vec![("a", 2, 4), ("b", 1, 2), ("a", 1, 4), ("a", 1, 5)]);
    }
}
