//! The `.idx` sidecar of a segment: a fixed 32-byte header followed by fixed 48-byte
//! little-endian records, one per acknowledged batch message of the segment.
//!
//! Header: `b"JOEYIDX1"`, version `u32` (= 1), reserved `u32`, base global row offset `u64`,
//! reserved `u32`, CRC-32 of the first 28 bytes `u32`.
//!
//! Record: message byte offset `u64`, message byte length `u64`, first global row offset `u64`,
//! min time `i64`, max time `i64`, row count `u32`, CRC-32 of the first 44 bytes `u32`.
//! A batch without any non-null `time` value stores `min = i64::MAX, max = i64::MIN`.

use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

pub(crate) const IDX_MAGIC: &[u8; 8] = b"JOEYIDX1";
pub(crate) const IDX_VERSION: u32 = 1;
pub(crate) const HEADER_LEN: u64 = 32;
pub(crate) const RECORD_LEN: u64 = 48;

/// One acknowledged batch message of a segment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct IdxRecord {
    /// Byte offset of the message (dictionary messages, if any, then the record batch).
    pub offset: u64,
    /// Byte length of the message(s).
    pub len: u64,
    /// Global (per topic) row offset of the first row.
    pub first_row: u64,
    pub min_time: i64,
    pub max_time: i64,
    pub rows: u32,
}

impl IdxRecord {
    pub fn end(&self) -> u64 {
        self.offset + self.len
    }

    /// One past the last global row offset of the batch.
    pub fn end_row(&self) -> u64 {
        self.first_row + u64::from(self.rows)
    }

    /// Whether some row of the batch may have `start <= time < end`.
    pub fn may_overlap(&self, start: Option<i64>, end: Option<i64>) -> bool {
        if start.is_none() && end.is_none() {
            return true;
        }
        if self.min_time > self.max_time {
            return false; // no time values at all
        }
        start.is_none_or(|s| self.max_time >= s) && end.is_none_or(|e| self.min_time < e)
    }

    pub fn encode(&self) -> [u8; RECORD_LEN as usize] {
        let mut b = [0u8; RECORD_LEN as usize];
        b[0..8].copy_from_slice(&self.offset.to_le_bytes());
        b[8..16].copy_from_slice(&self.len.to_le_bytes());
        b[16..24].copy_from_slice(&self.first_row.to_le_bytes());
        b[24..32].copy_from_slice(&self.min_time.to_le_bytes());
        b[32..40].copy_from_slice(&self.max_time.to_le_bytes());
        b[40..44].copy_from_slice(&self.rows.to_le_bytes());
        let crc = crc32(&b[0..44]);
        b[44..48].copy_from_slice(&crc.to_le_bytes());
        b
    }

    pub fn decode(b: &[u8]) -> Option<IdxRecord> {
        if b.len() != RECORD_LEN as usize || crc32(&b[0..44]) != le_u32(&b[44..48]) {
            return None;
        }
        Some(IdxRecord {
            offset: le_u64(&b[0..8]),
            len: le_u64(&b[8..16]),
            first_row: le_u64(&b[16..24]),
            min_time: le_u64(&b[24..32]) as i64,
            max_time: le_u64(&b[32..40]) as i64,
            rows: le_u32(&b[40..44]),
        })
    }
}

pub(crate) fn encode_header(base_offset: u64) -> [u8; HEADER_LEN as usize] {
    let mut b = [0u8; HEADER_LEN as usize];
    b[0..8].copy_from_slice(IDX_MAGIC);
    b[8..12].copy_from_slice(&IDX_VERSION.to_le_bytes());
    b[16..24].copy_from_slice(&base_offset.to_le_bytes());
    let crc = crc32(&b[0..28]);
    b[28..32].copy_from_slice(&crc.to_le_bytes());
    b
}

/// Returns the base row offset, or None when the header is torn or not ours.
pub(crate) fn decode_header(b: &[u8]) -> Option<u64> {
    if b.len() < HEADER_LEN as usize
        || &b[0..8] != IDX_MAGIC
        || le_u32(&b[8..12]) != IDX_VERSION
        || crc32(&b[0..28]) != le_u32(&b[28..32])
    {
        return None;
    }
    Some(le_u64(&b[16..24]))
}

/// The validated content of an idx file.
pub(crate) struct LoadedIdx {
    pub base_offset: u64,
    pub records: Vec<IdxRecord>,
    /// Length of the valid prefix of the idx file (header + valid records).
    pub valid_len: u64,
    /// Length of the file on disk (greater than `valid_len` when there is a torn/invalid tail).
    pub file_len: u64,
}

/// Reads and validates an idx file against the length of its segment file.
/// Returns `Ok(None)` when the header itself is missing or torn (the segment then holds no
/// acknowledged data). Records are accepted while they are well formed and consistent: CRC ok,
/// contiguous in the segment, contiguous in row offsets, inside the segment file.
pub(crate) fn load(path: &Path, arrow_len: u64) -> io::Result<Option<LoadedIdx>> {
    let mut bytes = Vec::new();
    File::open(path)?.read_to_end(&mut bytes)?;
    let Some(base_offset) = decode_header(&bytes) else {
        return Ok(None);
    };
    let mut records: Vec<IdxRecord> = Vec::new();
    let mut next_row = base_offset;
    let mut pos = HEADER_LEN as usize;
    while pos + RECORD_LEN as usize <= bytes.len() {
        let Some(r) = IdxRecord::decode(&bytes[pos..pos + RECORD_LEN as usize]) else {
            break;
        };
        let offset_ok = match records.last() {
            Some(prev) => r.offset == prev.end(),
            None => r.offset > 0,
        };
        if !offset_ok
            || r.rows == 0
            || r.len == 0
            || r.first_row != next_row
            || r.end() > arrow_len
            || (r.min_time > r.max_time && (r.min_time, r.max_time) != (i64::MAX, i64::MIN))
        {
            break;
        }
        next_row = r.end_row();
        records.push(r);
        pos += RECORD_LEN as usize;
    }
    Ok(Some(LoadedIdx {
        base_offset,
        records,
        valid_len: pos as u64,
        file_len: bytes.len() as u64,
    }))
}

fn le_u64(b: &[u8]) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(b);
    u64::from_le_bytes(a)
}

fn le_u32(b: &[u8]) -> u32 {
    let mut a = [0u8; 4];
    a.copy_from_slice(b);
    u32::from_le_bytes(a)
}

const CRC_TABLE: [u32; 256] = {
    let mut table = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        let mut c = i as u32;
        let mut k = 0;
        while k < 8 {
            c = if c & 1 != 0 {
                0xEDB8_8320 ^ (c >> 1)
            } else {
                c >> 1
            };
            k += 1;
        }
        table[i] = c;
        i += 1;
    }
    table
};

/// CRC-32 (IEEE), as used by zlib.
pub(crate) fn crc32(data: &[u8]) -> u32 {
    let mut c = 0xFFFF_FFFFu32;
    for &b in data {
        c = CRC_TABLE[((c ^ u32::from(b)) & 0xFF) as usize] ^ (c >> 8);
    }
    !c
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc_matches_reference() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
    }

    #[test]
    fn record_round_trip_and_corruption() {
        let r = IdxRecord {
            offset: 64,
            len: 128,
            first_row: 7,
            min_time: -1,
            max_time: 9,
            rows: 3,
        };
        let mut b = r.encode();
        assert_eq!(IdxRecord::decode(&b), Some(r));
        b[3] ^= 1;
        assert_eq!(IdxRecord::decode(&b), None);
        assert_eq!(decode_header(&encode_header(42)), Some(42));
    }
}
