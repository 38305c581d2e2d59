//! Result columns that hold the same value on every row: `metadata.last_model`,
//! `metadata.pipeline_version`, `metadata.partition`, `metadata.dropped`, `out._model_split`,
//! a zero `anomaly.count`, and `time` (one value per request).
//!
//! Arrow arrays are immutable, so small ones are built once and shared: each thread keeps the
//! last few it built, keyed by kind, row count and value. A single-row request then takes these
//! columns as `Arc` clones instead of about 25 allocations, which also spares the log writer
//! from freeing them (it frees what the request threads allocated, which costs more than a
//! local free). Results of up to [`MAX_ROWS`] rows share the cache; for bigger ones each thread
//! keeps the last few built (at most [`BIG_BYTES`] each), since a client sending batches tends
//! to repeat its batch size, and building 10k copies of a model's description and checking
//! them for UTF-8 costs more than its inference.

use std::cell::RefCell;
use std::sync::Arc;

use arrow::array::{ArrayRef, Int64Array, ListArray, StringArray, UInt32Array};
use arrow::buffer::{Buffer, OffsetBuffer};
use arrow::datatypes::{DataType, Field, FieldRef};

/// Results with more rows than this get freshly built columns.
pub(super) const MAX_ROWS: usize = 64;
/// Cached arrays per thread; the least recently used goes when a new one would exceed it.
const MAX_ENTRIES: usize = 64;
/// Arrays of more than [`MAX_ROWS`] rows kept per thread.
const MAX_BIG_ENTRIES: usize = 6;
/// The largest array (value bytes) kept among the big ones.
pub(super) const BIG_BYTES: usize = 2 << 20;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Str,
    StrList,
    EmptyList,
    Zeros,
}

struct Entry {
    kind: Kind,
    rows: usize,
    value: Box<str>,
    array: ArrayRef,
}

thread_local! {
    static CACHE: RefCell<Vec<Entry>> = const { RefCell::new(Vec::new()) };
    static BIG: RefCell<Vec<Entry>> = const { RefCell::new(Vec::new()) };
    static TIME: RefCell<Option<(usize, i64, ArrayRef)>> = const { RefCell::new(None) };
}

fn cached(kind: Kind, rows: usize, value: &str, build: impl FnOnce() -> ArrayRef) -> ArrayRef {
    let (cache, max) = if rows <= MAX_ROWS {
        (&CACHE, MAX_ENTRIES)
    } else if rows.saturating_mul(value.len().max(8)) <= BIG_BYTES {
        (&BIG, MAX_BIG_ENTRIES)
    } else {
        return build();
    };
    cache.with_borrow_mut(|cache| {
        crate::recent::recent(cache, max, |e| e.kind == kind && e.rows == rows && &*e.value == value, || Entry { kind, rows, value: value.into(), array: build() }, |e| e.array.clone())
    })
}

/// `n` copies of `s`.
pub(super) fn repeated_str(n: usize, s: &str) -> ArrayRef {
    cached(Kind::Str, n, s, || {
        let offsets = OffsetBuffer::<i32>::from_lengths(std::iter::repeat_n(s.len(), n));
        Arc::new(StringArray::new(offsets, Buffer::from(s.repeat(n).into_bytes()), None))
    })
}

pub(super) fn utf8_list_field() -> FieldRef {
    Arc::new(Field::new("item", DataType::Utf8, true))
}

/// `n` lists that each hold `item`, or `n` empty lists.
pub(super) fn list_of_strings(n: usize, item: Option<&str>) -> ArrayRef {
    let (kind, items) = match item {
        Some(s) => (Kind::StrList, vec![s]),
        None => (Kind::EmptyList, Vec::new()),
    };
    cached(kind, n, item.unwrap_or(""), || {
        let offsets = OffsetBuffer::<i32>::from_lengths(std::iter::repeat_n(items.len(), n));
        let values: ArrayRef = Arc::new(StringArray::from_iter_values(items.iter().cycle().take(n * items.len())));
        Arc::new(ListArray::new(utf8_list_field(), offsets, values, None))
    })
}

