//! JSON response encoding (pandas-records, nested or flattened), written straight into a
//! byte buffer: one writer per column is chosen once, then rows are emitted cell by cell.

use arrow::array::{
    Array, AsArray, BooleanArray, FixedSizeListArray, GenericListArray, GenericStringArray,
    OffsetSizeTrait, PrimitiveArray, StringViewArray, StructArray,
};
use arrow::buffer::NullBuffer;
use arrow::datatypes::{
    ArrowPrimitiveType, DataType, Float16Type, Float32Type, Float64Type, Int16Type, Int32Type,
    Int64Type, Int8Type, UInt16Type, UInt32Type, UInt64Type, UInt8Type,
};
use arrow::record_batch::RecordBatch;
use arrow::util::display::{ArrayFormatter, FormatOptions};

use super::jsonw;
use super::layout::{json_keys, key_bytes, KeyEntry};

/// pandas-records JSON: an array with one object per row. With a separator the keys are flat
/// (`out.dense_1`, with the first `.` replaced by the separator); without one, columns are
/// nested by group (`{"time": .., "in": {"tensor": [..]}, "out": {..}, ...}`). Keys keep the
/// batch's column order.
pub fn encode_json(batch: &RecordBatch, separator: Option<&str>) -> Vec<u8> {
    let keys = json_keys(&batch.schema(), separator);
    let cells: Vec<Box<dyn Cell + '_>> =
        batch.columns().iter().map(|c| writer(c.as_ref())).collect();
    let n = batch.num_rows();
    let mut out = Vec::with_capacity(keys.row_bytes.get().max(64) + 2);
    out.push(b'[');
    for row in 0..n {
        if row > 0 {
            out.push(b',');
        }
        out.push(b'{');
        for (e, entry) in keys.entries.iter().enumerate() {
            if e > 0 {
                out.push(b',');
            }
            match entry {
                KeyEntry::Col(key, i) => {
                    out.extend_from_slice(key);
                    cells[*i].write(row, &mut out);
                }
                KeyEntry::Group(key, members) => {
                    out.extend_from_slice(key);
                    out.push(b'{');
                    for (m, (key, i)) in members.iter().enumerate() {
                        if m > 0 {
                            out.push(b',');
                        }
                        out.extend_from_slice(key);
                        cells[*i].write(row, &mut out);
                    }
                    out.push(b'}');
                }
            }
        }
        out.push(b'}');
        if row == 0 {
            keys.row_bytes.set(out.len());
            if n > 1 {
                out.reserve((out.len() + 1) * (n - 1) + 1);
            }
        }
    }
    out.push(b']');
    out
}

/// Joins JSON arrays printed from consecutive row ranges of one batch (each `[..]`) into the
/// chunks of the whole batch's array, without copying them: a big answer can be printed in
/// parts on several threads.
pub fn join_json_arrays(parts: Vec<Vec<u8>>) -> Vec<bytes::Bytes> {
    let n = parts.len();
    let mut chunks = Vec::with_capacity(2 * n);
    let mut any_rows = false;
    for (i, part) in parts.into_iter().enumerate() {
        let part = bytes::Bytes::from(part);
        let rows = part.slice(1..part.len().saturating_sub(1).max(1));
        if i == 0 {
            chunks.push(bytes::Bytes::from_static(b"["));
        }
        if !rows.is_empty() {
            if any_rows {
                chunks.push(bytes::Bytes::from_static(b","));
            }
            chunks.push(rows);
            any_rows = true;
        }
        if i + 1 == n {
            chunks.push(bytes::Bytes::from_static(b"]"));
        }
    }
    chunks
}

/// The legacy Wallaroo JSON response (`Accept: application/json; format=wallaroo`).
///
/// The spec only says the SDK hands this body to the user unchanged ("any JSON"), and the
/// current engines answer custom-JSON requests with the same records as pandas-records, so
/// this is the nested pandas-records layout: an array of `{"time", "in": {..}, "out": {..},
/// "anomaly": {..}, "metadata": {..}}` objects.
pub fn encode_wallaroo_json(batch: &RecordBatch) -> Vec<u8> {
    encode_json(batch, None)
}

/// Writes the JSON of one element of an array.
pub(crate) trait Cell {
    fn write(&self, i: usize, out: &mut Vec<u8>);
}

/// Chooses the writer for an array (nulls handled by a wrapper).
pub(crate) fn writer(array: &dyn Array) -> Box<dyn Cell + '_> {
    let inner = plain_writer(array);
    match array.logical_nulls() {
        Some(nulls) if nulls.null_count() > 0 && !matches!(array.data_type(), DataType::Null) => {
            Box::new(Nullable { nulls, inner })
        }
        _ => inner,
    }
}

