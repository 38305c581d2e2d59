//! Open-time recovery: validate indexes, truncate torn tails, seal, rebuild the state.

use std::collections::{BTreeSet, HashMap};
use std::fs::{self, OpenOptions};
use std::io::{Seek, SeekFrom, Write};
use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::{Arc, RwLock};

use crate::index;
use crate::segment::{
    parse_schema, read_batch, read_meta, read_range, write_meta, ActiveSegment, SegMeta, EOS,
};
use crate::parts::{assign, counts, from_meta, merge_max, BatchParts, Offsets};
use crate::state::{io_err, mtime_ms, parse_seg_file, seg_file, validate_topic};
use crate::state::{SegmentInfo, Shared, TopicState};
use crate::LogError;

/// Recovers every topic under the store directory; returns the fresh active segment of each.
pub(crate) fn recover(shared: &Shared) -> Result<HashMap<String, ActiveSegment>, LogError> {
    let dir = &shared.cfg.dir;
    let mut actives = HashMap::new();
    let mut total = 0;
    let entries = fs::read_dir(dir).map_err(|e| io_err(&dir.display().to_string(), e))?;
    let mut topics = shared.topics.write().expect("topics lock");
    for entry in entries {
        let entry = entry.map_err(|e| io_err(&dir.display().to_string(), e))?;
        if !entry.file_type().is_ok_and(|t| t.is_dir()) {
            continue;
        }
        let Some(name) = entry.file_name().to_str().map(str::to_string) else {
            continue;
        };
        if validate_topic(&name).is_err() {
            tracing::warn!(target: "joey_logstore", "ignoring directory {name:?}: not a topic name");
            continue;
        }
        let (state, active) = recover_topic(&entry.path(), shared.cfg.fsync, shared.cfg.direct_io)?;
        total += state.bytes();
        topics.insert(name.clone(), Arc::new(RwLock::new(state)));
        actives.insert(name, active);
    }
    shared.bytes_on_disk.store(total, Ordering::Relaxed);
    Ok(actives)
}

enum Recovered {
    Data(SegmentInfo),
    /// No acknowledged batch; the base offset (if the idx header is intact) and the
    /// partition offsets of its `.meta` still count.
    Empty(Option<u64>, Option<Offsets>),
}

fn recover_topic(dir: &Path, fsync: bool, direct: bool) -> Result<(TopicState, ActiveSegment), LogError> {
    let ctx = |e: std::io::Error| io_err(&dir.display().to_string(), e);
    let mut ids = BTreeSet::new();
    let mut metas = BTreeSet::new();
    let mut max_id: Option<u64> = None;
    for entry in fs::read_dir(dir).map_err(ctx)? {
        let entry = entry.map_err(ctx)?;
        let name = entry.file_name();
        let Some((id, ext)) = name.to_str().and_then(parse_seg_file) else {
            continue;
        };
        max_id = max_id.max(Some(id)); // quarantined files too: ids are never reused
        match ext {
            "arrow" | "idx" => {
                ids.insert(id);
            }
            "meta" => {
                metas.insert(id);
            }
            "meta.tmp" => {
                let _ = fs::remove_file(entry.path());
            }
            _ => {}
        }
    }
    let mut segments: Vec<SegmentInfo> = Vec::new();
    let mut empties = Vec::new();
    let mut next_offset = 0u64;
    let mut part_next = Offsets::new();
    for &id in &ids {
        match recover_segment(dir, id, fsync, &part_next) {
            Ok(Recovered::Data(seg)) => {
                if seg.base_offset < next_offset {
                    return Err(LogError::Corrupt(format!(
                        "{}: segment {id} starts at row {} before the end of the previous one ({next_offset})",
                        dir.display(),
                        seg.base_offset
                    )));
                }
                next_offset = seg.base_offset + seg.rows();
                merge_max(&mut part_next, &seg.carry);
                for p in &seg.parts {
                    p.advance(&mut part_next);
                }
                segments.push(seg);
            }
            Ok(Recovered::Empty(base, carry)) => {
                next_offset = next_offset.max(base.unwrap_or(0));
                merge_max(&mut part_next, &carry.unwrap_or_default());
                empties.push(id);
            }
            Err(LogError::Corrupt(msg)) => quarantine(dir, id, &msg),
            Err(e) => return Err(e),
        }
    }
    let id = max_id.map_or(0, |m| m + 1);
    let active = ActiveSegment::create(dir, id, next_offset, &part_next, fsync, direct).map_err(ctx)?;
    for e in empties {
        for ext in ["meta", "idx", "arrow"] {
            let _ = fs::remove_file(seg_file(dir, e, ext));
        }
    }
    for m in metas.difference(&ids) {
        let _ = fs::remove_file(seg_file(dir, *m, "meta"));
    }
    segments.push(SegmentInfo::fresh(id, next_offset, part_next.clone()));
    let state = TopicState {
        dir: dir.to_path_buf(),
        segments,
        next_offset,
        part_next,
        next_seg_id: id + 1,
    };
    Ok((state, active))
}

