//! Arrow IPC request decoding (file format, the documented one, and stream format).
//!
//! The body is decoded zero-copy from an Arrow buffer: the request's own bytes when it is given
//! as shared `Bytes` (buffers that are not aligned for their type are copied by arrow), else a
//! copy of the slice. Sizes
//! declared inside the body (footer, blocks, messages) are checked against the body length
//! before anything is sliced or allocated, so a small malicious body cannot trigger a huge
//! allocation; any panic inside arrow's decoders on corrupt input becomes a `BadRequest`.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;

use arrow::buffer::Buffer;
use arrow::compute::concat_batches;
use arrow::datatypes::SchemaRef;
use arrow::error::ArrowError;
use arrow::ipc::convert::fb_to_schema;
use arrow::ipc::reader::{read_footer_length, FileDecoder, StreamDecoder};
use arrow::ipc::{root_as_footer, Block};
use arrow::record_batch::RecordBatch;

use super::decode_json::NO_ROWS;
use super::error::CodecError;

/// The magic bytes that start (and end) an Arrow IPC file.
pub(crate) const ARROW_MAGIC: &[u8; 6] = b"ARROW1";

/// True when `body` looks like an Arrow IPC file (starts with `ARROW1`).
pub(crate) fn is_arrow_file(body: &[u8]) -> bool {
    body.starts_with(ARROW_MAGIC)
}

/// True when `body` looks like an Arrow IPC stream (starts with the continuation marker
/// `0xFFFFFFFF` that every message of the current IPC format begins with).
pub(crate) fn is_arrow_stream(body: &[u8]) -> bool {
    body.starts_with(&[0xff, 0xff, 0xff, 0xff])
}

fn guarded<T>(what: &str, f: impl FnOnce() -> Result<T, ArrowError>) -> Result<T, CodecError> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(CodecError::bad(format!(
            "the request body is not a valid {what}: {e}"
        ))),
        Err(_) => Err(CodecError::bad(format!(
            "the request body is not a valid {what} (corrupt data)"
        ))),
    }
}

fn invalid(msg: &str) -> ArrowError {
    ArrowError::ParseError(msg.to_string())
}

/// Decodes an Arrow IPC file into one batch (all record batches concatenated).
pub(crate) fn decode_arrow_file(body: Buffer) -> Result<RecordBatch, CodecError> {
    let (schema, batches) = guarded("Arrow IPC file", || read_file(&body))?;
    combine(schema, batches)
}

fn read_file(buffer: &Buffer) -> Result<(SchemaRef, Vec<RecordBatch>), ArrowError> {
    let body = buffer.as_slice();
    // magic (6) + padding (2) ... footer, footer length (4), magic (6)
    if body.len() < 18 || !is_arrow_file(body) {
        return Err(invalid("missing the ARROW1 file signature"));
    }
    let trailer = body.len() - 10;
    let footer_len = read_footer_length(body[trailer..].try_into().expect("10 bytes"))?;
    if footer_len > trailer - 8 {
        return Err(invalid("footer length exceeds the file size"));
    }
    let footer = root_as_footer(&body[trailer - footer_len..trailer])
        .map_err(|e| ArrowError::ParseError(format!("unable to read the footer: {e}")))?;
    let ipc_schema = footer
        .schema()
        .ok_or_else(|| invalid("the footer has no schema"))?;
    if !ipc_schema.endianness().equals_to_target_endianness() {
        return Err(invalid("big-endian Arrow data is not supported"));
    }
    let schema = Arc::new(fb_to_schema(ipc_schema));
    let block_data = |block: &Block| -> Result<Buffer, ArrowError> {
        let (offset, meta, len) = (block.offset(), block.metaDataLength(), block.bodyLength());
        let end = (meta >= 0 && len >= 0)
            .then(|| offset.checked_add(i64::from(meta))?.checked_add(len))
            .flatten()
            .filter(|end| offset >= 0 && *end as u64 <= body.len() as u64)
            .ok_or_else(|| invalid("a block lies outside the file"))?;
        Ok(buffer.slice_with_length(offset as usize, (end - offset) as usize))
    };
    let mut decoder = FileDecoder::new(schema.clone(), footer.version());
    for block in footer.dictionaries().iter().flatten() {
        decoder.read_dictionary(block, &block_data(block)?)?;
    }
    let mut batches = Vec::new();
    for block in footer.recordBatches().iter().flatten() {
        if let Some(batch) = decoder.read_record_batch(block, &block_data(block)?)? {
            batches.push(batch);
        }
    }
    Ok((schema, batches))
}

