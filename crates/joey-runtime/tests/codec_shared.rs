//! Codec tests against the real recorded Wallaroo data in `../shared/data` (read in place;
//! override the folder with `JOEY_SHARED_DATA`). Run with `cargo test -- --ignored`.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use arrow::array::{ArrayRef, AsArray};
use arrow::datatypes::{DataType, Float32Type, Float64Type, Schema};
use arrow::record_batch::RecordBatch;
use joey_runtime::codec::*;
use serde_json::Value;

fn data(rel: &str) -> Vec<u8> {
    let dir = std::env::var_os("JOEY_SHARED_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"));
    let path = dir.join(rel);
    std::fs::read(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

fn decode(ct: &str, body: &[u8]) -> RecordBatch {
    decode_request(request_format(Some(ct), body).unwrap(), body).unwrap()
}

fn prefixed(batch: &RecordBatch, prefix: &str) -> RecordBatch {
    let fields: Vec<_> = batch
        .schema()
        .fields()
        .iter()
        .map(|f| {
            Arc::new(
                f.as_ref()
                    .clone()
                    .with_name(format!("{prefix}{}", f.name())),
            )
        })
        .collect();
    RecordBatch::try_new(Arc::new(Schema::new(fields)), batch.columns().to_vec()).unwrap()
}

fn row_f64(batch: &RecordBatch, row: usize) -> Vec<f64> {
    batch
        .column(0)
        .as_list::<i32>()
        .value(row)
        .as_primitive::<Float64Type>()
        .values()
        .to_vec()
}

#[test]
#[ignore = "needs ../shared"]
fn ccfraud_pandas_and_wallaroo_json() {
    let df = decode(
        "application/json; format=pandas-records",
        &data("ccfraud/cc_data_1k.df.json"),
    );
    assert_eq!(df.num_rows(), 1001);
    assert_eq!(df.schema().field(0).name(), "tensor");
    let list = df.column(0).as_list::<i32>();
    assert!((0..1001).all(|r| list.value_length(r) == 29));
    assert_eq!(row_f64(&df, 0)[0], -1.0603297501);

    let wj = decode(
        "application/json; format=wallaroo",
        &data("ccfraud/cc_data_1k.json"),
    );
    assert_eq!(
        (wj.num_rows(), wj.schema().field(0).name().as_str()),
        (1001, "tensor")
    );
    for r in 0..1001 {
        for (a, b) in row_f64(&df, r).iter().zip(row_f64(&wj, r)) {
            assert!(
                (a - b).abs() <= 1e-9 * a.abs().max(1.0),
                "row {r}: {a} vs {b}"
            );
        }
    }
}

#[test]
#[ignore = "needs ../shared"]
fn ccfraud_arrow_requests_keep_metadata() {
    let b = decode(ARROW_FILE_MEDIA_TYPE, &data("ccfraud/cc_data_10k.arrow"));
    assert_eq!(b.num_rows(), 10254);
    let field = b.schema().field(0).clone();
    assert_eq!(field.name(), "tensor");
    assert!(
        matches!(field.data_type(), DataType::FixedSizeList(item, 29) if item.data_type() == &DataType::Float32)
    );
    assert_eq!(field.metadata()["tensor_type"], r#"{"shape": [29]}"#);
    assert_eq!(
        decode(ARROW_FILE_MEDIA_TYPE, &data("ccfraud/cc_data_1k.arrow")).num_rows(),
        1001
    );

    // Echoed as `in.tensor`, float32 values print exactly as the 2023 engine printed them.
    let small = prefixed(
        &decode(ARROW_FILE_MEDIA_TYPE, &data("ccfraud/cc_data_1k.arrow")),
        "in.",
    );
    let ours: Value = serde_json::from_slice(&encode_json(&small, None)).unwrap();
    let theirs: Value =
        serde_json::from_slice(&data("ccfraud/cc_data_1k.response.2023-nested.json")).unwrap();
    for r in 0..1001 {
        assert_eq!(
            ours[r]["in"]["tensor"], theirs[r]["in"]["tensor"],
            "row {r}"
        );
    }
}

#[test]
#[ignore = "needs ../shared"]
fn real_arrow_response_schema_is_reproduced() {
    let real = decode(
        ARROW_FILE_MEDIA_TYPE,
        &data("ccfraud/cc_data_10k.response.arrow"),
    );
    let flat = flatten_struct_columns(&real);
    let names: Vec<_> = flat
        .schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect();
    assert_eq!(
        names,
        [
            "time",
            "in.tensor",
            "out.dense_1",
            "anomaly.count",
            "metadata.last_model",
            "metadata.pipeline_version",
            "metadata.elapsed",
            "metadata.dropped",
            "metadata.partition"
        ]
    );
    assert_eq!(
        flat.schema().field(1).metadata()["tensor_type"],
        r#"{"shape":[29]}"#
    );
    assert_eq!(
        flat.schema().field(2).metadata()["tensor_type"],
        r#"{"shape":[1]}"#
    );

    let ours = decode(ARROW_FILE_MEDIA_TYPE, &encode_arrow(&flat, None).unwrap());
    assert_eq!(
        ours.schema(),
        real.schema(),
        "names, types, nesting, nullability, metadata"
    );
    assert_eq!(ours, real);

    let json: Value = serde_json::from_slice(&encode_json(&flat, None)).unwrap();
    assert_eq!(json[0]["out"]["dense_1"][0].as_f64(), Some(0.99300325));
    assert_eq!(json[4]["out"]["dense_1"][0].as_f64(), Some(0.0010916889));
    assert!(json[0]["metadata"]["last_model"]
        .as_str()
        .unwrap()
        .starts_with(r#"{"model_name":"ccfraud""#));
    assert_eq!(json[0]["anomaly"]["count"], 0);
    let over = json
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["out"]["dense_1"][0].as_f64().unwrap() > 0.5)
        .count();
    assert_eq!(over, 21);
}

#[test]
#[ignore = "needs ../shared"]
fn real_flattened_json_response_round_trips_byte_exact() {
    let body = data("ccfraud/cc_data_api_1k.response.flattened.json");
    let b = decode("application/json", &body);
    assert_eq!(b.num_rows(), 1000);
    let ours = encode_json(&b, Some("."));
    assert_eq!(
        String::from_utf8(ours).unwrap(),
        std::str::from_utf8(&body).unwrap().trim()
    );
}

#[test]
#[ignore = "needs ../shared"]
fn multi_io_request() {
    let v: Value =
        serde_json::from_slice(&data("multi_io/multi_io.seed1.request_and_expected.json")).unwrap();
    let body = serde_json::to_vec(&v["request_pandas_records"]).unwrap();
    let b = decode("application/json; format=pandas-records", &body);
    assert_eq!(b.num_rows(), 10);
    let names: Vec<_> = b
        .schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect();
    assert_eq!(names, ["input_1", "input_2"]);
    assert_eq!(b.column(0).as_list::<i32>().value_length(3), 10);
    assert_eq!(b.column(1).as_list::<i32>().value_length(3), 5);
}

/// Prints rough timings (run with `--release --ignored --nocapture`).
#[test]
#[ignore = "needs ../shared"]
fn timings() {
    let all: Value = serde_json::from_slice(&data("ccfraud/cc_data_1k.df.json")).unwrap();
    let one = serde_json::to_vec(&[&all[0]]).unwrap();
    let f32_list = DataType::List(Arc::new(arrow::datatypes::Field::new(
        "item",
        DataType::Float32,
        true,
    )));
    let iters = 20_000;
    let t = Instant::now();
    let mut bytes = 0;
    for _ in 0..iters {
        let format = request_format(Some("application/json; format=pandas-records"), &one).unwrap();
        let input = decode_request(format, &one).unwrap();
        let tensor: ArrayRef = arrow::compute::cast(input.column(0), &f32_list).unwrap();
        let out =
            RecordBatch::try_from_iter([("in.tensor", tensor.clone()), ("out.dense_1", tensor)])
                .unwrap();
        let params = DatasetParams::from_query(Some(
            "dataset[]=*&dataset.exclude[]=metadata&dataset.separator=.",
        ))
        .unwrap();
        bytes += encode_json(&select(&out, &params), params.separator.as_deref()).len();
    }
    let per = t.elapsed().as_secs_f64() * 1e6 / iters as f64;
    println!(
        "1-row pandas JSON decode+cast+select+encode: {per:.2} us/request ({bytes} bytes total)"
    );

    let file = data("ccfraud/cc_data_10k.arrow");
    let t = Instant::now();
    let b = prefixed(&decode(ARROW_FILE_MEDIA_TYPE, &file), "in.");
    let d = t.elapsed();
    let t = Instant::now();
    let arrow_out = encode_arrow(&b, None).unwrap();
    let ea = t.elapsed();
    let t = Instant::now();
    let json_out = encode_json(&b, Some("."));
    let ej = t.elapsed();
    println!(
        "10k-row Arrow: decode {:?}, encode_arrow {:?} ({} bytes), encode_json {:?} ({} bytes)",
        d,
        ea,
        arrow_out.len(),
        ej,
        json_out.len()
    );
    let t = Instant::now();
    let back = decode("application/json", &json_out);
    println!(
        "10k-row pandas JSON decode: {:?} ({} rows)",
        t.elapsed(),
        back.num_rows()
    );
    assert_eq!(
        back.column(0)
            .as_list::<i32>()
            .value(0)
            .as_primitive::<Float64Type>()
            .value(0) as f32,
        b.column(0)
            .as_fixed_size_list()
            .value(0)
            .as_primitive::<Float32Type>()
            .value(0)
    );
}

/// Finer timings of the single-row path and of raw float formatting (diagnostics).
#[test]
#[ignore = "needs ../shared"]
fn timings_detail() {
    let all: Value = serde_json::from_slice(&data("ccfraud/cc_data_1k.df.json")).unwrap();
    let one = serde_json::to_vec(&[&all[0]]).unwrap();
    let iters = 50_000;
    let t = Instant::now();
    let mut n = 0;
    for _ in 0..iters {
        n += decode_request(RequestFormat::PandasRecords, &one)
            .unwrap()
            .num_rows();
    }
    println!(
        "1-row decode: {:.2} us",
        t.elapsed().as_secs_f64() * 1e6 / iters as f64
    );
    let t = Instant::now();
    for _ in 0..iters {
        n += serde_json::from_slice::<Value>(&one)
            .unwrap()
            .as_array()
            .unwrap()
            .len();
    }
    println!(
        "1-row serde_json::Value parse: {:.2} us",
        t.elapsed().as_secs_f64() * 1e6 / iters as f64
    );
    let input = prefixed(
        &decode_request(RequestFormat::PandasRecords, &one).unwrap(),
        "in.",
    );
    let t = Instant::now();
    for _ in 0..iters {
        n += encode_json(&input, Some(".")).len();
    }
    println!(
        "1-row encode_json: {:.2} us",
        t.elapsed().as_secs_f64() * 1e6 / iters as f64
    );
    let t = Instant::now();
    for _ in 0..iters {
        n += DatasetParams::from_query(Some(
            "dataset[]=*&dataset.exclude[]=metadata&dataset.separator=.",
        ))
        .unwrap()
        .include
        .len();
    }
    println!(
        "dataset params: {:.2} us",
        t.elapsed().as_secs_f64() * 1e6 / iters as f64
    );
    let b = decode(ARROW_FILE_MEDIA_TYPE, &data("ccfraud/cc_data_10k.arrow"));
    let floats = b
        .column(0)
        .as_fixed_size_list()
        .values()
        .as_primitive::<Float32Type>()
        .values()
        .to_vec();
    let t = Instant::now();
    let mut out = Vec::with_capacity(floats.len() * 12);
    let mut buf = zmij::Buffer::new();
    for f in &floats {
        out.extend_from_slice(buf.format_finite(*f).as_bytes());
        out.push(b',');
    }
    println!(
        "raw zmij over {} f32: {:?} ({} bytes) {n}",
        floats.len(),
        t.elapsed(),
        out.len()
    );
}
