//! The writer's segment lifecycle: rolling to a new segment, sealing one it stops appending to.

use std::sync::atomic::Ordering;

use super::Writer;
use crate::index::HEADER_LEN;
use crate::segment::{write_meta, ActiveSegment, SegMeta, EOS};
use crate::state::SegmentInfo;

impl Writer {
    /// Commits and seals the active segment of `topic` (if any) and creates a new one.
    pub(super) fn roll(&mut self, topic: &str) {
        self.commit(topic);
        if let Some(active) = self.actives.remove(topic) {
            self.finish_segment(topic, active);
        }
        let (base, carry) = self.next_row_of(topic);
        let state = self.topic_state(topic);
        let mut ts = state.write().expect("topic lock");
        let id = ts.next_seg_id;
        match ActiveSegment::create(&ts.dir, id, base, &carry, self.shared.cfg.fsync, self.shared.cfg.direct_io) {
            Ok(active) => {
                ts.next_seg_id += 1;
                ts.segments.push(SegmentInfo::fresh(id, base, carry));
                self.shared
                    .bytes_on_disk
                    .fetch_add(HEADER_LEN, Ordering::Relaxed);
                self.actives.insert(topic.to_string(), active);
            }
            Err(e) => {
                drop(ts);
                let msg = format!("creating a log segment of {topic}: {e}");
                self.shared.record_error(msg.clone());
                self.error.get_or_insert(msg);
            }
        }
    }

    /// Seals a segment the writer stops appending to and publishes it as sealed.
    pub(super) fn finish_segment(&mut self, topic: &str, mut active: ActiveSegment) {
        let fsync = self.shared.cfg.fsync;
        let had_data = active.has_data();
        if let Err(e) = active.seal(fsync) {
            let msg = format!("sealing the log segment of {topic}: {e}");
            self.shared.record_error(msg.clone());
            self.error.get_or_insert(msg);
        } else if had_data {
            self.shared
                .bytes_on_disk
                .fetch_add(EOS.len() as u64, Ordering::Relaxed);
        }
        let state = self.topic_state(topic);
        let dir = state.read().expect("topic lock").dir.clone();
        let meta = {
            let ts = state.read().expect("topic lock");
            ts.segments
                .iter()
                .find(|s| s.id == active.id)
                .map(|s| SegMeta::sealed(s.rows(), active.committed_end, &s.carry, &s.parts))
        };
        if let (true, Some(meta)) = (had_data, meta) {
            if let Err(e) = write_meta(&dir, active.id, &meta, fsync) {
                tracing::warn!(target: "joey_logstore", "writing segment summary of {topic}: {e}");
            }
        }
        let mut ts = state.write().expect("topic lock");
        if let Some(seg) = ts.segment_mut(active.id) {
            seg.sealed = true;
            seg.arrow_bytes = active.arrow_len;
        }
    }

    pub(super) fn seal_all(&mut self) {
        let topics: Vec<String> = self.actives.keys().cloned().collect();
        for topic in topics {
            self.commit(&topic);
            if let Some(active) = self.actives.remove(&topic) {
                self.finish_segment(&topic, active);
            }
        }
    }
}
