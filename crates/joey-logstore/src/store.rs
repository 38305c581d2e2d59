//! The public handle: [`LogStore`].

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{self, Sender};
use std::sync::{Arc, Mutex, RwLock};
use std::thread::JoinHandle;

use arrow::record_batch::RecordBatch;

use crate::state::{io_err, validate_topic, Shared};
use crate::writer::{self, Msg};
use crate::{read, recover, retention};
use crate::{LogConfig, LogError, LogStats, Page, ReadQuery, RetentionReport};

/// How long `open` waits for another store on the same directory to release it.
const LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

/// Handle of an open store. Cheap to clone; the writer thread stops (flushing and sealing)
/// on [`shutdown`](LogStore::shutdown) or when the last clone is dropped.
#[derive(Clone)]
pub struct LogStore {
    inner: Arc<Inner>,
}

struct Inner {
    shared: Arc<Shared>,
    tx: Sender<Msg>,
    writer: Mutex<Option<JoinHandle<()>>>,
    /// Set once `stop` begins: appends are shed from then on (checked without a lock).
    stopped: AtomicBool,
    lock: Mutex<Option<File>>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.stop();
    }
}

impl Inner {
    fn stop(&self) {
        self.stopped.store(true, Ordering::Release);
        let Some(handle) = self.writer.lock().expect("writer lock").take() else {
            return;
        };
        let (ack_tx, ack_rx) = mpsc::sync_channel(1);
        if self.tx.send(Msg::Shutdown(ack_tx)).is_ok() {
            let _ = ack_rx.recv();
        }
        let _ = handle.join();
        self.lock.lock().expect("lock file").take();
    }
}

