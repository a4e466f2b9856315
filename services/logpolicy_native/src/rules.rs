//! The per-line rules: byte classes, encoded runs, printable and uuencoded data, non-ASCII
//! runs, span merging and `scan_line` (the same rules as arenahub.logpolicy.scanner).

use crate::tokens::Tokens;

pub(crate) const FLAG_CONTROL: u32 = 1;
pub(crate) const FLAG_NON_UTF8: u32 = 2;
pub(crate) const FLAG_METRIC: u32 = 4;

pub(crate) const KIND_BASE64: u8 = 1;
pub(crate) const KIND_BASE32: u8 = 2;
pub(crate) const KIND_HEX: u8 = 3;
pub(crate) const KIND_DECIMAL: u8 = 4;
pub(crate) const KIND_TOKEN: u8 = 5;
pub(crate) const KIND_LONG_TOKEN: u8 = 6;
pub(crate) const KIND_NUMBERS: u8 = 7;
pub(crate) const KIND_UNICODE: u8 = 8;
pub(crate) const KIND_PRINTABLE: u8 = 9;
pub(crate) const KIND_UUENCODE: u8 = 10;

// The smallest uuencoded line (its length character counts the bytes) that is encoded data.
pub(crate) const UUENCODE_MIN_BYTES: usize = 8;

// Rows of the threshold tables: alphabets of 10, 16, 26, 32, 36, 52, 62, 64, 94 symbols.
pub(crate) const K10: usize = 0;
pub(crate) const K16: usize = 1;
pub(crate) const K26: usize = 2;
pub(crate) const K32: usize = 3;
pub(crate) const K36: usize = 4;
pub(crate) const K52: usize = 5;
pub(crate) const K62: usize = 6;
pub(crate) const K64: usize = 7;
pub(crate) const K94: usize = 8;

pub(crate) const METRIC_PREFIX: &[u8] = b"@@arenahub.metric ";

// Byte classes.
pub(crate) const C_LOWER: u8 = 1;
pub(crate) const C_UPPER: u8 = 2;
pub(crate) const C_DIGIT: u8 = 4;
pub(crate) const C_SYM: u8 = 8; // + / _ -
pub(crate) const C_SEP: u8 = 16; // token separators: space tab , ; [ ] ( ) { }
pub(crate) const C_CONTROL: u8 = 32;
pub(crate) const C_HEX: u8 = 64;
pub(crate) const C_HIGH: u8 = 128; // non-ASCII byte

pub(crate) const fn make_classes() -> [u8; 256] {
    let mut t = [0u8; 256];
    let mut i = 0;
    while i < 256 {
        let b = i as u8;
        let mut c = 0u8;
        if b.is_ascii_lowercase() {
            c |= C_LOWER;
        }
        if b.is_ascii_uppercase() {
            c |= C_UPPER;
        }
        if b.is_ascii_digit() {
            c |= C_DIGIT;
        }
        if b == b'+' || b == b'/' || b == b'_' || b == b'-' {
            c |= C_SYM;
        }
        if matches!(b, b' ' | b'\t' | b',' | b';' | b'[' | b']' | b'(' | b')' | b'{' | b'}') {
            c |= C_SEP;
        }
        if (b < 0x20 && b != b'\t') || b == 0x7f {
            c |= C_CONTROL;
        }
        if b.is_ascii_hexdigit() {
            c |= C_HEX;
        }
        if b >= 0x80 {
            c |= C_HIGH;
        }
        t[i] = c;
        i += 1;
    }
    t
}

pub(crate) static CLASSES: [u8; 256] = make_classes();
pub(crate) const C_RUN: u8 = C_LOWER | C_UPPER | C_DIGIT | C_SYM;
pub(crate) const C_ALNUM: u8 = C_LOWER | C_UPPER | C_DIGIT;

pub(crate) struct Params {
    pub(crate) is_detecting: bool,
    pub(crate) max_line_bytes: usize,
    pub(crate) base64_min: usize,
    pub(crate) hex_min: usize,
    pub(crate) decimal_min: usize,
    pub(crate) number_list_min: usize,
    pub(crate) token_min: usize,
    pub(crate) long_token: usize,
    pub(crate) unicode_min: usize,
    pub(crate) unicode_distinct_percent: usize,
    pub(crate) run_min_distinct: Vec<Vec<u32>>,
    pub(crate) token_min_distinct: Vec<Vec<u32>>,
}

