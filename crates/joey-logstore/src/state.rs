//! In-memory state shared by the writer thread, readers and retention.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use arrow::array::{Array, AsArray, Int64Array};
use arrow::buffer::Buffer;
use arrow::compute::cast;
use arrow::datatypes::{DataType, Int64Type, SchemaRef, TimeUnit};
use arrow::record_batch::RecordBatch;

use crate::index::IdxRecord;
use crate::parts::{BatchParts, Offsets};
use crate::{LogConfig, LogError};

pub(crate) struct Shared {
    pub cfg: LogConfig,
    pub topics: RwLock<BTreeMap<String, Arc<RwLock<TopicState>>>>,
    pub appended_rows: AtomicU64,
    pub flushed_rows: AtomicU64,
    pub dropped_rows: AtomicU64,
    pub bytes_on_disk: AtomicU64,
    /// Rows accepted by `append` and not yet written (in the channel or pending in the writer).
    pub queued_rows: AtomicU64,
    /// Arrow memory of the queued rows.
    pub queued_bytes: AtomicU64,
    pub last_error: Mutex<Option<String>>,
    /// Appended records not yet taken by the writer (small ones copied, see `stage.rs`).
    /// Appends push here under a short lock and do not wake the writer (it drains on its
    /// tick), so the inference path makes no syscall.
    pub inbox: Mutex<crate::stage::Inbox>,
}

impl Shared {
    pub fn topic(&self, name: &str) -> Option<Arc<RwLock<TopicState>>> {
        self.topics.read().expect("topics lock").get(name).cloned()
    }

    pub fn topic_or_create(&self, name: &str) -> Arc<RwLock<TopicState>> {
        if let Some(t) = self.topic(name) {
            return t;
        }
        let mut map = self.topics.write().expect("topics lock");
        map.entry(name.to_string())
            .or_insert_with(|| {
                Arc::new(RwLock::new(TopicState {
                    dir: self.cfg.dir.join(name),
                    segments: Vec::new(),
                    next_offset: 0,
                    part_next: Offsets::new(),
                    next_seg_id: 0,
                }))
            })
            .clone()
    }

    pub fn record_error(&self, msg: String) {
        tracing::error!(target: "joey_logstore", "{msg}");
        *self.last_error.lock().expect("error lock") = Some(msg);
    }

    /// Rows (and their Arrow memory) leave the queue: written, or lost to an error.
    pub fn release(&self, rows: u64, bytes: u64) {
        self.queued_rows.fetch_sub(rows, Ordering::AcqRel);
        self.queued_bytes.fetch_sub(bytes, Ordering::AcqRel);
    }

    pub fn drop_rows(&self, n: u64) {
        self.dropped_rows.fetch_add(n, Ordering::Relaxed);
    }
}

pub(crate) struct TopicState {
    pub dir: PathBuf,
    /// Live segments, oldest first.
    pub segments: Vec<SegmentInfo>,
    /// Global row offset the next acknowledged row gets.
    pub next_offset: u64,
    /// Per partition: the local offset the next acknowledged row gets.
    pub part_next: Offsets,
    /// Id of the next segment to create.
    pub next_seg_id: u64,
}

impl TopicState {
    pub fn bytes(&self) -> u64 {
        self.segments.iter().map(|s| s.bytes()).sum()
    }

    pub fn segment_mut(&mut self, id: u64) -> Option<&mut SegmentInfo> {
        self.segments.iter_mut().find(|s| s.id == id)
    }
}

/// What readers know about one segment: only acknowledged (indexed) batches.
pub(crate) struct SegmentInfo {
    pub id: u64,
    pub base_offset: u64,
    /// Schema and its encoded IPC message; None while the segment holds no batch.
    pub schema: Option<SchemaRef>,
    pub schema_msg: Option<Buffer>,
    pub entries: Vec<IdxRecord>,
    pub sealed: bool,
    pub arrow_bytes: u64,
    pub idx_bytes: u64,
    /// Per entry: its rows per partition, with their local offsets.
    pub parts: Vec<BatchParts>,
    /// The partitions' next local offsets when the segment was created.
    pub carry: Offsets,
    /// Fallback age (file mtime, epoch ms) for segments whose rows carry no time.
    pub mtime_ms: i64,
}