impl LogStore {
    /// Opens (creating if needed) the store in `cfg.dir`, recovers every topic, and starts
    /// the writer thread. Fails if another store holds the directory.
    pub fn open(mut cfg: LogConfig) -> Result<LogStore, LogError> {
        cfg.flush_rows = cfg.flush_rows.clamp(1, u32::MAX as usize);
        cfg.queue_capacity = cfg.queue_capacity.max(1);
        fs::create_dir_all(&cfg.dir).map_err(|e| io_err(&cfg.dir.display().to_string(), e))?;
        let lock_path = cfg.dir.join("LOCK");
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(|e| io_err(&lock_path.display().to_string(), e))?;
        // A store that is shutting down (a quick restart) releases the lock within moments:
        // wait up to LOCK_WAIT for it before reporting the directory as in use.
        let deadline = std::time::Instant::now() + LOCK_WAIT;
        while let Err(e) = lock.try_lock() {
            if std::time::Instant::now() >= deadline {
                return Err(LogError::Io(format!("log directory {} is in use: {e}", cfg.dir.display())));
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        let shared = Arc::new(Shared {
            cfg,
            topics: RwLock::new(BTreeMap::new()),
            appended_rows: AtomicU64::new(0),
            flushed_rows: AtomicU64::new(0),
            dropped_rows: AtomicU64::new(0),
            bytes_on_disk: AtomicU64::new(0),
            queued_rows: AtomicU64::new(0),
            queued_bytes: AtomicU64::new(0),
            last_error: Mutex::new(None),
            inbox: Mutex::new(Default::default()),
        });
        let actives = recover::recover(&shared)?;
        let (tx, rx) = mpsc::channel();
        let thread_shared = shared.clone();
        let handle = std::thread::Builder::new()
            .name("joey-logstore-writer".into())
            .spawn(move || {
                lower_priority(thread_shared.cfg.writer_nice);
                writer::run(thread_shared, rx, actives)
            })
            .map_err(|e| io_err("spawning the writer thread", e))?;
        Ok(LogStore {
            inner: Arc::new(Inner {
                shared,
                tx,
                writer: Mutex::new(Some(handle)),
                stopped: AtomicBool::new(false),
                lock: Mutex::new(Some(lock)),
            }),
        })
    }

    /// Queues `batch` for `topic` without blocking. Returns false when the batch was shed
    /// (queue full, disk budget exhausted, invalid topic, store shut down).
    pub fn append(&self, topic: &str, batch: RecordBatch) -> bool {
        let shared = &self.inner.shared;
        let rows = batch.num_rows() as u64;
        if rows == 0 {
            return true;
        }
        if validate_topic(topic).is_err() {
            tracing::warn!(target: "joey_logstore", topic, "log append to an invalid topic shed");
            shared.drop_rows(rows);
            return false;
        }
        if let Some(budget) = shared.cfg.disk_budget_bytes {
            if shared.bytes_on_disk.load(Ordering::Relaxed) >= budget {
                shared.drop_rows(rows);
                return false;
            }
        }
        let cap = shared.cfg.queue_capacity as u64;
        let reserved =
            shared
                .queued_rows
                .fetch_update(Ordering::AcqRel, Ordering::Acquire, |cur| {
                    (cur == 0 || cur + rows <= cap).then_some(cur + rows)
                });
        if reserved.is_err() {
            shared.drop_rows(rows);
            return false;
        }
        let bytes = batch.get_array_memory_size() as u64;
        let max_bytes = shared.cfg.queue_max_bytes.max(1);
        let bytes_ok = shared
            .queued_bytes
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |cur| (cur == 0 || cur + bytes <= max_bytes).then_some(cur + bytes))
            .is_ok();
        if !bytes_ok {
            shared.queued_rows.fetch_sub(rows, Ordering::AcqRel);
            shared.drop_rows(rows);
            return false;
        }
        if self.inner.stopped.load(Ordering::Acquire) {
            shared.release(rows, bytes);
            shared.drop_rows(rows);
            return false;
        }
        let copied = shared.inbox.lock().expect("inbox lock").push(topic, batch, bytes, shared.cfg.flush_rows);
        // Freed here, on the thread that made it, outside the lock.
        drop(copied);
        shared.appended_rows.fetch_add(rows, Ordering::Relaxed);
        // Wake the writer early only when a flush's worth of rows is waiting.
        let queued = reserved.unwrap_or(0) + rows;
        let threshold = shared.cfg.flush_rows as u64;
        if queued >= threshold && queued - rows < threshold {
            let _ = self.inner.tx.send(Msg::Wake);
        }
        true
    }

    /// Blocks until every batch appended before the call is durable (or dropped). Returns the
    /// writer's I/O error, if one happened since the previous `flush`.
    pub fn flush(&self) -> Result<(), LogError> {
        let (ack_tx, ack_rx) = mpsc::sync_channel(1);
        if self.inner.tx.send(Msg::Flush(ack_tx)).is_err() {
            return Ok(()); // shut down: everything was flushed then
        }
        ack_rx
            .recv()
            .map_err(|_| LogError::Io("the log writer thread stopped".into()))?
    }

    /// Flushes, seals the active segments and stops the writer. Reads keep working; later
    /// appends are shed. Idempotent.
    pub fn shutdown(&self) {
        self.inner.stop();
    }

    pub fn stats(&self) -> LogStats {
        let s = &self.inner.shared;
        LogStats {
            appended_rows: s.appended_rows.load(Ordering::Relaxed),
            flushed_rows: s.flushed_rows.load(Ordering::Relaxed),
            dropped_rows: s.dropped_rows.load(Ordering::Relaxed),
            bytes_on_disk: s.bytes_on_disk.load(Ordering::Relaxed),
        }
    }

    /// Known topics (recovered or appended to), sorted.
    pub fn topics(&self) -> Vec<String> {
        self.inner
            .shared
            .topics
            .read()
            .expect("topics lock")
            .keys()
            .cloned()
            .collect()
    }

    /// Per `metadata.partition` value with live rows: its (start, end) local offsets, `end`
    /// being one past the last acknowledged row (see [`crate::Offsets`]; rows without a value
    /// are partition `""`).
    pub fn partitions(&self, topic: &str) -> Result<BTreeMap<String, (u64, u64)>, LogError> {
        validate_topic(topic)?;
        let mut out = BTreeMap::new();
        if let Some(t) = self.inner.shared.topic(topic) {
            let ts = t.read().expect("topic lock");
            for run in ts.segments.iter().flat_map(|s| &s.parts).flat_map(|p| &p.0) {
                if !out.contains_key(&run.name) {
                    let end = ts.part_next.get(&run.name).copied().unwrap_or(run.first);
                    out.insert(run.name.clone(), (run.first, end));
                }
            }
        }
        Ok(out)
    }

    /// One page of `topic`. An unknown topic gives an empty page with status `All`.
    pub fn read(&self, topic: &str, q: &ReadQuery) -> Result<Page, LogError> {
        read::read(&self.inner.shared, topic, q)
    }

    /// Deletes sealed segments past `retention_age` (relative to `now_ms`) or beyond
    /// `retention_bytes_per_topic`. The active segment of a topic is never deleted.
    pub fn enforce_retention(&self, now_ms: i64) -> Result<RetentionReport, LogError> {
        retention::enforce(&self.inner.shared, now_ms)
    }
}

/// Sets the calling thread's nice value (Linux: nice is per thread). Failing is harmless: the
/// writer then runs at the process's priority.
fn lower_priority(nice: i32) {
    if nice == 0 {
        return;
    }
    #[cfg(target_os = "linux")]
    if let Err(e) = rustix::process::setpriority_process(None, nice) {
        tracing::debug!(target: "joey_logstore", nice, error = %e, "could not lower the writer thread's priority");
    }
}
