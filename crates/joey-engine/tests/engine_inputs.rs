//! Input conversion and output layout for every dtype, and input errors.

mod common;

use std::sync::Arc;

use common::*;
use joey_engine::arrow::array::{
    Array, ArrayRef, AsArray, FixedSizeListArray, Float32Array, Int64Array, StringArray,
};
use joey_engine::arrow::datatypes::{
    DataType, Float32Type, Float64Type, Int32Type, Int64Type, UInt8Type,
};
use joey_engine::arrow::record_batch::RecordBatch;

#[test]
fn dtypes_pass_through() {
    let out = model("dtypes.onnx")
        .run_sync(&dtypes_batch())
        .unwrap()
        .batch;
    assert_eq!(out.num_rows(), 2);
    let f64s: Vec<Vec<f64>> = rows_of(&out, "f64_out")
        .iter()
        .map(|a| a.as_primitive::<Float64Type>().values().to_vec())
        .collect();
    assert_eq!(f64s, vec![vec![0.1, 0.2, 0.3], vec![1e300, -2.5, 7.0]]);
    let i32s: Vec<Vec<i32>> = rows_of(&out, "i32_out")
        .iter()
        .map(|a| a.as_primitive::<Int32Type>().values().to_vec())
        .collect();
    assert_eq!(i32s, vec![vec![2, 3], vec![-2, i32::MAX]]);
    let i64s: Vec<Vec<i64>> = rows_of(&out, "i64_out")
        .iter()
        .map(|a| a.as_primitive::<Int64Type>().values().to_vec())
        .collect();
    assert_eq!(
        i64s,
        vec![vec![i64::MIN], vec![42]],
        "rank-1 output = list of length 1"
    );
    assert_eq!(meta(&out, "i64_out"), r#"{"shape":[1]}"#);
    let u8s: Vec<Vec<u8>> = rows_of(&out, "u8_out")
        .iter()
        .map(|a| a.as_primitive::<UInt8Type>().values().to_vec())
        .collect();
    assert_eq!(u8s, vec![vec![1, 2], vec![254, 255]]);
    let bools: Vec<Vec<bool>> = rows_of(&out, "b_out")
        .iter()
        .map(|a| a.as_boolean().iter().map(Option::unwrap).collect())
        .collect();
    assert_eq!(bools, vec![vec![false, true], vec![true, false]]);
    let strs: Vec<Vec<String>> = rows_of(&out, "s_out")
        .iter()
        .map(|a| {
            a.as_string::<i32>()
                .iter()
                .map(|s| s.unwrap().to_string())
                .collect()
        })
        .collect();
    assert_eq!(
        strs,
        vec![
            vec!["a".to_string(), String::new()],
            vec!["héllo".into(), "z".into()]
        ]
    );
    let dyn_rows = f32_rows(&out, "dyn_out");
    assert_eq!(dyn_rows, vec![vec![1.5, 2.5, 3.5], vec![4.5, 5.5, 6.5]]);
    assert_eq!(meta(&out, "dyn_out"), r#"{"shape":[3]}"#);
}

#[test]
fn rank3_outputs_are_nested_lists() {
    let out = model("dtypes.onnx")
        .run_sync(&dtypes_batch())
        .unwrap()
        .batch;
    for (name, scale) in [("r3_out", 1.0f32), ("cube_out", 2.0)] {
        assert_eq!(meta(&out, name), r#"{"shape":[2,2]}"#);
        let rows = rows_of(&out, name);
        let nested: Vec<Vec<Vec<f32>>> = rows
            .iter()
            .map(|r| {
                let inner = r.as_list::<i32>();
                (0..inner.len())
                    .map(|k| {
                        inner
                            .value(k)
                            .as_primitive::<Float32Type>()
                            .values()
                            .to_vec()
                    })
                    .collect()
            })
            .collect();
        let want: Vec<Vec<Vec<f32>>> = vec![
            vec![
                vec![1.0 * scale, 2.0 * scale],
                vec![3.0 * scale, 4.0 * scale],
            ],
            vec![
                vec![5.0 * scale, 6.0 * scale],
                vec![7.0 * scale, 8.0 * scale],
            ],
        ];
        assert_eq!(nested, want, "{name}");
        match out.schema().field_with_name(name).unwrap().data_type() {
            DataType::List(outer) => {
                assert_eq!(outer.name(), "inner");
                assert!(
                    matches!(outer.data_type(), DataType::List(inner) if inner.name() == "inner" && inner.data_type() == &DataType::Float32)
                );
            }
            other => panic!("{name} is {other}"),
        }
    }
}

#[test]
fn wrong_row_length_is_bad_input() {
    let mut rows = ccfraud_rows(5);
    rows[3].pop();
    let m = model("tiny_ccfraud.onnx");
    let msg = bad_input(&batch(vec![("dense_input", list_f32(&rows))]), &m);
    assert_eq!(msg, "input 'dense_input': row 3 has 28 values, expected 29");
    let short: Vec<Vec<f32>> = ccfraud_rows(2)
        .into_iter()
        .map(|r| r[..28].to_vec())
        .collect();
    let msg = bad_input(&batch(vec![("dense_input", fsl_f32(&short, 28))]), &m);
    assert_eq!(msg, "input 'dense_input': row 0 has 28 values, expected 29");
    // Dynamic per-row dims: rows must agree with row 0.
    let mut b = dtypes_batch();
    let cols: Vec<ArrayRef> = b.columns().to_vec();
    let mut cols2 = cols.clone();
    cols2[8] = list_f32(&[vec![1.0, 2.0], vec![1.0]]);
    b = RecordBatch::try_new(b.schema(), cols2).unwrap();
    let msg = bad_input(&b, &model("dtypes.onnx"));
    assert_eq!(
        msg,
        "input 'dyn_in': row 1 has 1 values, expected 2 (as in row 0)"
    );
}

#[test]
fn missing_column_is_bad_input() {
    let m = model("multi_io.onnx");
    let b = batch(vec![
        ("input_1", fsl_f32(&[vec![0.0; 10]], 10)),
        ("tensor", fsl_f32(&[vec![0.0; 5]], 5)),
    ]);
    let msg = bad_input(&b, &m);
    assert_eq!(
        msg,
        "missing input 'input_2': the batch has columns [input_1, tensor]"
    );
}

#[test]
fn nulls_are_bad_input() {
    let m = model("tiny_ccfraud.onnx");
    let mut vals: Vec<Option<f32>> = vec![Some(0.5); 58];
    vals[40] = None;
    let col: ArrayRef = Arc::new(FixedSizeListArray::new(
        item(DataType::Float32),
        29,
        Arc::new(Float32Array::from(vals)),
        None,
    ));
    let msg = bad_input(&batch(vec![("dense_input", col)]), &m);
    assert!(msg.starts_with("tensor values may not be null"), "{msg}");
    assert!(msg.contains("row 1"), "{msg}");
    // A null row (list entry) is rejected too.
    let nulls = joey_engine::arrow::buffer::NullBuffer::from(vec![true, false]);
    let col: ArrayRef = Arc::new(FixedSizeListArray::new(
        item(DataType::Float32),
        29,
        Arc::new(Float32Array::from(vec![0.5f32; 58])),
        Some(nulls),
    ));
    let msg = bad_input(&batch(vec![("dense_input", col)]), &m);
    assert!(msg.starts_with("tensor values may not be null"), "{msg}");
}

#[test]
fn wrong_value_type_is_bad_input() {
    let m = model("tiny_ccfraud.onnx");
    let col = fsl(Arc::new(StringArray::from(vec!["x"; 29])), 29);
    let msg = bad_input(&batch(vec![("dense_input", col)]), &m);
    assert_eq!(
        msg,
        "input 'dense_input': expected float32 values, got Utf8"
    );
}

#[test]
fn rank1_inputs_take_a_primitive_column_or_lists_of_one() {
    let m = model("dtypes.onnx");
    let i64_out = |b: &RecordBatch| -> Vec<i64> {
        let out = m.run_sync(b).unwrap().batch;
        rows_of(&out, "i64_out")
            .iter()
            .map(|a| a.as_primitive::<Int64Type>().value(0))
            .collect()
    };
    let base = dtypes_batch();
    assert_eq!(
        i64_out(&replace(
            &base,
            "i64_in",
            fsl(Arc::new(Int64Array::from(vec![7, 8])), 1)
        )),
        vec![7, 8]
    );
    assert_eq!(
        i64_out(&replace(
            &base,
            "i64_in",
            list_f64(&[vec![9.0], vec![10.0]])
        )),
        vec![9, 10]
    );
    // The base batch feeds i64_in as a plain Int64 column (one scalar per row).
    assert_eq!(i64_out(&base), vec![i64::MIN, 42]);
    // A plain column for a wider input is a length error.
    let b = batch(vec![(
        "embeddings",
        Arc::new(Float32Array::from(vec![1.0f32, 2.0])) as ArrayRef,
    )]);
    let msg = bad_input(&b, &model("step2.onnx"));
    assert_eq!(msg, "input 'embeddings': row 0 has 1 values, expected 8");
}

#[test]
fn nested_input_shape_must_match() {
    let m = model("dtypes.onnx");
    // cube_in [N,2,2] fed flat rows of 4 values: accepted (reshaped).
    let b = replace(
        &dtypes_batch(),
        "cube_in",
        list_f32(&[vec![1.0, 2.0, 3.0, 4.0], vec![5.0, 6.0, 7.0, 8.0]]),
    );
    let out = m.run_sync(&b).unwrap().batch;
    assert_eq!(meta(&out, "cube_out"), r#"{"shape":[2,2]}"#);
    // Nested [4,1] rows are the wrong shape.
    let wrong = wrap_list(fsl_f32(&vec![vec![1.0]; 8], 1), 4);
    let msg = bad_input(&replace(&dtypes_batch(), "cube_in", wrong), &m);
    assert_eq!(
        msg,
        "input 'cube_in': rows have shape [4, 1], expected [2,2]"
    );
    // Ragged nesting.
    let ragged = wrap_list(
        list_f32(&[
            vec![1.0, 2.0, 3.0],
            vec![4.0],
            vec![5.0, 6.0],
            vec![7.0, 8.0],
        ]),
        2,
    );
    let msg = bad_input(&replace(&dtypes_batch(), "cube_in", ragged), &m);
    assert_eq!(msg, "input 'cube_in': nested lists have uneven lengths");
}
