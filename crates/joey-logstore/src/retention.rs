//! Retention: delete whole sealed segments by age and by per-topic size.

use std::fs;
use std::sync::atomic::Ordering;

use crate::state::{seg_file, SegmentInfo, Shared};
use crate::{DeletedSegment, LogError, RetentionReport};

/// A segment retention may delete: sealed (never the active one) and holding data.
fn deletable(seg: &SegmentInfo) -> bool {
    seg.sealed && !seg.entries.is_empty()
}

pub(crate) fn enforce(shared: &Shared, now_ms: i64) -> Result<RetentionReport, LogError> {
    let cfg = &shared.cfg;
    let mut report = RetentionReport::default();
    if cfg.retention_age.is_none() && cfg.retention_bytes_per_topic.is_none() {
        return Ok(report);
    }
    let topics: Vec<_> = shared
        .topics
        .read()
        .expect("topics lock")
        .iter()
        .map(|(name, t)| (name.clone(), t.clone()))
        .collect();
    let mut errors = Vec::new();
    for (name, state) in topics {
        let mut doomed: Vec<(SegmentInfo, &'static str)> = Vec::new();
        let dir = {
            let mut ts = state.write().expect("topic lock");
            if let Some(age) = cfg.retention_age {
                let cutoff =
                    now_ms.saturating_sub(i64::try_from(age.as_millis()).unwrap_or(i64::MAX));
                let mut i = 0;
                while i < ts.segments.len() {
                    let seg = &ts.segments[i];
                    if deletable(seg) && seg.max_time() < cutoff {
                        doomed.push((ts.segments.remove(i), "age"));
                    } else {
                        i += 1;
                    }
                }
            }
            if let Some(limit) = cfg.retention_bytes_per_topic {
                while ts.bytes() > limit {
                    let Some(i) = ts.segments.iter().position(deletable) else {
                        break;
                    };
                    doomed.push((ts.segments.remove(i), "size"));
                }
            }
            ts.dir.clone()
        };
        // Files go after the lock is released; readers never see a segment without files
        // because it already left the state. Summary first, data last: a crash in between
        // leaves a segment the next recovery restores or discards consistently.
        for (seg, reason) in doomed {
            for ext in ["meta", "idx", "arrow"] {
                let path = seg_file(&dir, seg.id, ext);
                if let Err(e) = fs::remove_file(&path) {
                    if e.kind() != std::io::ErrorKind::NotFound {
                        errors.push(format!("{}: {e}", path.display()));
                    }
                }
            }
            shared
                .bytes_on_disk
                .fetch_sub(seg.bytes(), Ordering::Relaxed);
            report.deleted.push(DeletedSegment {
                topic: name.clone(),
                segment: seg.id,
                rows: seg.rows(),
                bytes: seg.bytes(),
                reason: reason.to_string(),
            });
        }
    }
    if !errors.is_empty() {
        return Err(LogError::Io(format!(
            "retention could not delete: {}",
            errors.join("; ")
        )));
    }
    Ok(report)
}
