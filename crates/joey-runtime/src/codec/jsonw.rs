//! Low-level JSON writing primitives shared by the encoders: escaped strings (the same escapes
//! serde_json emits), shortest-representation floats (`zmij`: the digits `ryu` gives, about twice
//! as fast; large exponents are written `e+N`, as Python writes them) and integers (`itoa`).

/// Escape table: 0 = emit as is; otherwise the character after the backslash
/// (`u` = `\u00XX`).
const ESCAPE: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut i = 0;
    while i < 0x20 {
        t[i] = b'u';
        i += 1;
    }
    t[0x08] = b'b';
    t[0x09] = b't';
    t[0x0a] = b'n';
    t[0x0c] = b'f';
    t[0x0d] = b'r';
    t[b'"' as usize] = b'"';
    t[b'\\' as usize] = b'\\';
    t
};

const HEX: &[u8; 16] = b"0123456789abcdef";

/// Writes `s` as a quoted, escaped JSON string.
#[inline]
pub(crate) fn write_str(out: &mut Vec<u8>, s: &str) {
    out.push(b'"');
    write_str_contents(out, s);
    out.push(b'"');
}

/// Writes the escaped contents of a JSON string (no quotes).
pub(crate) fn write_str_contents(out: &mut Vec<u8>, s: &str) {
    let bytes = s.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let esc = ESCAPE[b as usize];
        if esc == 0 {
            continue;
        }
        out.extend_from_slice(&bytes[start..i]);
        out.push(b'\\');
        out.push(esc);
        if esc == b'u' {
            out.extend_from_slice(b"00");
            out.push(HEX[(b >> 4) as usize]);
            out.push(HEX[(b & 0xf) as usize]);
        }
        start = i + 1;
    }
    out.extend_from_slice(&bytes[start..]);
}

/// Shortest float32 representation (`0.0014974177`); NaN and infinities become `null`.
#[inline]
pub(crate) fn write_f32(out: &mut Vec<u8>, v: f32) {
    if v.is_finite() {
        let mut buf = zmij::Buffer::new();
        out.extend_from_slice(buf.format_finite(v).as_bytes());
    } else {
        out.extend_from_slice(b"null");
    }
}

/// Shortest float64 representation; NaN and infinities become `null`.
#[inline]
pub(crate) fn write_f64(out: &mut Vec<u8>, v: f64) {
    if v.is_finite() {
        let mut buf = zmij::Buffer::new();
        out.extend_from_slice(buf.format_finite(v).as_bytes());
    } else {
        out.extend_from_slice(b"null");
    }
}

/// Any integer, via `itoa`.
#[inline]
pub(crate) fn write_int<I: itoa::Integer>(out: &mut Vec<u8>, v: I) {
    let mut buf = itoa::Buffer::new();
    out.extend_from_slice(buf.format(v).as_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &str) -> String {
        let mut out = Vec::new();
        write_str(&mut out, v);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn escapes_like_serde_json() {
        for v in [
            "plain",
            "q\"uote",
            "back\\slash",
            "nl\n\t\r\u{8}\u{c}",
            "\u{1}\u{1f}",
            "é☃🦀",
            "",
        ] {
            assert_eq!(s(v), serde_json::to_string(v).unwrap(), "{v:?}");
        }
    }

    #[test]
    fn floats_are_shortest() {
        let mut out = Vec::new();
        write_f32(&mut out, 0.001_497_417_7_f32);
        out.push(b' ');
        write_f32(&mut out, f32::NAN);
        out.push(b' ');
        write_f64(&mut out, f64::INFINITY);
        out.push(b' ');
        write_f64(&mut out, 0.993_003_249_168_396);
        out.push(b' ');
        write_f32(&mut out, 0.993_003_249_168_396_f64 as f32);
        out.push(b' ');
        write_int(&mut out, -42i64);
        write_int(&mut out, u64::MAX);
        out.push(b' ');
        write_f64(&mut out, 1e300);
        out.push(b' ');
        write_f64(&mut out, 1.5e-7);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "0.0014974177 null null 0.993003249168396 0.99300325 -4218446744073709551615 1e+300 1.5e-7"
        );
    }
}
