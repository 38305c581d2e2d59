//! Embedded inference-log store of Joey.
//!
//! Every inference a pipeline serves is appended, as Arrow record batches with flat dotted
//! columns (`time`, `in.*`, `out.*`, `anomaly.*`, `metadata.*`), to a per-pipeline *topic*.
//! The store serves the Plateau-style log API (`POST /v1/logs/topic/{topic}/records`,
//! `GET /v1/logs/topic/{topic}`) and `pipelines/get_logs`: pages of rows of one schema, in
//! ascending or descending order, optionally limited to a time range, with a row cursor.
//!
//! # On-disk format
//!
//! ```text
//! <dir>/LOCK                                   advisory lock: one process per directory
//! <dir>/<topic>/seg-<n>.arrow                  Arrow IPC *stream*: schema message, batch messages, EOS once sealed
//! <dir>/<topic>/seg-<n>.idx                    32-byte header (magic, base row offset) + one 48-byte record per batch
//! <dir>/<topic>/seg-<n>.meta                   JSON: partition offsets at creation (`carry`); once sealed also rows, data end, rows per partition per batch
//! ```
//!
//! * A segment holds one schema. A batch with another schema (names, types, or metadata)
//!   starts a new segment; so does reaching `segment_max_bytes`, and every restart (the
//!   recovered segments are sealed).
//! * Index record (little endian): message byte offset, byte length, first global row offset
//!   of the topic, min time, max time, row count, CRC-32. Rows of a topic get consecutive
//!   global offsets (the cursor of the read API); they never change and are never reused.
//! * Write order of a flush: batch messages to the segment, fsync, idx records, fsync. A batch
//!   is acknowledged (counted as flushed, visible to readers) only once its idx record is
//!   durable. Recovery truncates a torn idx tail, truncates each segment to the end of its last
//!   indexed message (dropping an unindexed or torn tail), and appends the end-of-stream marker.
//!   A crash loses at most the unacknowledged tail; acknowledged data is never rewritten.
//! * Random access: each batch message is self-contained given the segment's schema message
//!   (every batch carries its own dictionaries), so reading batch *i* decodes the cached schema
//!   message and that batch's bytes only. Time-range reads skip batches by their min/max time.
//!
//! # Why an Arrow IPC stream
//!
//! Writing is an append of the already columnar batch (no row conversion, no per-row framing),
//! so the writer thread is bound by the disk, not the CPU. And a sealed segment is a standard
//! Arrow IPC stream that other tools read as is (`pyarrow.ipc.open_stream(open(path, "rb"))`);
//! the active segment is the same minus the end-of-stream marker. The Arrow IPC *file* format
//! would need a footer rewritten on every flush, which a crash can tear.
//!
//! # Threads and shedding
//!
//! [`LogStore::append`] never blocks and never fails the caller: it reserves room in a queue
//! of `queue_capacity` **rows** (rows accepted but not yet written: in the channel or pending
//! in the writer) and hands the batch to the writer thread. A full queue (except that a batch
//! is always accepted by an empty queue), an exhausted `disk_budget_bytes`, or a closed store
//! sheds the batch: `append` returns `false` and [`LogStats::dropped_rows`] counts it. The
//! writer also drops (and counts) a batch that would push the store past the disk budget.
//! The writer groups pending batches per topic (concatenating equal schemas) and flushes a
//! topic when it has `flush_rows` pending rows or `flush_interval` has passed; batch messages
//! hold at most `flush_rows` rows.
//!
//! # Notes
//!
//! * Batches are encoded by `joey_ipc::stream_batch` (chunks that share the batch's big
//!   buffers, written one after another; their summed length is the message's byte span) or,
//!   for layouts it does not handle, with `IpcDataGenerator` + `write_message` (the building
//!   blocks of `StreamWriter`). Either way every batch carries its dictionaries
//!   (`StreamWriter` omits unchanged ones, so a later batch could not be decoded alone).
//! * Top-level `Utf8` columns are stored dictionary-encoded and marked
//!   (`joey.log.encoding=dictionary` on the field); reads give them back as `Utf8`. Another tool
//!   reading a segment sees the dictionary columns.
//! * Columns holding one value in a segment's first batch (of at least 64 rows: one big
//!   request's `time`, `anomaly.count`, `metadata.elapsed`, `metadata.dropped`) are stored
//!   run-end encoded for the whole segment and marked `joey.log.encoding=runs` (`runs.rs`);
//!   reads give them back plain.
//! * Segment files are written with `O_DIRECT` where the file system takes it
//!   ([`LogConfig::direct_io`], `segfile.rs`): whole 4 KiB blocks from an aligned window, the
//!   partial last block written padded at each commit and the file cut back to its logical
//!   length. Readers and recovery see the same bytes as with buffered writes.
//! * At open every topic gets a fresh, empty active segment at once: its idx header records
//!   the next row offset, so offsets are never reused, even after retention removed every
//!   older segment. Empty segments are removed by the next recovery.
//! * A segment whose indexed data cannot be decoded (damaged outside the store's control) is
//!   quarantined (renamed `*.corrupt`) and reported in the log, not deleted, and `open` goes on.
//! * Each `metadata.partition` value numbers its own rows (partition-local offsets, `parts.rs`);
//!   rows without a value belong to partition `""`.
//! * `ByteLimited` measures rows by their encoded (IPC) size, averaged per batch.
//! * When a full page is followed by a row of another schema, the status is `SchemaChange`
//!   (a client that starts a new file on a schema change does so).

