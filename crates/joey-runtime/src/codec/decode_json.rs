//! JSON request decoding: pandas-records (`[{"tensor": [...]}, ...]`) and the legacy
//! column-oriented Wallaroo JSON (`{"tensor": [[...], [...]]}`).

use std::borrow::Cow;
use std::sync::Arc;

use arrow::array::ArrayRef;
use arrow::datatypes::{Field, Schema};
use arrow::record_batch::{RecordBatch, RecordBatchOptions};

use super::error::CodecError;
use super::infer::{build, Kind, NULL};
use super::json_dom::{parse, J};

pub(crate) const NO_ROWS: &str = "the request has no rows";

/// Decodes a pandas-records body: a JSON array of row objects.
pub(crate) fn decode_pandas_records(body: &[u8]) -> Result<RecordBatch, CodecError> {
    match parse(body)?.into_plain() {
        J::Arr(rows) => decode_records(&rows),
        J::Obj(_) => Err(CodecError::bad(
            "a pandas-records body must be a JSON array of row objects, found an object \
             (send a column-oriented object with Content-Type: application/json; format=wallaroo)",
        )),
        other => Err(CodecError::bad(format!(
            "a pandas-records body must be a JSON array of row objects, found {}",
            singular(&other)
        ))),
    }
}

/// Decodes a legacy Wallaroo JSON body: an object whose values are lists over rows. An array
/// of row objects is accepted too (decoded as pandas-records).
pub(crate) fn decode_wallaroo_json(body: &[u8]) -> Result<RecordBatch, CodecError> {
    match parse(body)?.into_plain() {
        J::Obj(pairs) => {
            // Each value lists the rows: walked element by element.
            let pairs: Vec<_> = pairs.into_iter().map(|(k, v)| (k, v.into_plain())).collect();
            decode_columnar(&pairs)
        }
        J::Arr(rows) => decode_records(&rows),
        other => Err(CodecError::bad(format!(
            "a Wallaroo JSON body must be an object of columns (each a list over rows), found {}",
            singular(&other)
        ))),
    }
}

