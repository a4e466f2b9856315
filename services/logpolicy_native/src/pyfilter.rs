//! The Python face of `filter::Filter` (arenahub.logpolicy.native adapts it to LogFilter).
//!
//! Decisions come back as plain tuples `(action, line_no, text, reason, original, metric)`:
//! action 0 pass, 1 redact, 2 withhold, 3 marker; `text` and `original` are bytes (Python
//! decodes withheld originals with errors="replace", as the reference does); `metric` is None
//! or `(step, [(name, value), ...])`.

use std::borrow::Cow;

use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList, PyTuple};

use crate::filter::{Config, Helpers, Record, Sink, REASONS};
use crate::metric::{Num, Point};
use crate::rules::scan_line;

type ScanArgs = (bool, usize, usize, usize, usize, usize, usize, usize, usize, usize, Vec<Vec<u32>>, Vec<Vec<u32>>);

struct PyHelpers<'py, 'a> {
    py: Python<'py>,
    normalise: &'a Py<PyAny>,
    parse_metric: &'a Py<PyAny>,
    name_matches: &'a Py<PyAny>,
    writer: Option<&'a Py<PyAny>>,
    error: Option<PyErr>,
}

impl PyHelpers<'_, '_> {
    fn keep<T>(&mut self, result: PyResult<T>, default: T) -> T {
        result.unwrap_or_else(|err| {
            self.error.get_or_insert(err);
            default
        })
    }
}

impl Helpers for PyHelpers<'_, '_> {
    fn normalise(&mut self, raw: &[u8]) -> Vec<u8> {
        let result = self.normalise.call1(self.py, (PyBytes::new(self.py, raw),)).and_then(|v| v.extract::<Vec<u8>>(self.py));
        self.keep(result, Vec::new())
    }

    fn parse_metric(&mut self, text: &[u8]) -> Option<Point<'static>> {
        let result = self
            .parse_metric
            .call1(self.py, (PyBytes::new(self.py, text),))
            .and_then(|v| v.extract::<Option<(u64, Vec<(String, f64)>)>>(self.py));
        let (step, values) = self.keep(result, None)?;
        // parse_metric_line never returns more than 32 values; anything else is malformed.
        (values.len() <= 32).then(|| Point { step, values: values.into_iter().map(|(n, v)| (Cow::Owned(n), Num::Float(v))).collect() })
    }

    fn name_matches(&mut self, name: &str) -> bool {
        let result = self.name_matches.call1(self.py, (name,)).and_then(|v| v.extract::<bool>(self.py));
        self.keep(result, false)
    }

    fn write(&mut self, shown: &[u8]) -> bool {
        let Some(writer) = self.writer else {
            return false;
        };
        if shown.is_empty() || self.error.is_some() {
            return self.error.is_none();
        }
        let result = writer.call1(self.py, (PyBytes::new(self.py, shown),)).map(|_| ());
        self.keep(result, ());
        true
    }
}

/// One job's open or filtered policy over chunks of lines (see arenahub.logpolicy.native).
#[pyclass]
pub(crate) struct Filter {
    core: crate::filter::Filter,
    normalise: Py<PyAny>,
    parse_metric: Py<PyAny>,
    name_matches: Py<PyAny>,
    // The shown bytes of the last chunk, kept so the next chunk reuses its pages.
    buffer: Vec<u8>,
    // feed_stream: the unfinished last line of the pieces so far.
    carry: Vec<u8>,
}

