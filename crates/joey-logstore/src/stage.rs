//! The inbox between `append` and the writer, and the copying of small appends into it.
//!
//! A busy single-row endpoint appends one tiny batch per request. Handing those batches to the
//! writer thread costs more than their bytes: every buffer of every batch is freed on the
//! writer thread, and the allocator then has to hand those blocks back to the request threads
//! that allocated them; the writer also has to join thousands of tiny batches. So a batch of
//! fewer than [`JOIN_BELOW`] rows is *copied* into its topic's [`Stage`] (plain column
//! buffers) under the inbox lock, and the request thread frees its own batch. Big batches,
//! batches of big rows, and batches with a column type the stage cannot copy, are kept as
//! they are (no copy).
//!
//! Order: a small batch joins its topic's newest inbox entry only when that entry is a stage
//! of the same schema; otherwise a new entry starts. So rows of a topic leave the inbox in
//! the order they were appended.


use arrow::array::{make_array, Array, ArrayData, ArrayRef, AsArray, BooleanBufferBuilder};
use arrow::array::builder::NullBufferBuilder;
use arrow::buffer::MutableBuffer;
use arrow::datatypes::*;
use arrow::error::ArrowError;
use arrow::record_batch::{RecordBatch, RecordBatchOptions};

use crate::pending::{same_schema_ref, JOIN_BELOW};

/// How far back (in entries) `push` looks for the topic's newest entry.
const LOOK_BACK: usize = 16;

/// Rows a new stage makes room for at once (growing from one row reallocated and copied its
/// buffers about ten times per stage under load), but at most [`ROOM_BYTES`] per buffer.
const ROOM_ROWS: usize = 256;
const ROOM_BYTES: usize = 1 << 20;

/// Batches with more Arrow memory per row than this are not copied: for big rows (an image
/// tensor) the copy into fresh memory costs the request thread more than the cross-thread
/// frees it saves, so the writer joins them as before.
const STAGE_MAX_BYTES_PER_ROW: u64 = 16 << 10;

/// Appended records waiting for the writer, in append order.
#[derive(Default)]
pub(crate) struct Inbox {
    entries: Vec<Entry>,
}

enum Entry {
    Batch(String, RecordBatch, u64),
    Staged(Stage),
}

impl Entry {
    fn topic(&self) -> &str {
        match self {
            Entry::Batch(t, ..) => t,
            Entry::Staged(s) => &s.topic,
        }
    }
}

impl Inbox {
    /// Adds `batch` (of `bytes` Arrow memory) to `topic`. Returns the batch when it was copied,
    /// so that the caller frees it outside the lock, on its own thread.
    pub fn push(&mut self, topic: &str, batch: RecordBatch, bytes: u64, max_rows: usize) -> Option<RecordBatch> {
        let rows = batch.num_rows();
        if rows >= JOIN_BELOW || bytes > STAGE_MAX_BYTES_PER_ROW * rows as u64 {
            self.entries.push(Entry::Batch(topic.to_string(), batch, bytes));
            return None;
        }
        let newest = self.entries.iter_mut().rev().take(LOOK_BACK).find(|e| e.topic() == topic);
        if let Some(Entry::Staged(stage)) = newest {
            if stage.rows + rows <= max_rows && same_schema_ref(&stage.schema, batch.schema_ref()) {
                stage.push(&batch, bytes);
                return Some(batch);
            }
        }
        match Stage::new(topic, &batch) {
            Some(mut stage) => {
                stage.push(&batch, bytes);
                let factor = ROOM_ROWS.min(max_rows) / rows.max(1);
                stage.cols.iter_mut().for_each(|c| c.reserve(factor));
                self.entries.push(Entry::Staged(stage));
                Some(batch)
            }
            None => {
                self.entries.push(Entry::Batch(topic.to_string(), batch, bytes));
                None
            }
        }
    }

    /// Everything appended so far; made into batches by [`Taken::into_batches`] after the
    /// inbox lock is released, so appends never wait for stages being finished.
    pub fn take(&mut self) -> Taken {
        Taken(std::mem::take(&mut self.entries))
    }
}

/// What [`Inbox::take`] took.
pub(crate) struct Taken(Vec<Entry>);

/// An appended record as the writer takes it: topic, batch, Arrow memory accounted for it.
pub(crate) type Appended = (String, RecordBatch, u64);
/// A stage that could not be made into a batch: the error, its rows and its bytes.
pub(crate) type Lost = (String, usize, u64);