fn plain_writer(array: &dyn Array) -> Box<dyn Cell + '_> {
    macro_rules! int {
        ($t:ty) => {
            Box::new(Int(array.as_primitive::<$t>()))
        };
    }
    match array.data_type() {
        DataType::Null => Box::new(NullCell),
        DataType::Boolean => Box::new(Bool(array.as_boolean())),
        DataType::Int8 => int!(Int8Type),
        DataType::Int16 => int!(Int16Type),
        DataType::Int32 => int!(Int32Type),
        DataType::Int64 => int!(Int64Type),
        DataType::UInt8 => int!(UInt8Type),
        DataType::UInt16 => int!(UInt16Type),
        DataType::UInt32 => int!(UInt32Type),
        DataType::UInt64 => int!(UInt64Type),
        DataType::Float16 => Box::new(F16(array.as_primitive::<Float16Type>())),
        DataType::Float32 => Box::new(F32(array.as_primitive::<Float32Type>())),
        DataType::Float64 => Box::new(F64(array.as_primitive::<Float64Type>())),
        DataType::Utf8 => strings(array.as_string::<i32>(), Str),
        DataType::LargeUtf8 => strings(array.as_string::<i64>(), Str),
        DataType::Utf8View => strings(array.as_string_view(), StrView),
        DataType::List(_) => Box::new(List::new(array.as_list::<i32>())),
        DataType::LargeList(_) => Box::new(List::new(array.as_list::<i64>())),
        DataType::FixedSizeList(_, _) => Box::new(FixedList::new(array.as_fixed_size_list())),
        DataType::Struct(_) => Box::new(Struct::new(array.as_struct())),
        DataType::Map(_, _) => {
            // A map is a list of {"key", "value"} entries; written as such.
            let map = array.as_map();
            Box::new(List {
                offsets: map.value_offsets(),
                child: writer(map.entries() as &StructArray as &dyn Array),
            })
        }
        DataType::Dictionary(_, _) => match array.as_any_dictionary_opt() {
            Some(dict) => Box::new(Dict {
                keys: dict.normalized_keys(),
                values: writer(dict.values().as_ref()),
            }),
            None => Box::new(Fallback::new(array)),
        },
        _ => Box::new(Fallback::new(array)),
    }
}

/// A string column that holds one value on every row (the `metadata.*` strings of a batch
/// response) is escaped once and copied per row; any other gets `plain`.
fn strings<'a, A, C>(array: A, plain: fn(A) -> C) -> Box<dyn Cell + 'a>
where
    A: arrow::array::ArrayAccessor<Item = &'a str> + 'a,
    C: Cell + 'a,
{
    let n = array.len();
    if n >= CONSTANT_MIN_ROWS && array.null_count() == 0 {
        let first = array.value(0);
        if (1..n).all(|i| array.value(i) == first) {
            let mut rendered = Vec::with_capacity(first.len() + 2);
            jsonw::write_str(&mut rendered, first);
            return Box::new(Constant(rendered));
        }
    }
    Box::new(plain(array))
}

/// Below this many rows a column is not checked for one repeated value.
const CONSTANT_MIN_ROWS: usize = 8;

/// The same JSON on every row.
struct Constant(Vec<u8>);
impl Cell for Constant {
    #[inline]
    fn write(&self, _: usize, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.0);
    }
}

struct Nullable<'a> {
    nulls: NullBuffer,
    inner: Box<dyn Cell + 'a>,
}
impl Cell for Nullable<'_> {
    #[inline]
    fn write(&self, i: usize, out: &mut Vec<u8>) {
        if self.nulls.is_null(i) {
            out.extend_from_slice(b"null");
        } else {
            self.inner.write(i, out);
        }
    }
}

struct NullCell;
impl Cell for NullCell {
    fn write(&self, _: usize, out: &mut Vec<u8>) {
        out.extend_from_slice(b"null");
    }
}

struct Bool<'a>(&'a BooleanArray);
impl Cell for Bool<'_> {
    fn write(&self, i: usize, out: &mut Vec<u8>) {
        out.extend_from_slice(if self.0.value(i) { b"true" } else { b"false" });
    }
}

struct Int<'a, T: ArrowPrimitiveType>(&'a PrimitiveArray<T>);
impl<T: ArrowPrimitiveType> Cell for Int<'_, T>
where
    T::Native: itoa::Integer,
{
    #[inline]
    fn write(&self, i: usize, out: &mut Vec<u8>) {
        jsonw::write_int(out, self.0.value(i));
    }
}

