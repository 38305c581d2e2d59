//! Codec integration tests on small, self-made fixtures.

use std::collections::HashMap;
use std::io::Cursor;
use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, AsArray, FixedSizeListArray, Int64Array, ListArray, StringArray, UInt32Array,
};
use arrow::compute::cast;
use arrow::datatypes::{DataType, Field, Float32Type, Float64Type, Schema, UInt64Type};
use arrow::ipc::reader::FileReader;
use arrow::ipc::writer::{FileWriter, StreamWriter};
use arrow::record_batch::RecordBatch;
use joey_runtime::codec::*;
use serde_json::{json, Value};

const ROW: &str = r#"[{"tensor":[1.0678324729,0.2177810266,-1.7115145262,0.6822857747,1.0138553067,-0.4335000013,0.7395859437,-0.2882839595,-0.447262688,0.5146124988,0.3791316964,0.5190619748,-0.4904593222,1.1656456469,-0.9776307444,-0.6322198963,-0.6891477694,0.1783317857,0.1397992467,-0.3554220649,0.4394217877,1.4588397512,-0.3886829615,0.4353492889,1.7420053483,-0.4434654615,-0.1515747891,-0.0884107628,-0.1458917296]}]"#;

fn meta(shape: &str) -> HashMap<String, String> {
    HashMap::from([("tensor_type".to_string(), shape.to_string())])
}