mod encoding;
mod index;
mod parts;
mod pending;
mod read;
mod recover;
mod retention;
mod runs;
mod segfile;
mod segment;
mod stage;
mod state;
mod store;
mod writer;

use std::path::PathBuf;
use std::time::Duration;

use arrow::record_batch::RecordBatch;
use serde::{Deserialize, Serialize};

pub use parts::Offsets;
pub use store::LogStore;

/// Configuration of a [`LogStore`].
#[derive(Clone, Debug)]
pub struct LogConfig {
    /// Root directory (one sub-directory per topic).
    pub dir: PathBuf,
    /// Longest time a batch waits in the writer before it is flushed (default 1 s).
    pub flush_interval: Duration,
    /// A topic is flushed once it has this many pending rows (default 10 000); also the most
    /// rows one batch message holds.
    pub flush_rows: usize,
    /// Most rows accepted but not yet written (default 1 000 000).
    pub queue_capacity: usize,
    /// Most bytes (Arrow memory) accepted but not yet written (default 256 MiB): wide rows
    /// (images, long texts) are bounded by this rather than by the row count.
    pub queue_max_bytes: u64,
    /// A segment rolls before it would exceed this size (default 64 MiB).
    pub segment_max_bytes: u64,
    /// fsync data and index on every flush (default true).
    pub fsync: bool,
    /// Upper bound of the store's size on disk (segments + indexes); None = unbounded.
    pub disk_budget_bytes: Option<u64>,
    /// Sealed segments whose newest row is older than this are deleted by retention.
    pub retention_age: Option<Duration>,
    /// Per topic, the oldest sealed segments are deleted while the topic is larger.
    pub retention_bytes_per_topic: Option<u64>,
    /// Nice value of the writer thread (default 10, Linux only; 0 = leave it as is). Its flushes
    /// come in bursts (concatenate, encode, write, fsync); at a lower priority they use idle CPU
    /// instead of delaying the inference requests that share the cores, which is what keeps the
    /// p99 of a server at half load near the p99 with logging off.
    pub writer_nice: i32,
    /// Write segment files with `O_DIRECT` where the file system takes it (default true;
    /// see `segfile.rs`): far less of the writer's CPU per byte than the page cache.
    pub direct_io: bool,
}