type RecordParts<'py, 'r> = (u8, Bound<'py, PyAny>, Bound<'py, PyAny>, &'r str, Bound<'py, PyAny>, Bound<'py, PyAny>);

fn record_tuple<'py>(py: Python<'py>, record: Record) -> PyResult<Bound<'py, PyTuple>> {
    let none = || py.None().into_bound(py);
    let metric = |m: Option<Point>| -> PyResult<Bound<'py, PyAny>> {
        match m {
            None => Ok(none()),
            Some(p) => {
                let values: Vec<(String, f64)> = p.values.into_iter().map(|(n, v)| (n.into_owned(), v.value())).collect();
                Ok((p.step, values).into_pyobject(py)?.into_any())
            }
        }
    };
    let (action, line_no, text, reason, original, point): RecordParts =
        match record {
            Record::Pass { line_no, text, metric: m } => {
                (0, line_no.into_pyobject(py)?.into_any(), PyBytes::new(py, &text).into_any(), "", none(), metric(m)?)
            }
            Record::Redact { line_no, text, reason, original, metric: m } => (
                1,
                line_no.into_pyobject(py)?.into_any(),
                PyBytes::new(py, &text).into_any(),
                REASONS[reason],
                PyBytes::new(py, &original).into_any(),
                metric(m)?,
            ),
            Record::Withhold { line_no, reason, raw } => {
                (2, line_no.into_pyobject(py)?.into_any(), PyBytes::new(py, &raw).into_any(), REASONS[reason], none(), none())
            }
            Record::Marker { text, reason } => {
                let tuple = (3u8, none(), PyBytes::new(py, text.as_bytes()), reason, none(), none());
                return tuple.into_pyobject(py);
            }
        };
    (action, line_no, text, reason, original, point).into_pyobject(py)
}

impl Filter {
    /// Runs `work` with Python helpers; the first error a helper met is raised afterwards.
    fn run(
        &mut self,
        py: Python<'_>,
        sink: &mut Sink,
        writer: Option<&Py<PyAny>>,
        work: impl FnOnce(&mut crate::filter::Filter, &mut Sink, &mut dyn Helpers),
    ) -> PyResult<()> {
        let mut helpers = PyHelpers {
            py,
            normalise: &self.normalise,
            parse_metric: &self.parse_metric,
            name_matches: &self.name_matches,
            writer,
            error: None,
        };
        work(&mut self.core, sink, &mut helpers);
        helpers.error.map_or(Ok(()), Err)
    }
}

fn records_list<'py>(py: Python<'py>, records: Vec<Record>) -> PyResult<Bound<'py, PyList>> {
    let list = PyList::empty(py);
    for record in records {
        list.append(record_tuple(py, record)?)?;
    }
    Ok(list)
}