/// What the executor would produce for a decoded request: time, in.*, out.*, anomaly, metadata.
fn response_for(input: &RecordBatch, out_values: &[f32]) -> RecordBatch {
    let n = input.num_rows();
    let mut fields = vec![Field::new("time", DataType::Int64, false)];
    let mut cols: Vec<ArrayRef> = vec![Arc::new(Int64Array::from(vec![1701377058894; n]))];
    for (f, c) in input.schema().fields().iter().zip(input.columns()) {
        fields.push(f.as_ref().clone().with_name(format!("in.{}", f.name())));
        cols.push(c.clone());
    }
    let dense = FixedSizeListArray::from_iter_primitive::<Float32Type, _, _>(
        out_values.iter().map(|v| Some(vec![Some(*v)])),
        1,
    );
    let elapsed = ListArray::from_iter_primitive::<UInt64Type, _, _>(
        (0..n).map(|_| Some(vec![Some(53101), Some(318104)])),
    );
    fields.push(
        Field::new("out.dense_1", dense.data_type().clone(), false)
            .with_metadata(meta(r#"{"shape":[1]}"#)),
    );
    fields.push(Field::new("anomaly.count", DataType::UInt32, false));
    fields.push(Field::new("metadata.last_model", DataType::Utf8, false));
    fields.push(Field::new(
        "metadata.elapsed",
        elapsed.data_type().clone(),
        false,
    ));
    cols.push(Arc::new(dense));
    cols.push(Arc::new(UInt32Array::from(vec![0; n])));
    cols.push(Arc::new(StringArray::from(vec![
        r#"{"model_name":"ccfraud","model_sha":"bc85"}"#;
        n
    ])));
    cols.push(Arc::new(elapsed));
    RecordBatch::try_new(Arc::new(Schema::new(fields)), cols).unwrap()
}

fn read_ipc(bytes: &[u8]) -> RecordBatch {
    let reader = FileReader::try_new(Cursor::new(bytes.to_vec()), None).unwrap();
    reader.into_iter().next().unwrap().unwrap()
}

#[test]
fn pandas_round_trip_keeps_numbers() {
    let format = request_format(
        Some("application/json; format=pandas-records"),
        ROW.as_bytes(),
    )
    .unwrap();
    let input = decode_request(format, ROW.as_bytes()).unwrap();
    assert_eq!(input.num_rows(), 1);
    assert_eq!(input.schema().field(0).name(), "tensor");
    let resp = response_for(&input, &[0.0014974177]);
    let out: Value = serde_json::from_slice(&encode_json(&resp, None)).unwrap();
    let sent: Value = serde_json::from_str(ROW).unwrap();
    assert_eq!(out[0]["in"]["tensor"], sent[0]["tensor"]);
    let text = String::from_utf8(encode_json(&resp, None)).unwrap();
    assert!(
        text.contains(r#""in":{"tensor":[1.0678324729,0.2177810266,-1.7115145262,"#),
        "{text}"
    );
    assert!(
        text.contains(r#""out":{"dense_1":[0.0014974177]}"#),
        "{text}"
    );
    assert_eq!(out[0]["anomaly"], json!({"count": 0}));
    assert_eq!(
        out[0]["metadata"]["last_model"],
        r#"{"model_name":"ccfraud","model_sha":"bc85"}"#
    );
}

#[test]
fn float32_inputs_print_shortest() {
    let input = decode_request(RequestFormat::PandasRecords, ROW.as_bytes()).unwrap();
    let f32_type = DataType::List(Arc::new(Field::new("item", DataType::Float32, true)));
    let tensor = cast(input.column(0), &f32_type).unwrap();
    let b = RecordBatch::try_from_iter([("in.tensor", tensor)]).unwrap();
    let text = String::from_utf8(encode_json(&b, Some("."))).unwrap();
    assert!(
        text.starts_with(r#"[{"in.tensor":[1.0678325,0.21778102,-1.7115145,"#),
        "{text}"
    );
}

#[test]
fn nested_and_flat_json_agree() {
    let input = decode_request(
        RequestFormat::PandasRecords,
        br#"[{"a":[1,2],"b.c":"x"},{"a":[3],"b.c":null}]"#,
    )
    .unwrap();
    let resp = response_for(&input, &[0.5, 0.25]);
    let nested: Value = serde_json::from_slice(&encode_json(&resp, None)).unwrap();
    let flat: Value = serde_json::from_slice(&encode_json(&resp, Some("."))).unwrap();
    for (n, f) in nested
        .as_array()
        .unwrap()
        .iter()
        .zip(flat.as_array().unwrap())
    {
        let mut rebuilt = serde_json::Map::new();
        for (k, v) in n.as_object().unwrap() {
            match v.as_object() {
                Some(group) if k != "time" => {
                    for (ck, cv) in group {
                        rebuilt.insert(format!("{k}.{ck}"), cv.clone());
                    }
                }
                _ => {
                    rebuilt.insert(k.clone(), v.clone());
                }
            }
        }
        assert_eq!(&Value::Object(rebuilt), f);
    }
    assert_eq!(flat[0]["in.b.c"], "x");
    assert_eq!(nested[1]["in"]["b.c"], Value::Null);
    assert_eq!(flat[1]["in.a"], json!([3]));
}

#[test]
fn arrow_nested_and_flat_layouts() {
    let tensor = FixedSizeListArray::from_iter_primitive::<Float32Type, _, _>(
        [Some(vec![Some(1.5), Some(-2.0)])],
        2,
    );
    let field = Field::new("tensor", tensor.data_type().clone(), true)
        .with_metadata(meta(r#"{"shape": [2]}"#));
    let input = RecordBatch::try_new(
        Arc::new(Schema::new(vec![field])),
        vec![Arc::new(tensor) as ArrayRef],
    )
    .unwrap();
    let resp = response_for(&input, &[0.75]);

    let nested = read_ipc(&encode_arrow(&resp, None).unwrap());
    let schema = nested.schema();
    let names: Vec<_> = schema.fields().iter().map(|f| f.name().as_str()).collect();
    assert_eq!(names, ["time", "in", "out", "anomaly", "metadata"]);
    let DataType::Struct(children) = schema.field_with_name("in").unwrap().data_type() else {
        panic!()
    };
    assert_eq!(children[0].name(), "tensor");
    assert_eq!(children[0].metadata()["tensor_type"], r#"{"shape": [2]}"#);
    let DataType::Struct(children) = schema.field_with_name("metadata").unwrap().data_type() else {
        panic!()
    };
    let names: Vec<_> = children.iter().map(|f| f.name().as_str()).collect();
    assert_eq!(names, ["last_model", "elapsed"]);
    let DataType::Struct(children) = schema.field_with_name("out").unwrap().data_type() else {
        panic!()
    };
    assert_eq!(children[0].metadata()["tensor_type"], r#"{"shape":[1]}"#);
    assert_eq!(flatten_struct_columns(&nested), resp);

    let flat = read_ipc(&encode_arrow(&resp, Some(".")).unwrap());
    assert_eq!(flat, resp);
    let underscored = read_ipc(&encode_response(&resp, ResponseFormat::Arrow, Some("_")).unwrap());
    assert_eq!(underscored.schema().field(1).name(), "in_tensor");
    assert_eq!(
        underscored.schema().field(1).metadata()["tensor_type"],
        r#"{"shape": [2]}"#
    );
}

#[test]
fn arrow_requests_file_and_stream() {
    let tensor = FixedSizeListArray::from_iter_primitive::<Float32Type, _, _>(
        (0..3).map(|i| Some(vec![Some(i as f32); 29])),
        29,
    );
    let field = Field::new("tensor", tensor.data_type().clone(), true)
        .with_metadata(meta(r#"{"shape": [29]}"#));
    let b = RecordBatch::try_new(
        Arc::new(Schema::new(vec![field])),
        vec![Arc::new(tensor) as ArrayRef],
    )
    .unwrap();
    let mut w = FileWriter::try_new(Vec::new(), &b.schema()).unwrap();
    w.write(&b).unwrap();
    w.finish().unwrap();
    let file = w.into_inner().unwrap();
    let mut w = StreamWriter::try_new(Vec::new(), &b.schema()).unwrap();
    w.write(&b).unwrap();
    w.finish().unwrap();
    let stream = w.into_inner().unwrap();

    for (body, expected) in [
        (&file, RequestFormat::ArrowFile),
        (&stream, RequestFormat::ArrowStream),
    ] {
        for ct in [
            Some(ARROW_FILE_MEDIA_TYPE),
            Some(ARROW_STREAM_MEDIA_TYPE),
            None,
        ] {
            let format = request_format(ct, body).unwrap();
            assert_eq!(format, expected);
            let decoded = decode_request(format, body).unwrap();
            assert_eq!(decoded, b);
            assert_eq!(
                decoded.schema().field(0).metadata()["tensor_type"],
                r#"{"shape": [29]}"#
            );
        }
    }
}

#[test]
fn dataset_selection() {
    let input = decode_request(RequestFormat::PandasRecords, ROW.as_bytes()).unwrap();
    let resp = response_for(&input, &[0.5]);
    let names = |q: &str| -> Vec<String> {
        let params = DatasetParams::from_query(Some(q)).unwrap();
        select(&resp, &params)
            .schema()
            .fields()
            .iter()
            .map(|f| f.name().clone())
            .collect()
    };
    assert_eq!(
        names(""),
        [
            "time",
            "in.tensor",
            "out.dense_1",
            "anomaly.count",
            "metadata.last_model",
            "metadata.elapsed"
        ]
    );
    assert_eq!(
        names("dataset[]=*&dataset.exclude[]=metadata"),
        ["time", "in.tensor", "out.dense_1", "anomaly.count"]
    );
    assert_eq!(
        names("dataset.exclude[]=anomaly&dataset[]=time&dataset[]=in&dataset[]=out&dataset[]=anomaly.count"),
        ["time", "in.tensor", "out.dense_1", "anomaly.count"]
    );
    assert_eq!(
        names("dataset=time,out,metadata"),
        [
            "time",
            "out.dense_1",
            "metadata.last_model",
            "metadata.elapsed"
        ]
    );
    assert_eq!(
        names("dataset%5B%5D=metadata.elapsed&dataset%5B%5D=out.dense_1"),
        ["out.dense_1", "metadata.elapsed"]
    );
    assert_eq!(
        names("dataset[]=time&dataset.exclude[]=time"),
        Vec::<String>::new()
    );
    let none = select(
        &resp,
        &DatasetParams::from_query(Some("dataset[]=nothing")).unwrap(),
    );
    assert_eq!(
        (none.num_rows(), encode_json(&none, None)),
        (1, b"[{}]".to_vec())
    );
    assert_eq!(select(&resp, &DatasetParams::default()), resp);
}

#[test]
fn request_errors_are_bad_requests() {
    let bad = |ct: Option<&str>, body: &[u8]| -> String {
        let format = request_format(ct, body).unwrap();
        match decode_request(format, body).unwrap_err() {
            CodecError::BadRequest(m) => m,
            other => panic!("expected BadRequest, got {other:?}"),
        }
    };
    let json = Some("application/json; format=pandas-records");
    assert!(bad(json, b"[{\"tensor\": [1.0, ").contains("not valid JSON"));
    assert!(bad(json, b"{\"tensor\": [[1.0]]}").contains("array of row objects"));
    assert!(bad(json, b"\"hello\"").contains("found a string"));
    assert_eq!(bad(json, b"[]"), "the request has no rows");
    assert_eq!(
        bad(json, br#"[{"x":"a"},{"x":1}]"#),
        "column 'x' mixes strings and numbers (row 1)"
    );
    assert!(bad(json, br#"[{"x":1}, "row"]"#).contains("row 1 must be a JSON object"));
    let wallaroo = Some("application/json; format=wallaroo");
    assert!(bad(wallaroo, br#"{"tensor":[[1,2],[3,4]],"id":[1]}"#)
        .contains("column 'id' has 1 rows but column 'tensor' has 2"));
    let arrow = Some(ARROW_FILE_MEDIA_TYPE);
    assert!(bad(arrow, b"ARROW1\0\0not really arrow").contains("Arrow IPC file"));
    assert!(bad(arrow, b"definitely not arrow").contains("Arrow IPC stream"));
    assert!(bad(arrow, b"").contains("Arrow"));
    assert!(matches!(
        request_format(Some("image/png"), b""),
        Err(CodecError::Unsupported(_))
    ));
}

#[test]
fn decoded_types() {
    let b = decode_request(
        RequestFormat::WallarooJson,
        br#"{"tensor":[[1.5,2],[3,4.25]],"n":[1,2],"s":["a","b"]}"#,
    )
    .unwrap();
    let t = b.column(0).as_list::<i32>();
    assert_eq!(
        t.value(0).as_primitive::<Float64Type>().values(),
        &[1.5, 2.0]
    );
    assert_eq!(b.column(1).data_type(), &DataType::Int64);
    assert_eq!(b.column(2).as_string::<i32>().value(1), "b");
    let img = decode_request(
        RequestFormat::PandasRecords,
        br#"[{"img":[[[1,2,3],[4,5,6]],[[7,8,9],[10,11,12.5]]]}]"#,
    )
    .unwrap();
    let DataType::List(l1) = img.schema().field(0).data_type().clone() else {
        panic!()
    };
    let DataType::List(l2) = l1.data_type().clone() else {
        panic!()
    };
    let DataType::List(l3) = l2.data_type().clone() else {
        panic!()
    };
    assert_eq!(
        (l1.name().as_str(), l3.data_type()),
        ("item", &DataType::Float64)
    );
    let text = String::from_utf8(encode_json(&img, None)).unwrap();
    assert_eq!(
        text,
        r#"[{"img":[[[1.0,2.0,3.0],[4.0,5.0,6.0]],[[7.0,8.0,9.0],[10.0,11.0,12.5]]]}]"#
    );
}

#[test]
fn shared_arrow_bodies_are_decoded_in_place() {
    use arrow::array::{AsArray, Float32Array};
    let values: Vec<f32> = (0..4096).map(|i| i as f32 * 0.5).collect();
    let batch = RecordBatch::try_from_iter([(
        "x",
        Arc::new(Float32Array::from(values.clone())) as ArrayRef,
    )])
    .unwrap();
    for format in [RequestFormat::ArrowFile, RequestFormat::ArrowStream] {
        let mut out = Vec::new();
        if format == RequestFormat::ArrowFile {
            let mut w = FileWriter::try_new(&mut out, &batch.schema()).unwrap();
            w.write(&batch).unwrap();
            w.finish().unwrap();
        } else {
            let mut w = StreamWriter::try_new(&mut out, &batch.schema()).unwrap();
            w.write(&batch).unwrap();
            w.finish().unwrap();
        }
        let body = bytes::Bytes::from(out);
        let shared = decode_request_shared(format, &body).unwrap();
        let copied = decode_request(format, &body).unwrap();
        assert_eq!(shared, copied);
        assert_eq!(shared.column(0).as_primitive::<Float32Type>().values().to_vec(), values);
        let inside = |p: *const f32| {
            let (start, p) = (body.as_ptr() as usize, p as usize);
            p >= start && p < start + body.len()
        };
        assert!(inside(shared.column(0).as_primitive::<Float32Type>().values().as_ptr()), "{format:?}: not a copy");
        assert!(!inside(copied.column(0).as_primitive::<Float32Type>().values().as_ptr()), "{format:?}");
    }
}
