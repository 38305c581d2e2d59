//! The writer thread: groups pending batches per topic, writes, commits and rolls segments.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use arrow::record_batch::RecordBatch;

use crate::index::{HEADER_LEN, RECORD_LEN};
use crate::pending::{coalesce, runs, Pending};
use crate::segment::{ActiveSegment, EOS};
use crate::parts::{assign, counts, Offsets};
use crate::state::{Shared, TopicState};
use crate::LogError;

mod segments;

pub(crate) enum Msg {
    /// Enough rows are waiting in the inbox: drain it now.
    Wake,
    Flush(SyncSender<Result<(), LogError>>),
    Shutdown(SyncSender<()>),
}

struct Writer {
    shared: Arc<Shared>,
    topics: HashMap<String, Arc<RwLock<TopicState>>>,
    actives: HashMap<String, ActiveSegment>,
    pending: HashMap<String, Pending>,
    /// Offset the next written row of a topic gets (>= the published `next_offset`), and
    /// its partitions' next local offsets (>= the published `part_next`).
    next_row: HashMap<String, (u64, Offsets)>,
    /// First I/O error since the last `Flush` acknowledgement.
    error: Option<String>,
}

pub(crate) fn run(shared: Arc<Shared>, rx: Receiver<Msg>, actives: HashMap<String, ActiveSegment>) {
    let mut w = Writer {
        shared,
        topics: HashMap::new(),
        actives,
        pending: HashMap::new(),
        next_row: HashMap::new(),
        error: None,
    };
    let interval = w.shared.cfg.flush_interval;
    loop {
        let timeout = w
            .pending
            .values()
            .map(|p| p.since + interval)
            .min()
            .map_or(Duration::from_secs(3600), |d| {
                d.saturating_duration_since(Instant::now())
            });
        // Appends wait in the shared inbox; drain it at least every TICK.
        let timeout = timeout.min(TICK);
        let msg = rx.recv_timeout(timeout);
        w.drain_inbox();
        match msg {
            Ok(Msg::Wake) => {}
            Ok(Msg::Flush(ack)) => {
                w.flush_all();
                let _ = ack.send(match w.error.take() {
                    Some(e) => Err(LogError::Io(e)),
                    None => Ok(()),
                });
            }
            Ok(Msg::Shutdown(ack)) => {
                w.flush_all();
                w.seal_all();
                let _ = ack.send(());
                return;
            }
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => {
                w.flush_all();
                w.seal_all();
                return;
            }
        }
        let now = Instant::now();
        let due: Vec<String> = w
            .pending
            .iter()
            .filter(|(_, p)| now >= p.since + interval)
            .map(|(t, _)| t.clone())
            .collect();
        for topic in due {
            w.flush_topic(&topic);
        }
    }
}

/// How often the writer takes appended batches from the inbox.
const TICK: Duration = Duration::from_millis(20);

impl Writer {
    /// Takes what was appended since the last drain (small appends already copied into stages,
    /// `stage.rs`) and joins each topic's consecutive small same-schema batches at once, so
    /// that small batches the stages could not take are freed within a TICK instead of living
    /// until the flush.
    ///
    /// Topics past `flush_rows` (or a quarter of `queue_max_bytes`) are flushed only once the
    /// whole inbox is taken (group commit): when appends outpace the disk, everything that
    /// arrived during one flush's fsync shares the next one, instead of each big record paying
    /// its own.
    fn drain_inbox(&mut self) {
        // Two statements: the lock is released before the stages are made into batches.
        let taken = self.shared.inbox.lock().expect("inbox lock").take();
        let taken = taken.into_batches();
        let mut entries = Vec::with_capacity(taken.len());
        for entry in taken {
            match entry {
                Ok(e) => entries.push(e),
                Err((msg, rows, bytes)) => {
                    self.fail(format!("joining staged log records: {msg}"), rows as u64);
                    self.shared.release(rows as u64, bytes);
                }
            }
        }
        for run in runs(entries) {
            let mut bytes = run.bytes;
            for batch in coalesce(run.batches, self.shared.cfg.flush_rows) {
                let p = self.pending.entry(run.topic.clone()).or_insert_with(Pending::new);
                p.push(batch, std::mem::take(&mut bytes));
            }
        }
        let cfg = &self.shared.cfg;
        let full: Vec<String> = self
            .pending
            .iter()
            .filter(|(_, p)| p.rows >= cfg.flush_rows || p.bytes >= cfg.queue_max_bytes / 4)
            .map(|(t, _)| t.clone())
            .collect();
        for topic in full {
            self.flush_topic(&topic);
        }
    }

    fn flush_all(&mut self) {
        let topics: Vec<String> = self.pending.keys().cloned().collect();
        for t in topics {
            self.flush_topic(&t);
        }
    }

    fn flush_topic(&mut self, topic: &str) {
        let Some(p) = self.pending.remove(topic) else {
            return;
        };
        let chunk_rows = self.shared.cfg.flush_rows;
        for group in p.groups {
            for batch in coalesce(group, chunk_rows) {
                let mut off = 0;
                while off < batch.num_rows() {
                    let len = chunk_rows.min(batch.num_rows() - off);
                    self.write_chunk(topic, &batch.slice(off, len));
                    off += len;
                }
            }
        }
        self.commit(topic);
        self.shared.release(p.rows as u64, p.bytes);
    }

    fn topic_state(&mut self, topic: &str) -> Arc<RwLock<TopicState>> {
        if let Some(t) = self.topics.get(topic) {
            return t.clone();
        }
        let t = self.shared.topic_or_create(topic);
        self.topics.insert(topic.to_string(), t.clone());
        t
    }