impl SegmentInfo {
    /// A new, empty active segment: only its idx header is on disk.
    pub fn fresh(id: u64, base_offset: u64, carry: Offsets) -> SegmentInfo {
        SegmentInfo {
            id,
            base_offset,
            schema: None,
            schema_msg: None,
            entries: Vec::new(),
            sealed: false,
            arrow_bytes: 0,
            idx_bytes: crate::index::HEADER_LEN,
            parts: Vec::new(),
            carry,
            mtime_ms: now_ms(),
        }
    }

    pub fn bytes(&self) -> u64 {
        self.arrow_bytes + self.idx_bytes
    }

    pub fn rows(&self) -> u64 {
        self.entries.iter().map(|e| u64::from(e.rows)).sum()
    }

    /// Newest time in the segment (epoch ms), falling back to the file mtime.
    pub fn max_time(&self) -> i64 {
        self.entries
            .iter()
            .filter(|e| e.min_time <= e.max_time)
            .map(|e| e.max_time)
            .max()
            .unwrap_or(self.mtime_ms)
    }
}

pub(crate) fn seg_file(dir: &Path, id: u64, ext: &str) -> PathBuf {
    dir.join(format!("seg-{id:010}.{ext}"))
}

/// Parses `seg-<n>.<ext>` into (n, ext).
pub(crate) fn parse_seg_file(name: &str) -> Option<(u64, &str)> {
    let rest = name.strip_prefix("seg-")?;
    let (num, ext) = rest.split_once('.')?;
    Some((num.parse().ok()?, ext))
}

/// The `time` column as epoch milliseconds, if present and of a supported type.
pub(crate) fn time_column(batch: &RecordBatch) -> Option<Int64Array> {
    time_values(batch.column_by_name("time")?)
}

fn time_values(col: &arrow::array::ArrayRef) -> Option<Int64Array> {
    match col.data_type() {
        // Stored run-end encoded (one request's rows share their time).
        DataType::RunEndEncoded(..) => time_values(&crate::runs::decode(col.as_ref()).ok()?),
        DataType::Int64 => Some(col.as_primitive::<Int64Type>().clone()),
        DataType::Timestamp(_, tz) => {
            let ms = cast(col, &DataType::Timestamp(TimeUnit::Millisecond, tz.clone())).ok()?;
            let i = cast(&ms, &DataType::Int64).ok()?;
            Some(i.as_primitive::<Int64Type>().clone())
        }
        DataType::Date64 => {
            let i = cast(col, &DataType::Int64).ok()?;
            Some(i.as_primitive::<Int64Type>().clone())
        }
        _ => None,
    }
}

/// (min, max) of the non-null times; `(i64::MAX, i64::MIN)` when there are none.
pub(crate) fn time_range(batch: &RecordBatch) -> (i64, i64) {
    let mut range = (i64::MAX, i64::MIN);
    let col = batch.column_by_name("time");
    // Run-end encoded times: the runs' values are all the values there are.
    let runs = col.and_then(|c| c.as_any().downcast_ref::<arrow::array::RunArray<arrow::datatypes::Int32Type>>());
    let times = match runs {
        Some(r) => time_values(r.values()),
        None => time_column(batch),
    };
    if let Some(t) = times {
        for v in t.iter().flatten() {
            range.0 = range.0.min(v);
            range.1 = range.1.max(v);
        }
    }
    range
}

/// Topic names become directory names: keep them boring.
pub(crate) fn validate_topic(topic: &str) -> Result<(), LogError> {
    let bad = topic.is_empty()
        || topic.len() > 200
        || topic == "."
        || topic.contains("..")
        || topic.contains('/')
        || topic.contains('\\')
        || topic.contains('\0');
    if bad {
        return Err(LogError::InvalidTopic(topic.to_string()));
    }
    Ok(())
}

pub(crate) fn io_err(context: &str, e: impl std::fmt::Display) -> LogError {
    LogError::Io(format!("{context}: {e}"))
}

pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

pub(crate) fn mtime_ms(path: &Path) -> i64 {
    std::fs::metadata(path)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| d.as_millis() as i64)
        .unwrap_or_else(now_ms)
}
