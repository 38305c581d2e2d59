//! Run-end encoding of columns that repeat one value.
//!
//! A batch of one big request carries per-request values on every row: `time`, `anomaly.count`,
//! `metadata.elapsed`, `metadata.dropped` (a third of a 10k-row ccfraud record's bytes). Stored
//! as `RunEndEncoded(Int32, T)` such a column is one run: a few bytes instead of 8–20 per row.
//! Whether a column is stored this way is decided once per segment (a segment holds one stored
//! schema): by its first batch, when that has at least [`MIN_ROWS`] rows and the column one
//! value. Later batches of the segment are run-end encoded whatever they hold (runs found by
//! comparing neighbours); other segments keep the column plain.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, Int32Array, RunArray, UInt32Array};
use arrow::compute::{partition, take};
use arrow::datatypes::{DataType, Int32Type};
use arrow::error::ArrowError;

/// A segment's first batch needs this many rows for its constant columns to be run-end encoded.
pub(crate) const MIN_ROWS: usize = 64;

/// Whether run-end encoding may be chosen for a column of this type: fixed-width values, or
/// lists of them (an empty list of anything counts too: see [`is_constant`]).
pub(crate) fn eligible(t: &DataType) -> bool {
    match t {
        DataType::List(f) => f.data_type().is_primitive() || f.data_type() == &DataType::Utf8,
        t => t.is_primitive(),
    }
}

/// Whether every row of `col` holds the same non-null value (fast paths only; `false` when
/// unsure).
pub(crate) fn is_constant(col: &dyn Array) -> bool {
    let n = col.len();
    if n == 0 || col.null_count() > 0 {
        return false;
    }
    let d = col.to_data();
    match d.data_type() {
        t if t.is_primitive() => {
            let Some(w) = t.primitive_width() else { return false };
            let Some(b) = d.buffers().first() else { return false };
            periodic(&b.as_slice()[d.offset() * w..(d.offset() + n) * w], w)
        }
        DataType::List(_) => {
            let list = col.as_list::<i32>();
            let offsets = list.value_offsets();
            let Some(k) = uniform_spacing(offsets) else { return false };
            if k == 0 {
                return true; // every row an empty list
            }
            let values = list.values().slice(offsets[0] as usize, n * k);
            let vd = values.to_data();
            match (vd.data_type().primitive_width(), vd.buffers().first()) {
                (Some(w), Some(b)) if values.null_count() == 0 => {
                    let bytes = &b.as_slice()[vd.offset() * w..(vd.offset() + values.len()) * w];
                    periodic(bytes, w * k)
                }
                _ => false,
            }
        }
        _ => false,
    }
}

/// The common spacing of `offsets` (every row's value the same length), if there is one.
pub(crate) fn uniform_spacing(offsets: &[i32]) -> Option<usize> {
    let k = offsets.get(1)? - offsets[0];
    offsets.windows(2).all(|o| o[1] - o[0] == k).then_some(k as usize)
}

/// Whether `bytes` repeats with period `p`: one memcmp against itself shifted by `p`. With
/// evenly spaced values of `p` bytes, that says they are all equal.
pub(crate) fn periodic(bytes: &[u8], p: usize) -> bool {
    bytes.len() < p || bytes[p..] == bytes[..bytes.len() - p]
}

/// `col` as `RunEndEncoded(Int32, type)`: one run when constant, else one per change.
pub(crate) fn encode(col: &ArrayRef) -> Result<ArrayRef, ArrowError> {
    let n = col.len();
    let (ends, starts): (Vec<i32>, Vec<u32>) = if n == 0 {
        (Vec::new(), Vec::new())
    } else if is_constant(col.as_ref()) {
        (vec![n as i32], vec![0])
    } else {
        partition(std::slice::from_ref(col))?
            .ranges()
            .into_iter()
            .map(|r| (r.end as i32, r.start as u32))
            .unzip()
    };
    let values = take(col.as_ref(), &UInt32Array::from(starts), None)?;
    Ok(Arc::new(RunArray::<Int32Type>::try_new(&Int32Array::from(ends), values.as_ref())?))
}

/// The plain column of a run-end encoded one (sliced or not).
pub(crate) fn decode(col: &dyn Array) -> Result<ArrayRef, ArrowError> {
    let runs = col
        .as_any()
        .downcast_ref::<RunArray<Int32Type>>()
        .ok_or_else(|| ArrowError::InvalidArgumentError(format!("expected Int32 runs, got {}", col.data_type())))?;
    let ends = runs.run_ends();
    let raw = ends.values();
    let mut p = ends.get_start_physical_index();
    let indices: UInt32Array = (0..ends.len())
        .map(|i| {
            let at = (ends.offset() + i) as i32;
            while raw[p] <= at {
                p += 1;
            }
            p as u32
        })
        .collect();
    take(runs.values().as_ref(), &indices, None)
}

#[cfg(test)]
mod tests {
    use arrow::array::{Int64Array, ListArray, StringArray, UInt32Array};
    use arrow::datatypes::Int64Type;

    use super::*;

    fn lists(rows: Vec<Vec<i64>>) -> ArrayRef {
        Arc::new(ListArray::from_iter_primitive::<Int64Type, _, _>(rows.into_iter().map(|r| Some(r.into_iter().map(Some)))))
    }

    #[test]
    fn constant_columns_are_one_run_and_others_one_per_change() {
        let cases: Vec<(ArrayRef, bool, usize)> = vec![
            (Arc::new(Int64Array::from(vec![7; 100])), true, 1),
            (Arc::new(Int64Array::from(vec![7, 7, 8, 8, 7])), false, 3),
            (Arc::new(UInt32Array::from(vec![0; 10])), true, 1),
            (lists(vec![vec![1, 2]; 50]), true, 1),
            (lists(vec![vec![1, 2], vec![2, 1]]), false, 2),
            (lists(vec![vec![1, 2], vec![1, 2, 3]]), false, 2),
            (lists(vec![vec![]; 4]), true, 1),
            (Arc::new(Int64Array::from(vec![Some(1), None])), false, 2),
        ];
        for (col, constant, runs) in cases {
            assert_eq!(is_constant(col.as_ref()), constant, "{col:?}");
            let ree = encode(&col).unwrap();
            let r = ree.as_any().downcast_ref::<RunArray<Int32Type>>().unwrap();
            assert_eq!(r.values().len(), runs, "{col:?}");
            assert_eq!(&decode(ree.as_ref()).unwrap(), &col);
            // Slices (what a page cut out of a stored batch holds) decode to their rows.
            let n = col.len();
            assert_eq!(&decode(ree.slice(1, n - 1).as_ref()).unwrap(), &col.slice(1, n - 1));
        }
        let strings: ArrayRef = Arc::new(StringArray::from(vec!["a"; 3]));
        assert!(!eligible(strings.data_type()) && eligible(&DataType::Int64));
        assert!(!is_constant(strings.as_ref()), "strings are dictionary-encoded instead");
        assert!(!is_constant(&Int64Array::from(vec![1, 1]).slice(0, 0)));
    }
}
