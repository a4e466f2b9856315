//! Metric values: JSON number literals, rounding to significant digits like
//! arenahub.logpolicy.metrics.round_value, and Python's float repr.

// Rounded values keep decimal exponents in [-30, 29] (arenahub.logpolicy.metrics.round_value).
const MIN_ABS: f64 = 1e-30;
const MAX_ABS: f64 = 1e30;

/// A metric value: a float, a JSON number literal not yet rounded (finite, at most 40 digits,
/// a short exponent), or a rounded value as its decimal digits (0.d1d2... * 10^decpt).
#[derive(Clone, Copy)]
pub(crate) enum Num<'a> {
    Float(f64),
    Text(&'a [u8]),
    Digits { negative: bool, digits: [u8; 16], len: u8, decpt: i32 },
}

impl Num<'_> {
    /// The float Python holds: float(text) for a literal (an integer's -0 is 0.0).
    pub(crate) fn value(&self) -> f64 {
        match *self {
            Num::Float(v) => v,
            Num::Text(text) => {
                let v: f64 = std::str::from_utf8(text).ok().and_then(|t| t.parse().ok()).unwrap_or(f64::NAN);
                let is_int = !text.iter().any(|&b| matches!(b, b'.' | b'e' | b'E'));
                if is_int && v == 0.0 { 0.0 } else { v } // float(int('-0')) is 0.0
            }
            Num::Digits { negative, digits, len, decpt } => {
                let mut text = Vec::with_capacity(24);
                if negative {
                    text.push(b'-');
                }
                text.extend_from_slice(b"0.");
                text.extend_from_slice(&digits[..len as usize]);
                text.extend_from_slice(format!("e{decpt}").as_bytes());
                std::str::from_utf8(&text).ok().and_then(|t| t.parse().ok()).unwrap_or(f64::NAN)
            }
        }
    }

    pub(crate) fn into_owned(self) -> Num<'static> {
        match self {
            Num::Float(v) => Num::Float(v),
            Num::Text(_) => Num::Float(self.value()),
            Num::Digits { negative, digits, len, decpt } => Num::Digits { negative, digits, len, decpt },
        }
    }

    /// round_value(value, digits): from the literal's own digits where that provably gives
    /// the same result, else through the float.
    pub(crate) fn rounded(self, digits: usize) -> Num<'static> {
        if let Num::Text(text) = self {
            if let Some(rounded) = round_literal(text, digits) {
                return rounded;
            }
        }
        Num::Float(round_value(self.value(), digits))
    }

    /// Python's repr of the value (the JSON text json.dumps writes for it).
    pub(crate) fn write_repr(&self, out: &mut Vec<u8>) {
        match *self {
            Num::Digits { negative, digits, len, decpt } => {
                if negative {
                    out.push(b'-');
                }
                layout(&digits[..len as usize], decpt, out);
            }
            _ => float_repr(self.value(), out),
        }
    }
}

/// Rounds a JSON number literal to `keep` significant digits by its decimal digits. Python
/// rounds float(literal), which lies within 2^-53 of the literal (relative): both round alike
/// unless the dropped digits are within that of a midpoint. The first 14 - keep dropped
/// digits tell (at least 100 times that margin): '4' then all '9' or '5' then all '0' (or the
/// end) are left to the float path, as are more than 12 digits kept and exponents near the
/// +-1e30 clamp.
fn round_literal(text: &[u8], keep: usize) -> Option<Num<'static>> {
    if keep > 12 {
        return None;
    }
    let negative = text.first() == Some(&b'-');
    let body = &text[usize::from(negative)..];
    let (mantissa, exponent) = match body.iter().position(|&b| b == b'e' || b == b'E') {
        Some(k) => (&body[..k], std::str::from_utf8(&body[k + 1..]).ok()?.parse::<i32>().ok()?),
        None => (body, 0),
    };
    let (int_part, frac_part) = match mantissa.iter().position(|&b| b == b'.') {
        Some(k) => (&mantissa[..k], &mantissa[k + 1..]),
        None => (mantissa, &mantissa[..0]),
    };
    let mut decpt = int_part.len() as i32 + exponent;
    let mut all = int_part.iter().chain(frac_part.iter()).copied().skip_while(|&d| {
        decpt -= i32::from(d == b'0');
        d == b'0'
    });
    let mut digits = [b'0'; 16];
    let mut len = 0usize;
    for d in all.by_ref().take(keep) {
        digits[len] = d;
        len += 1;
    }
    if len == 0 {
        return Some(Num::Float(0.0)); // zero (of either sign) rounds to 0.0
    }
    let first = all.next().unwrap_or(b'0');
    if first == b'4' || first == b'5' {
        let filler = if first == b'4' { b'9' } else { b'0' };
        let mut next = all.chain(std::iter::repeat(b'0')).take(14 - keep - 1);
        if next.all(|d| d == filler) {
            return None; // within reach of the midpoint
        }
    }
    if first >= b'5' {
        let mut at = len;
        loop {
            if at == 0 {
                digits[0] = b'1';
                len = 1;
                decpt += 1;
                break;
            }
            at -= 1;
            if digits[at] == b'9' {
                digits[at] = b'0';
            } else {
                digits[at] += 1;
                break;
            }
        }
    }
    while len > 1 && digits[len - 1] == b'0' {
        len -= 1;
    }
    if !(-27..=28).contains(&decpt) {
        return None; // near round_value's clamp to 0 and +-inf: the float path decides
    }
    Some(Num::Digits { negative, digits, len: len as u8, decpt })
}