struct F16<'a>(&'a PrimitiveArray<Float16Type>);
impl Cell for F16<'_> {
    fn write(&self, i: usize, out: &mut Vec<u8>) {
        jsonw::write_f32(out, self.0.value(i).to_f32());
    }
}

struct F32<'a>(&'a PrimitiveArray<Float32Type>);
impl Cell for F32<'_> {
    #[inline]
    fn write(&self, i: usize, out: &mut Vec<u8>) {
        jsonw::write_f32(out, self.0.value(i));
    }
}

struct F64<'a>(&'a PrimitiveArray<Float64Type>);
impl Cell for F64<'_> {
    #[inline]
    fn write(&self, i: usize, out: &mut Vec<u8>) {
        jsonw::write_f64(out, self.0.value(i));
    }
}

struct Str<'a, O: OffsetSizeTrait>(&'a GenericStringArray<O>);
impl<O: OffsetSizeTrait> Cell for Str<'_, O> {
    fn write(&self, i: usize, out: &mut Vec<u8>) {
        jsonw::write_str(out, self.0.value(i));
    }
}

struct StrView<'a>(&'a StringViewArray);
impl Cell for StrView<'_> {
    fn write(&self, i: usize, out: &mut Vec<u8>) {
        jsonw::write_str(out, self.0.value(i));
    }
}

/// List and LargeList: `offsets` index straight into the child array.
struct List<'a, O: OffsetSizeTrait> {
    offsets: &'a [O],
    child: Box<dyn Cell + 'a>,
}
impl<'a, O: OffsetSizeTrait> List<'a, O> {
    fn new(list: &'a GenericListArray<O>) -> Self {
        List {
            offsets: list.value_offsets(),
            child: writer(list.values().as_ref()),
        }
    }
}
impl<O: OffsetSizeTrait> Cell for List<'_, O> {
    fn write(&self, i: usize, out: &mut Vec<u8>) {
        let (start, end) = (self.offsets[i].as_usize(), self.offsets[i + 1].as_usize());
        write_range(&*self.child, start, end, out);
    }
}

struct FixedList<'a> {
    list: &'a FixedSizeListArray,
    child: Box<dyn Cell + 'a>,
}
impl<'a> FixedList<'a> {
    fn new(list: &'a FixedSizeListArray) -> Self {
        FixedList {
            list,
            child: writer(list.values().as_ref()),
        }
    }
}
impl Cell for FixedList<'_> {
    fn write(&self, i: usize, out: &mut Vec<u8>) {
        let start = self.list.value_offset(i) as usize;
        let end = start + self.list.value_length() as usize;
        write_range(&*self.child, start, end, out);
    }
}

#[inline]
fn write_range(child: &dyn Cell, start: usize, end: usize, out: &mut Vec<u8>) {
    out.push(b'[');
    for j in start..end {
        if j > start {
            out.push(b',');
        }
        child.write(j, out);
    }
    out.push(b']');
}

struct Struct<'a> {
    keys: Vec<Vec<u8>>,
    children: Vec<Box<dyn Cell + 'a>>,
}
impl<'a> Struct<'a> {
    fn new(s: &'a StructArray) -> Self {
        Struct {
            keys: s.fields().iter().map(|f| key_bytes(f.name())).collect(),
            children: s.columns().iter().map(|c| writer(c.as_ref())).collect(),
        }
    }
}
impl Cell for Struct<'_> {
    fn write(&self, i: usize, out: &mut Vec<u8>) {
        out.push(b'{');
        for (k, (key, child)) in self.keys.iter().zip(&self.children).enumerate() {
            if k > 0 {
                out.push(b',');
            }
            out.extend_from_slice(key);
            child.write(i, out);
        }
        out.push(b'}');
    }
}

struct Dict<'a> {
    keys: Vec<usize>,
    values: Box<dyn Cell + 'a>,
}
impl Cell for Dict<'_> {
    fn write(&self, i: usize, out: &mut Vec<u8>) {
        self.values.write(self.keys[i], out);
    }
}

/// Anything else (dates, timestamps, decimals, binary, ...) as its Arrow display string.
struct Fallback(Vec<String>);
impl Fallback {
    fn new(array: &dyn Array) -> Self {
        let opts = FormatOptions::default().with_null("null");
        let strings = match ArrayFormatter::try_new(array, &opts) {
            Ok(f) => (0..array.len()).map(|i| f.value(i).to_string()).collect(),
            Err(e) => vec![format!("<unsupported {}: {e}>", array.data_type()); array.len()],
        };
        Fallback(strings)
    }
}
impl Cell for Fallback {
    fn write(&self, i: usize, out: &mut Vec<u8>) {
        jsonw::write_str(out, &self.0[i]);
    }
}
