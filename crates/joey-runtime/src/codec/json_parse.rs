//! The request JSON parser: bytes straight to [`J`], RFC 8259 strict (what serde_json accepts,
//! with the same 128-level nesting limit and "number out of range" for floats beyond f64).
//!
//! Request bodies are mostly numbers, so numbers take a fast path: up to 19 significant digits
//! are gathered into an integer and, when it and the power of ten are exact in an f64 (mantissa
//! below 2^53, power at most 22), one multiply or divide gives the correctly rounded value
//! (Clinger's fast path). Anything else goes to the standard library's correctly rounded
//! parser. Strings without escapes are borrowed from the body.

use std::borrow::Cow;

use super::error::CodecError;
use super::json_dom::J;

const MAX_DEPTH: usize = 128;

/// Exact powers of ten in an f64.
const POW10: [f64; 23] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
    1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
];

/// Parses a whole body (surrounding whitespace allowed, nothing else).
pub(crate) fn parse(body: &[u8]) -> Result<J<'_>, CodecError> {
    let mut p = Parser {
        s: body,
        i: 0,
        depth: 0,
    };
    let v = p.value().and_then(|v| {
        p.ws();
        if p.i < p.s.len() {
            Err("trailing characters")
        } else {
            Ok(v)
        }
    });
    v.map_err(|msg| {
        let at = p.i.min(body.len());
        let line = 1 + body[..at].iter().filter(|&&b| b == b'\n').count();
        let column = at
            - body[..at]
                .iter()
                .rposition(|&b| b == b'\n')
                .map_or(0, |n| n + 1)
            + 1;
        CodecError::bad(format!(
            "the request body is not valid JSON: {msg} at line {line} column {column}"
        ))
    })
}

type R<T> = Result<T, &'static str>;

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
    depth: usize,
}

impl<'a> Parser<'a> {
    #[inline]
    fn ws(&mut self) {
        while let Some(b' ' | b'\n' | b'\r' | b'\t') = self.s.get(self.i) {
            self.i += 1;
        }
    }

    #[inline]
    fn peek(&mut self) -> Option<u8> {
        self.ws();
        self.s.get(self.i).copied()
    }