/// A formatting buffer on the stack (f64 text is at most a few dozen bytes).
pub(crate) struct StackText {
    buf: [u8; 64],
    len: usize,
}

impl StackText {
    pub(crate) fn of(args: std::fmt::Arguments) -> Self {
        let mut text = StackText { buf: [0; 64], len: 0 };
        let _ = std::fmt::write(&mut text, args);
        text
    }

    pub(crate) fn as_str(&self) -> &str {
        std::str::from_utf8(&self.buf[..self.len]).unwrap_or("")
    }
}

impl std::fmt::Write for StackText {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        let end = self.len + s.len();
        if end > self.buf.len() {
            return Err(std::fmt::Error);
        }
        self.buf[self.len..end].copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

/// `value` kept to `digits` significant digits and exponents in [-30, 29] (round_value).
pub(crate) fn round_value(value: f64, digits: usize) -> f64 {
    if value.is_nan() || value.is_infinite() {
        return value;
    }
    if value == 0.0 {
        return 0.0;
    }
    let text = StackText::of(format_args!("{:.*e}", digits - 1, value));
    let rounded: f64 = text.as_str().parse().unwrap_or(value);
    if rounded.abs() < MIN_ABS {
        return 0.0;
    }
    if rounded.abs() >= MAX_ABS {
        return f64::INFINITY.copysign(rounded);
    }
    rounded
}

/// Python's repr of a float (shortest round-trip digits, correctly rounded among those).
pub(crate) fn float_repr(v: f64, out: &mut Vec<u8>) {
    if v.is_nan() {
        out.extend_from_slice(b"NaN");
        return;
    }
    if v.is_infinite() {
        out.extend_from_slice(if v > 0.0 { b"Infinity" } else { b"-Infinity" });
        return;
    }
    if v == 0.0 {
        out.extend_from_slice(if v.is_sign_negative() { b"-0.0" } else { b"0.0" });
        return;
    }
    let mut text = StackText::of(format_args!("{:e}", v.abs()));
    let (mantissa, _) = text.as_str().split_once('e').unwrap_or(("0", "0"));
    let count = mantissa.bytes().filter(u8::is_ascii_digit).count();
    if count >= 16 {
        // Up to 15 digits name one double at most; beyond, Python picks the correctly rounded
        // string among equally short ones, which the shortest algorithm may not.
        let exact = StackText::of(format_args!("{:.*e}", count - 1, v.abs()));
        if exact.as_str().parse::<f64>().ok() == Some(v.abs()) {
            text = exact;
        }
    }
    let (mantissa, exponent) = text.as_str().split_once('e').unwrap_or(("0", "0"));
    let exponent: i32 = exponent.parse().unwrap_or(0);
    let mut digits = [0u8; 24];
    let mut count = 0;
    for d in mantissa.bytes().filter(u8::is_ascii_digit) {
        digits[count] = d;
        count += 1;
    }
    while count > 1 && digits[count - 1] == b'0' {
        count -= 1;
    }
    if v < 0.0 {
        out.push(b'-');
    }
    layout(&digits[..count], exponent + 1, out);
}

/// repr's layout of 0.digits * 10^decpt (digits without trailing zeros): positional from
/// 1e-4 up to 1e16, else scientific with a signed, at least two-digit exponent.
fn layout(digits: &[u8], decpt: i32, out: &mut Vec<u8>) {
    if decpt <= -4 || decpt > 16 {
        out.push(digits[0]);
        if digits.len() > 1 {
            out.push(b'.');
            out.extend_from_slice(&digits[1..]);
        }
        let e = decpt - 1;
        out.push(b'e');
        out.push(if e < 0 { b'-' } else { b'+' });
        let e = e.unsigned_abs();
        if e < 10 {
            out.push(b'0');
        }
        out.extend_from_slice(StackText::of(format_args!("{e}")).as_str().as_bytes());
    } else if decpt <= 0 {
        out.extend_from_slice(b"0.");
        out.extend(std::iter::repeat_n(b'0', (-decpt) as usize));
        out.extend_from_slice(digits);
    } else if decpt as usize >= digits.len() {
        out.extend_from_slice(digits);
        out.extend(std::iter::repeat_n(b'0', decpt as usize - digits.len()));
        out.extend_from_slice(b".0");
    } else {
        out.extend_from_slice(&digits[..decpt as usize]);
        out.push(b'.');
        out.extend_from_slice(&digits[decpt as usize..]);
    }
}