/// Decodes an Arrow IPC stream into one batch.
pub(crate) fn decode_arrow_stream(body: Buffer) -> Result<RecordBatch, CodecError> {
    let (schema, batches) = guarded("Arrow IPC stream", || {
        let mut buffer = body;
        let mut decoder = StreamDecoder::new();
        let mut batches = Vec::new();
        while let Some(batch) = decoder.decode(&mut buffer)? {
            batches.push(batch);
        }
        decoder.finish()?;
        let schema = decoder
            .schema()
            .ok_or_else(|| invalid("the stream has no schema"))?;
        Ok((schema, batches))
    })?;
    combine(schema, batches)
}

fn combine(schema: SchemaRef, mut batches: Vec<RecordBatch>) -> Result<RecordBatch, CodecError> {
    batches.retain(|b| b.num_rows() > 0);
    let batch = match batches.len() {
        0 => return Err(CodecError::bad(NO_ROWS)),
        1 => batches.pop().expect("one batch"),
        _ => concat_batches(&schema, &batches).map_err(|e| {
            CodecError::bad(format!("cannot combine the Arrow record batches: {e}"))
        })?,
    };
    Ok(batch)
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{ArrayRef, Int64Array};
    use arrow::ipc::writer::{FileWriter, StreamWriter};
    use std::sync::Arc;

    fn batch(vals: &[i64]) -> RecordBatch {
        let a: ArrayRef = Arc::new(Int64Array::from(vals.to_vec()));
        RecordBatch::try_from_iter([("x", a)]).unwrap()
    }

    #[test]
    fn file_and_stream_with_several_batches() {
        let (b1, b2) = (batch(&[1, 2]), batch(&[3]));
        let mut w = FileWriter::try_new(Vec::new(), &b1.schema()).unwrap();
        w.write(&b1).unwrap();
        w.write(&b2).unwrap();
        w.finish().unwrap();
        let file = w.into_inner().unwrap();
        assert!(is_arrow_file(&file));
        assert_eq!(decode_arrow_file(Buffer::from(file.as_slice())).unwrap().num_rows(), 3);

        let mut w = StreamWriter::try_new(Vec::new(), &b1.schema()).unwrap();
        w.write(&b1).unwrap();
        w.write(&b2).unwrap();
        w.finish().unwrap();
        let stream = w.into_inner().unwrap();
        assert!(is_arrow_stream(&stream) && !is_arrow_file(&stream));
        assert_eq!(decode_arrow_stream(Buffer::from(stream.as_slice())).unwrap().num_rows(), 3);
    }

    #[test]
    fn empty_and_invalid() {
        let b = batch(&[]);
        let mut w = FileWriter::try_new(Vec::new(), &b.schema()).unwrap();
        w.finish().unwrap();
        let file = w.into_inner().unwrap();
        assert_eq!(decode_arrow_file(Buffer::from(file.as_slice())).unwrap_err().to_string(), NO_ROWS);
        let e = decode_arrow_file(Buffer::from(&b"ARROW1 garbage"[..])).unwrap_err();
        assert!(
            matches!(e, CodecError::BadRequest(ref m) if m.contains("Arrow")),
            "{e}"
        );
        let e = decode_arrow_stream(Buffer::from(&b"\xff\xff\xff\xffjunk"[..])).unwrap_err();
        assert!(e.to_string().contains("Arrow IPC stream"), "{e}");
        // Truncations of a valid file/stream never panic or allocate wildly.
        let b = batch(&[1, 2, 3]);
        let mut w = FileWriter::try_new(Vec::new(), &b.schema()).unwrap();
        w.write(&b).unwrap();
        w.finish().unwrap();
        let file = w.into_inner().unwrap();
        for cut in 0..file.len() {
            assert!(decode_arrow_file(Buffer::from(&file[..cut])).is_err());
            let mut bad = file.clone();
            bad[cut] ^= 0x5a;
            let _ = decode_arrow_file(Buffer::from(bad.as_slice()));
        }
        let mut w = StreamWriter::try_new(Vec::new(), &b.schema()).unwrap();
        w.write(&b).unwrap();
        w.finish().unwrap();
        let stream = w.into_inner().unwrap();
        for cut in 0..stream.len() {
            let _ = decode_arrow_stream(Buffer::from(&stream[..cut]));
            let mut bad = stream.clone();
            bad[cut] ^= 0x5a;
            let _ = decode_arrow_stream(Buffer::from(bad.as_slice()));
        }
    }
}
