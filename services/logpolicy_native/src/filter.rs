//! One job's filter for the open and filtered policies: the same per-line decisions, budgets,
//! window, caps and markers as arenahub.logpolicy.pyfilter.PythonFilter (the reference).
//!
//! Python helps with two rare things through `Helpers`: normalising lines with escapes or
//! invalid UTF-8 (arenahub.logpolicy.normalise) and metric lines outside the native parser's
//! shape (arenahub.core.metricline); policy name patterns other than the default are asked
//! once per name.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use crate::metric::{self, Point};
use crate::rules::{scan_line, Params, Scan, FLAG_CONTROL, FLAG_METRIC, FLAG_NON_UTF8};

pub(crate) const REASONS: [&str; 12] = [
    "encoded-data", "split-payload", "line-too-long", "rate-limit", "leak-budget", "shown-bytes-cap",
    "metric-malformed", "metric-step", "metric-name", "metric-names-cap", "metric-rate", "metric-points-cap",
];
const R_ENCODED: usize = 0;
const R_SPLIT: usize = 1;
const R_TOO_LONG: usize = 2;
const R_RATE: usize = 3;
const R_BUDGET: usize = 4;
const R_SHOWN_CAP: usize = 5;
const R_MALFORMED: usize = 6;
const R_STEP: usize = 7;
const R_NAME: usize = 8;
const R_NAMES_CAP: usize = 9;
const R_METRIC_RATE: usize = 10;
const R_POINTS_CAP: usize = 11;
const NO_REASON: usize = usize::MAX;

const CUT_SUFFIX: &[u8] = " …[line cut]".as_bytes();
const KIND_NAMES: [&str; 11] = [
    "", "base64", "base32", "hex", "decimal", "random-token", "long-token", "number-list", "unicode-data",
    "printable-data", "uuencode",
];

/// The policy's numbers (everything but the scanner's), already in native form.
pub(crate) struct Config {
    pub(crate) withhold_percent: u64,
    pub(crate) window_lines: u64,
    pub(crate) window_data_lines: usize,
    pub(crate) window_data_bytes: u64,
    pub(crate) max_line_bytes: usize,
    pub(crate) max_shown_bytes: Option<u64>,
    pub(crate) leak_budget_bytes: Option<u64>,
    pub(crate) rate: Option<(f64, f64)>,
    pub(crate) metric_rate: Option<(f64, f64)>,
    pub(crate) max_points_per_job: u64,
    pub(crate) max_step: u64,
    pub(crate) max_name_chars: usize,
    pub(crate) max_names: usize,
    pub(crate) significant_digits: usize,
    pub(crate) is_default_name_pattern: bool,
}

/// What the Python side answers for the rare lines (see the module comment).
pub(crate) trait Helpers {
    fn normalise(&mut self, raw: &[u8]) -> Vec<u8>;
    fn parse_metric(&mut self, text: &[u8]) -> Option<Point<'static>>;
    fn name_matches(&mut self, name: &str) -> bool;
    /// Takes the shown bytes decided so far (true: they were written out, clear them).
    fn write(&mut self, shown: &[u8]) -> bool;
}

pub(crate) struct Bucket {
    rate: f64,
    burst: f64,
    tokens: f64,
    updated: Option<f64>,
}

impl Bucket {
    fn new((rate, burst): (f64, f64)) -> Self {
        Bucket { rate, burst, tokens: burst, updated: None }
    }

    /// arenahub.logpolicy.metrics.TokenBucket.try_take, operation for operation.
    fn try_take(&mut self, count: f64, now: f64) -> bool {
        if let Some(updated) = self.updated {
            if now > updated {
                self.tokens = self.burst.min(self.tokens + (now - updated) * self.rate);
            }
        }
        if self.updated.is_none_or(|u| now > u) {
            self.updated = Some(now);
        }
        if self.tokens >= count {
            self.tokens -= count;
            return true;
        }
        false
    }
}

