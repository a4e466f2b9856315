//! Metric lines: the common well-formed shape parsed natively, values rounded and re-printed
//! exactly as arenahub.core.metricline.format_metric_line prints them (Python's float repr).
//!
//! `parse` accepts only what it fully understands (an object of numbers with an integer step,
//! names in the metric-name format); anything else returns None and the caller asks Python's
//! parse_metric_line, so every malformed or unusual line gets the reference verdict.

pub(crate) const METRIC_PREFIX: &[u8] = b"@@arenahub.metric ";
const MAX_LINE_CHARS: usize = 4096;
const MAX_METRICS_PER_LINE: usize = 32;
const MAX_STEP: u64 = (1u64 << 53) - 1;

use std::borrow::Cow;

pub(crate) use crate::number::{Num, StackText};

/// One metric line's step and name -> value pairs, in the line's order (at most 32 pairs;
/// names borrow from the line where they hold no escapes).
pub(crate) struct Point<'a> {
    pub(crate) step: u64,
    pub(crate) values: Vec<(Cow<'a, str>, Num<'a>)>,
}

impl Point<'_> {
    pub(crate) fn into_owned(self) -> Point<'static> {
        let values = self.values.into_iter().map(|(n, v)| (Cow::Owned(n.into_owned()), v.into_owned())).collect();
        Point { step: self.step, values }
    }
}

struct Cursor<'a> {
    s: &'a [u8],
    i: usize,
}

impl<'a> Cursor<'a> {
    fn ws(&mut self) {
        while self.i < self.s.len() && matches!(self.s[self.i], b' ' | b'\t' | b'\n' | b'\r') {
            self.i += 1;
        }
    }

    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn eat(&mut self, b: u8) -> bool {
        if self.peek() == Some(b) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    fn digits(&mut self) -> usize {
        let start = self.i;
        while self.i < self.s.len() && self.s[self.i].is_ascii_digit() {
            self.i += 1;
        }
        self.i - start
    }

    /// A JSON string without surrogate escapes (None: not one, or one Python must decode).
    fn string(&mut self) -> Option<Cow<'a, str>> {
        if !self.eat(b'"') {
            return None;
        }
        let start = self.i;
        let plain_end = self.s[start..].iter().position(|&b| b == b'"' || b == b'\\' || b < 0x20).map(|k| start + k)?;
        if self.s[plain_end] == b'"' {
            self.i = plain_end + 1;
            return std::str::from_utf8(&self.s[start..plain_end]).ok().map(Cow::Borrowed);
        }
        let mut out: Vec<u8> = self.s[start..plain_end].to_vec();
        self.i = plain_end;
        loop {
            let b = *self.s.get(self.i)?;
            self.i += 1;
            match b {
                b'"' => return String::from_utf8(out).ok().map(Cow::Owned),
                b'\\' => {
                    let e = *self.s.get(self.i)?;
                    self.i += 1;
                    let c = match e {
                        b'"' => '"',
                        b'\\' => '\\',
                        b'/' => '/',
                        b'b' => '\u{8}',
                        b'f' => '\u{c}',
                        b'n' => '\n',
                        b'r' => '\r',
                        b't' => '\t',
                        b'u' => {
                            let hex = self.s.get(self.i..self.i + 4)?;
                            if !hex.iter().all(|h| h.is_ascii_hexdigit()) {
                                return None;
                            }
                            self.i += 4;
                            let code = u32::from_str_radix(std::str::from_utf8(hex).ok()?, 16).ok()?;
                            char::from_u32(code)? // surrogates: None, Python decides
                        }
                        _ => return None,
                    };
                    let mut buf = [0u8; 4];
                    out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                }
                0..=0x1f => return None,
                _ => out.push(b),
            }
        }
    }
}

enum Number {
    Constant(f64),              // NaN, Infinity, -Infinity
    Int(Option<u64>, bool),     // magnitude (when it fits in 18 digits), negative
    Float,                      // a literal with a fraction or an exponent
}

/// A JSON number or NaN/Infinity/-Infinity at the cursor, as Python's json module reads it.
fn number(c: &mut Cursor) -> Option<Number> {
    let rest = &c.s[c.i..];
    for (word, value) in [(&b"NaN"[..], f64::NAN), (b"Infinity", f64::INFINITY), (b"-Infinity", f64::NEG_INFINITY)] {
        if rest.starts_with(word) {
            c.i += word.len();
            return Some(Number::Constant(value));
        }
    }
    let start = c.i;
    let negative = c.eat(b'-');
    match c.peek() {
        Some(b'0') => c.i += 1,
        Some(b'1'..=b'9') => {
            c.digits();
        }
        _ => return None,
    }
    let int_end = c.i;
    let mut is_float = false;
    if c.peek() == Some(b'.') && c.s.get(c.i + 1).is_some_and(|b| b.is_ascii_digit()) {
        c.i += 1;
        c.digits();
        is_float = true;
    }
    if matches!(c.peek(), Some(b'e' | b'E')) {
        let e_start = c.i;
        c.i += 1;
        if matches!(c.peek(), Some(b'+' | b'-')) {
            c.i += 1;
        }
        if c.digits() > 0 {
            is_float = true;
        } else {
            c.i = e_start;
        }
    }
    if is_float {
        return Some(Number::Float);
    }
    let magnitude = &c.s[start + usize::from(negative)..int_end];
    let fits = magnitude.len() <= 18;
    let m = fits.then(|| magnitude.iter().fold(0u64, |m, &d| m * 10 + u64::from(d - b'0')));
    Some(Number::Int(m, negative))
}

