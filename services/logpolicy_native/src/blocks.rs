//! Whole chunks: lines split, scanned a block ahead on a second thread, decided in order.

use std::sync::mpsc::sync_channel;
use std::sync::Arc;

use crate::filter::{Filter, Helpers, Sink};
use crate::metric;
use crate::rules::{scan_line, Params, Scan, FLAG_CONTROL, FLAG_METRIC, FLAG_NON_UTF8};

// Bytes a scanning thread hands over at a time (then cut at the next line end).
const SCAN_BLOCK: usize = 64 * 1024;

/// The Scans of every line of `data` (the last may lack its newline), in order.
fn scan_block(data: &[u8], p: &Params) -> Vec<Scan> {
    let mut scans = Vec::with_capacity(data.len() / 64 + 1);
    let mut start = 0;
    while start < data.len() {
        let end = memchr::memchr(b'\n', &data[start..]).map_or(data.len(), |k| start + k);
        let line = &data[start..end];
        scans.push(if memchr::memchr2(b'\r', 0x1b, line).is_some() {
            // decide() looks only at the flags of a line with control bytes: it rescans the
            // normalised text, so the detectors need not see the raw redraws.
            flags_only()
        } else if line.starts_with(metric::METRIC_PREFIX) {
            metric_flags(line) // a metric line's spans are never read either
        } else {
            scan_line(line, p)
        });
        start = end + 1;
    }
    scans
}

/// The Scan of a metric line, flags only (as scan_line sets them).
fn metric_flags(line: &[u8]) -> Scan {
    let is_control = line.iter().fold(false, |seen, &b| seen | ((b < 0x20 && b != b'\t') | (b == 0x7f)));
    let mut flags = FLAG_METRIC;
    if is_control {
        flags |= FLAG_CONTROL;
    }
    if std::str::from_utf8(line).is_err() {
        flags |= FLAG_NON_UTF8;
    }
    Scan { flags, ..Scan::default() }
}

/// The Scan of a line known to hold a control byte: decide() reads only its flags.
pub(crate) fn flags_only() -> Scan {
    Scan { flags: FLAG_CONTROL, ..Scan::default() }
}

impl Filter {
    /// Every line of `data` (the last may lack its newline), in order. Large chunks are
    /// scanned a block ahead on a second thread; the decisions stay in order on this one.
    pub(crate) fn feed_chunk(&mut self, data: &[u8], now: f64, sink: &mut Sink, h: &mut dyn Helpers) {
        if data.len() < 4 * SCAN_BLOCK {
            let scans = scan_block(data, &self.p);
            self.decide_block(data, scans, now, sink, h);
            if h.write(&sink.shown) {
                sink.shown.clear();
            }
            return;
        }
        let mut blocks: Vec<(usize, usize)> = Vec::with_capacity(data.len() / SCAN_BLOCK + 1);
        let mut start = 0;
        while start < data.len() {
            let end = match memchr::memchr(b'\n', &data[(start + SCAN_BLOCK).min(data.len())..]) {
                Some(k) => (start + SCAN_BLOCK).min(data.len()) + k + 1,
                None => data.len(),
            };
            blocks.push((start, end));
            start = end;
        }
        let params = Arc::clone(&self.p);
        std::thread::scope(|scope| {
            let (sender, receiver) = sync_channel::<Vec<Scan>>(2);
            let ahead = &blocks;
            scope.spawn(move || {
                for &(a, b) in ahead {
                    if sender.send(scan_block(&data[a..b], &params)).is_err() {
                        break;
                    }
                }
            });
            for &(a, b) in &blocks {
                let scans = receiver.recv().expect("the scanning thread ended early");
                self.decide_block(&data[a..b], scans, now, sink, h);
                // Handing each block on at once lets the reader of a pipe work meanwhile.
                if h.write(&sink.shown) {
                    sink.shown.clear();
                }
            }
        });
    }

    fn decide_block(&mut self, data: &[u8], scans: Vec<Scan>, now: f64, sink: &mut Sink, h: &mut dyn Helpers) {
        let mut start = 0;
        for scan in scans {
            let end = memchr::memchr(b'\n', &data[start..]).map_or(data.len(), |k| start + k);
            self.decide(&data[start..end], scan, now, sink, h);
            start = end + 1;
        }
    }
}
