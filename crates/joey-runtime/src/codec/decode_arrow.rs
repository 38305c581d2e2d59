//! Arrow IPC request decoding (file format, the documented one, and stream format).

use std::io::Cursor;

use arrow::compute::concat_batches;
use arrow::datatypes::SchemaRef;
use arrow::ipc::reader::{FileReader, StreamReader};
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

/// Decodes an Arrow IPC file into one batch (all record batches concatenated).
pub(crate) fn decode_arrow_file(body: &[u8]) -> Result<RecordBatch, CodecError> {
    let reader = FileReader::try_new(Cursor::new(body), None)
        .map_err(|e| CodecError::bad(format!("the request body is not a valid Arrow IPC file: {e}")))?;
    let schema = reader.schema();
    let batches = reader
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| CodecError::bad(format!("cannot read the Arrow IPC file: {e}")))?;
    combine(schema, batches)
}

/// Decodes an Arrow IPC stream into one batch.
pub(crate) fn decode_arrow_stream(body: &[u8]) -> Result<RecordBatch, CodecError> {
    let reader = StreamReader::try_new(Cursor::new(body), None).map_err(|e| {
        CodecError::bad(format!("the request body is not a valid Arrow IPC stream: {e}"))
    })?;
    let schema = reader.schema();
    let batches = reader
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| CodecError::bad(format!("cannot read the Arrow IPC stream: {e}")))?;
    combine(schema, batches)
}

fn combine(schema: SchemaRef, mut batches: Vec<RecordBatch>) -> Result<RecordBatch, CodecError> {
    batches.retain(|b| b.num_rows() > 0);
    let batch = match batches.len() {
        0 => return Err(CodecError::bad(NO_ROWS)),
        1 => batches.pop().expect("one batch"),
        _ => concat_batches(&schema, &batches)
            .map_err(|e| CodecError::bad(format!("cannot combine the Arrow record batches: {e}")))?,
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
        assert_eq!(decode_arrow_file(&file).unwrap().num_rows(), 3);

        let mut w = StreamWriter::try_new(Vec::new(), &b1.schema()).unwrap();
        w.write(&b1).unwrap();
        w.write(&b2).unwrap();
        w.finish().unwrap();
        let stream = w.into_inner().unwrap();
        assert!(is_arrow_stream(&stream) && !is_arrow_file(&stream));
        assert_eq!(decode_arrow_stream(&stream).unwrap().num_rows(), 3);
    }

    #[test]
    fn empty_and_invalid() {
        let b = batch(&[]);
        let mut w = FileWriter::try_new(Vec::new(), &b.schema()).unwrap();
        w.finish().unwrap();
        let file = w.into_inner().unwrap();
        assert_eq!(decode_arrow_file(&file).unwrap_err().to_string(), NO_ROWS);
        let e = decode_arrow_file(b"ARROW1 garbage").unwrap_err();
        assert!(matches!(e, CodecError::BadRequest(ref m) if m.contains("Arrow")), "{e}");
        let e = decode_arrow_stream(b"\xff\xff\xff\xffjunk").unwrap_err();
        assert!(e.to_string().contains("Arrow IPC stream"), "{e}");
    }
}
