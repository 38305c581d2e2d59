//! Unit tests for format negotiation and JSON encoding.

use std::collections::HashMap;
use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, BooleanArray, DictionaryArray, FixedSizeListArray, Float32Array, Float64Array,
    Int64Array, ListArray, StringArray, StructArray, UInt32Array,
};
use arrow::datatypes::{DataType, Field, Float32Type, Int32Type, Schema, UInt64Type};
use arrow::record_batch::RecordBatch;

use super::*;

#[test]
fn request_formats() {
    use RequestFormat::*;
    let f = |ct: Option<&str>, body: &[u8]| request_format(ct, body).unwrap();
    assert_eq!(
        f(Some("application/json; format=pandas-records"), b"[]"),
        PandasRecords
    );
    assert_eq!(
        f(Some("Application/JSON; Format=Wallaroo"), b"[]"),
        WallarooJson
    );
    assert_eq!(f(Some("application/json"), b" [{}]"), PandasRecords);
    assert_eq!(f(Some("application/json"), b"\n{\"a\":[1]}"), WallarooJson);
    assert_eq!(f(None, b"{\"a\":[1]}"), WallarooJson);
    assert_eq!(f(None, b"[{\"a\":1}]"), PandasRecords);
    assert_eq!(f(Some(ARROW_FILE_MEDIA_TYPE), b"ARROW1\0\0"), ArrowFile);
    assert_eq!(
        f(Some(ARROW_FILE_MEDIA_TYPE), b"\xff\xff\xff\xff"),
        ArrowStream
    );
    assert_eq!(
        f(Some(ARROW_STREAM_MEDIA_TYPE), b"\xff\xff\xff\xff"),
        ArrowStream
    );
    assert_eq!(f(None, b"ARROW1"), ArrowFile);
    assert_eq!(
        f(Some("application/octet-stream"), b"\xff\xff\xff\xff"),
        ArrowStream
    );
    let e = request_format(Some("text/csv"), b"a,b").unwrap_err();
    assert!(
        matches!(e, CodecError::Unsupported(ref m) if m.contains("text/csv")),
        "{e}"
    );
    let e = request_format(Some("application/json; format=split"), b"{}").unwrap_err();
    assert!(matches!(e, CodecError::Unsupported(_)));
}

#[test]
fn response_formats() {
    use ResponseFormat::*;
    assert_eq!(response_format(None), PandasRecords);
    assert_eq!(
        response_format(Some("application/vnd.apache.arrow.file")),
        Arrow
    );
    assert_eq!(
        response_format(Some("application/json; format=pandas-records")),
        PandasRecords
    );
    assert_eq!(
        response_format(Some("application/json; format=wallaroo")),
        WallarooJson
    );
    assert_eq!(
        response_format(Some("text/html, application/vnd.apache.arrow.file;q=0.9")),
        Arrow
    );
    assert_eq!(response_format(Some("*/*")), PandasRecords);
    assert_eq!(Arrow.content_type(), ARROW_FILE_MEDIA_TYPE);
}