#[derive(Default)]
pub(crate) struct Scan {
    pub(crate) flags: u32,
    pub(crate) spans: Vec<(u32, u32, u8)>,
    pub(crate) is_data_only: bool,
    pub(crate) data_bytes: u32,
}

impl Scan {
    pub(crate) fn is_plain(&self) -> bool {
        self.flags == 0 && self.spans.is_empty() && !self.is_data_only
    }
}

pub(crate) fn alphabet(lower: bool, upper: bool, digit: bool, sym: bool, letters_hex_only: bool, digits_base32_only: bool) -> usize {
    if sym {
        return K64;
    }
    if lower && upper {
        return if digit { K62 } else { K52 };
    }
    if !(lower || upper) {
        return K10;
    }
    if letters_hex_only {
        return K16;
    }
    if digit {
        return if upper && digits_base32_only { K32 } else { K36 };
    }
    K26
}

/// Encoded-data spans of one maximal base64/url-safe run ``line[start..end]`` (at least the
/// shortest interesting length).
pub(crate) fn analyse_run(line: &[u8], start: usize, end: usize, p: &Params, out: &mut Vec<(u32, u32, u8)>) {
    let n = end - start;
    if n >= p.long_token {
        out.push((start as u32, end as u32, KIND_LONG_TOKEN));
        return;
    }
    let run = &line[start..end];
    let mut seen = [0u64; 2];
    let mut classes = 0u8;
    let mut letters_hex_only = true;
    let mut digits_base32_only = true;
    for &b in run {
        seen[(b >> 6) as usize & 1] |= 1u64 << (b & 63);
        let c = CLASSES[b as usize];
        classes |= c;
        if c & (C_LOWER | C_UPPER) != 0 && c & C_HEX == 0 {
            letters_hex_only = false;
        }
        if c & C_DIGIT != 0 && !(b'2'..=b'7').contains(&b) {
            digits_base32_only = false;
        }
    }
    let distinct = seen[0].count_ones() + seen[1].count_ones();
    let (lower, upper, digit, sym) = (
        classes & C_LOWER != 0,
        classes & C_UPPER != 0,
        classes & C_DIGIT != 0,
        classes & C_SYM != 0,
    );
    let a = alphabet(lower, upper, digit, sym, letters_hex_only, digits_base32_only);
    if n >= p.base64_min && distinct >= p.run_min_distinct[a][n] {
        let kind = match a {
            K10 => KIND_DECIMAL,
            K16 => KIND_HEX,
            K32 => KIND_BASE32,
            _ => KIND_BASE64,
        };
        out.push((start as u32, end as u32, kind));
        return;
    }
    if n >= p.token_min && n < p.base64_min && lower && upper && digit && distinct >= p.token_min_distinct[a][n] {
        out.push((start as u32, end as u32, KIND_TOKEN));
        return;
    }
    sub_runs(run, start, p, out);
}

/// Hex runs (with a digit and a letter) and decimal digit runs inside one base64-class run.
pub(crate) fn sub_runs(run: &[u8], offset: usize, p: &Params, out: &mut Vec<(u32, u32, u8)>) {
    let n = run.len();
    let mut i = 0;
    while i < n {
        if CLASSES[run[i] as usize] & C_HEX == 0 {
            i += 1;
            continue;
        }
        let start = i;
        let mut has_digit = false;
        let mut has_letter = false;
        while i < n && CLASSES[run[i] as usize] & C_HEX != 0 {
            if run[i].is_ascii_digit() {
                has_digit = true;
            } else {
                has_letter = true;
            }
            i += 1;
        }
        if i - start >= p.hex_min && has_digit && has_letter {
            out.push(((offset + start) as u32, (offset + i) as u32, KIND_HEX));
        }
    }
    let mut i = 0;
    while i < n {
        if !run[i].is_ascii_digit() {
            i += 1;
            continue;
        }
        let start = i;
        while i < n && run[i].is_ascii_digit() {
            i += 1;
        }
        if i - start >= p.decimal_min {
            out.push(((offset + start) as u32, (offset + i) as u32, KIND_DECIMAL));
        }
    }
}

