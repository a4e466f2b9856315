//! Native scanner for arenahub's log policy.
//!
//! Implements exactly the rules of `arenahub.logpolicy.scanner` (the pure-Python reference):
//! flags, encoded spans, data-only lines. Any change there must be made here too;
//! tests/unit/logpolicy/test_native.py compares the two on the same inputs.

use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyTuple};

const FLAG_CONTROL: u32 = 1;
const FLAG_NON_UTF8: u32 = 2;
const FLAG_METRIC: u32 = 4;

const KIND_BASE64: u8 = 1;
const KIND_BASE32: u8 = 2;
const KIND_HEX: u8 = 3;
const KIND_DECIMAL: u8 = 4;
const KIND_TOKEN: u8 = 5;
const KIND_LONG_TOKEN: u8 = 6;
const KIND_NUMBERS: u8 = 7;
const KIND_UNICODE: u8 = 8;
const KIND_PRINTABLE: u8 = 9;
const KIND_UUENCODE: u8 = 10;

// The smallest uuencoded line (its length character counts the bytes) that is encoded data.
const UUENCODE_MIN_BYTES: usize = 8;

// Rows of the threshold tables: alphabets of 10, 16, 26, 32, 36, 52, 62, 64, 94 symbols.
const K10: usize = 0;
const K16: usize = 1;
const K26: usize = 2;
const K32: usize = 3;
const K36: usize = 4;
const K52: usize = 5;
const K62: usize = 6;
const K64: usize = 7;
const K94: usize = 8;

const METRIC_PREFIX: &[u8] = b"@@arenahub.metric ";

// Byte classes.
const C_LOWER: u8 = 1;
const C_UPPER: u8 = 2;
const C_DIGIT: u8 = 4;
const C_SYM: u8 = 8; // + / _ -
const C_SEP: u8 = 16; // token separators: space tab , ; [ ] ( ) { }
const C_CONTROL: u8 = 32;
const C_HEX: u8 = 64;
const C_HIGH: u8 = 128; // non-ASCII byte