#[pymethods]
impl Filter {
    #[new]
    #[allow(clippy::too_many_arguments)]
    #[pyo3(signature = (scan, withhold_percent, window_lines, window_data_lines, window_data_bytes, max_line_bytes,
        max_shown_bytes, leak_budget_bytes, rate, metric_rate, max_points_per_job, max_step, max_name_chars, max_names,
        significant_digits, is_default_name_pattern, normalise, parse_metric, name_matches))]
    fn new(
        scan: ScanArgs,
        withhold_percent: u64,
        window_lines: u64,
        window_data_lines: usize,
        window_data_bytes: u64,
        max_line_bytes: usize,
        max_shown_bytes: Option<u64>,
        leak_budget_bytes: Option<u64>,
        rate: Option<(f64, f64)>,
        metric_rate: Option<(f64, f64)>,
        max_points_per_job: u64,
        max_step: u64,
        max_name_chars: usize,
        max_names: usize,
        significant_digits: usize,
        is_default_name_pattern: bool,
        normalise: Py<PyAny>,
        parse_metric: Py<PyAny>,
        name_matches: Py<PyAny>,
    ) -> PyResult<Self> {
        let p = crate::make_params(scan.0, scan.1, scan.2, scan.3, scan.4, scan.5, scan.6, scan.7, scan.8, scan.9, scan.10, scan.11)?;
        if !(1..=17).contains(&significant_digits) || max_line_bytes < 16 {
            return Err(pyo3::exceptions::PyValueError::new_err("significant_digits must be 1-17 and max_line_bytes >= 16"));
        }
        let cfg = Config {
            withhold_percent,
            window_lines,
            window_data_lines,
            window_data_bytes,
            max_line_bytes,
            max_shown_bytes,
            leak_budget_bytes,
            rate,
            metric_rate,
            max_points_per_job,
            max_step,
            max_name_chars,
            max_names,
            significant_digits,
            is_default_name_pattern,
        };
        Ok(Filter { core: crate::filter::Filter::new(p, cfg), normalise, parse_metric, name_matches, buffer: Vec::new(), carry: Vec::new() })
    }

    /// (shown bytes, audit records) for every line of `data`; records only when `audit`. With
    /// `write`, the shown bytes go to it in pieces as they are decided (and come back empty).
    #[pyo3(signature = (data, now, audit, write=None))]
    fn feed_chunk<'py>(&mut self, py: Python<'py>, data: &[u8], now: f64, audit: bool, write: Option<Py<PyAny>>) -> PyResult<(Bound<'py, PyBytes>, Bound<'py, PyList>)> {
        let mut shown = std::mem::take(&mut self.buffer);
        shown.clear();
        shown.reserve(data.len() + 4096);
        let mut sink = Sink { shown, records: Vec::new(), is_recording_all: false, is_recording_audit: audit };
        let result = self.run(py, &mut sink, write.as_ref(), |core, sink, h| core.feed_chunk(data, now, sink, h));
        let shown = PyBytes::new(py, &sink.shown);
        self.buffer = sink.shown;
        result?;
        Ok((shown, records_list(py, sink.records)?))
    }

    /// feed_chunk for any piece of a byte stream: a line cut at the end of `data` waits in
    /// the carry for the rest (end_stream decides it when the stream ends).
    #[pyo3(signature = (data, now, audit, write=None))]
    fn feed_stream<'py>(&mut self, py: Python<'py>, data: &[u8], now: f64, audit: bool, write: Option<Py<PyAny>>) -> PyResult<(Bound<'py, PyBytes>, Bound<'py, PyList>)> {
        let mut carry = std::mem::take(&mut self.carry);
        let Some(last) = memchr::memrchr(b'\n', data) else {
            carry.extend_from_slice(data);
            self.carry = carry;
            return Ok((PyBytes::new(py, b""), PyList::empty(py)));
        };
        let mut rest = &data[..=last];
        let mut shown = std::mem::take(&mut self.buffer);
        shown.clear();
        shown.reserve(data.len() + 4096);
        let mut sink = Sink { shown, records: Vec::new(), is_recording_all: false, is_recording_audit: audit };
        let result = self.run(py, &mut sink, write.as_ref(), |core, sink, h| {
            if !carry.is_empty() {
                let first = memchr::memchr(b'\n', rest).unwrap_or(rest.len() - 1);
                carry.extend_from_slice(&rest[..=first]);
                core.feed_chunk(&carry, now, sink, h);
                rest = &rest[first + 1..];
            }
            core.feed_chunk(rest, now, sink, h);
        });
        carry.clear();
        carry.extend_from_slice(&data[last + 1..]);
        self.carry = carry;
        let shown = PyBytes::new(py, &sink.shown);
        self.buffer = sink.shown;
        result?;
        Ok((shown, records_list(py, sink.records)?))
    }

    /// The end of a feed_stream stream: the decisions for its unfinished last line, if any.
    #[pyo3(signature = (now, audit, write=None))]
    fn end_stream<'py>(&mut self, py: Python<'py>, now: f64, audit: bool, write: Option<Py<PyAny>>) -> PyResult<(Bound<'py, PyBytes>, Bound<'py, PyList>)> {
        let carry = std::mem::take(&mut self.carry);
        self.feed_chunk(py, &carry, now, audit, write)
    }

    /// Every decision for one line (bytes without its newline).
    fn feed_line<'py>(&mut self, py: Python<'py>, raw: &[u8], now: f64) -> PyResult<Bound<'py, PyList>> {
        let mut sink = Sink { shown: Vec::new(), records: Vec::new(), is_recording_all: true, is_recording_audit: true };
        self.run(py, &mut sink, None, |core, sink, h| {
            let scan = scan_line(raw, &core.p);
            core.decide(raw, scan, now, sink, h)
        })?;
        records_list(py, sink.records)
    }

    /// End of job: (marker text, reason) for withheld lines not yet followed by a shown line.
    fn flush(&mut self) -> Option<(String, String)> {
        self.core.flush()
    }

    /// The counters: lines_in, passed, redacted, withheld, markers, shown bytes, budget used,
    /// metric points, metric names and the reasons (name -> count).
    fn counters<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        let c = &self.core.c;
        let reasons = PyDict::new(py);
        for (name, count) in REASONS.iter().zip(c.reasons) {
            if count > 0 {
                reasons.set_item(name, count)?;
            }
        }
        (c.lines_in, c.passed, c.redacted, c.withheld, c.markers, c.shown_bytes, c.budget_used, c.points, self.core.names.clone(), reasons)
            .into_pyobject(py)
    }
}
