//! The compute floor: one model called in-process through ONNX Runtime (the `ort` crate with the
//! same pins and the same libonnxruntime as Joey), no HTTP, no JSON.
//!
//! Usage: floor-compute <model.onnx> <rows.f32> <row_len> <rows_per_call> <intra_threads> <seconds>
//!   rows.f32 holds little-endian float32 rows of <row_len> values each; calls cycle over them
//!   (rows_per_call = 1) or reuse the first <rows_per_call> rows. The model's first input gets
//!   shape [rows_per_call, <the model's row dims>]. ORT_DYLIB_PATH must name libonnxruntime.so.
//! Prints one JSON object: load time, per-call p50/p90/p99 in microseconds, calls/s and rows/s.
//! Each timed call builds the input tensor from a slice and copies the first output out, as a
//! server must.

use std::time::{Duration, Instant};

use ort::session::Session;
use ort::value::{Tensor, ValueType};

fn pct(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn main() {
    let a: Vec<String> = std::env::args().collect();
    if a.len() != 7 {
        eprintln!("usage: floor-compute <model.onnx> <rows.f32> <row_len> <rows_per_call> <intra_threads> <seconds>");
        std::process::exit(2);
    }
    let (model, data_path) = (&a[1], &a[2]);
    let row_len: usize = a[3].parse().expect("row_len");
    let per_call: usize = a[4].parse().expect("rows_per_call");
    let threads: usize = a[5].parse().expect("intra_threads");
    let seconds: f64 = a[6].parse().expect("seconds");
    let raw = std::fs::read(data_path).expect("read rows");
    let data: Vec<f32> = raw.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect();
    let n_rows = data.len() / row_len;
    assert!(n_rows >= per_call, "need at least {per_call} rows, file has {n_rows}");

    let lib = std::env::var("ORT_DYLIB_PATH").expect("ORT_DYLIB_PATH");
    let t0 = Instant::now();
    let env = ort::init_from(&lib).expect("load libonnxruntime").with_name("floor").with_telemetry(false).build().expect("ORT environment");
    let init_ms = t0.elapsed().as_secs_f64() * 1e3;
    let t1 = Instant::now();
    let mut session = Session::builder(&env).unwrap().with_intra_threads(threads).unwrap().commit_from_file(model).expect("load model");
    let load_ms = t1.elapsed().as_secs_f64() * 1e3;
    let input_name = session.inputs()[0].name().to_string();
    let row_dims: Vec<i64> = match session.inputs()[0].dtype() {
        ValueType::Tensor { shape, .. } => shape.iter().skip(1).copied().collect(),
        other => panic!("first input is not a tensor: {other:?}"),
    };
    let row_dims: Vec<i64> = if row_dims.iter().all(|&d| d > 0) && row_dims.iter().product::<i64>() as usize == row_len { row_dims } else { vec![row_len as i64] };
    let mut shape = vec![per_call as i64];
    shape.extend(&row_dims);

    let mut call = |start_row: usize| -> f64 {
        let t = Instant::now();
        let slice = &data[start_row * row_len..(start_row + per_call) * row_len];
        let input = Tensor::from_array((shape.clone(), slice.to_vec())).expect("tensor");
        let outputs = session.run(ort::inputs![input_name.as_str() => input]).expect("run");
        let (_, out) = outputs[0].try_extract_tensor::<f32>().expect("f32 output");
        std::hint::black_box(out.to_vec());
        t.elapsed().as_secs_f64() * 1e6
    };
    let first_us = call(0);
    // Warm-up: a tenth of the time, at least one call.
    let warm_until = Instant::now() + Duration::from_secs_f64(seconds / 10.0);
    while Instant::now() < warm_until {
        call(0);
    }
    let mut lat = Vec::new();
    let begin = Instant::now();
    let stop = begin + Duration::from_secs_f64(seconds);
    let mut i = 0usize;
    while Instant::now() < stop || lat.is_empty() {
        let start_row = if per_call == 1 { i % n_rows } else { 0 };
        lat.push(call(start_row));
        i += 1;
    }
    let wall = begin.elapsed().as_secs_f64();
    lat.sort_by(|x, y| x.partial_cmp(y).unwrap());
    let calls = lat.len() as f64;
    println!(
        "{{\"impl\":\"rust-ort\",\"intra_threads\":{threads},\"rows_per_call\":{per_call},\"init_ms\":{init_ms:.3},\"load_ms\":{load_ms:.3},\"first_call_us\":{first_us:.1},\"calls\":{calls},\"p50_us\":{:.2},\"p90_us\":{:.2},\"p99_us\":{:.2},\"mean_us\":{:.2},\"calls_per_s\":{:.1},\"rows_per_s\":{:.1}}}",
        pct(&lat, 50.0), pct(&lat, 90.0), pct(&lat, 99.0), lat.iter().sum::<f64>() / calls, calls / wall, calls * per_call as f64 / wall
    );
}
