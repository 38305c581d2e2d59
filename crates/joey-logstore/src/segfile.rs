//! The writer's handle on a segment's Arrow file.
//!
//! Where the file system takes it (Linux ext4, xfs, …), bytes are written with `O_DIRECT`:
//! the page-cache path costs the writer thread far more CPU per byte (on the 2-core bench
//! VM, `dd` spent 3.4 s of system time per GiB written through the page cache against 0.15 s
//! direct), and that CPU is taken from the inference requests sharing the cores.
//!
//! Direct writes must be whole, aligned blocks. Each append copies its bytes into an aligned
//! scratch window (one per thread: only the writer thread appends) and writes every complete
//! block at once. The last, partial block stays in memory as the segment's `tail`. A
//! [`flush`](SegFile::flush) writes it too, padded with zeros to a whole block, and then cuts
//! the file back to its logical length: the file always holds exactly the bytes appended (its
//! size is what the store counts against the disk budget, and another tool sees a plain Arrow
//! IPC stream). The next write of that block rewrites the same committed prefix plus new bytes.
//!
//! Where `O_DIRECT` is refused (tmpfs, some network file systems), or the store is configured
//! without it, the file is written through the page cache as before.

use std::cell::RefCell;
use std::fs::{File, OpenOptions};
use std::io::{self, IoSlice, Seek, SeekFrom, Write};
use std::os::unix::fs::{FileExt, OpenOptionsExt};
use std::path::Path;

/// Alignment and size unit of direct writes (covers 512-byte and 4 KiB logical blocks).
const BLOCK: usize = 4096;
/// Bytes of the scratch window: the largest single direct write.
const WINDOW: usize = 1 << 20;

/// The Arrow file of an active segment.
pub(crate) struct SegFile {
    /// Buffered handle: writes in buffered mode, `set_len`, `sync_data`.
    file: File,
    direct: Option<Direct>,
    /// Logical length: bytes appended so far.
    len: u64,
}

struct Direct {
    file: File,
    /// Bytes of the last, partial block (fewer than `BLOCK`), not yet written whole.
    tail: Vec<u8>,
}

impl Direct {
    /// File offset of the tail's first byte (block-aligned).
    fn tail_at(&self, len: u64) -> u64 {
        len - self.tail.len() as u64
    }
}

/// A zeroed buffer with a `BLOCK`-aligned window of `WINDOW` bytes.
struct Scratch {
    buf: Vec<u8>,
    start: usize,
}

impl Scratch {
    fn new() -> Scratch {
        let buf = vec![0u8; WINDOW + BLOCK];
        let start = buf.as_ptr().align_offset(BLOCK).min(BLOCK);
        Scratch { buf, start }
    }

    fn window(&mut self) -> &mut [u8] {
        &mut self.buf[self.start..self.start + WINDOW]
    }
}

thread_local! {
    static SCRATCH: RefCell<Option<Scratch>> = const { RefCell::new(None) };
}

fn with_scratch<T>(f: impl FnOnce(&mut [u8]) -> T) -> T {
    SCRATCH.with(|s| f(s.borrow_mut().get_or_insert_with(Scratch::new).window()))
}

impl SegFile {
    /// Creates the (new, empty) file at `path`; `direct` asks for `O_DIRECT` where it works.
    pub fn create(path: &Path, direct: bool) -> io::Result<SegFile> {
        let file = OpenOptions::new().create_new(true).write(true).open(path)?;
        let direct = if direct { open_direct(path, &file)? } else { None };
        Ok(SegFile { file, direct, len: 0 })
    }

    /// Whether writes bypass the page cache.
    #[cfg(test)]
    pub fn is_direct(&self) -> bool {
        self.direct.is_some()
    }

    /// Appends `parts` (not durable until [`flush`](Self::flush) and [`sync_data`](Self::sync_data)).
    pub fn append(&mut self, parts: &[&[u8]]) -> io::Result<()> {
        let total: u64 = parts.iter().map(|p| p.len() as u64).sum();
        match &mut self.direct {
            None => {
                let mut slices: Vec<IoSlice<'_>> = parts.iter().filter(|p| !p.is_empty()).map(|p| IoSlice::new(p)).collect();
                write_all_vectored(&mut self.file, &mut slices)?;
            }
            Some(d) => {
                let at = d.tail_at(self.len);
                append_direct(d, at, parts)?;
            }
        }
        self.len += total;
        Ok(())
    }

    /// Writes the partial last block (padded with zeros, then the file cut back to its
    /// logical length), so the file holds exactly what was appended.
    pub fn flush(&mut self) -> io::Result<()> {
        let Some(d) = &mut self.direct else { return Ok(()) };
        if d.tail.is_empty() {
            return Ok(());
        }
        let at = d.tail_at(self.len);
        with_scratch(|w| {
            let n = d.tail.len();
            w[..n].copy_from_slice(&d.tail);
            w[n..BLOCK].fill(0);
            d.file.write_all_at(&w[..BLOCK], at)
        })?;
        self.file.set_len(self.len)
    }

    pub fn sync_data(&self) -> io::Result<()> {
        self.file.sync_data()
    }