/// The core's name rule (arenahub.core.metricline.METRIC_NAME_PATTERN), without the trailing
/// newline Python's `$` would also accept (such names are left to Python).
pub(crate) fn is_metric_name(name: &str) -> bool {
    let b = name.as_bytes();
    !b.is_empty()
        && b.len() <= 64
        && b[0].is_ascii_alphabetic()
        && b[1..].iter().all(|&c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'/' | b'-'))
}

/// The point of a well-formed metric line (text after nothing: the whole line, prefix included);
/// None when Python must decide (malformed, or a shape this parser leaves to the reference).
pub(crate) fn parse(line: &[u8]) -> Option<Point<'_>> {
    if line.len() > MAX_LINE_CHARS || !line.starts_with(METRIC_PREFIX) {
        return None;
    }
    let mut c = Cursor { s: &line[METRIC_PREFIX.len()..], i: 0 };
    c.ws();
    if !c.eat(b'{') {
        return None;
    }
    let mut step: Option<u64> = None;
    let mut step_is_int = false;
    let mut values: Vec<(Cow<str>, Num)> = Vec::with_capacity(8);
    c.ws();
    loop {
        let key = c.string()?;
        c.ws();
        if !c.eat(b':') {
            return None;
        }
        c.ws();
        let value_start = c.i;
        let value = number(&mut c)?;
        let value_text = &c.s[value_start..c.i];
        if key == "step" {
            (step, step_is_int) = match value {
                Number::Int(Some(m), negative) => (Some(if negative && m > 0 { u64::MAX } else { m }), true),
                _ => (None, false),
            };
        } else {
            let v = match value {
                Number::Constant(v) => Num::Float(v),
                // float(int) raises beyond the float range: such lines are Python's to judge.
                Number::Int(..) if value_text.len() > 40 => return None,
                Number::Float if value_text.len() > 64 => Num::Float(std::str::from_utf8(value_text).ok()?.parse().ok()?),
                Number::Int(..) | Number::Float => Num::Text(value_text),
            };
            match values.iter_mut().find(|(name, _)| *name == key) {
                Some(slot) => slot.1 = v,
                None => values.push((key, v)),
            }
            if values.len() > MAX_METRICS_PER_LINE {
                return None;
            }
        }
        c.ws();
        if c.eat(b',') {
            c.ws();
            continue;
        }
        if !c.eat(b'}') {
            return None;
        }
        break;
    }
    c.ws();
    if c.i != c.s.len() || !step_is_int || values.is_empty() {
        return None;
    }
    let step = step?;
    if step > MAX_STEP || !values.iter().all(|(name, _)| is_metric_name(name)) {
        return None;
    }
    Some(Point { step, values })
}

/// A JSON string as Python's json.dumps writes it (ensure_ascii).
fn json_string(s: &str, out: &mut Vec<u8>) {
    out.push(b'"');
    for ch in s.chars() {
        match ch {
            '"' => out.extend_from_slice(b"\\\""),
            '\\' => out.extend_from_slice(b"\\\\"),
            '\n' => out.extend_from_slice(b"\\n"),
            '\r' => out.extend_from_slice(b"\\r"),
            '\t' => out.extend_from_slice(b"\\t"),
            '\u{8}' => out.extend_from_slice(b"\\b"),
            '\u{c}' => out.extend_from_slice(b"\\f"),
            ' '..='~' => out.push(ch as u8),
            _ => {
                let mut units = [0u16; 2];
                for unit in ch.encode_utf16(&mut units) {
                    out.extend_from_slice(format!("\\u{:04x}", unit).as_bytes());
                }
            }
        }
    }
    out.push(b'"');
}

/// format_metric_line(step, values): the prefix and compact JSON.
pub(crate) fn format_line(step: u64, values: &[(Cow<str>, Num)], out: &mut Vec<u8>) {
    out.extend_from_slice(METRIC_PREFIX);
    out.extend_from_slice(b"{\"step\":");
    out.extend_from_slice(StackText::of(format_args!("{step}")).as_str().as_bytes());
    for (name, value) in values {
        out.push(b',');
        json_string(name, out);
        out.push(b':');
        value.write_repr(out);
    }
    out.push(b'}');
}