    fn value(&mut self) -> R<J<'a>> {
        match self.peek() {
            None => Err("EOF while parsing a value"),
            Some(b'{') => self.nested(Self::object),
            Some(b'[') => self.nested(Self::array),
            Some(b'"') => Ok(J::Str(self.string()?)),
            Some(b't') => self.literal(b"true", J::Bool(true)),
            Some(b'f') => self.literal(b"false", J::Bool(false)),
            Some(b'n') => self.literal(b"null", J::Null),
            Some(b'-' | b'0'..=b'9') => self.number(),
            Some(_) => Err("expected value"),
        }
    }

    fn nested(&mut self, f: fn(&mut Self) -> R<J<'a>>) -> R<J<'a>> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err("recursion limit exceeded");
        }
        self.i += 1;
        let v = f(self);
        self.depth -= 1;
        v
    }

    fn literal(&mut self, word: &[u8], v: J<'a>) -> R<J<'a>> {
        if self.s[self.i..].starts_with(word) {
            self.i += word.len();
            Ok(v)
        } else {
            Err("expected value")
        }
    }

    /// After `[`. A run of float literals from the first element on is kept as `Floats`.
    fn array(&mut self) -> R<J<'a>> {
        if self.peek() == Some(b']') {
            self.i += 1;
            return Ok(J::Arr(Vec::new()));
        }
        let mut floats: Vec<f64> = Vec::new();
        let mut items: Vec<J<'a>> = Vec::new();
        loop {
            match self.value()? {
                J::Float(f) if items.is_empty() => floats.push(f),
                v => {
                    if items.is_empty() {
                        items.reserve(floats.len() + 8);
                        items.extend(floats.drain(..).map(J::Float));
                    }
                    items.push(v);
                }
            }
            match self.peek() {
                Some(b',') => self.i += 1,
                Some(b']') => {
                    self.i += 1;
                    return Ok(if items.is_empty() {
                        J::Floats(floats)
                    } else {
                        J::Arr(items)
                    });
                }
                None => return Err("EOF while parsing a list"),
                Some(_) => return Err("expected `,` or `]`"),
            }
        }
    }

    /// After `{`.
    fn object(&mut self) -> R<J<'a>> {
        let mut pairs = Vec::new();
        if self.peek() == Some(b'}') {
            self.i += 1;
            return Ok(J::Obj(pairs));
        }
        loop {
            match self.peek() {
                Some(b'"') => {}
                None => return Err("EOF while parsing an object"),
                Some(_) => return Err("key must be a string"),
            }
            let key = self.string()?;
            match self.peek() {
                Some(b':') => self.i += 1,
                None => return Err("EOF while parsing an object"),
                Some(_) => return Err("expected `:`"),
            }
            pairs.push((key, self.value()?));
            match self.peek() {
                Some(b',') => self.i += 1,
                Some(b'}') => {
                    self.i += 1;
                    return Ok(J::Obj(pairs));
                }
                None => return Err("EOF while parsing an object"),
                Some(_) => return Err("expected `,` or `}`"),
            }
        }
    }

    /// At `"`: the string, borrowed when it has no escapes.
    fn string(&mut self) -> R<Cow<'a, str>> {
        self.i += 1;
        let start = self.i;
        loop {
            match self.s.get(self.i) {
                None => return Err("EOF while parsing a string"),
                Some(b'"') => {
                    let raw = &self.s[start..self.i];
                    self.i += 1;
                    return std::str::from_utf8(raw)
                        .map(Cow::Borrowed)
                        .map_err(|_| "invalid unicode in a string");
                }
                Some(b'\\') => break,
                Some(0..=0x1f) => {
                    return Err("control character (\\u0000-\\u001F) found while parsing a string")
                }
                Some(_) => self.i += 1,
            }
        }
        let mut out: Vec<u8> = self.s[start..self.i].to_vec();
        loop {
            match self.s.get(self.i) {
                None => return Err("EOF while parsing a string"),
                Some(b'"') => {
                    self.i += 1;
                    return String::from_utf8(out)
                        .map(Cow::Owned)
                        .map_err(|_| "invalid unicode in a string");
                }
                Some(b'\\') => {
                    self.i += 1;
                    self.escape(&mut out)?;
                }
                Some(0..=0x1f) => {
                    return Err("control character (\\u0000-\\u001F) found while parsing a string")
                }
                Some(&b) => {
                    out.push(b);
                    self.i += 1;
                }
            }
        }
    }

    /// After a backslash.
    fn escape(&mut self, out: &mut Vec<u8>) -> R<()> {
        let c = *self.s.get(self.i).ok_or("EOF while parsing a string")?;
        self.i += 1;
        let simple = match c {
            b'"' => b'"',
            b'\\' => b'\\',
            b'/' => b'/',
            b'b' => 0x08,
            b'f' => 0x0c,
            b'n' => b'\n',
            b'r' => b'\r',
            b't' => b'\t',
            b'u' => {
                let mut code = self.hex4()?;
                if (0xD800..0xDC00).contains(&code) {
                    if !self.s[self.i..].starts_with(b"\\u") {
                        return Err("lone leading surrogate in hex escape");
                    }
                    self.i += 2;
                    let low = self.hex4()?;
                    if !(0xDC00..0xE000).contains(&low) {
                        return Err("lone leading surrogate in hex escape");
                    }
                    code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00);
                } else if (0xDC00..0xE000).contains(&code) {
                    return Err("lone trailing surrogate in hex escape");
                }
                let ch = char::from_u32(code).ok_or("invalid unicode code point")?;
                out.extend_from_slice(ch.encode_utf8(&mut [0; 4]).as_bytes());
                return Ok(());
            }
            _ => return Err("invalid escape"),
        };
        out.push(simple);
        Ok(())
    }

    fn hex4(&mut self) -> R<u32> {
        let digits = self
            .s
            .get(self.i..self.i + 4)
            .ok_or("EOF while parsing a string")?;
        let mut v = 0u32;
        for &d in digits {
            let x = (d as char).to_digit(16).ok_or("invalid escape")?;
            v = v * 16 + x;
        }
        self.i += 4;
        Ok(v)
    }

    /// At `-` or a digit.
    fn number(&mut self) -> R<J<'a>> {
        let start = self.i;
        let neg = self.s[self.i] == b'-';
        if neg {
            self.i += 1;
        }
        // All digits go into `mantissa` until it would overflow; later ones are `lost`.
        let (mut mantissa, mut lost, mut exp10) = (0u64, false, 0i32);
        let mut digit = |m: &mut u64, d: u8| match m
            .checked_mul(10)
            .and_then(|m| m.checked_add(u64::from(d - b'0')))
        {
            Some(v) if !lost => {
                *m = v;
                true
            }
            _ => {
                lost = true;
                false
            }
        };
        match self.s.get(self.i) {
            Some(b'0') => self.i += 1,
            Some(b'1'..=b'9') => {
                while let Some(&d @ b'0'..=b'9') = self.s.get(self.i) {
                    if !digit(&mut mantissa, d) {
                        exp10 += 1;
                    }
                    self.i += 1;
                }
            }
            _ => return Err("invalid number"),
        }
        let mut is_float = false;
        if self.s.get(self.i) == Some(&b'.') {
            is_float = true;
            self.i += 1;
            let frac_start = self.i;
            while let Some(&d @ b'0'..=b'9') = self.s.get(self.i) {
                if digit(&mut mantissa, d) {
                    exp10 -= 1;
                }
                self.i += 1;
            }
            if self.i == frac_start {
                return Err("invalid number");
            }
        }
        if let Some(b'e' | b'E') = self.s.get(self.i) {
            is_float = true;
            self.i += 1;
            let exp_neg = self.s.get(self.i) == Some(&b'-');
            if let Some(b'-' | b'+') = self.s.get(self.i) {
                self.i += 1;
            }
            let exp_start = self.i;
            let mut e: i32 = 0;
            while let Some(&d @ b'0'..=b'9') = self.s.get(self.i) {
                e = e.saturating_mul(10).saturating_add(i32::from(d - b'0'));
                self.i += 1;
            }
            if self.i == exp_start {
                return Err("invalid number");
            }
            exp10 = exp10.saturating_add(if exp_neg { -e } else { e });
        }
        if !is_float && !lost {
            if !neg {
                return Ok(i64::try_from(mantissa).map_or(J::UInt(mantissa), J::Int));
            }
            if mantissa == 0 {
                return Ok(J::Float(-0.0)); // as serde_json reads `-0`
            }
            if mantissa <= 1 << 63 {
                return Ok(J::Int((mantissa as i64).wrapping_neg()));
            }
        }
        let v = if !lost && mantissa < (1 << 53) && exp10.unsigned_abs() <= 22 {
            let m = mantissa as f64;
            let v = if exp10 >= 0 {
                m * POW10[exp10 as usize]
            } else {
                m / POW10[exp10.unsigned_abs() as usize]
            };
            if neg {
                -v
            } else {
                v
            }
        } else {
            // More digits than a u64 holds, or a power of ten an f64 does not hold exactly.
            let text = std::str::from_utf8(&self.s[start..self.i]).map_err(|_| "invalid number")?;
            text.parse::<f64>().map_err(|_| "invalid number")?
        };
        if v.is_finite() {
            // Integers beyond i64/u64 are floats, as serde_json reads them.
            Ok(J::Float(v))
        } else {
            Err("number out of range")
        }
    }
}

#[cfg(test)]
#[path = "json_parse_tests.rs"]
mod tests;