    /// Cuts the file to `len` (dropping what followed) and goes on writing through the page
    /// cache: the error path, where simplicity beats speed.
    pub fn truncate(&mut self, len: u64) -> io::Result<()> {
        self.direct = None;
        self.file.set_len(len)?;
        self.file.seek(SeekFrom::Start(len))?;
        self.len = len;
        Ok(())
    }

    /// Appends `end` (the end-of-stream marker) and writes everything.
    pub fn finish(&mut self, end: &[u8]) -> io::Result<()> {
        self.append(&[end])?;
        self.flush()
    }
}

/// Opens `path` again with `O_DIRECT` and proves a direct write works (one zero block at
/// offset 0 of the still empty file, then cut back to 0 bytes). `None` when it does not; an
/// error when the file cannot be cut back (it would hold a stray block of zeros).
fn open_direct(path: &Path, buffered: &File) -> io::Result<Option<Direct>> {
    let flags = rustix::fs::OFlags::DIRECT.bits() as i32;
    let Ok(file) = OpenOptions::new().write(true).custom_flags(flags).open(path) else { return Ok(None) };
    let probe = with_scratch(|w| {
        w[..BLOCK].fill(0);
        file.write_all_at(&w[..BLOCK], 0)
    });
    if let Err(e) = probe {
        tracing::debug!(target: "joey_logstore", "{}: O_DIRECT refused ({e}); writing through the page cache", path.display());
        buffered.set_len(0)?;
        return Ok(None);
    }
    buffered.set_len(0)?;
    Ok(Some(Direct { file, tail: Vec::with_capacity(BLOCK) }))
}

/// Writes the tail plus `parts` from block-aligned offset `at`: every complete block now, the
/// rest kept as the new tail.
fn append_direct(d: &mut Direct, mut at: u64, parts: &[&[u8]]) -> io::Result<()> {
    with_scratch(|w| {
        let mut filled = d.tail.len();
        w[..filled].copy_from_slice(&d.tail);
        for part in parts {
            let mut rest: &[u8] = part;
            while !rest.is_empty() {
                let n = rest.len().min(WINDOW - filled);
                w[filled..filled + n].copy_from_slice(&rest[..n]);
                filled += n;
                rest = &rest[n..];
                if filled == WINDOW {
                    d.file.write_all_at(w, at)?;
                    at += WINDOW as u64;
                    filled = 0;
                }
            }
        }
        let whole = filled / BLOCK * BLOCK;
        if whole > 0 {
            d.file.write_all_at(&w[..whole], at)?;
        }
        d.tail.clear();
        d.tail.extend_from_slice(&w[whole..filled]);
        debug_assert!(d.tail.len() < BLOCK);
        Ok(())
    })
}

/// Writes every slice, in as few `writev` calls as the kernel allows (at most 1024 slices
/// each).
fn write_all_vectored(f: &mut File, mut slices: &mut [IoSlice<'_>]) -> io::Result<()> {
    while !slices.is_empty() {
        let n = slices.len().min(1024);
        match f.write_vectored(&slices[..n]) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(written) => IoSlice::advance_slices(&mut slices, written),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bytes(n: usize, seed: u8) -> Vec<u8> {
        (0..n).map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed)).collect()
    }

    /// Appends of every size (within a block, across blocks, larger than the window), flushed
    /// after each, read back through the page cache equal what was appended, with nothing
    /// after it; so does the finished file.
    fn check(direct: bool) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("seg.arrow");
        let mut f = SegFile::create(&path, direct).unwrap();
        assert_eq!(f.is_direct(), direct, "O_DIRECT refused by the file system of the temp dir (tmpfs?): run on ext4 or xfs");
        let mut expect = Vec::new();
        for (i, n) in [0usize, 7, 4089, 1, 4096, 10_000, WINDOW + 3 * BLOCK + 5, 13].into_iter().enumerate() {
            let (a, b) = (bytes(n / 2, i as u8), bytes(n - n / 2, 100 + i as u8));
            f.append(&[&a, &b]).unwrap();
            expect.extend_from_slice(&a);
            expect.extend_from_slice(&b);
            f.flush().unwrap();
            f.sync_data().unwrap();
            assert!(std::fs::read(&path).unwrap() == expect, "after append {i}");
        }
        f.finish(b"END!").unwrap();
        expect.extend_from_slice(b"END!");
        assert_eq!(std::fs::read(&path).unwrap(), expect);
    }

    #[test]
    fn direct_writes_keep_every_byte_in_order() {
        check(true);
    }

    #[test]
    fn buffered_writes_keep_every_byte_in_order() {
        check(false);
    }

    /// Truncating drops what followed and the file goes on through the page cache.
    #[test]
    fn truncate_cuts_and_goes_on_buffered() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("seg.arrow");
        let mut f = SegFile::create(&path, true).unwrap();
        assert!(f.is_direct());
        f.append(&[&bytes(5000, 1)]).unwrap();
        f.flush().unwrap();
        f.truncate(4000).unwrap();
        assert!(!f.is_direct());
        f.finish(b"xy").unwrap();
        let on_disk = std::fs::read(&path).unwrap();
        assert_eq!(on_disk.len(), 4002);
        assert_eq!(&on_disk[..4000], &bytes(5000, 1)[..4000]);
        assert_eq!(&on_disk[4000..], b"xy");
    }
}