/// One decision, recorded when the caller wants it (all of them per line; audit ones per chunk).
pub(crate) enum Record {
    Pass { line_no: u64, text: Vec<u8>, metric: Option<Point<'static>> },
    Redact { line_no: u64, text: Vec<u8>, reason: usize, original: Vec<u8>, metric: Option<Point<'static>> },
    Withhold { line_no: u64, reason: usize, raw: Vec<u8> },
    Marker { text: String, reason: String },
}

/// Where decisions go: shown bytes (each shown line and its newline) and, optionally, records.
pub(crate) struct Sink {
    pub(crate) shown: Vec<u8>,
    pub(crate) records: Vec<Record>,
    pub(crate) is_recording_all: bool,
    pub(crate) is_recording_audit: bool,
}

#[derive(Default)]
pub(crate) struct Counters {
    pub(crate) lines_in: u64,
    pub(crate) passed: u64,
    pub(crate) redacted: u64,
    pub(crate) withheld: u64,
    pub(crate) markers: u64,
    pub(crate) reasons: [u64; 12],
    pub(crate) budget_used: u64,
    pub(crate) shown_bytes: u64,
    pub(crate) points: u64,
}

pub(crate) struct Filter {
    pub(crate) p: Arc<Params>,
    pub(crate) cfg: Config,
    pub(crate) c: Counters,
    pub(crate) names: Vec<String>,
    pending: [u64; 12],
    window: VecDeque<(u64, u64)>,
    window_total: u64,
    spent: usize,
    rate: Option<Bucket>,
    metric_rate: Option<Bucket>,
    name_cache: HashMap<String, bool>,
    scratch: Vec<u8>,
}

fn marker_text(pending: &[u64; 12]) -> String {
    let total: u64 = pending.iter().sum();
    let noun = if total == 1 { "line" } else { "lines" };
    let mut used: Vec<(u64, &str)> = pending.iter().zip(REASONS).filter(|(n, _)| **n > 0).map(|(n, r)| (*n, r)).collect();
    let detail = if used.len() == 1 {
        used[0].1.to_string()
    } else {
        used.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(b.1)));
        used.iter().map(|(n, r)| format!("{n} {r}")).collect::<Vec<_>>().join(", ")
    };
    format!("[{total} {noun} withheld: {detail}]")
}

fn cut(data: &[u8], limit: usize) -> &[u8] {
    let mut end = limit;
    while end > 0 && data[end] & 0xC0 == 0x80 {
        end -= 1;
    }
    &data[..end]
}

/// What normalise_line shows of a line whose only control bytes are carriage returns and whose
/// last non-empty segment is valid UTF-8: that segment (None: Python must normalise the line).
fn last_segment(raw: &[u8]) -> Option<&[u8]> {
    // No early exit, so the check vectorises.
    let is_other_control = raw.iter().fold(false, |seen, &b| seen | ((b < 0x20 && b != b'\r' && b != b'\t') | (b == 0x7f)));
    if is_other_control {
        return None;
    }
    let mut end = raw.len();
    let segment = loop {
        let start = memchr::memrchr(b'\r', &raw[..end]).map_or(0, |k| k + 1);
        if end > start {
            break &raw[start..end];
        }
        if start == 0 {
            break &raw[..0];
        }
        end = start - 1;
    };
    std::str::from_utf8(segment).is_ok().then_some(segment)
}

impl Filter {
    pub(crate) fn new(p: Params, cfg: Config) -> Self {
        let rate = cfg.rate.map(Bucket::new);
        let metric_rate = cfg.metric_rate.map(Bucket::new);
        Filter {
            p: Arc::new(p),
            cfg,
            c: Counters::default(),
            names: Vec::new(),
            pending: [0; 12],
            window: VecDeque::new(),
            window_total: 0,
            spent: NO_REASON,
            rate,
            metric_rate,
            name_cache: HashMap::new(),
            scratch: Vec::new(),
        }
    }