/// A random-looking run of printable non-blank ASCII holding punctuation the base64 rule
/// does not cover (base85, ascii85): judged against 94 symbols.
pub(crate) fn analyse_dense(run: &[u8], start: usize, p: &Params, out: &mut Vec<(u32, u32, u8)>) {
    let n = run.len();
    let mut seen = [0u64; 2];
    let mut is_base64_only = true;
    for &b in run {
        seen[(b >> 6) as usize & 1] |= 1u64 << (b & 63);
        if CLASSES[b as usize] & C_RUN == 0 && b != b'=' {
            is_base64_only = false;
        }
    }
    if is_base64_only {
        return;
    }
    let distinct = seen[0].count_ones() + seen[1].count_ones();
    if distinct >= p.run_min_distinct[K94][n.min(p.long_token)] {
        out.push((start as u32, (start + n) as u32, KIND_PRINTABLE));
    }
}

/// A whole uuencoded line: length character, 4 characters per 3 bytes from ' ' to '`'.
pub(crate) fn uuencode_span(line: &[u8], p: &Params, out: &mut Vec<(u32, u32, u8)>) {
    if line.len() < 2 || !(0x21..=0x60).contains(&line[0]) {
        return;
    }
    let count = ((line[0] - 32) & 63) as usize;
    if count < UUENCODE_MIN_BYTES {
        return;
    }
    let body = &line[1..];
    let expected = count.div_ceil(3) * 4;
    if body.len() + 4 < expected || body.len() > expected + 2 || !body.iter().all(|&b| (0x20..=0x60).contains(&b)) {
        return;
    }
    let mut seen = [0u64; 2];
    for &b in body {
        seen[(b >> 6) as usize & 1] |= 1u64 << (b & 63);
    }
    let distinct = seen[0].count_ones() + seen[1].count_ones();
    if distinct >= p.run_min_distinct[K64][body.len().min(p.long_token)] {
        out.push((0, line.len() as u32, KIND_UUENCODE));
    }
}


pub(crate) fn is_excluded_char(code: u32) -> bool {
    (0x2500..=0x259F).contains(&code) || (0x2000..=0x206F).contains(&code) || (0x3000..=0x303F).contains(&code)
}

pub(crate) fn unicode_spans(text: &str, p: &Params, out: &mut Vec<(u32, u32, u8)>) {
    let close = |run_start: usize, run_chars: usize, end: usize, out: &mut Vec<(u32, u32, u8)>| {
        if run_chars >= p.unicode_min {
            let mut chars: Vec<char> = text[run_start..end].chars().collect();
            chars.sort_unstable();
            chars.dedup();
            if chars.len() * 100 >= p.unicode_distinct_percent * run_chars {
                out.push((run_start as u32, end as u32, KIND_UNICODE));
            }
        }
    };
    let bytes = text.as_bytes();
    let mut i = 0;
    // Runs are non-ASCII characters outside the excluded blocks: skip ASCII stretches whole.
    while let Some(k) = bytes[i..].iter().position(|&b| b >= 0x80) {
        i += k;
        let (mut run_start, mut run_chars, mut end) = (i, 0usize, bytes.len());
        for (offset, ch) in text[i..].char_indices() {
            let code = ch as u32;
            if code < 0x80 {
                end = i + offset;
                break;
            }
            if is_excluded_char(code) {
                close(run_start, run_chars, i + offset, out);
                run_chars = 0;
            } else {
                if run_chars == 0 {
                    run_start = i + offset;
                }
                run_chars += 1;
            }
        }
        close(run_start, run_chars, end, out);
        i = end;
    }
}

pub(crate) fn merge(spans: &mut Vec<(u32, u32, u8)>) {
    if spans.len() < 2 {
        return;
    }
    spans.sort_unstable();
    let mut merged: Vec<(u32, u32, u8)> = Vec::with_capacity(spans.len());
    for &(start, end, kind) in spans.iter() {
        if let Some(last) = merged.last_mut() {
            if start < last.1 {
                last.1 = last.1.max(end);
                continue;
            }
        }
        merged.push((start, end, kind));
    }
    *spans = merged;
}