impl LogConfig {
    pub fn new(dir: impl Into<PathBuf>) -> LogConfig {
        LogConfig {
            dir: dir.into(),
            flush_interval: Duration::from_secs(1),
            flush_rows: 10_000,
            queue_capacity: 1_000_000,
            queue_max_bytes: 256 * 1024 * 1024,
            segment_max_bytes: 64 * 1024 * 1024,
            fsync: true,
            disk_budget_bytes: None,
            retention_age: None,
            retention_bytes_per_topic: None,
            writer_nice: 10,
            direct_io: true,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LogError {
    #[error("invalid log topic name: {0:?}")]
    InvalidTopic(String),
    #[error("log store I/O error: {0}")]
    Io(String),
    #[error("corrupt log data: {0}")]
    Corrupt(String),
    #[error("bad log query: {0}")]
    BadQuery(String),
}

/// Counters since the store was opened (`bytes_on_disk`: current size of segments + indexes).
/// `appended_rows` counts rows accepted by `append`; `dropped_rows` counts rows shed by
/// `append` or dropped by the writer (disk budget, I/O error).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogStats {
    pub appended_rows: u64,
    pub flushed_rows: u64,
    pub dropped_rows: u64,
    pub bytes_on_disk: u64,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Order {
    #[default]
    Asc,
    Desc,
}

/// A page request. Rows are ordered by their global row offset (append order); `Desc` is
/// newest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadQuery {
    /// Only rows with `time >= start_ms`.
    pub start_ms: Option<i64>,
    /// Only rows with `time < end_ms`.
    pub end_ms: Option<i64>,
    pub order: Order,
    /// Most rows in the page (must be > 0).
    pub page_size: usize,
    /// Continue from a previous page's `next`: `Asc` => rows with offset >= cursor,
    /// `Desc` => rows with offset < cursor.
    pub cursor: Option<u64>,
    /// Continue from per-partition local offsets (a previous page's `next_partitions`, or
    /// seeded from [`LogStore::partitions`]): `Asc` => rows at or past their partition's
    /// offset, `Desc` => rows before it. A partition not named is read whole.
    pub partitions: Option<Offsets>,
    /// Size cap of the page, in encoded (IPC) bytes; 0 = no cap. A page always has a row.
    pub max_bytes: usize,
}

impl Default for ReadQuery {
    fn default() -> Self {
        ReadQuery {
            start_ms: None,
            end_ms: None,
            order: Order::Asc,
            page_size: 100,
            cursor: None,
            partitions: None,
            max_bytes: 10 * 1024 * 1024,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum PageStatus {
    /// Nothing more matches.
    All,
    /// `page_size` rows returned and more match.
    RecordLimited,
    /// The page hit `max_bytes` and more match.
    ByteLimited,
    /// The next matching row has another schema.
    SchemaChange,
}

impl PageStatus {
    pub fn as_str(&self) -> &'static str {
        match self {
            PageStatus::All => "All",
            PageStatus::RecordLimited => "RecordLimited",
            PageStatus::ByteLimited => "ByteLimited",
            PageStatus::SchemaChange => "SchemaChange",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Page {
    /// Rows of one schema in the requested order; None when no row matched.
    pub batch: Option<RecordBatch>,
    pub status: PageStatus,
    /// Cursor for the next page; None when `status` is `All`.
    pub next: Option<u64>,
    /// The same position as per-partition local offsets (`ReadQuery::partitions`): the
    /// query's, advanced past the rows returned. None when `status` is `All`.
    pub next_partitions: Option<Offsets>,
}

impl Page {
    pub fn empty() -> Page {
        Page {
            batch: None,
            status: PageStatus::All,
            next: None,
            next_partitions: None,
        }
    }

    pub fn num_rows(&self) -> usize {
        self.batch.as_ref().map_or(0, RecordBatch::num_rows)
    }
}

/// One segment deleted by retention.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeletedSegment {
    pub topic: String,
    pub segment: u64,
    pub rows: u64,
    pub bytes: u64,
    /// `"age"` or `"size"`.
    pub reason: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RetentionReport {
    pub deleted: Vec<DeletedSegment>,
}

impl RetentionReport {
    pub fn deleted_rows(&self) -> u64 {
        self.deleted.iter().map(|d| d.rows).sum()
    }

    pub fn deleted_bytes(&self) -> u64 {
        self.deleted.iter().map(|d| d.bytes).sum()
    }
}
