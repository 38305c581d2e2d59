//! A minimal JSON document model for request decoding.
//!
//! Unlike `serde_json::Value` it keeps object keys in document order (whatever serde_json's
//! features are) and borrows strings from the request body when they contain no escapes.

use std::borrow::Cow;
use std::fmt;

use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};

use super::error::CodecError;
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

/// Parses a whole body (trailing whitespace allowed, nothing else).
pub(crate) fn parse(body: &[u8]) -> Result<J<'_>, CodecError> {
    let mut de = serde_json::Deserializer::from_slice(body);
    let v = J::deserialize(&mut de)
        .and_then(|v| de.end().map(|()| v))
        .map_err(|e| CodecError::bad(format!("the request body is not valid JSON: {e}")))?;
    Ok(v)
}

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

struct JVisitor;

impl<'de> Visitor<'de> for JVisitor {
    type Value = J<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<J<'de>, E> {
        Ok(J::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<J<'de>, E> {
        Ok(J::Int(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<J<'de>, E> {
        Ok(match i64::try_from(v) {
            Ok(i) => J::Int(i),
            Err(_) => J::UInt(v),
        })
    }
    fn visit_f64<E>(self, v: f64) -> Result<J<'de>, E> {
        Ok(J::Float(v))
    }
    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<J<'de>, E> {
        Ok(J::Str(Cow::Borrowed(v)))
    }
    fn visit_str<E>(self, v: &str) -> Result<J<'de>, E> {
        Ok(J::Str(Cow::Owned(v.to_owned())))
    }
    fn visit_string<E>(self, v: String) -> Result<J<'de>, E> {
        Ok(J::Str(Cow::Owned(v)))
    }
    fn visit_unit<E>(self) -> Result<J<'de>, E> {
        Ok(J::Null)
    }
    fn visit_none<E>(self) -> Result<J<'de>, E> {
        Ok(J::Null)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<J<'de>, A::Error> {
        let hint = seq.size_hint().unwrap_or(0).min(4096);
        // Float literals go straight into a `Vec<f64>` until the first other element.
        let mut floats: Vec<f64> = Vec::with_capacity(hint);
        let first_other = loop {
            match seq.next_element::<J<'de>>()? {
                Some(J::Float(f)) => floats.push(f),
                Some(other) => break other,
                None if floats.is_empty() => return Ok(J::Arr(Vec::new())),
                None => return Ok(J::Floats(floats)),
            }
        };
        let mut items = Vec::with_capacity(hint.max(floats.len() + 1));
        items.extend(floats.into_iter().map(J::Float));
        items.push(first_other);
        while let Some(item) = seq.next_element::<J<'de>>()? {
            items.push(item);
        }
        Ok(J::Arr(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<J<'de>, A::Error> {
        let mut pairs = Vec::with_capacity(map.size_hint().unwrap_or(0).min(256));
        while let Some(Key(k)) = map.next_key::<Key<'de>>()? {
            let v = map.next_value::<J<'de>>()?;
            pairs.push((k, v));
        }
        Ok(J::Obj(pairs))
    }
}

impl<'de> Deserialize<'de> for J<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(JVisitor)
    }
}

/// An object key, borrowed from the input when it has no escapes.
struct Key<'a>(Cow<'a, str>);

struct KeyVisitor;

impl<'de> Visitor<'de> for KeyVisitor {
    type Value = Key<'de>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string key")
    }
    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Key<'de>, E> {
        Ok(Key(Cow::Borrowed(v)))
    }
    fn visit_str<E>(self, v: &str) -> Result<Key<'de>, E> {
        Ok(Key(Cow::Owned(v.to_owned())))
    }
    fn visit_string<E>(self, v: String) -> Result<Key<'de>, E> {
        Ok(Key(Cow::Owned(v)))
    }
}

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_str(KeyVisitor)
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
