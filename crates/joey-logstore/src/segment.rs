//! Segment files: an Arrow IPC stream (`seg-<n>.arrow`), its index (`seg-<n>.idx`) and a small
//! JSON summary (`seg-<n>.meta`): at creation the partitions' offsets so far, once sealed also
//! the row count, data end and rows per partition per batch, which spare recovery a scan.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::Path;

use arrow::buffer::Buffer;
use arrow::datatypes::SchemaRef;
use arrow::error::ArrowError;
use arrow::ipc::reader::StreamDecoder;
use arrow::ipc::writer::{
    write_message, CompressionContext, DictionaryTracker, IpcDataGenerator, IpcWriteOptions,
};
use arrow::record_batch::RecordBatch;
use serde::{Deserialize, Serialize};

use crate::index::{encode_header, IdxRecord, HEADER_LEN};
use crate::parts::{BatchParts, Offsets};
use crate::segfile::SegFile;
use crate::state::{seg_file, time_range};
use crate::LogError;

/// End-of-stream marker of the Arrow IPC stream format.
pub(crate) const EOS: [u8; 8] = [0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 0];

/// Writer-side handle of the segment a topic currently appends to.
pub(crate) struct ActiveSegment {
    pub id: u64,
    arrow: SegFile,
    idx: File,
    /// Bytes written to the segment file (including not yet committed messages).
    pub arrow_len: u64,
    /// End of the last committed (indexed) message; 0 while nothing is committed.
    pub committed_end: u64,
    pub idx_len: u64,
    pub schema: Option<SchemaRef>,
    pub schema_msg: Option<Buffer>,
    /// Written but not yet indexed messages, with their rows per partition.
    pub uncommitted: Vec<(IdxRecord, BatchParts)>,
    committed_any: bool,
}

/// An encoded batch: the schema message (only for the first batch of a segment), then the
/// batch bytes (dictionary messages followed by the record-batch message) as chunks that share
/// the batch's big buffers.
pub(crate) struct Encoded {
    pub schema_msg: Option<Vec<u8>>,
    pub batch_msg: Vec<bytes::Bytes>,
    batch_len: usize,
}

impl Encoded {
    pub fn len(&self) -> u64 {
        (self.schema_msg.as_ref().map_or(0, Vec::len) + self.batch_len) as u64
    }
}

pub(crate) fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

impl ActiveSegment {
    /// Creates the (empty) segment file, the idx file holding only its header, and a `.meta`
    /// holding `carry` (the partitions' next local offsets), which outlives earlier segments.
    pub fn create(
        dir: &Path,
        id: u64,
        base_offset: u64,
        carry: &Offsets,
        fsync: bool,
        direct: bool,
    ) -> io::Result<ActiveSegment> {
        let new_dir = !dir.exists();
        fs::create_dir_all(dir)?;
        let mut idx = OpenOptions::new()
            .create_new(true)
            .write(true)
            .open(seg_file(dir, id, "idx"))?;
        idx.write_all(&encode_header(base_offset))?;
        let arrow = SegFile::create(&seg_file(dir, id, "arrow"), direct)?;
        write_meta(dir, id, &SegMeta::fresh(carry), fsync)?;
        if fsync {
            idx.sync_data()?;
            sync_dir(dir)?;
            if new_dir {
                if let Some(parent) = dir.parent() {
                    sync_dir(parent)?;
                }
            }
        }
        Ok(ActiveSegment {
            id,
            arrow,
            idx,
            arrow_len: 0,
            committed_end: 0,
            idx_len: HEADER_LEN,
            schema: None,
            schema_msg: None,
            uncommitted: Vec::new(),
            committed_any: false,
        })
    }

    /// Appends an encoded batch (not durable, not indexed until [`commit`](Self::commit)).
    pub fn write(
        &mut self,
        enc: Encoded,
        batch: &RecordBatch,
        first_row: u64,
        parts: BatchParts,
    ) -> io::Result<()> {
        let schema_len = enc.schema_msg.as_ref().map_or(0, Vec::len) as u64;
        let total = enc.len();
        let mut bytes: Vec<&[u8]> = enc.schema_msg.iter().map(Vec::as_slice).collect();
        bytes.extend(enc.batch_msg.iter().map(|c| c.as_ref()));
        self.arrow.append(&bytes)?;
        if let Some(schema_msg) = enc.schema_msg {
            self.schema = Some(batch.schema());
            self.schema_msg = Some(Buffer::from_vec(schema_msg));
        }
        let offset = self.arrow_len + schema_len;
        self.arrow_len += total;
        let (min_time, max_time) = time_range(batch);
        let rec = IdxRecord {
            offset,
            len: total - schema_len,
            first_row,
            min_time,
            max_time,
            rows: batch.num_rows() as u32,
        };
        self.uncommitted.push((rec, parts));
        Ok(())
    }