fn response_batch() -> RecordBatch {
    let meta = |s: &str| HashMap::from([("tensor_type".to_string(), s.to_string())]);
    let tensor = ListArray::from_iter_primitive::<Float32Type, _, _>([
        Some(vec![Some(1.0678325), Some(-0.5)]),
        Some(vec![Some(f32::NAN), None]),
    ]);
    let dense = FixedSizeListArray::from_iter_primitive::<Float32Type, _, _>(
        [Some(vec![Some(0.0014974177)]), Some(vec![Some(0.99300325)])],
        1,
    );
    let elapsed = ListArray::from_iter_primitive::<UInt64Type, _, _>([
        Some(vec![Some(53101), Some(318104)]),
        Some(vec![Some(53101), Some(318104)]),
    ]);
    let fields = vec![
        Field::new("time", DataType::Int64, false),
        Field::new("in.tensor", tensor.data_type().clone(), true)
            .with_metadata(meta(r#"{"shape":[2]}"#)),
        Field::new("out.dense_1", dense.data_type().clone(), true)
            .with_metadata(meta(r#"{"shape":[1]}"#)),
        Field::new("anomaly.count", DataType::UInt32, false),
        Field::new("anomaly.too_high", DataType::Boolean, true),
        Field::new("metadata.last_model", DataType::Utf8, false),
        Field::new("metadata.elapsed", elapsed.data_type().clone(), false),
    ];
    let last = r#"{"model_name":"m","model_sha":"ab"}"#;
    let cols: Vec<ArrayRef> = vec![
        Arc::new(Int64Array::from(vec![1701377058894, 1701377058894])),
        Arc::new(tensor),
        Arc::new(dense),
        Arc::new(UInt32Array::from(vec![0, 1])),
        Arc::new(BooleanArray::from(vec![Some(false), None])),
        Arc::new(StringArray::from(vec![last, last])),
        Arc::new(elapsed),
    ];
    RecordBatch::try_new(Arc::new(Schema::new(fields)), cols).unwrap()
}

#[test]
fn nested_json() {
    let out = String::from_utf8(encode_json(&response_batch(), None)).unwrap();
    let row0 = r#"{"time":1701377058894,"in":{"tensor":[1.0678325,-0.5]},"out":{"dense_1":[0.0014974177]},"anomaly":{"count":0,"too_high":false},"metadata":{"last_model":"{\"model_name\":\"m\",\"model_sha\":\"ab\"}","elapsed":[53101,318104]}}"#;
    let row1 = r#"{"time":1701377058894,"in":{"tensor":[null,null]},"out":{"dense_1":[0.99300325]},"anomaly":{"count":1,"too_high":null},"metadata":{"last_model":"{\"model_name\":\"m\",\"model_sha\":\"ab\"}","elapsed":[53101,318104]}}"#;
    assert_eq!(out, format!("[{row0},{row1}]"));
    assert_eq!(encode_wallaroo_json(&response_batch()), out.as_bytes());
    // Valid JSON whose metadata.last_model is a string.
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert!(v[0]["metadata"]["last_model"].is_string());
}

#[test]
fn flat_json_with_separators() {
    let b = select(
        &response_batch(),
        &DatasetParams::from_query(Some("dataset[]=time&dataset[]=out&dataset[]=anomaly.count"))
            .unwrap(),
    );
    let out = String::from_utf8(encode_json(&b, Some("."))).unwrap();
    assert_eq!(
        out,
        r#"[{"time":1701377058894,"out.dense_1":[0.0014974177],"anomaly.count":0},{"time":1701377058894,"out.dense_1":[0.99300325],"anomaly.count":1}]"#
    );
    let out = String::from_utf8(encode_json(&b, Some("/"))).unwrap();
    assert!(
        out.starts_with(r#"[{"time":1701377058894,"out/dense_1":"#),
        "{out}"
    );
    assert_eq!(encode_json(&b.slice(0, 0), None), b"[]");
}

#[test]
fn json_of_other_types() {
    let dict: DictionaryArray<Int32Type> = vec!["a", "b", "a"].into_iter().collect();
    let inner: ArrayRef = Arc::new(Float64Array::from(vec![
        Some(1.5),
        None,
        Some(f64::INFINITY),
    ]));
    let st = StructArray::try_new(
        vec![Field::new("v", DataType::Float64, true)].into(),
        vec![inner],
        None,
    )
    .unwrap();
    let b = RecordBatch::try_from_iter([
        ("in.d", Arc::new(dict) as ArrayRef),
        ("in.s", Arc::new(st) as ArrayRef),
        (
            "in.x",
            Arc::new(Float32Array::from(vec![0.1, 1e20, -0.0])) as ArrayRef,
        ),
        (
            "in.q",
            Arc::new(StringArray::from(vec!["\"\n", "é", "\u{1}"])) as ArrayRef,
        ),
    ])
    .unwrap();
    let out = String::from_utf8(encode_json(&b, Some("."))).unwrap();
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v[0]["in.d"], "a");
    assert_eq!(v[2]["in.d"], "a");
    assert_eq!(v[0]["in.s"], serde_json::json!({"v": 1.5}));
    assert!(v[1]["in.s"]["v"].is_null() && v[2]["in.s"]["v"].is_null());
    assert!(
        out.contains(r#""in.x":0.1,"#) && out.contains("1e+20"),
        "{out}"
    );
    assert_eq!(v[0]["in.q"], "\"\n");
    assert_eq!(v[2]["in.q"], "\u{1}");
}

#[test]
fn repeated_strings_are_written_like_any_other() {
    let n = 12;
    let same = vec!["{\"model_name\":\"m\",\"x\":\"é\\n\"}"; n];
    let mut mostly = same.clone();
    mostly[n - 1] = "other";
    let view: arrow::array::StringViewArray = same.iter().map(|s| Some(*s)).collect();
    let b = RecordBatch::try_from_iter([
        ("metadata.same", Arc::new(StringArray::from(same.clone())) as ArrayRef),
        ("metadata.mostly", Arc::new(StringArray::from(mostly.clone())) as ArrayRef),
        ("metadata.view", Arc::new(view) as ArrayRef),
        ("metadata.short", Arc::new(StringArray::from(vec!["a"; n])) as ArrayRef),
    ])
    .unwrap();
    let out = encode_json(&b, Some("."));
    let rows: Vec<HashMap<String, String>> = serde_json::from_slice(&out).unwrap();
    assert_eq!(rows.len(), n);
    for (i, row) in rows.iter().enumerate() {
        assert_eq!(row["metadata.same"], same[i]);
        assert_eq!(row["metadata.mostly"], mostly[i]);
        assert_eq!(row["metadata.view"], same[i]);
        assert_eq!(row["metadata.short"], "a");
    }
}

#[test]
fn json_printed_in_parts_joins_to_the_whole() {
    let n = 7;
    let b = RecordBatch::try_from_iter([
        ("time", Arc::new(Int64Array::from((0..n as i64).collect::<Vec<_>>())) as ArrayRef),
        ("in.x", Arc::new(Float64Array::from((0..n).map(|i| i as f64 / 4.0).collect::<Vec<_>>())) as ArrayRef),
    ])
    .unwrap();
    for sep in [None, Some(".")] {
        let whole = encode_json(&b, sep);
        for cuts in [vec![0, n], vec![0, 3, n], vec![0, 1, 2, 6, n], vec![0, 0, 4, 4, n]] {
            let parts = cuts.windows(2).map(|w| encode_json(&b.slice(w[0], w[1] - w[0]), sep)).collect();
            let joined: Vec<u8> = join_json_arrays(parts).concat();
            assert_eq!(String::from_utf8(joined).unwrap(), String::from_utf8(whole.clone()).unwrap(), "{cuts:?}");
        }
    }
    assert_eq!(join_json_arrays(vec![b"[]".to_vec()]).concat(), b"[]");
}
