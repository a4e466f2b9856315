//! Whole chunks: runs of plain lines (shown in bulk) and notable lines, as
//! arenahub.logpolicy.chunks.chunk_events splits them.

use crate::rules::{scan_line, Params, Scan, CLASSES, C_CONTROL, FLAG_CONTROL};

pub(crate) enum Piece {
    Range(usize, usize),
    Newline,
}

pub(crate) enum Event {
    Run { lines: usize, raw_start: usize, raw_end: usize, pieces: Vec<Piece>, size: usize },
    Line { index: usize, start: usize, end: usize, scan: Scan },
}

/// The text a plain line shows: the whole line, or for a line whose only control bytes are
/// carriage returns, its last non-empty segment (as normalise_line does); None if notable.
pub(crate) fn plain_display(line: &[u8], scan: &Scan, p: &Params) -> Option<(usize, usize)> {
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

pub(crate) fn chunk_events(data: &[u8], p: &Params) -> (usize, Vec<Event>) {
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