    /// Makes the written batches durable, then their idx records. Returns what was committed.
    pub fn commit(&mut self, fsync: bool) -> io::Result<Vec<(IdxRecord, BatchParts)>> {
        if self.uncommitted.is_empty() {
            return Ok(Vec::new());
        }
        self.arrow.flush()?;
        if fsync {
            self.arrow.sync_data()?;
        }
        let mut buf = Vec::with_capacity(self.uncommitted.len() * 48);
        for (r, _) in &self.uncommitted {
            buf.extend_from_slice(&r.encode());
        }
        self.idx.write_all(&buf)?;
        if fsync {
            self.idx.sync_data()?;
        }
        self.idx_len += buf.len() as u64;
        self.committed_end = self.uncommitted.last().map_or(0, |(r, _)| r.end());
        self.committed_any = true;
        Ok(std::mem::take(&mut self.uncommitted))
    }

    /// Drops written-but-unindexed bytes after a failed write or commit.
    pub fn abandon_uncommitted(&mut self) {
        self.uncommitted.clear();
        let keep = if self.committed_any {
            self.committed_end
        } else {
            0
        };
        if self.arrow.truncate(keep).is_ok() {
            self.arrow_len = keep;
        }
        let _ = self.idx.set_len(self.idx_len);
        let _ = self.idx.seek(SeekFrom::Start(self.idx_len));
        if !self.committed_any {
            self.schema = None;
            self.schema_msg = None;
        }
    }

    pub fn has_data(&self) -> bool {
        self.committed_any
    }

    /// Appends the end-of-stream marker (only to a segment holding data; an empty segment is
    /// removed by the next recovery).
    pub fn seal(&mut self, fsync: bool) -> io::Result<()> {
        if !self.committed_any {
            return Ok(());
        }
        self.arrow.finish(&EOS)?;
        self.arrow_len += EOS.len() as u64;
        if fsync {
            self.arrow.sync_data()?;
        }
        Ok(())
    }
}

/// Encodes `batch` (with the schema message first when `with_schema`). Each batch carries
/// every dictionary it needs: any batch can be decoded from the schema message plus its own
/// bytes (random access), and the stream stays valid (dictionary replacement). Big buffers are
/// written from the batch itself (`joey_ipc`); layouts it does not handle go through
/// `arrow_ipc`'s encoder, with a fresh dictionary tracker per batch.
pub(crate) fn encode(batch: &RecordBatch, with_schema: bool) -> Result<Encoded, ArrowError> {
    let schema_msg = with_schema.then(|| joey_ipc::schema_message(&batch.schema()));
    let batch_msg = match joey_ipc::stream_batch(batch)? {
        Some(chunks) => chunks,
        None => vec![bytes::Bytes::from(encode_with_arrow(batch)?)],
    };
    let batch_len = batch_msg.iter().map(|c| c.len()).sum();
    Ok(Encoded { schema_msg, batch_msg, batch_len })
}

fn encode_with_arrow(batch: &RecordBatch) -> Result<Vec<u8>, ArrowError> {
    let options = IpcWriteOptions::default();
    let gen = IpcDataGenerator::default();
    let mut tracker = DictionaryTracker::new(false);
    // Registers the dictionary ids in field order, as the schema message numbers them.
    gen.schema_to_bytes_with_dictionary_tracker(&batch.schema(), &mut tracker, &options);
    let mut compression = CompressionContext::default();
    let (dicts, msg) = gen.encode(batch, &mut tracker, &options, &mut compression)?;
    // Room for every message with its prefix and padding: growing a multi-megabyte buffer
    // would copy it whole.
    let room = |m: &arrow::ipc::writer::EncodedData| m.ipc_message.len() + m.arrow_data.len() + 80;
    let mut out = Vec::with_capacity(dicts.iter().map(room).sum::<usize>() + room(&msg));
    for d in dicts {
        write_message(&mut out, d, &options)?;
    }
    write_message(&mut out, msg, &options)?;
    Ok(out)
}

