//! Tests of `json_parse.rs`: serde_json as the reference for what is valid, the standard
//! library's parser for correctly rounded floats.

use super::*;
use serde_json::Value;

fn to_value(j: &J<'_>) -> Value {
    match j {
        J::Null => Value::Null,
        J::Bool(b) => Value::Bool(*b),
        J::Int(i) => Value::from(*i),
        J::UInt(u) => Value::from(*u),
        J::Float(f) => Value::from(*f),
        J::Str(s) => Value::from(s.as_ref()),
        J::Arr(items) => Value::Array(items.iter().map(to_value).collect()),
        J::Floats(fs) => Value::Array(fs.iter().map(|f| Value::from(*f)).collect()),
        J::Obj(pairs) => Value::Object(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), to_value(v)))
                .collect(),
        ),
    }
}

#[test]
fn reads_what_serde_json_reads() {
    let docs = [
        "0",
        "-0",
        "7",
        "-7",
        "9223372036854775807",
        "9223372036854775808",
        "-9223372036854775808",
        "-9223372036854775809",
        "18446744073709551615",
        "18446744073709551616",
        "0.5",
        "-0.0",
        "1e3",
        "1E+3",
        "2.5e-3",
        "1e-400",
        "1.7976931348623157e308",
        "4.9e-324",
        "0.1",
        "0.30000000000000004",
        "3.141592653589793238462643383279",
        "1e22",
        "1e23",
        "9007199254740993",
        "0.000000000000000000000000001",
        "123456.789e-2",
        r#""""#,
        r#""plain""#,
        r#""q\"uote \\ \/ \b\f\n\r\t""#,
        r#""\u00e9\u2603\ud83e\udd80""#,
        "\"é☃🦀\"",
        "[]",
        "{}",
        " [ 1 , 2.5 , [ ] , { } ] ",
        "[0.5, 1.5, 2]",
        "[1, 0.5]",
        "[[0.25], [], [1e3, -2.5]]",
        r#"{"a": [1, {"b": null}], "c": true, "d": false, "e\u0041": "x"}"#,
        "[null, true, false, \"s\", -1e-7]",
    ];
    for doc in docs {
        let ours = parse(doc.as_bytes()).unwrap_or_else(|e| panic!("{doc}: {e}"));
        let theirs: Value = serde_json::from_str(doc).unwrap();
        assert_eq!(to_value(&ours), theirs, "{doc}");
    }
    // serde_json's default float reading is one ulp off on these; ours is correctly rounded.
    for text in ["123456789012345678901234", "9007199254740993.0"] {
        assert_eq!(
            parse(text.as_bytes()).unwrap(),
            J::Float(text.parse().unwrap()),
            "{text}"
        );
    }
    let deep_ok = format!("{}{}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
    assert!(parse(deep_ok.as_bytes()).is_ok());
}

#[test]
fn refuses_what_serde_json_refuses() {
    let deep = format!("{}{}", "[".repeat(MAX_DEPTH + 1), "]".repeat(MAX_DEPTH + 1));
    let mut docs: Vec<Vec<u8>> = [
        "",
        " ",
        "[",
        "]",
        "[1,]",
        "[1 2]",
        "[,1]",
        "{\"a\" 1}",
        "{\"a\":1,}",
        "{1:2}",
        "{\"a\":}",
        "tru",
        "nul",
        "fals",
        "01",
        "1.",
        ".5",
        "-",
        "-a",
        "1e",
        "1e+",
        "+1",
        "NaN",
        "Infinity",
        "1e400",
        "-1e400",
        "\"\\x\"",
        "\"\\u12\"",
        "\"\\u12g4\"",
        "\"a\nb\"",
        "\"a\tb\"",
        "\"\\ud800\"",
        "\"\\udc00\"",
        "\"\\ud800\\u0041\"",
        "\"open",
        "[1] x",
        "1 2",
        "{\"a\":1}}",
        "[\"\u{1}\"]",
        "'a'",
        "[1,,2]",
    ]
    .iter()
    .map(|d| d.as_bytes().to_vec())
    .collect();
    docs.push(deep.into_bytes());
    docs.push(b"\"\xff\"".to_vec());
    docs.push(b"[\"\xc3\"]".to_vec());
    for doc in &docs {
        assert!(
            serde_json::from_slice::<Value>(doc).is_err(),
            "serde_json reads {:?}",
            String::from_utf8_lossy(doc)
        );
        let e = parse(doc)
            .expect_err(&String::from_utf8_lossy(doc))
            .to_string();
        assert!(
            e.starts_with("the request body is not valid JSON: ") && e.contains(" at line "),
            "{e}"
        );
    }
    let e = parse(b"[1,\n  2,\n  x]").unwrap_err().to_string();
    assert!(e.ends_with("expected value at line 3 column 3"), "{e}");
}

#[test]
fn numbers_are_correctly_rounded() {
    // Decimal strings of 1..=20 significant digits and exponents across the f64 range,
    // against the standard library's correctly rounded parser.
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    for i in 0..200_000 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let digits = 1 + (x % 20) as usize;
        let mantissa = format!("{:020}", x % 10u64.pow(19) + (x >> 60));
        let m = &mantissa[20 - digits..];
        let point = (x >> 32) as usize % (digits + 1);
        let exp = ((x >> 40) % 80) as i32 - 40;
        let text = match i % 3 {
            0 => format!(
                "{}.{}e{exp}",
                &m[..point.max(1)],
                if point.max(1) < digits {
                    &m[point.max(1)..]
                } else {
                    "0"
                }
            ),
            1 => format!("-0.{m}"),
            _ => format!("{m}e-{}", exp.unsigned_abs()),
        };
        let text = text.trim_start_matches('0');
        let text = if text.starts_with('.') || text.starts_with('e') || text.is_empty() {
            format!("0{text}")
        } else {
            text.to_string()
        };
        let ours = match parse(text.as_bytes()) {
            Ok(J::Float(f)) => f,
            other => panic!("{text}: {other:?}"),
        };
        let expected: f64 = text.parse().unwrap();
        assert_eq!(ours.to_bits(), expected.to_bits(), "{text}");
    }
}