/// `n` zeros (`anomaly.count` of a pipeline without validations).
pub(super) fn zero_counts(n: usize) -> ArrayRef {
    cached(Kind::Zeros, n, "", || Arc::new(UInt32Array::from(vec![0u32; n])))
}

/// The `time` column: `n` copies of `time_ms`. Requests served within the same millisecond on
/// a thread share it.
pub(super) fn time_column(n: usize, time_ms: i64) -> ArrayRef {
    if n > MAX_ROWS {
        return Arc::new(Int64Array::from(vec![time_ms; n]));
    }
    TIME.with_borrow_mut(|slot| match slot {
        Some((rows, t, a)) if *rows == n && *t == time_ms => a.clone(),
        _ => {
            let a: ArrayRef = Arc::new(Int64Array::from(vec![time_ms; n]));
            *slot = Some((n, time_ms, a.clone()));
            a
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{Array, AsArray};

    #[test]
    fn constant_columns_repeat_their_value_per_row() {
        let l = list_of_strings(3, Some("a"));
        let l = l.as_list::<i32>();
        assert_eq!(l.len(), 3);
        for r in 0..3 {
            let v = l.value(r);
            assert_eq!((v.as_string::<i32>().value(0), v.len()), ("a", 1));
        }
        let empty = list_of_strings(2, None);
        assert_eq!((empty.len(), empty.as_list::<i32>().value(1).len()), (2, 0));
        let s = repeated_str(3, "xy");
        assert_eq!(s.as_string::<i32>().iter().collect::<Vec<_>>(), vec![Some("xy"); 3]);
        assert_eq!(repeated_str(0, "x").len(), 0);
        assert_eq!(zero_counts(4).as_primitive::<arrow::datatypes::UInt32Type>().values().to_vec(), vec![0; 4]);
        assert_eq!(time_column(2, 7).as_primitive::<arrow::datatypes::Int64Type>().values().to_vec(), vec![7, 7]);
    }

    #[test]
    fn small_columns_are_shared_and_keyed_by_kind_rows_and_value() {
        assert!(Arc::ptr_eq(&repeated_str(1, "engine-a"), &repeated_str(1, "engine-a")));
        assert!(!Arc::ptr_eq(&repeated_str(1, "engine-a"), &repeated_str(2, "engine-a")));
        assert_eq!(repeated_str(1, "engine-b").as_string::<i32>().value(0), "engine-b");
        assert_eq!(list_of_strings(1, Some("")).as_list::<i32>().value(0).len(), 1, "not the empty list");
        assert_eq!(list_of_strings(1, None).as_list::<i32>().value(0).len(), 0);
        assert!(Arc::ptr_eq(&time_column(1, 5), &time_column(1, 5)));
        assert_eq!(time_column(1, 6).as_primitive::<arrow::datatypes::Int64Type>().value(0), 6);
        assert!(Arc::ptr_eq(&zero_counts(MAX_ROWS + 1), &zero_counts(MAX_ROWS + 1)), "a repeated big size is shared too");
        let huge = BIG_BYTES / 8 + 1;
        assert!(!Arc::ptr_eq(&zero_counts(huge), &zero_counts(huge)), "beyond BIG_BYTES they are built");
        assert_eq!(zero_counts(huge).len(), huge);
        for i in 0..(MAX_BIG_ENTRIES * 2) {
            let v = format!("big{i}");
            let a = repeated_str(1000 + i, &v);
            assert_eq!((a.len(), a.as_string::<i32>().value(999 + i)), (1000 + i, v.as_str()));
        }
        // More distinct values than the cache holds: every answer is still right.
        for i in 0..(MAX_ENTRIES * 2) {
            let v = format!("p{i}");
            assert_eq!(repeated_str(1, &v).as_string::<i32>().value(0), v);
        }
    }
}
