//! Page reads: walk the batch index in the requested order, decode only candidate batches.

use std::ops::ControlFlow;
use std::sync::Arc;

use arrow::array::{Array, UInt32Array};
use arrow::compute::{concat_batches, take_record_batch};
use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;

use crate::encoding::{plain_schema, to_plain};
use crate::index::IdxRecord;
use crate::parts::{BatchParts, Offsets};
use crate::segment::read_batch;
use crate::state::{seg_file, time_column, validate_topic, SegmentInfo, Shared};
use crate::{LogError, Order, Page, PageStatus, ReadQuery};

pub(crate) fn read(shared: &Shared, topic: &str, q: &ReadQuery) -> Result<Page, LogError> {
    validate_topic(topic)?;
    if q.page_size == 0 {
        return Err(LogError::BadQuery(
            "page_size must be greater than 0".into(),
        ));
    }
    if let (Some(s), Some(e)) = (q.start_ms, q.end_ms) {
        if s > e {
            return Err(LogError::BadQuery(format!(
                "time range start {s} is after its end {e}"
            )));
        }
    }
    let Some(state) = shared.topic(topic) else {
        return Ok(Page::empty());
    };
    let ts = state.read().expect("topic lock");
    let mut page = PageBuilder::new(q);
    let flow = match q.order {
        Order::Asc => {
            let c = q.cursor.unwrap_or(0);
            ts.segments.iter().try_for_each(|seg| {
                let start = seg.entries.partition_point(|e| e.end_row() <= c);
                (start..seg.entries.len()).try_for_each(|i| page.visit(&ts.dir, seg, i))
            })
        }
        Order::Desc => {
            let c = q.cursor.unwrap_or(u64::MAX);
            ts.segments.iter().rev().try_for_each(|seg| {
                let end = seg.entries.partition_point(|e| e.first_row < c);
                (0..end).rev().try_for_each(|i| page.visit(&ts.dir, seg, i))
            })
        }
    };
    if let ControlFlow::Break(Err(e)) = flow {
        return Err(e);
    }
    page.finish()
}

struct PageBuilder<'q> {
    q: &'q ReadQuery,
    schema: Option<SchemaRef>,
    pieces: Vec<RecordBatch>,
    rows: usize,
    bytes: usize,
    status: PageStatus,
    next: Option<u64>,
    /// Per partition: where the next page starts (the local offset after the last row
    /// returned, `Asc`; the smallest returned, `Desc`).
    seen: Offsets,
}

type Flow = ControlFlow<Result<(), LogError>>;

impl<'q> PageBuilder<'q> {
    fn new(q: &'q ReadQuery) -> Self {
        PageBuilder {
            q,
            schema: None,
            pieces: Vec::new(),
            rows: 0,
            bytes: 0,
            status: PageStatus::All,
            next: None,
            seen: Offsets::new(),
        }
    }

    fn stop(&mut self, status: PageStatus, next: u64) -> Flow {
        self.status = status;
        self.next = Some(next);
        ControlFlow::Break(Ok(()))
    }

    fn visit(&mut self, dir: &std::path::Path, seg: &SegmentInfo, i: usize) -> Flow {
        let q = self.q;
        let e = &seg.entries[i];
        let unknown = BatchParts::default();
        let parts = seg.parts.get(i).unwrap_or(&unknown);
        let behind = |c: &Offsets| parts.before_cursor(q.order, c);
        if !e.may_overlap(q.start_ms, q.end_ms) || q.partitions.as_ref().is_some_and(behind) {
            return ControlFlow::Continue(());
        }
        let (Some(schema), Some(schema_msg)) = (&seg.schema, &seg.schema_msg) else {
            return ControlFlow::Continue(());
        };
        let batch = match read_batch(&seg_file(dir, seg.id, "arrow"), schema_msg, e) {
            Ok(b) => b,
            Err(err) => return ControlFlow::Break(Err(err)),
        };
        let locals = q.partitions.as_ref().map(|_| parts.locals(&batch));
        let matches = matching_rows(&batch, e, q, locals.as_deref());
        let Some(&first) = matches.first() else {
            return ControlFlow::Continue(());
        };
        // The cursor that makes the next page start at local row `i` of this batch.
        let cursor_at = |i: u32| match q.order {
            Order::Asc => e.first_row + u64::from(i),
            Order::Desc => e.first_row + u64::from(i) + 1,
        };
        match &self.schema {
            Some(s) if !(Arc::ptr_eq(s, schema) || **s == **schema || plain_schema(s) == plain_schema(schema)) => {
                return self.stop(PageStatus::SchemaChange, cursor_at(first));
            }
            Some(_) => {}
            None => self.schema = Some(schema.clone()),
        }
        let room_rows = q.page_size - self.rows;
        if room_rows == 0 {
            return self.stop(PageStatus::RecordLimited, cursor_at(first));
        }
        let row_bytes = (e.len / u64::from(e.rows)).max(1) as usize;
        let mut room_bytes = if q.max_bytes == 0 {
            usize::MAX
        } else {
            q.max_bytes.saturating_sub(self.bytes) / row_bytes
        };
        if self.rows == 0 {
            room_bytes = room_bytes.max(1);
        }
        if room_bytes == 0 {
            return self.stop(PageStatus::ByteLimited, cursor_at(first));
        }
        let k = matches.len().min(room_rows).min(room_bytes);
        let piece = if is_ascending_run(&matches[..k]) {
            batch.slice(first as usize, k)
        } else {
            match take_record_batch(&batch, &UInt32Array::from(matches[..k].to_vec())) {
                Ok(b) => b,
                Err(err) => return ControlFlow::Break(Err(LogError::Corrupt(err.to_string()))),
            }
        };
        match to_plain(&piece) {
            Ok(p) => self.pieces.push(p),
            Err(err) => return ControlFlow::Break(Err(LogError::Corrupt(err.to_string()))),
        }
        let locals = locals.unwrap_or_else(|| parts.locals(&batch));
        self.advance_seen(&locals, &matches[..k]);
        self.rows += k;
        self.bytes = self.bytes.saturating_add(k.saturating_mul(row_bytes));
        if k < matches.len() {
            let status = if room_rows <= room_bytes {
                PageStatus::RecordLimited
            } else {
                PageStatus::ByteLimited
            };
            return self.stop(status, cursor_at(matches[k]));
        }
        ControlFlow::Continue(())
    }

