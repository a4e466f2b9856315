//! Tokens of a line: numbers, number lists, plain words and random-looking fragments, and
//! the data-only verdict the split-payload window counts.

use crate::rules::{Params, CLASSES, C_ALNUM, C_DIGIT, C_HEX, KIND_NUMBERS};

pub(crate) fn skip_digits(t: &[u8], mut i: usize) -> usize {
    while i < t.len() && t[i].is_ascii_digit() {
        i += 1;
    }
    i
}

/// Python's `[-+]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?`, in full.
pub(crate) fn is_decimal(t: &[u8]) -> bool {
    let mut i = 0;
    if i < t.len() && (t[i] == b'-' || t[i] == b'+') {
        i += 1;
    }
    let digits_end = skip_digits(t, i);
    if digits_end > i {
        i = digits_end;
        if i < t.len() && t[i] == b'.' {
            i = skip_digits(t, i + 1);
        }
    } else if i < t.len() && t[i] == b'.' {
        let frac_end = skip_digits(t, i + 1);
        if frac_end == i + 1 {
            return false;
        }
        i = frac_end;
    } else {
        return false;
    }
    if i < t.len() && (t[i] == b'e' || t[i] == b'E') {
        let mut j = i + 1;
        if j < t.len() && (t[j] == b'-' || t[j] == b'+') {
            j += 1;
        }
        let exp_end = skip_digits(t, j);
        if exp_end > j {
            i = exp_end;
        }
    }
    i == t.len()
}

pub(crate) fn is_number(t: &[u8]) -> bool {
    if is_decimal(t) {
        return true;
    }
    if t.len() >= 3 && t[0] == b'0' && (t[1] == b'x' || t[1] == b'X') && t[2..].iter().all(|b| b.is_ascii_hexdigit()) {
        return true;
    }
    (1..=2).contains(&t.len()) && t.iter().all(|b| b.is_ascii_hexdigit())
}

pub(crate) fn is_plain_word(t: &[u8]) -> bool {
    if t.len() < 2 || !t.iter().all(|b| b.is_ascii_alphabetic()) {
        return false;
    }
    if !t.iter().any(|b| b"aeiouyAEIOUY".contains(b)) {
        return false;
    }
    let all_lower = t.iter().all(|b| b.is_ascii_lowercase());
    let all_upper = t.iter().all(|b| b.is_ascii_uppercase());
    let title = t[0].is_ascii_uppercase() && t[1..].iter().all(|b| b.is_ascii_lowercase());
    all_lower || all_upper || title
}

pub(crate) fn looks_random(t: &[u8]) -> bool {
    if is_plain_word(t) {
        return false;
    }
    let mut pairs = 0u32;
    let mut switches = 0u32;
    let mut previous = 0u8;
    let mut runs = 0u32;
    let mut last_run = 0u8;
    let (mut all_hex, mut has_digit, mut has_letter) = (true, false, false);
    for &b in t {
        let cls = CLASSES[b as usize] & C_ALNUM;
        if cls != 0 && previous != 0 {
            pairs += 1;
            if cls != previous {
                switches += 1;
            }
        }
        if cls != 0 {
            // Letters of either case count as one kind, digits as the other.
            let kind = if cls == C_DIGIT { 2 } else { 1 };
            if kind != last_run {
                runs += 1;
                last_run = kind;
            }
        }
        previous = cls;
        if b.is_ascii_hexdigit() {
            if b.is_ascii_digit() {
                has_digit = true;
            } else {
                has_letter = true;
            }
        } else {
            all_hex = false;
        }
    }
    if pairs == 0 || switches * 4 >= pairs || runs >= 4 {
        return true;
    }
    t.len() >= 4 && all_hex && has_digit && has_letter
}

/// Printable non-blank ASCII with at least one letter or digit.
pub(crate) fn is_data_token(t: &[u8]) -> bool {
    let mut has_alnum = false;
    for &b in t {
        if !(0x21..0x7f).contains(&b) {
            return false;
        }
        if CLASSES[b as usize] & C_ALNUM != 0 {
            has_alnum = true;
        }
    }
    has_alnum
}

/// Number lists and the data-only verdict, fed one token at a time (a lone printable token
/// of two or more characters makes a data-only line too, word-like or not).
pub(crate) struct Tokens {
    is_data_only: bool,
    data_bytes: u32,
    count: usize,
    list_start: usize,
    list_end: usize,
    tokens: usize,
    lone_bytes: u32,
}

impl Tokens {
    pub(crate) fn new() -> Self {
        Tokens { is_data_only: true, data_bytes: 0, count: 0, list_start: 0, list_end: 0, tokens: 0, lone_bytes: 0 }
    }

    pub(crate) fn token(&mut self, token: &[u8], start: usize, p: &Params, out: &mut Vec<(u32, u32, u8)>) {
        self.tokens += 1;
        // A number starts with a digit, a hex letter, a sign or a point: skip is_number otherwise.
        let first = token[0];
        if (CLASSES[first as usize] & C_HEX != 0 || matches!(first, b'-' | b'+' | b'.')) && is_number(token) {
            if self.count == 0 {
                self.list_start = start;
            }
            self.count += 1;
            self.list_end = start + token.len();
            self.data_bytes += token.len() as u32;
            return;
        }
        if self.count >= p.number_list_min {
            out.push((self.list_start as u32, self.list_end as u32, KIND_NUMBERS));
        }
        self.count = 0;
        if self.tokens > 1 && !self.is_data_only {
            return; // neither the lone-token nor the data-only verdict can change any more
        }
        let is_data = is_data_token(token);
        if self.tokens == 1 && token.len() >= 2 && is_data {
            self.lone_bytes = token.len() as u32;
        }
        if self.is_data_only && is_data && looks_random(token) {
            self.data_bytes += token.len() as u32;
        } else {
            self.is_data_only = false;
        }
    }

    /// (is_data_only, data_bytes) once the line has ended.
    pub(crate) fn finish(&mut self, p: &Params, out: &mut Vec<(u32, u32, u8)>) -> (bool, u32) {
        if self.count >= p.number_list_min {
            out.push((self.list_start as u32, self.list_end as u32, KIND_NUMBERS));
        }
        if self.tokens == 1 && self.lone_bytes > 0 {
            return (true, self.lone_bytes);
        }
        if self.tokens == 0 || !self.is_data_only {
            return (false, 0);
        }
        (true, self.data_bytes)
    }
}