/// Moves a segment whose acknowledged data cannot be decoded out of the way (never deletes it).
fn quarantine(dir: &Path, id: u64, msg: &str) {
    tracing::error!(target: "joey_logstore", "{}: segment {id} quarantined: {msg}", dir.display());
    for ext in ["arrow", "idx", "meta"] {
        let p = seg_file(dir, id, ext);
        if p.exists() {
            let _ = fs::rename(&p, seg_file(dir, id, &format!("{ext}.corrupt")));
        }
    }
}

/// `part_next`: the partitions' next local offsets after the earlier segments (the carry of
/// a segment whose `.meta` does not say).
fn recover_segment(
    dir: &Path,
    id: u64,
    fsync: bool,
    part_next: &Offsets,
) -> Result<Recovered, LogError> {
    let arrow_path = seg_file(dir, id, "arrow");
    let idx_path = seg_file(dir, id, "idx");
    let ctx = |e: std::io::Error| io_err(&arrow_path.display().to_string(), e);
    let arrow_len = fs::metadata(&arrow_path).map(|m| m.len()).unwrap_or(0);
    let meta = read_meta(dir, id);
    let carry = meta.as_ref().and_then(|m| m.carry.clone());
    if !idx_path.exists() {
        return Ok(Recovered::Empty(None, carry));
    }
    let Some(mut idx) = index::load(&idx_path, arrow_len).map_err(ctx)? else {
        return Ok(Recovered::Empty(None, carry));
    };
    // Without fsync a power loss can leave indexed but zero-filled data: every message
    // starts with the IPC continuation marker.
    while let Some(last) = idx.records.last() {
        let head = read_range(&arrow_path, last.offset, 4).map_err(ctx)?;
        if head.as_slice() == [0xFF; 4] {
            break;
        }
        idx.records.pop();
        idx.valid_len -= index::RECORD_LEN;
    }
    if idx.valid_len < idx.file_len {
        tracing::warn!(target: "joey_logstore", "{}: truncating {} bytes of torn index", idx_path.display(), idx.file_len - idx.valid_len);
        let f = OpenOptions::new()
            .write(true)
            .open(&idx_path)
            .map_err(ctx)?;
        f.set_len(idx.valid_len).map_err(ctx)?;
        if fsync {
            f.sync_all().map_err(ctx)?;
        }
    }
    let (Some(first), Some(last)) = (idx.records.first().copied(), idx.records.last().copied())
    else {
        return Ok(Recovered::Empty(Some(idx.base_offset), carry));
    };
    let end = last.end();
    let rows: u64 = idx.records.iter().map(|r| u64::from(r.rows)).sum();
    let sealed_ok = arrow_len == end + EOS.len() as u64
        && read_range(&arrow_path, end, EOS.len() as u64)
            .map_err(ctx)?
            .as_slice()
            == EOS;
    if !sealed_ok {
        if arrow_len > end {
            tracing::warn!(target: "joey_logstore", "{}: truncating {} bytes after the last indexed batch", arrow_path.display(), arrow_len - end);
        }
        let mut f = OpenOptions::new()
            .write(true)
            .open(&arrow_path)
            .map_err(ctx)?;
        f.set_len(end).map_err(ctx)?;
        f.seek(SeekFrom::Start(end)).map_err(ctx)?;
        f.write_all(&EOS).map_err(ctx)?;
        if fsync {
            f.sync_all().map_err(ctx)?;
        }
    }
    let schema_msg = read_range(&arrow_path, 0, first.offset).map_err(ctx)?;
    let schema = parse_schema(&schema_msg)?;
    let mut carry = carry.unwrap_or_else(|| part_next.clone());
    merge_max(&mut carry, part_next);
    let counted: Vec<u32> = idx.records.iter().map(|r| r.rows).collect();
    let summarized = meta
        .filter(|m| m.rows == rows && m.end == end)
        .and_then(|m| from_meta(&carry, &m.names, m.batches.as_deref()?, &counted));
    let parts = match summarized {
        Some(parts) => parts,
        None => {
            let mut next = carry.clone();
            let mut parts: Vec<BatchParts> = Vec::with_capacity(idx.records.len());
            for rec in &idx.records {
                let batch = read_batch(&arrow_path, &schema_msg, rec)?;
                parts.push(assign(counts(&batch), &mut next));
            }
            let meta = SegMeta::sealed(rows, end, &carry, &parts);
            write_meta(dir, id, &meta, fsync).map_err(ctx)?;
            parts
        }
    };
    Ok(Recovered::Data(SegmentInfo {
        id,
        base_offset: idx.base_offset,
        schema: Some(schema),
        schema_msg: Some(schema_msg),
        entries: idx.records,
        sealed: true,
        arrow_bytes: end + EOS.len() as u64,
        idx_bytes: idx.valid_len,
        parts,
        carry,
        mtime_ms: mtime_ms(&arrow_path),
    }))
}