    /// The decisions for one line (bytes without its newline).
    pub(crate) fn decide(&mut self, raw: &[u8], scan: Scan, now: f64, sink: &mut Sink, h: &mut dyn Helpers) {
        self.c.lines_in += 1;
        let line_no = self.c.lines_in;
        if scan.is_plain() && raw.len() <= self.cfg.max_line_bytes {
            self.show(raw, raw, line_no, now, NO_REASON, sink);
            return;
        }
        let normalised: Vec<u8>;
        let (data, mut scan) = if scan.flags & (FLAG_CONTROL | FLAG_NON_UTF8) != 0 {
            normalised = match last_segment(raw) {
                Some(segment) => segment.to_vec(),
                None => h.normalise(raw),
            };
            let rescan = scan_line(&normalised, &self.p);
            (&normalised[..], rescan)
        } else {
            (raw, scan)
        };
        if scan.flags & FLAG_METRIC != 0 {
            self.metric_line(data, raw, line_no, now, sink, h);
            return;
        }
        let mut reason = NO_REASON;
        let mut redacted: Vec<u8>;
        let mut shown = data;
        if !scan.spans.is_empty() || scan.is_data_only {
            let is_split = scan.is_data_only && self.window_add(line_no, scan.data_bytes as u64);
            if !scan.spans.is_empty() {
                let covered: u64 = scan.spans.iter().map(|&(s, e, _)| (e - s) as u64).sum();
                let blanks = data.iter().filter(|&&b| b == b' ' || b == b'\t').count();
                let nonblank = (data.len() - blanks) as u64;
                if covered * 100 >= self.cfg.withhold_percent * nonblank {
                    self.withhold(raw, line_no, R_ENCODED, sink);
                    return;
                }
            }
            if is_split {
                self.withhold(raw, line_no, R_SPLIT, sink);
                return;
            }
            if !scan.spans.is_empty() {
                redacted = Vec::with_capacity(data.len());
                let mut at = 0;
                for &(s, e, kind) in std::mem::take(&mut scan.spans).iter() {
                    redacted.extend_from_slice(&data[at..s as usize]);
                    redacted.extend_from_slice(format!("[redacted {}]", KIND_NAMES[kind as usize]).as_bytes());
                    at = e as usize;
                }
                redacted.extend_from_slice(&data[at..]);
                shown = &redacted[..];
                reason = R_ENCODED;
            }
        }
        if shown.len() > self.cfg.max_line_bytes {
            let mut long = cut(shown, self.cfg.max_line_bytes - CUT_SUFFIX.len()).to_vec();
            long.extend_from_slice(CUT_SUFFIX);
            if reason == NO_REASON {
                reason = R_TOO_LONG;
            }
            self.show(&long, raw, line_no, now, reason, sink);
            return;
        }
        let shown = shown.to_vec();
        self.show(&shown, raw, line_no, now, reason, sink);
    }

    fn window_add(&mut self, line_no: u64, size: u64) -> bool {
        while let Some(&(first, first_size)) = self.window.front() {
            if first + self.cfg.window_lines > line_no {
                break;
            }
            self.window_total -= first_size;
            self.window.pop_front();
        }
        self.window.push_back((line_no, size));
        self.window_total += size;
        self.window.len() >= self.cfg.window_data_lines || self.window_total >= self.cfg.window_data_bytes
    }