const fn make_classes() -> [u8; 256] {
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

static CLASSES: [u8; 256] = make_classes();
const C_RUN: u8 = C_LOWER | C_UPPER | C_DIGIT | C_SYM;
const C_ALNUM: u8 = C_LOWER | C_UPPER | C_DIGIT;

struct Params {
    is_detecting: bool,
    max_line_bytes: usize,
    base64_min: usize,
    hex_min: usize,
    decimal_min: usize,
    number_list_min: usize,
    token_min: usize,
    long_token: usize,
    unicode_min: usize,
    unicode_distinct_percent: usize,
    run_min_distinct: Vec<Vec<u32>>,
    token_min_distinct: Vec<Vec<u32>>,
}

#[derive(Default)]
struct Scan {
    flags: u32,
    spans: Vec<(u32, u32, u8)>,
    is_data_only: bool,
    data_bytes: u32,
}

impl Scan {
    fn is_plain(&self) -> bool {
        self.flags == 0 && self.spans.is_empty() && !self.is_data_only
    }
}

fn alphabet(lower: bool, upper: bool, digit: bool, sym: bool, letters_hex_only: bool, digits_base32_only: bool) -> usize {
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
fn analyse_run(line: &[u8], start: usize, end: usize, p: &Params, out: &mut Vec<(u32, u32, u8)>) {
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
fn sub_runs(run: &[u8], offset: usize, p: &Params, out: &mut Vec<(u32, u32, u8)>) {
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
fn analyse_dense(run: &[u8], start: usize, p: &Params, out: &mut Vec<(u32, u32, u8)>) {
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
fn uuencode_span(line: &[u8], p: &Params, out: &mut Vec<(u32, u32, u8)>) {
    if line.len() < 2 || !(0x21..=0x60).contains(&line[0]) {
        return;
    }
    let count = ((line[0] - 32) & 63) as usize;
    if count < UUENCODE_MIN_BYTES {
        return;
    }
    let body = &line[1..];
    let expected = (count + 2) / 3 * 4;
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

fn skip_digits(t: &[u8], mut i: usize) -> usize {
    while i < t.len() && t[i].is_ascii_digit() {
        i += 1;
    }
    i
}

/// Python's `[-+]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?`, in full.
fn is_decimal(t: &[u8]) -> bool {
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

fn is_number(t: &[u8]) -> bool {
    if is_decimal(t) {
        return true;
    }
    if t.len() >= 3 && t[0] == b'0' && (t[1] == b'x' || t[1] == b'X') && t[2..].iter().all(|b| b.is_ascii_hexdigit()) {
        return true;
    }
    (1..=2).contains(&t.len()) && t.iter().all(|b| b.is_ascii_hexdigit())
}

fn is_plain_word(t: &[u8]) -> bool {
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

fn looks_random(t: &[u8]) -> bool {
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
fn is_data_token(t: &[u8]) -> bool {
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
struct Tokens {
    is_data_only: bool,
    data_bytes: u32,
    count: usize,
    list_start: usize,
    list_end: usize,
    tokens: usize,
    lone_bytes: u32,
}

impl Tokens {
    fn new() -> Self {
        Tokens { is_data_only: true, data_bytes: 0, count: 0, list_start: 0, list_end: 0, tokens: 0, lone_bytes: 0 }
    }

    fn token(&mut self, token: &[u8], start: usize, p: &Params, out: &mut Vec<(u32, u32, u8)>) {
        self.tokens += 1;
        if is_number(token) {
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
    fn finish(&mut self, p: &Params, out: &mut Vec<(u32, u32, u8)>) -> (bool, u32) {
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

fn is_excluded_char(code: u32) -> bool {
    (0x2500..=0x259F).contains(&code) || (0x2000..=0x206F).contains(&code) || (0x3000..=0x303F).contains(&code)
}

fn unicode_spans(text: &str, p: &Params, out: &mut Vec<(u32, u32, u8)>) {
    let mut run_start = 0usize;
    let mut run_chars = 0usize;
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
    for (offset, ch) in text.char_indices() {
        let code = ch as u32;
        if code >= 0x80 && !is_excluded_char(code) {
            if run_chars == 0 {
                run_start = offset;
            }
            run_chars += 1;
        } else {
            close(run_start, run_chars, offset, out);
            run_chars = 0;
        }
    }
    close(run_start, run_chars, text.len(), out);
}

fn merge(spans: &mut Vec<(u32, u32, u8)>) {
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

fn scan_line(line: &[u8], p: &Params) -> Scan {
    let mut scan = Scan::default();
    let mut seen_classes = 0u8;
    let n = line.len();
    let (is_data_only, data_bytes) = if p.is_detecting {
        // One pass: base64-class runs and separator-delimited tokens, both by byte class.
        let shortest = p.token_min.min(p.hex_min).min(p.decimal_min);
        let mut tokens = Tokens::new();
        let mut run_start = usize::MAX;
        let mut token_start = usize::MAX;
        let mut dense_start = usize::MAX;
        for i in 0..n {
            let c = CLASSES[line[i] as usize];
            seen_classes |= c;
            if (0x21..0x7f).contains(&line[i]) {
                if dense_start == usize::MAX {
                    dense_start = i;
                }
            } else if dense_start != usize::MAX {
                if i - dense_start >= p.base64_min {
                    analyse_dense(&line[dense_start..i], dense_start, p, &mut scan.spans);
                }
                dense_start = usize::MAX;
            }
            if c & C_RUN != 0 {
                if run_start == usize::MAX {
                    run_start = i;
                }
            } else if run_start != usize::MAX {
                if i - run_start >= shortest {
                    analyse_run(line, run_start, i, p, &mut scan.spans);
                }
                run_start = usize::MAX;
            }
            if c & C_SEP == 0 {
                if token_start == usize::MAX {
                    token_start = i;
                }
            } else if token_start != usize::MAX {
                tokens.token(&line[token_start..i], token_start, p, &mut scan.spans);
                token_start = usize::MAX;
            }
        }
        if run_start != usize::MAX && n - run_start >= shortest {
            analyse_run(line, run_start, n, p, &mut scan.spans);
        }
        if dense_start != usize::MAX && n - dense_start >= p.base64_min {
            analyse_dense(&line[dense_start..n], dense_start, p, &mut scan.spans);
        }
        uuencode_span(line, p, &mut scan.spans);
        if token_start != usize::MAX {
            tokens.token(&line[token_start..n], token_start, p, &mut scan.spans);
        }
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

fn to_python<'py>(py: Python<'py>, scan: &Scan) -> PyResult<Bound<'py, PyTuple>> {
    let spans = PyTuple::new(py, scan.spans.iter().map(|&(s, e, k)| (s, e, k)))?;
    PyTuple::new(
        py,
        [
            scan.flags.into_pyobject(py)?.into_any(),
            spans.into_any(),
            pyo3::types::PyBool::new(py, scan.is_data_only).to_owned().into_any(),
            scan.data_bytes.into_pyobject(py)?.into_any(),
        ],
    )
}

/// Scans log lines with one policy's detector settings (see arenahub.logpolicy.backends).
#[pyclass(frozen)]
struct Scanner {
    p: Params,
}

#[pymethods]
impl Scanner {
    #[new]
    #[allow(clippy::too_many_arguments)]
    fn new(
        is_detecting: bool,
        max_line_bytes: usize,
        base64_min_chars: usize,
        hex_min_chars: usize,
        decimal_min_digits: usize,
        number_list_min: usize,
        token_min_chars: usize,
        long_token_chars: usize,
        unicode_min_chars: usize,
        unicode_distinct_percent: usize,
        run_min_distinct: Vec<Vec<u32>>,
        token_min_distinct: Vec<Vec<u32>>,
    ) -> PyResult<Self> {
        let rows_ok = |t: &Vec<Vec<u32>>| t.len() == 9 && t.iter().all(|r| r.len() > long_token_chars);
        if !rows_ok(&run_min_distinct) || !rows_ok(&token_min_distinct) {
            return Err(pyo3::exceptions::PyValueError::new_err(
                "threshold tables need 9 rows of long_token_chars + 1 entries",
            ));
        }
        Ok(Scanner {
            p: Params {
                is_detecting,
                max_line_bytes,
                base64_min: base64_min_chars,
                hex_min: hex_min_chars,
                decimal_min: decimal_min_digits,
                number_list_min,
                token_min: token_min_chars,
                long_token: long_token_chars,
                unicode_min: unicode_min_chars,
                unicode_distinct_percent,
                run_min_distinct,
                token_min_distinct,
            },
        })
    }

    /// (flags, spans, is_data_only, data_bytes) of one line (bytes without the newline).
    fn scan_line<'py>(&self, py: Python<'py>, line: &[u8]) -> PyResult<Bound<'py, PyTuple>> {
        let scan = scan_line(line, &self.p);
        to_python(py, &scan)
    }

    /// (number of lines, events) for `data`, like PythonScanner.scan_chunk: plain runs as
    /// (0, lines, raw_start, raw_end, shown bytes), notable lines as (1, index, start, end, scan).
    fn scan_chunk<'py>(&self, py: Python<'py>, data: &[u8]) -> PyResult<(usize, Vec<Bound<'py, PyTuple>>)> {
        let p = &self.p;
        let (count, events) = py.allow_threads(|| chunk_events(data, p));
        let mut out = Vec::with_capacity(events.len());
        for event in events {
            let tuple = match event {
                Event::Run { lines, raw_start, raw_end, pieces, size } => {
                    let shown = PyBytes::new_with(py, size, |buf: &mut [u8]| {
                        let mut at = 0;
                        for piece in &pieces {
                            match *piece {
                                Piece::Range(s, e) => {
                                    buf[at..at + e - s].copy_from_slice(&data[s..e]);
                                    at += e - s;
                                }
                                Piece::Newline => {
                                    buf[at] = b'\n';
                                    at += 1;
                                }
                            }
                        }
                        Ok(())
                    })?;
                    PyTuple::new(
                        py,
                        [
                            0usize.into_pyobject(py)?.into_any(),
                            lines.into_pyobject(py)?.into_any(),
                            raw_start.into_pyobject(py)?.into_any(),
                            raw_end.into_pyobject(py)?.into_any(),
                            shown.into_any(),
                        ],
                    )?
                }
                Event::Line { index, start, end, scan } => PyTuple::new(
                    py,
                    [
                        1usize.into_pyobject(py)?.into_any(),
                        index.into_pyobject(py)?.into_any(),
                        start.into_pyobject(py)?.into_any(),
                        end.into_pyobject(py)?.into_any(),
                        to_python(py, &scan)?.into_any(),
                    ],
                )?,
            };
            out.push(tuple);
        }
        Ok((count, out))
    }
}

enum Piece {
    Range(usize, usize),
    Newline,
}

enum Event {
    Run { lines: usize, raw_start: usize, raw_end: usize, pieces: Vec<Piece>, size: usize },
    Line { index: usize, start: usize, end: usize, scan: Scan },
}

/// The text a plain line shows: the whole line, or for a line whose only control bytes are
/// carriage returns, its last non-empty segment (as normalise_line does); None if notable.
fn plain_display(line: &[u8], scan: &Scan, p: &Params) -> Option<(usize, usize)> {
    if scan.is_plain() {
        return if line.len() > p.max_line_bytes { None } else { Some((0, line.len())) };
    }
    if scan.flags != FLAG_CONTROL || line.iter().any(|&b| CLASSES[b as usize] & C_CONTROL != 0 && b != b'\r') {
        return None;
    }
    let mut end = line.len();
    let mut shown = (0, 0);
    loop {
        let start = match memchr::memrchr(b'\r', &line[..end]) {
            Some(k) => k + 1,
            None => 0,
        };
        if end > start {
            shown = (start, end);
            break;
        }
        if start == 0 {
            break;
        }
        end = start - 1;
    }
    let segment = &line[shown.0..shown.1];
    if segment.len() > p.max_line_bytes || !scan_line(segment, p).is_plain() {
        return None;
    }
    Some(shown)
}

fn chunk_events(data: &[u8], p: &Params) -> (usize, Vec<Event>) {
    let mut events: Vec<Event> = Vec::new();
    let mut pieces: Vec<Piece> = Vec::new();
    let (mut lines, mut raw_start, mut raw_end, mut size) = (0usize, 0usize, 0usize, 0usize);
    // A contiguous stretch of whole plain lines (with their newlines) not yet added to pieces.
    let mut stretch: Option<(usize, usize)> = None;
    let mut start = 0usize;
    let mut index = 0usize;
    let total = data.len();
    while start < total {
        let end = match memchr::memchr(b'\n', &data[start..]) {
            Some(k) => start + k,
            None => total,
        };
        let line = &data[start..end];
        let scan = scan_line(line, p);
        match plain_display(line, &scan, p) {
            Some((s, e)) => {
                if lines == 0 {
                    raw_start = start;
                }
                lines += 1;
                raw_end = end;
                if s == 0 && e == line.len() && end < total {
                    stretch = Some(match stretch {
                        Some((a, _)) => (a, end + 1),
                        None => (start, end + 1),
                    });
                } else {
                    if let Some((a, b)) = stretch.take() {
                        pieces.push(Piece::Range(a, b));
                    }
                    pieces.push(Piece::Range(start + s, start + e));
                    pieces.push(Piece::Newline);
                }
                size += e - s + 1;
            }
            None => {
                if lines > 0 {
                    if let Some((a, b)) = stretch.take() {
                        pieces.push(Piece::Range(a, b));
                    }
                    events.push(Event::Run { lines, raw_start, raw_end, pieces: std::mem::take(&mut pieces), size });
                    lines = 0;
                    size = 0;
                }
                events.push(Event::Line { index, start, end, scan });
            }
        }
        index += 1;
        start = end + 1;
    }
    if lines > 0 {
        if let Some((a, b)) = stretch.take() {
            pieces.push(Piece::Range(a, b));
        }
        events.push(Event::Run { lines, raw_start, raw_end, pieces, size });
    }
    (index, events)
}

#[pymodule]
fn arenahub_logscan(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Scanner>()?;
    Ok(())
}