    fn fail(&mut self, msg: String, rows: u64) {
        self.shared.record_error(msg.clone());
        self.shared.drop_rows(rows);
        self.error.get_or_insert(msg);
    }

    fn write_chunk(&mut self, topic: &str, chunk: &RecordBatch) {
        let rows = chunk.num_rows() as u64;
        let segment = self.actives.get(topic).and_then(|a| a.schema.clone());
        let stored = match crate::encoding::to_stored(chunk, segment.as_ref()) {
            Ok(b) => b,
            Err(e) => return self.fail(format!("encoding a log batch of {topic}: {e}"), rows),
        };
        let chunk = &stored;
        let cfg = &self.shared.cfg;
        let (needs_new, fresh) = match self.actives.get(topic) {
            None => (true, true),
            Some(a) => match &a.schema {
                None => (false, true),
                Some(s) => (**s != *chunk.schema(), false),
            },
        };
        let with_schema = needs_new || fresh;
        let enc = match crate::segment::encode(chunk, with_schema) {
            Ok(e) => e,
            Err(e) => return self.fail(format!("encoding a log batch of {topic}: {e}"), rows),
        };
        let too_big = self
            .actives
            .get(topic)
            .is_some_and(|a| a.schema.is_some() && a.arrow_len + enc.len() > cfg.segment_max_bytes);
        let roll = needs_new || too_big;
        // Re-encode with the schema message when rolling for size.
        let enc = if too_big && !with_schema {
            match crate::segment::encode(chunk, true) {
                Ok(e) => e,
                Err(e) => return self.fail(format!("encoding a log batch of {topic}: {e}"), rows),
            }
        } else {
            enc
        };
        if let Some(budget) = cfg.disk_budget_bytes {
            let extra = if roll {
                HEADER_LEN + EOS.len() as u64
            } else {
                0
            };
            let used = self.shared.bytes_on_disk.load(Ordering::Relaxed);
            if used + enc.len() + RECORD_LEN + extra > budget {
                self.shared.drop_rows(rows);
                return;
            }
        }
        if roll {
            self.roll(topic);
            if !self.actives.contains_key(topic) {
                return self.shared.drop_rows(rows); // creating the segment failed
            }
        }
        let (first_row, mut locals) = self.next_row_of(topic);
        let parts = assign(counts(chunk), &mut locals);
        let len = enc.len();
        let active = self.actives.get_mut(topic).expect("active segment");
        match active.write(enc, chunk, first_row, parts) {
            Ok(()) => {
                self.shared
                    .bytes_on_disk
                    .fetch_add(len + RECORD_LEN, Ordering::Relaxed);
                self.next_row.insert(topic.to_string(), (first_row + rows, locals));
            }
            Err(e) => {
                self.shared.drop_rows(rows);
                self.abandon(topic, format!("writing the log segment of {topic}: {e}"));
            }
        }
    }

    /// The next written row's global offset and its partitions' next local offsets.
    fn next_row_of(&mut self, topic: &str) -> (u64, Offsets) {
        if let Some(n) = self.next_row.get(topic) {
            return n.clone();
        }
        let n = self.published(topic);
        self.next_row.insert(topic.to_string(), n.clone());
        n
    }

    fn published(&mut self, topic: &str) -> (u64, Offsets) {
        let state = self.topic_state(topic);
        let ts = state.read().expect("topic lock");
        (ts.next_offset, ts.part_next.clone())
    }

    /// Makes the written batches of `topic` durable and visible.
    fn commit(&mut self, topic: &str) {
        let fsync = self.shared.cfg.fsync;
        let Some(active) = self.actives.get_mut(topic) else {
            return;
        };
        let (schema, schema_msg, id) =
            (active.schema.clone(), active.schema_msg.clone(), active.id);
        let arrow_len = active.arrow_len;
        match active.commit(fsync) {
            Ok(recs) if recs.is_empty() => {}
            Ok(recs) => {
                let idx_len = self.actives[topic].idx_len;
                let state = self.topic_state(topic);
                let mut ts = state.write().expect("topic lock");
                let mut rows = 0;
                if let Some(seg) = ts.segment_mut(id) {
                    if seg.schema.is_none() {
                        seg.schema = schema;
                        seg.schema_msg = schema_msg;
                    }
                    for (rec, parts) in &recs {
                        rows += u64::from(rec.rows);
                        seg.entries.push(*rec);
                        seg.parts.push(parts.clone());
                    }
                    seg.arrow_bytes = arrow_len;
                    seg.idx_bytes = idx_len;
                }
                ts.next_offset = recs.last().map_or(ts.next_offset, |(r, _)| r.end_row());
                for (_, parts) in &recs {
                    parts.advance(&mut ts.part_next);
                }
                self.shared.flushed_rows.fetch_add(rows, Ordering::Relaxed);
            }
            Err(e) => {
                let rows: u64 = active
                    .uncommitted
                    .iter()
                    .map(|(r, _)| u64::from(r.rows))
                    .sum();
                self.shared.drop_rows(rows);
                self.abandon(topic, format!("committing the log segment of {topic}: {e}"));
            }
        }
    }

    /// After an I/O error: drop the unindexed tail, seal what is committed, and let the next
    /// batch start a fresh segment.
    fn abandon(&mut self, topic: &str, msg: String) {
        self.shared.record_error(msg.clone());
        self.error.get_or_insert(msg);
        if let Some(mut active) = self.actives.remove(topic) {
            let before = active.arrow_len + active.uncommitted.len() as u64 * RECORD_LEN;
            active.abandon_uncommitted();
            self.shared
                .bytes_on_disk
                .fetch_sub(before - active.arrow_len, Ordering::Relaxed);
            self.finish_segment(topic, active);
        }
        let published = self.published(topic);
        self.next_row.insert(topic.to_string(), published);
    }
}