    fn show(&mut self, shown: &[u8], raw: &[u8], line_no: u64, now: f64, reason: usize, sink: &mut Sink) {
        if self.spent != NO_REASON {
            self.withhold(raw, line_no, self.spent, sink);
            return;
        }
        if let Some(rate) = self.rate.as_mut() {
            if !rate.try_take(1.0, now) {
                self.withhold(raw, line_no, R_RATE, sink);
                return;
            }
        }
        let size = shown.len() as u64 + 1;
        self.emit_marker(sink);
        if self.spent != NO_REASON || !self.fits(size, size) {
            self.withhold(raw, line_no, self.spent, sink);
            return;
        }
        self.c.shown_bytes += size;
        self.c.budget_used += size;
        sink.shown.extend_from_slice(shown);
        sink.shown.push(b'\n');
        if reason != NO_REASON {
            self.c.redacted += 1;
            self.c.reasons[reason] += 1;
            if sink.is_recording_all || sink.is_recording_audit {
                sink.records.push(Record::Redact { line_no, text: shown.to_vec(), reason, original: raw.to_vec(), metric: None });
            }
        } else {
            self.c.passed += 1;
            if sink.is_recording_all {
                sink.records.push(Record::Pass { line_no, text: shown.to_vec(), metric: None });
            }
        }
    }

    fn metric_line(&mut self, text: &[u8], raw: &[u8], line_no: u64, now: f64, sink: &mut Sink, h: &mut dyn Helpers) {
        if self.c.points >= self.cfg.max_points_per_job {
            self.withhold(raw, line_no, R_POINTS_CAP, sink);
            return;
        }
        let Some(point) = metric::parse(text).or_else(|| h.parse_metric(text)) else {
            self.withhold(raw, line_no, R_MALFORMED, sink);
            return;
        };
        let (point, reason) = self.admit(point, now, h);
        let Some(point) = point else {
            self.withhold(raw, line_no, reason, sink);
            return;
        };
        let mut shown = std::mem::take(&mut self.scratch);
        shown.clear();
        metric::format_line(point.step, &point.values, &mut shown);
        self.metric_shown(&shown, point, raw, line_no, reason, sink);
        self.scratch = shown;
    }

    fn metric_shown(&mut self, shown: &[u8], point: Point, raw: &[u8], line_no: u64, reason: usize, sink: &mut Sink) {
        let size = shown.len() as u64 + 1;
        if self.spent == NO_REASON {
            self.emit_marker(sink);
        }
        if self.cfg.max_shown_bytes.is_some_and(|cap| self.c.shown_bytes + size > cap) {
            if self.spent == NO_REASON {
                self.spent = R_SHOWN_CAP;
            }
            self.withhold(raw, line_no, R_SHOWN_CAP, sink);
            return;
        }
        self.c.shown_bytes += size;
        sink.shown.extend_from_slice(shown);
        sink.shown.push(b'\n');
        if reason != NO_REASON {
            self.c.redacted += 1;
            self.c.reasons[reason] += 1;
            if sink.is_recording_all || sink.is_recording_audit {
                let (text, original, metric) = (shown.to_vec(), raw.to_vec(), Some(point.into_owned()));
                sink.records.push(Record::Redact { line_no, text, reason, original, metric });
            }
        } else {
            self.c.passed += 1;
            if sink.is_recording_all {
                sink.records.push(Record::Pass { line_no, text: shown.to_vec(), metric: Some(point.into_owned()) });
            }
        }
    }