    /// Moves the per-partition position past the rows `taken` (local indices, in page order).
    fn advance_seen(&mut self, locals: &[(&str, u64)], taken: &[u32]) {
        let mut last: Vec<(&str, u64)> = Vec::new();
        for &i in taken {
            let Some(&(name, local)) = locals.get(i as usize) else { continue };
            if local == u64::MAX {
                continue; // a row the batch's parts do not describe
            }
            let pos = match self.q.order {
                Order::Asc => local + 1,
                Order::Desc => local,
            };
            match last.iter_mut().find(|(n, _)| *n == name) {
                Some(slot) => slot.1 = pos,
                None => last.push((name, pos)),
            }
        }
        for (name, pos) in last {
            self.seen.insert(name.to_string(), pos);
        }
    }

    fn finish(self) -> Result<Page, LogError> {
        let batch = match (&self.schema, self.pieces.len()) {
            (_, 0) | (None, _) => None,
            (Some(_), 1) => self.pieces.into_iter().next(),
            (Some(_), _) => Some(
                concat_batches(self.pieces[0].schema_ref(), &self.pieces)
                    .map_err(|e| LogError::Corrupt(e.to_string()))?,
            ),
        };
        let next_partitions = self.next.map(|_| {
            let mut next = self.q.partitions.clone().unwrap_or_default();
            next.extend(self.seen);
            next
        });
        Ok(Page {
            batch,
            status: self.status,
            next: self.next,
            next_partitions,
        })
    }
}

/// Local indices of the rows of `batch` that the query selects, in page order.
/// `locals`: (partition, local offset) per row, given when the query has a partition cursor.
fn matching_rows(
    batch: &RecordBatch,
    e: &IdxRecord,
    q: &ReadQuery,
    locals: Option<&[(&str, u64)]>,
) -> Vec<u32> {
    let n = batch.num_rows() as u32;
    let times = if q.start_ms.is_some() || q.end_ms.is_some() {
        time_column(batch)
    } else {
        None
    };
    let filtered = q.start_ms.is_some() || q.end_ms.is_some();
    let keep = |i: u32| {
        let off = e.first_row + u64::from(i);
        let cursor_ok = match (q.order, q.cursor) {
            (_, None) => true,
            (Order::Asc, Some(c)) => off >= c,
            (Order::Desc, Some(c)) => off < c,
        };
        let part_ok = || match (locals, &q.partitions) {
            (Some(l), Some(c)) => match (q.order, l.get(i as usize).and_then(|(n, o)| Some((c.get(*n)?, o)))) {
                (_, None) => true,
                (Order::Asc, Some((c, o))) => o >= c,
                (Order::Desc, Some((c, o))) => o < c,
            },
            _ => true,
        };
        if !cursor_ok || !part_ok() {
            return false;
        }
        if !filtered {
            return true;
        }
        let Some(t) = times
            .as_ref()
            .and_then(|t| t.is_valid(i as usize).then(|| t.value(i as usize)))
        else {
            return false;
        };
        q.start_ms.is_none_or(|s| t >= s) && q.end_ms.is_none_or(|en| t < en)
    };
    match q.order {
        Order::Asc => (0..n).filter(|&i| keep(i)).collect(),
        Order::Desc => (0..n).rev().filter(|&i| keep(i)).collect(),
    }
}

fn is_ascending_run(idx: &[u32]) -> bool {
    idx.windows(2).all(|w| w[1] == w[0] + 1)
}