impl Taken {
    /// The entries as (topic, batch, bytes), in order. A stage that cannot be made into a batch
    /// (a bug) is returned as an error with its rows and bytes, for the caller to account.
    pub fn into_batches(self) -> Vec<Result<Appended, Lost>> {
        self.0
            .into_iter()
            .map(|e| match e {
                Entry::Batch(t, b, n) => Ok((t, b, n)),
                Entry::Staged(s) => {
                    let (rows, bytes) = (s.rows, s.bytes);
                    s.finish().map_err(|e| (e.to_string(), rows, bytes))
                }
            })
            .collect()
    }
}

/// Rows of one topic and schema, copied into plain column buffers.
struct Stage {
    topic: String,
    schema: SchemaRef,
    cols: Vec<Acc>,
    rows: usize,
    bytes: u64,
}

impl Stage {
    /// `None` when a column has a type the stage does not copy.
    fn new(topic: &str, batch: &RecordBatch) -> Option<Stage> {
        let cols = batch.schema().fields().iter().map(|f| Acc::new(f.data_type())).collect::<Option<Vec<_>>>()?;
        Some(Stage { topic: topic.to_string(), schema: batch.schema(), cols, rows: 0, bytes: 0 })
    }

    fn push(&mut self, batch: &RecordBatch, bytes: u64) {
        let n = batch.num_rows();
        for (acc, col) in self.cols.iter_mut().zip(batch.columns()) {
            acc.push(col.as_ref(), 0, n);
        }
        self.rows += n;
        self.bytes += bytes;
    }

    fn finish(self) -> Result<Appended, ArrowError> {
        let cols = self.cols.into_iter().map(|a| a.finish(self.rows).map(make_array)).collect::<Result<Vec<ArrayRef>, _>>()?;
        let options = RecordBatchOptions::new().with_row_count(Some(self.rows));
        let batch = RecordBatch::try_new_with_options(self.schema, cols, &options)?;
        Ok((self.topic, batch, self.bytes))
    }
}

/// One column being copied into.
enum Acc {
    Fixed { dt: DataType, width: usize, values: MutableBuffer, nulls: NullBufferBuilder },
    Bool { values: BooleanBufferBuilder, nulls: NullBufferBuilder },
    Bytes { dt: DataType, offsets: MutableBuffer, values: MutableBuffer, nulls: NullBufferBuilder },
    List { dt: DataType, offsets: MutableBuffer, child: Box<Acc>, nulls: NullBufferBuilder },
}

/// Byte width of the fixed-width types the stage copies.
fn fixed_width(dt: &DataType) -> Option<usize> {
    use DataType::*;
    Some(match dt {
        Int8 | UInt8 => 1,
        Int16 | UInt16 | Float16 => 2,
        Int32 | UInt32 | Float32 => 4,
        Int64 | UInt64 | Float64 => 8,
        _ => return None,
    })
}

/// The value bytes of a fixed-width column (already sliced to the array).
fn fixed_bytes(a: &dyn Array) -> &[u8] {
    macro_rules! bytes {
        ($t:ty) => {
            a.as_primitive::<$t>().values().inner().as_slice()
        };
    }
    match a.data_type() {
        DataType::Int8 => bytes!(Int8Type),
        DataType::Int16 => bytes!(Int16Type),
        DataType::Int32 => bytes!(Int32Type),
        DataType::Int64 => bytes!(Int64Type),
        DataType::UInt8 => bytes!(UInt8Type),
        DataType::UInt16 => bytes!(UInt16Type),
        DataType::UInt32 => bytes!(UInt32Type),
        DataType::UInt64 => bytes!(UInt64Type),
        DataType::Float16 => bytes!(Float16Type),
        DataType::Float32 => bytes!(Float32Type),
        DataType::Float64 => bytes!(Float64Type),
        other => unreachable!("fixed_bytes on {other}: Acc::new accepts only fixed_width types"),
    }
}

fn push_nulls(nulls: &mut NullBufferBuilder, a: &dyn Array, start: usize, len: usize) {
    match a.nulls() {
        Some(n) if n.null_count() > 0 => (start..start + len).for_each(|i| nulls.append(n.is_valid(i))),
        _ => nulls.append_n_non_nulls(len),
    }
}