/// Summary of a segment: written at creation (only `carry`) and again once sealed.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Default)]
pub(crate) struct SegMeta {
    pub rows: u64,
    /// End of the last indexed message (the EOS marker follows).
    pub end: u64,
    /// The partitions' next local offsets when the segment was created (absent in summaries
    /// written before partition-local offsets).
    #[serde(default)]
    pub carry: Option<Offsets>,
    /// Partition names of `batches`.
    #[serde(default)]
    pub names: Vec<String>,
    /// Per indexed batch: `[index into names, rows]` per partition.
    #[serde(default)]
    pub batches: Option<Vec<Vec<[u32; 2]>>>,
}

impl SegMeta {
    pub fn fresh(carry: &Offsets) -> SegMeta {
        SegMeta {
            carry: Some(carry.clone()),
            ..SegMeta::default()
        }
    }

    pub fn sealed(rows: u64, end: u64, carry: &Offsets, parts: &[BatchParts]) -> SegMeta {
        let (names, batches) = crate::parts::to_meta(parts);
        SegMeta {
            rows,
            end,
            carry: Some(carry.clone()),
            names,
            batches: Some(batches),
        }
    }
}

pub(crate) fn write_meta(dir: &Path, id: u64, meta: &SegMeta, fsync: bool) -> io::Result<()> {
    let tmp = seg_file(dir, id, "meta.tmp");
    let mut f = File::create(&tmp)?;
    f.write_all(&serde_json::to_vec(meta).map_err(io::Error::other)?)?;
    if fsync {
        f.sync_data()?;
    }
    fs::rename(&tmp, seg_file(dir, id, "meta"))?;
    if fsync {
        sync_dir(dir)?;
    }
    Ok(())
}

pub(crate) fn read_meta(dir: &Path, id: u64) -> Option<SegMeta> {
    let bytes = fs::read(seg_file(dir, id, "meta")).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// Reads `len` bytes at `offset` of a file.
pub(crate) fn read_range(path: &Path, offset: u64, len: u64) -> io::Result<Buffer> {
    let mut f = File::open(path)?;
    f.seek(SeekFrom::Start(offset))?;
    let mut buf = vec![0u8; len as usize];
    f.read_exact(&mut buf)?;
    Ok(Buffer::from_vec(buf))
}

/// Parses an encoded schema message.
pub(crate) fn parse_schema(schema_msg: &Buffer) -> Result<SchemaRef, LogError> {
    let mut decoder = StreamDecoder::new();
    let mut buf = schema_msg.clone();
    // The decoder handles a message once it sees bytes after it: follow with the EOS marker.
    let mut eos = Buffer::from_vec(EOS.to_vec());
    for b in [&mut buf, &mut eos] {
        decoder
            .decode(b)
            .map_err(|e| LogError::Corrupt(format!("schema message: {e}")))?;
    }
    decoder
        .schema()
        .ok_or_else(|| LogError::Corrupt("truncated schema message".into()))
}

/// Decodes one batch from the segment's schema message and the batch's own bytes.
pub(crate) fn decode_batch(schema_msg: &Buffer, bytes: Buffer) -> Result<RecordBatch, LogError> {
    let corrupt = |e: ArrowError| LogError::Corrupt(format!("batch message: {e}"));
    let mut decoder = StreamDecoder::new();
    let mut s = schema_msg.clone();
    decoder.decode(&mut s).map_err(corrupt)?;
    let mut b = bytes;
    if let Some(batch) = decoder.decode(&mut b).map_err(corrupt)? {
        return Ok(batch);
    }
    // A message without body bytes is only handled once more bytes follow.
    let mut eos = Buffer::from_vec(EOS.to_vec());
    decoder
        .decode(&mut eos)
        .map_err(corrupt)?
        .ok_or_else(|| LogError::Corrupt("truncated batch message".into()))
}

/// Reads and decodes the batch `rec` of the segment file `path`.
pub(crate) fn read_batch(
    path: &Path,
    schema_msg: &Buffer,
    rec: &IdxRecord,
) -> Result<RecordBatch, LogError> {
    let bytes = read_range(path, rec.offset, rec.len)
        .map_err(|e| LogError::Io(format!("{}: {e}", path.display())))?;
    decode_batch(schema_msg, bytes)
}