    /// MetricChannel.admit: the capped, rounded point and the first cap that dropped something.
    fn admit<'a>(&mut self, mut point: Point<'a>, now: f64, h: &mut dyn Helpers) -> (Option<Point<'a>>, usize) {
        if point.step > self.cfg.max_step {
            return (None, R_STEP);
        }
        let mut reason = NO_REASON;
        // Bit i: the i-th pair is kept / brings a new name (a point has at most 32 pairs, and
        // its names are distinct, so a name is new exactly when the job has not seen it).
        let (mut keep, mut new, mut new_count) = (0u64, 0u64, 0usize);
        for i in 0..point.values.len().min(64) {
            let name = &point.values[i].0;
            if name.chars().count() > self.cfg.max_name_chars || !self.name_matches(name, h) {
                if reason == NO_REASON {
                    reason = R_NAME;
                }
                continue;
            }
            if !self.names.iter().any(|n| n.as_str() == name.as_ref()) {
                if self.names.len() + new_count >= self.cfg.max_names {
                    if reason == NO_REASON {
                        reason = R_NAMES_CAP;
                    }
                    continue;
                }
                new |= 1 << i;
                new_count += 1;
            }
            keep |= 1 << i;
            point.values[i].1 = point.values[i].1.rounded(self.cfg.significant_digits);
        }
        if keep == 0 {
            return (None, reason);
        }
        let count = u64::from(keep.count_ones());
        if self.c.points + count > self.cfg.max_points_per_job {
            return (None, R_POINTS_CAP);
        }
        if let Some(bucket) = self.metric_rate.as_mut() {
            if !bucket.try_take(count as f64, now) {
                return (None, R_METRIC_RATE);
            }
        }
        self.c.points += count;
        for (i, (name, _)) in point.values.iter().enumerate() {
            if new >> i & 1 == 1 {
                self.names.push(name.to_string());
            }
        }
        let mut i = 0;
        point.values.retain(|_| {
            i += 1;
            keep >> (i - 1) & 1 == 1
        });
        (Some(point), reason)
    }

    fn name_matches(&mut self, name: &str, h: &mut dyn Helpers) -> bool {
        if self.cfg.is_default_name_pattern {
            return metric::is_metric_name(name);
        }
        if let Some(&known) = self.name_cache.get(name) {
            return known;
        }
        let known = h.name_matches(name);
        if self.name_cache.len() < 4096 {
            self.name_cache.insert(name.to_string(), known);
        }
        known
    }

    fn fits(&mut self, size: u64, cost: u64) -> bool {
        if self.cfg.max_shown_bytes.is_some_and(|cap| self.c.shown_bytes + size > cap) {
            self.spent = R_SHOWN_CAP;
            return false;
        }
        if self.cfg.leak_budget_bytes.is_some_and(|budget| self.c.budget_used + cost > budget) {
            self.spent = R_BUDGET;
            return false;
        }
        true
    }

    fn emit_marker(&mut self, sink: &mut Sink) {
        if self.pending.iter().all(|&n| n == 0) {
            return;
        }
        let size = marker_text(&self.pending).len() as u64 + 1;
        if !self.fits(size, size) {
            return; // deferred to flush(): after a budget ran out, only one final marker
        }
        self.c.shown_bytes += size;
        self.c.budget_used += size;
        let (text, reason) = self.take_marker();
        sink.shown.extend_from_slice(text.as_bytes());
        sink.shown.push(b'\n');
        if sink.is_recording_all {
            sink.records.push(Record::Marker { text, reason });
        }
    }

    fn take_marker(&mut self) -> (String, String) {
        let text = marker_text(&self.pending);
        let reason = REASONS.iter().zip(self.pending).filter(|(_, n)| *n > 0).map(|(r, _)| *r).collect::<Vec<_>>();
        let mut reason = reason;
        reason.sort_unstable();
        self.pending = [0; 12];
        self.c.markers += 1;
        (text, reason.join(","))
    }

    /// End of job: the marker for withheld lines not yet followed by a shown line.
    pub(crate) fn flush(&mut self) -> Option<(String, String)> {
        if self.pending.iter().all(|&n| n == 0) {
            return None;
        }
        let (text, reason) = self.take_marker();
        self.c.shown_bytes += text.len() as u64 + 1;
        Some((text, reason))
    }

    fn withhold(&mut self, raw: &[u8], line_no: u64, reason: usize, sink: &mut Sink) {
        self.c.withheld += 1;
        self.c.reasons[reason] += 1;
        self.pending[reason] += 1;
        if sink.is_recording_all || sink.is_recording_audit {
            sink.records.push(Record::Withhold { line_no, reason, raw: raw.to_vec() });
        }
    }
}