/// Runs, dense runs and tokens of one space-delimited word `line[from..to]`, byte by byte.
fn scan_word(line: &[u8], from: usize, to: usize, shortest: usize, p: &Params, tokens: &mut Tokens, out: &mut Vec<(u32, u32, u8)>) {
    let mut run_start = usize::MAX;
    let mut token_start = usize::MAX;
    let mut dense_start = usize::MAX;
    for i in from..to {
        let b = line[i];
        let c = CLASSES[b as usize];
        if (0x21..0x7f).contains(&b) {
            if dense_start == usize::MAX {
                dense_start = i;
            }
        } else if dense_start != usize::MAX {
            if i - dense_start >= p.base64_min {
                analyse_dense(&line[dense_start..i], dense_start, p, out);
            }
            dense_start = usize::MAX;
        }
        if c & C_RUN != 0 {
            if run_start == usize::MAX {
                run_start = i;
            }
        } else if run_start != usize::MAX {
            if i - run_start >= shortest {
                analyse_run(line, run_start, i, p, out);
            }
            run_start = usize::MAX;
        }
        if c & C_SEP == 0 {
            if token_start == usize::MAX {
                token_start = i;
            }
        } else if token_start != usize::MAX {
            tokens.token(&line[token_start..i], token_start, p, out);
            token_start = usize::MAX;
        }
    }
    if run_start != usize::MAX && to - run_start >= shortest {
        analyse_run(line, run_start, to, p, out);
    }
    if dense_start != usize::MAX && to - dense_start >= p.base64_min {
        analyse_dense(&line[dense_start..to], dense_start, p, out);
    }
    if token_start != usize::MAX {
        tokens.token(&line[token_start..to], token_start, p, out);
    }
}

pub(crate) fn scan_line(line: &[u8], p: &Params) -> Scan {
    let mut scan = Scan::default();
    let mut seen_classes = 0u8;
    let n = line.len();
    let (is_data_only, data_bytes) = if p.is_detecting {
        // Spaces end every run, dense run and token: words shorter than any run threshold and
        // free of other separators are one token and need no byte-by-byte look.
        let shortest = p.token_min.min(p.hex_min).min(p.decimal_min);
        let short_word = shortest.min(p.base64_min);
        let mut tokens = Tokens::new();
        let mut i = 0;
        while i < n {
            if line[i] == b' ' {
                i += 1;
                continue;
            }
            let from = i;
            let word = &line[from..];
            i = from + word.iter().position(|&b| b == b' ').unwrap_or(word.len());
            let word = &line[from..i];
            let classes = word.iter().fold(0u8, |seen, &b| seen | CLASSES[b as usize]);
            seen_classes |= classes;
            if word.len() >= short_word {
                scan_word(line, from, i, shortest, p, &mut tokens, &mut scan.spans);
            } else if classes & C_SEP == 0 {
                tokens.token(word, from, p, &mut scan.spans);
            } else {
                // Too short for any run: only the tokens between separators count.
                let mut at = from;
                for part in word.split(|&b| CLASSES[b as usize] & C_SEP != 0) {
                    if !part.is_empty() {
                        tokens.token(part, at, p, &mut scan.spans);
                    }
                    at += part.len() + 1;
                }
            }
        }
        uuencode_span(line, p, &mut scan.spans);
        tokens.finish(p, &mut scan.spans)
    } else {
        for &b in line {
            seen_classes |= CLASSES[b as usize];
        }
        (false, 0)
    };
    if seen_classes & C_CONTROL != 0 {
        scan.flags |= FLAG_CONTROL;
    }
    if seen_classes & C_HIGH != 0 {
        match std::str::from_utf8(line) {
            Ok(text) => {
                if p.is_detecting {
                    unicode_spans(text, p, &mut scan.spans);
                }
            }
            Err(_) => scan.flags |= FLAG_NON_UTF8,
        }
    }
    if line.starts_with(METRIC_PREFIX) {
        scan.flags |= FLAG_METRIC;
    }
    merge(&mut scan.spans);
    scan.is_data_only = is_data_only;
    scan.data_bytes = data_bytes;
    scan
}

