//! A minimal JSON document model for request decoding.
//!
//! Unlike `serde_json::Value` it keeps object keys in document order (whatever serde_json's
//! features are) and borrows strings from the request body when they contain no escapes. The
//! parser is in `json_parse.rs`.

use std::borrow::Cow;

use super::jsonw;

/// One JSON value. Integers that fit `i64` are `Int`; larger non-negative ones `UInt`.
///
/// A non-empty array whose elements are all float literals (`0.5`, `1e3`; the bulk of tensor
/// requests) is `Floats`: 8 bytes an element instead of a `J` each, and columns are built
/// from it by slice copies. Any other array is `Arr`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum J<'a> {
    Null,
    Bool(bool),
    Int(i64),
    UInt(u64),
    Float(f64),
    Str(Cow<'a, str>),
    Arr(Vec<J<'a>>),
    Floats(Vec<f64>),
    Obj(Vec<(Cow<'a, str>, J<'a>)>),
}

pub(crate) use super::json_parse::parse;

impl<'a> J<'a> {
    /// `Floats` as a plain `Arr` (other values unchanged), for code that walks elements as `J`.
    pub(crate) fn into_plain(self) -> J<'a> {
        match self {
            J::Floats(v) => J::Arr(v.into_iter().map(J::Float).collect()),
            other => other,
        }
    }
}

impl J<'_> {
    /// A number as `f64` (how a `Float64` column holds it); anything else is `None`.
    pub(crate) fn as_f64(&self) -> Option<f64> {
        match self {
            J::Float(f) => Some(*f),
            J::Int(n) => Some(*n as f64),
            J::UInt(n) => Some(*n as f64),
            _ => None,
        }
    }

    /// What kind of value this is, for error messages ("strings", "numbers", ...).
    pub(crate) fn kind_name(&self) -> &'static str {
        match self {
            J::Null => "nulls",
            J::Bool(_) => "booleans",
            J::Int(_) | J::UInt(_) | J::Float(_) => "numbers",
            J::Str(_) => "strings",
            J::Arr(_) | J::Floats(_) => "lists",
            J::Obj(_) => "objects",
        }
    }

    /// Serialises the value back to compact JSON.
    pub(crate) fn write_json(&self, out: &mut Vec<u8>) {
        match self {
            J::Null => out.extend_from_slice(b"null"),
            J::Bool(true) => out.extend_from_slice(b"true"),
            J::Bool(false) => out.extend_from_slice(b"false"),
            J::Int(i) => jsonw::write_int(out, *i),
            J::UInt(u) => jsonw::write_int(out, *u),
            J::Float(f) => jsonw::write_f64(out, *f),
            J::Str(s) => jsonw::write_str(out, s),
            J::Arr(items) => {
                out.push(b'[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    item.write_json(out);
                }
                out.push(b']');
            }
            J::Floats(items) => {
                out.push(b'[');
                for (i, f) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    jsonw::write_f64(out, *f);
                }
                out.push(b']');
            }
            J::Obj(pairs) => {
                out.push(b'{');
                for (i, (k, v)) in pairs.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    jsonw::write_str(out, k);
                    out.push(b':');
                    v.write_json(out);
                }
                out.push(b'}');
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_key_order_and_borrows() {
        let body = br#"{"z": 1, "a": [1.5, -2, 18446744073709551615], "m": "x\"y", "n": null}"#;
        let J::Obj(pairs) = parse(body).unwrap() else {
            panic!()
        };
        let keys: Vec<&str> = pairs.iter().map(|(k, _)| k.as_ref()).collect();
        assert_eq!(keys, ["z", "a", "m", "n"]);
        assert!(matches!(pairs[0].0, Cow::Borrowed(_)));
        assert_eq!(
            pairs[1].1,
            J::Arr(vec![J::Float(1.5), J::Int(-2), J::UInt(u64::MAX)])
        );
        assert_eq!(parse(b"[0.5, 1e3]").unwrap(), J::Floats(vec![0.5, 1000.0]));
        assert_eq!(
            parse(b"[0.5, 1]").unwrap(),
            J::Arr(vec![J::Float(0.5), J::Int(1)])
        );
        assert_eq!(parse(b"[]").unwrap(), J::Arr(vec![]));
        let mut out = Vec::new();
        parse(b"[[0.25,-1e300],[]]").unwrap().write_json(&mut out);
        assert_eq!(out, b"[[0.25,-1e+300],[]]");
        let mut out = Vec::new();
        J::Obj(pairs).write_json(&mut out);
        assert_eq!(
            std::str::from_utf8(&out).unwrap(),
            r#"{"z":1,"a":[1.5,-2,18446744073709551615],"m":"x\"y","n":null}"#
        );
    }

    #[test]
    fn rejects_trailing_garbage() {
        let e = parse(b"[1] x").unwrap_err();
        assert!(e.to_string().contains("not valid JSON"), "{e}");
        assert!(parse(b" [1] \n").is_ok());
    }
}
