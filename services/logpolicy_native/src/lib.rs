//! Native core of arenahub's log policy.
//!
//! `Scanner` implements exactly the rules of `arenahub.logpolicy.scanner` (the pure-Python
//! reference): flags, encoded spans, data-only lines. `Filter` runs a whole job's open or
//! filtered policy over chunks of lines (arenahub.logpolicy.pyfilter is its reference).
//! Any change there must be made here too; tests/unit/logpolicy/test_native.py and
//! test_native_filter.py compare the two on the same inputs.

mod blocks;
mod chunks;
mod filter;
mod metric;
mod number;
mod pyfilter;
mod rules;
mod tokens;

use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyTuple};

use crate::chunks::{chunk_events, Event, Piece};
use crate::rules::{scan_line, Params, Scan};

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

/// Scanner settings from the threshold tables (both need 9 rows of long_token_chars + 1).
#[allow(clippy::too_many_arguments)]
pub(crate) fn make_params(
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
) -> PyResult<Params> {
    let rows_ok = |t: &Vec<Vec<u32>>| t.len() == 9 && t.iter().all(|r| r.len() > long_token_chars);
    if !rows_ok(&run_min_distinct) || !rows_ok(&token_min_distinct) {
        return Err(pyo3::exceptions::PyValueError::new_err(
            "threshold tables need 9 rows of long_token_chars + 1 entries",
        ));
    }
    Ok(Params {
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
    })
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
        let p = make_params(
            is_detecting, max_line_bytes, base64_min_chars, hex_min_chars, decimal_min_digits, number_list_min,
            token_min_chars, long_token_chars, unicode_min_chars, unicode_distinct_percent, run_min_distinct,
            token_min_distinct,
        )?;
        Ok(Scanner { p })
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

#[pymodule]
fn arenahub_logscan(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Scanner>()?;
    m.add_class::<pyfilter::Filter>()?;
    Ok(())
}