/// Appends `offsets[start..=start+len]` rebased to follow the `out` buffer's last offset.
fn push_offsets(out: &mut MutableBuffer, offsets: &[i32], start: usize, len: usize) {
    let base = out.typed_data::<i32>().last().copied().unwrap_or(0) - offsets[start];
    for &o in &offsets[start + 1..=start + len] {
        out.push(base + o);
    }
}

fn first_offset() -> MutableBuffer {
    let mut b = MutableBuffer::new(64);
    b.push(0i32);
    b
}

impl Acc {
    fn new(dt: &DataType) -> Option<Acc> {
        let nulls = NullBufferBuilder::new(0);
        Some(match dt {
            DataType::Boolean => Acc::Bool { values: BooleanBufferBuilder::new(0), nulls },
            DataType::Utf8 | DataType::Binary => Acc::Bytes { dt: dt.clone(), offsets: first_offset(), values: MutableBuffer::new(0), nulls },
            DataType::List(f) => Acc::List { dt: dt.clone(), offsets: first_offset(), child: Box::new(Acc::new(f.data_type())?), nulls },
            _ => Acc::Fixed { dt: dt.clone(), width: fixed_width(dt)?, values: MutableBuffer::new(0), nulls },
        })
    }

    /// Makes room for `factor` times what it holds now.
    fn reserve(&mut self, factor: usize) {
        let more = |b: &mut MutableBuffer| b.reserve((b.len() * factor.saturating_sub(1)).min(ROOM_BYTES));
        match self {
            Acc::Fixed { values, .. } => more(values),
            Acc::Bool { values, .. } => values.reserve((values.len() * factor.saturating_sub(1)).min(ROOM_BYTES * 8)),
            Acc::Bytes { offsets, values, .. } => {
                more(offsets);
                more(values);
            }
            Acc::List { offsets, child, .. } => {
                more(offsets);
                child.reserve(factor);
            }
        }
    }

    /// Copies rows `start..start + len` of `a` (of this accumulator's type).
    fn push(&mut self, a: &dyn Array, start: usize, len: usize) {
        match self {
            Acc::Fixed { width, values, nulls, .. } => {
                values.extend_from_slice(&fixed_bytes(a)[start * *width..(start + len) * *width]);
                push_nulls(nulls, a, start, len);
            }
            Acc::Bool { values, nulls } => {
                let b = a.as_boolean().values();
                (start..start + len).for_each(|i| values.append(b.value(i)));
                push_nulls(nulls, a, start, len);
            }
            Acc::Bytes { dt, offsets, values, nulls } => {
                let (offs, data) = match dt {
                    DataType::Utf8 => {
                        let s = a.as_string::<i32>();
                        (s.value_offsets(), s.values().as_slice())
                    }
                    _ => {
                        let b = a.as_binary::<i32>();
                        (b.value_offsets(), b.values().as_slice())
                    }
                };
                values.extend_from_slice(&data[offs[start] as usize..offs[start + len] as usize]);
                push_offsets(offsets, offs, start, len);
                push_nulls(nulls, a, start, len);
            }
            Acc::List { offsets, child, nulls, .. } => {
                let list = a.as_list::<i32>();
                let offs = list.value_offsets();
                let (from, to) = (offs[start] as usize, offs[start + len] as usize);
                child.push(list.values().as_ref(), from, to - from);
                push_offsets(offsets, offs, start, len);
                push_nulls(nulls, a, start, len);
            }
        }
    }

    fn finish(self, len: usize) -> Result<ArrayData, ArrowError> {
        match self {
            Acc::Fixed { dt, values, mut nulls, .. } => ArrayData::builder(dt).len(len).add_buffer(values.into()).nulls(nulls.finish()).build(),
            Acc::Bool { mut values, mut nulls } => ArrayData::builder(DataType::Boolean).len(len).add_buffer(values.finish().into_inner()).nulls(nulls.finish()).build(),
            Acc::Bytes { dt, offsets, values, mut nulls } => {
                ArrayData::builder(dt).len(len).add_buffer(offsets.into()).add_buffer(values.into()).nulls(nulls.finish()).build()
            }
            Acc::List { dt, offsets, child, mut nulls } => {
                let child_len = offsets.typed_data::<i32>().last().copied().unwrap_or(0) as usize;
                let child = child.finish(child_len)?;
                ArrayData::builder(dt).len(len).add_buffer(offsets.into()).child_data(vec![child]).nulls(nulls.finish()).build()
            }
        }
    }
}

#[cfg(test)]
#[path = "stage_tests.rs"]
mod tests;