fn singular(v: &J<'_>) -> &'static str {
    match v {
        J::Null => "null",
        J::Bool(_) => "a boolean",
        J::Int(_) | J::UInt(_) | J::Float(_) => "a number",
        J::Str(_) => "a string",
        J::Arr(_) | J::Floats(_) => "a list",
        J::Obj(_) => "an object",
    }
}

struct Column<'b, 'a> {
    name: &'b str,
    kind: Kind,
    cells: Vec<&'b J<'a>>,
}

impl<'b, 'a> Column<'b, 'a> {
    fn observe(&mut self, row: usize, v: &'b J<'a>) -> Result<(), CodecError> {
        self.cells[row] = v;
        self.kind.observe(v).map_err(|(a, b)| {
            CodecError::bad(format!(
                "column '{}' mixes {a} and {b} (row {row})",
                self.name
            ))
        })
    }
}

/// Row-oriented: one object per row; keys missing from a row are nulls. Columns are ordered
/// by first appearance.
pub(crate) fn decode_records(rows: &[J<'_>]) -> Result<RecordBatch, CodecError> {
    if rows.is_empty() {
        return Err(CodecError::bad(NO_ROWS));
    }
    let n = rows.len();
    let mut cols: Vec<Column<'_, '_>> = Vec::new();
    for (r, row) in rows.iter().enumerate() {
        let J::Obj(pairs) = row else {
            return Err(CodecError::bad(format!(
                "row {r} must be a JSON object of column values, found {}",
                singular(row)
            )));
        };
        for (j, (key, v)) in pairs.iter().enumerate() {
            let key: &str = key;
            // Rows usually repeat the key order of the previous row.
            let idx = match cols.get(j) {
                Some(c) if c.name == key => j,
                _ => match cols.iter().position(|c| c.name == key) {
                    Some(i) => i,
                    None => {
                        cols.push(Column {
                            name: key,
                            kind: Kind::Null,
                            cells: vec![&NULL; n],
                        });
                        cols.len() - 1
                    }
                },
            };
            cols[idx].observe(r, v)?;
        }
    }
    finish(cols, n)
}

/// Column-oriented: `{"a": [row0, row1, ...], "b": [...]}`; all lists the same length.
pub(crate) fn decode_columnar(pairs: &[(Cow<'_, str>, J<'_>)]) -> Result<RecordBatch, CodecError> {
    let mut n: Option<(usize, &str)> = None;
    let mut cols: Vec<Column<'_, '_>> = Vec::with_capacity(pairs.len());
    for (key, v) in pairs {
        let key: &str = key;
        let J::Arr(items) = v else {
            return Err(CodecError::bad(format!(
                "legacy Wallaroo JSON: the value of '{key}' must be a list with one element per \
                 row, found {}",
                singular(v)
            )));
        };
        match n {
            None => n = Some((items.len(), key)),
            Some((len, first)) if len != items.len() => return Err(CodecError::bad(format!(
                "legacy Wallaroo JSON: column '{key}' has {} rows but column '{first}' has {len}",
                items.len()
            ))),
            Some(_) => {}
        }
        // A repeated key replaces the earlier column (like json.loads).
        cols.retain(|c| c.name != key);
        let mut col = Column {
            name: key,
            kind: Kind::Null,
            cells: vec![&NULL; items.len()],
        };
        for (r, item) in items.iter().enumerate() {
            col.observe(r, item)?;
        }
        cols.push(col);
    }
    match n {
        None | Some((0, _)) => Err(CodecError::bad(NO_ROWS)),
        Some((len, _)) => finish(cols, len),
    }
}

fn finish(cols: Vec<Column<'_, '_>>, n: usize) -> Result<RecordBatch, CodecError> {
    let mut fields = Vec::with_capacity(cols.len());
    let mut arrays: Vec<ArrayRef> = Vec::with_capacity(cols.len());
    for c in &cols {
        let array = build(&c.kind, &c.cells)?;
        fields.push(Field::new(c.name, array.data_type().clone(), true));
        arrays.push(array);
    }
    let options = RecordBatchOptions::new().with_row_count(Some(n));
    RecordBatch::try_new_with_options(Arc::new(Schema::new(fields)), arrays, &options)
        .map_err(|e| CodecError::bad(format!("cannot assemble the request table: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{Array, AsArray};
    use arrow::datatypes::{DataType, Float64Type, Int64Type};

    fn list_of(dt: DataType) -> DataType {
        DataType::List(Arc::new(Field::new("item", dt, true)))
    }

    #[test]
    fn infers_types_and_keeps_order() {
        let body = br#"[{"t":[1.5,2],"i":3,"s":"a","b":true,"o":{"k":[1,2]},"n":null,"e":[]},
                        {"t":[3,4],"i":-1,"s":null,"b":false,"o":{"k":"v"},"x":[[1],[2.5]]}]"#;
        let b = decode_pandas_records(body).unwrap();
        let names: Vec<_> = b
            .schema()
            .fields()
            .iter()
            .map(|f| f.name().clone())
            .collect();
        assert_eq!(names, ["t", "i", "s", "b", "o", "n", "e", "x"]);
        let types: Vec<_> = b
            .schema()
            .fields()
            .iter()
            .map(|f| f.data_type().clone())
            .collect();
        assert_eq!(
            types,
            [
                list_of(DataType::Float64),
                DataType::Int64,
                DataType::Utf8,
                DataType::Boolean,
                DataType::Utf8,
                DataType::Null,
                list_of(DataType::Null),
                list_of(list_of(DataType::Float64)),
            ]
        );
        let t = b.column(0).as_list::<i32>();
        assert_eq!(
            t.value(1).as_primitive::<Float64Type>().values(),
            &[3.0, 4.0]
        );
        assert_eq!(b.column(1).as_primitive::<Int64Type>().values(), &[3, -1]);
        assert!(b.column(2).is_null(1));
        assert_eq!(b.column(4).as_string::<i32>().value(0), r#"{"k":[1,2]}"#);
        assert!(b.column(7).is_null(0));
    }

    #[test]
    fn errors_name_the_problem() {
        let e = |b: &[u8]| decode_pandas_records(b).unwrap_err().to_string();
        assert_eq!(e(b"[]"), NO_ROWS);
        assert!(e(b"{\"a\":[1]}").contains("array of row objects"));
        assert!(e(b"42").contains("found a number"));
        assert!(e(b"[{\"a\":1}, 7]").contains("row 1"));
        assert_eq!(
            e(br#"[{"x":1},{"x":2},{"x":3},{"x":"s"}]"#),
            "column 'x' mixes numbers and strings (row 3)"
        );
        assert!(e(br#"[{"x":[1]},{"x":[true]}]"#).contains("mixes numbers and booleans (row 1)"));
        assert!(e(b"[{\"a\":").contains("not valid JSON"));
    }

    #[test]
    fn columnar_wallaroo_json() {
        let b =
            decode_wallaroo_json(br#"{"tensor":[[1,2],[3,4],[5,6]],"id":["a","b","c"]}"#).unwrap();
        assert_eq!(b.num_rows(), 3);
        assert_eq!(b.schema().field(0).data_type(), &list_of(DataType::Int64));
        let e = decode_wallaroo_json(br#"{"a":[1,2],"b":[1]}"#)
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "legacy Wallaroo JSON: column 'b' has 1 rows but column 'a' has 2"
        );
        let e = decode_wallaroo_json(br#"{"a":3}"#).unwrap_err().to_string();
        assert!(e.contains("'a' must be a list"), "{e}");
        assert_eq!(
            decode_wallaroo_json(br#"{"a":[]}"#)
                .unwrap_err()
                .to_string(),
            NO_ROWS
        );
        assert_eq!(decode_wallaroo_json(br#"[{"a":1}]"#).unwrap().num_rows(), 1);
    }

    #[test]
    fn float_lists_mix_with_other_rows() {
        let body = br#"[{"t":[0.5,1.5]},{"t":[2,null,0.25]},{"t":null},{},{"t":[]},{"t":[1e3]}]"#;
        let b = decode_pandas_records(body).unwrap();
        assert_eq!(b.schema().field(0).data_type(), &list_of(DataType::Float64));
        let t = b.column(0).as_list::<i32>();
        assert_eq!(t.value_offsets(), &[0, 2, 5, 5, 5, 5, 6]);
        let valid: Vec<bool> = (0..6).map(|i| t.is_valid(i)).collect();
        assert_eq!(valid, [true, true, false, false, true, true]);
        let values = t.values().as_primitive::<Float64Type>();
        assert_eq!(values.values(), &[0.5, 1.5, 2.0, 0.0, 0.25, 1000.0]);
        assert_eq!(values.null_count(), 1);
        assert!(values.is_null(3));
        let nested = decode_pandas_records(br#"[{"m":[[0.5,0.25],[1.5]]},{"m":[[2],[]]}]"#).unwrap();
        assert_eq!(nested.schema().field(0).data_type(), &list_of(list_of(DataType::Float64)));
        let e = |b: &[u8]| decode_pandas_records(b).unwrap_err().to_string();
        assert_eq!(e(br#"[{"t":[0.5]},{"t":["s"]}]"#), "column 't' mixes numbers and strings (row 1)");
        assert_eq!(e(br#"[{"t":[0.5]},{"t":0.5}]"#), "column 't' mixes lists and numbers (row 1)");
        assert!(e(b"[0.5, 1.5]").contains("row 0 must be a JSON object"));
        let c = decode_wallaroo_json(br#"{"x":[1.5,2.5],"y":[[0.5],[1.5]]}"#).unwrap();
        assert_eq!(c.num_rows(), 2);
        assert_eq!(c.column(0).as_primitive::<Float64Type>().values(), &[1.5, 2.5]);
        assert_eq!(c.schema().field(1).data_type(), &list_of(DataType::Float64));
    }

    #[test]
    fn missing_keys_are_null() {
        let b = decode_pandas_records(br#"[{"a":1},{"b":2.5},{}]"#).unwrap();
        assert_eq!(b.num_rows(), 3);
        assert_eq!(b.column(0).null_count(), 2);
        assert_eq!(b.column(1).null_count(), 2);
        let b = decode_pandas_records(b"[{}]").unwrap();
        assert_eq!((b.num_rows(), b.num_columns()), (1, 0));
    }
}
