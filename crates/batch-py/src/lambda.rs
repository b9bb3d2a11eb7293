//! AWS Lambda helpers for Python handlers: the flush budget from the context, partial batch
//! responses, and a decorator that flushes at the end of every invocation. The rules are
//! `batch_lambda`'s; this module only converts.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_batch_utils::lambda::{InvocationBudget, PartialBatch as Batch};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyTuple};

use crate::SubmitError;

/// The budget in seconds for a flush at the end of the invocation of `context`: its
/// remaining time (`get_remaining_time_in_millis()`) less `margin_ms`, or `fallback` seconds
/// without a usable context (None, a test's stand-in, a remaining time longer than an
/// invocation can last).
fn budget(context: Option<&Bound<'_, PyAny>>, margin_ms: u64, fallback: f64) -> PyResult<Duration> {
    let fallback = Duration::try_from_secs_f64(fallback)
        .map_err(|e| PyValueError::new_err(format!("fallback: {e}")))?;
    let rules = InvocationBudget::default()
        .margin(Duration::from_millis(margin_ms))
        .fallback(fallback);
    let remaining: Option<i64> = match context {
        Some(context) if context.hasattr("get_remaining_time_in_millis")? => context
            .call_method0("get_remaining_time_in_millis")?
            .extract()
            .ok(),
        _ => None,
    };
    let now = SystemTime::now();
    let now_ms = u64::try_from(now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis()))
        .unwrap_or(u64::MAX);
    let deadline_ms = match remaining {
        None => 0,
        Some(ms) if ms <= 0 => now_ms,
        Some(ms) => now_ms.saturating_add(ms.unsigned_abs()),
    };
    Ok(rules.at(deadline_ms, now))
}

/// The seconds a flush at the end of this invocation may take: the context's remaining
/// time less `margin_ms` (0 when less is left), or `fallback` without a usable context.
#[pyfunction]
#[pyo3(signature = (context, margin_ms=250, fallback=10.0))]
pub(crate) fn flush_budget(
    context: Option<&Bound<'_, PyAny>>,
    margin_ms: u64,
    fallback: f64,
) -> PyResult<f64> {
    Ok(budget(context, margin_ms, fallback)?.as_secs_f64())
}

/// The input records of an SQS, Kinesis or DynamoDB Streams event and which of them failed,
/// for a partial batch response (`ReportBatchItemFailures`).
///
/// `submit(dispatcher, index, payload, ...)` submits a payload made from input record
/// `index` and remembers the pair; `flush(context, *dispatchers)` flushes within the
/// invocation's time and marks failed the inputs whose payloads came back; `response()` is
/// the handler's return value. For SQS it lists every failed message; for streams the
/// failed record with the lowest sequence number (Lambda sends it and all after it again).
#[pyclass(module = "aws_batch_utils")]
pub(crate) struct PartialBatch {
    batch: Batch,
    /// `id(payload)` to the payload (kept alive, so the id stays its own) and its inputs.
    tracked: Py<PyDict>,
}

fn records<'py>(event: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyList>> {
    let records = event
        .get_item("Records")
        .map_err(|_| PyTypeError::new_err("the event has no 'Records' list"))?;
    records
        .cast_into::<PyList>()
        .map_err(|_| PyTypeError::new_err("the event's 'Records' is not a list"))
}

fn text(value: Option<Bound<'_, PyAny>>) -> String {
    value
        .and_then(|v| v.extract::<String>().ok())
        .unwrap_or_default()
}

#[pymethods]
impl PartialBatch {
    #[new]
    fn new(py: Python<'_>, event: &Bound<'_, PyAny>) -> PyResult<Self> {
        let records = records(event)?;
        let source = match records.iter().next() {
            Some(first) => text(
                first
                    .get_item("eventSource")
                    .ok()
                    .or_else(|| first.get_item("EventSource").ok()),
            ),
            None => "aws:sqs".to_owned(),
        };
        let mut ids = Vec::with_capacity(records.len());
        for record in records.iter() {
            let id = match source.as_str() {
                "aws:sqs" => text(record.get_item("messageId").ok()),
                "aws:kinesis" => text(
                    record
                        .get_item("kinesis")
                        .and_then(|k| k.get_item("sequenceNumber"))
                        .ok(),
                ),
                "aws:dynamodb" => text(
                    record
                        .get_item("dynamodb")
                        .and_then(|d| d.get_item("SequenceNumber"))
                        .ok(),
                ),
                other => {
                    return Err(PyValueError::new_err(format!(
                        "eventSource {other:?}: partial batch responses are for aws:sqs, aws:kinesis and aws:dynamodb events"
                    )));
                }
            };
            ids.push(id);
        }
        let batch = if source == "aws:sqs" {
            Batch::queue(ids)
        } else {
            Batch::stream(ids)
        };
        Ok(Self {
            batch,
            tracked: PyDict::new(py).unbind(),
        })
    }

    /// Submits `payload` (made from input record `index`) to `dispatcher` with the other
    /// arguments of its `submit_payload`. A payload refused at once (`SubmitError`) marks
    /// the input failed and returns False.
    #[pyo3(signature = (dispatcher, index, payload, *args, **kwargs))]
    fn submit(
        &mut self,
        py: Python<'_>,
        dispatcher: &Bound<'_, PyAny>,
        index: usize,
        payload: &Bound<'_, PyAny>,
        args: &Bound<'_, PyTuple>,
        kwargs: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<bool> {
        let mut all = vec![payload.clone()];
        all.extend(args.iter());
        let call = dispatcher.call_method("submit_payload", PyTuple::new(py, all)?, kwargs);
        match call {
            Ok(_) => {
                let tracked = self.tracked.bind(py);
                let key = payload.as_ptr() as usize;
                match tracked.get_item(key)? {
                    Some(entry) => entry.get_item(1)?.cast_into::<PyList>()?.append(index)?,
                    None => tracked.set_item(key, (payload, PyList::new(py, [index])?))?,
                }
                Ok(true)
            }
            Err(err) if err.is_instance_of::<SubmitError>(py) => {
                self.batch.fail(index);
                Ok(false)
            }
            Err(err) => Err(err),
        }
    }

    /// Marks input record `index` failed.
    fn fail(&mut self, index: usize) {
        self.batch.fail(index);
    }

    /// Marks failed the inputs of these payloads (objects a flush handed back).
    fn fail_payloads(&mut self, py: Python<'_>, payloads: &Bound<'_, PyAny>) -> PyResult<()> {
        let tracked = self.tracked.bind(py);
        for payload in payloads.try_iter()? {
            let payload = payload?;
            let Some(entry) = tracked.get_item(payload.as_ptr() as usize)? else {
                continue;
            };
            for index in entry.get_item(1)?.try_iter()? {
                self.batch.fail(index?.extract()?);
            }
        }
        Ok(())
    }

    /// Flushes each of `dispatchers` within the invocation's remaining time less `margin_ms`
    /// and marks failed the inputs whose payloads came back. Returns those payloads.
    #[pyo3(signature = (context, *dispatchers, margin_ms=250, fallback=10.0))]
    fn flush<'py>(
        &mut self,
        py: Python<'py>,
        context: Option<&Bound<'py, PyAny>>,
        dispatchers: &Bound<'py, PyTuple>,
        margin_ms: u64,
        fallback: f64,
    ) -> PyResult<Bound<'py, PyList>> {
        let started = tokio::time::Instant::now();
        let budget = budget(context, margin_ms, fallback)?;
        let failed = PyList::empty(py);
        for dispatcher in dispatchers.iter() {
            let left = budget.saturating_sub(started.elapsed()).as_secs_f64();
            let kwargs = PyDict::new(py);
            kwargs.set_item("timeout", left)?;
            let payloads = dispatcher.call_method("flush_payloads", (), Some(&kwargs))?;
            for payload in payloads.try_iter()? {
                failed.append(payload?)?;
            }
        }
        self.fail_payloads(py, failed.as_any())?;
        Ok(failed)
    }

    /// Indexes of the input records marked failed.
    #[getter]
    fn failed(&self) -> Vec<usize> {
        self.batch.failed().collect()
    }

    /// The handler's return value: `{"batchItemFailures": [{"itemIdentifier": ...}]}`.
    fn response<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let failures = PyList::empty(py);
        for failure in self.batch.response().batch_item_failures {
            let item = PyDict::new(py);
            item.set_item("itemIdentifier", failure.item_identifier)?;
            failures.append(item)?;
        }
        let response = PyDict::new(py);
        response.set_item("batchItemFailures", failures)?;
        Ok(response)
    }

    fn __len__(&self) -> usize {
        self.batch.len()
    }
}

/// A decorator for a Lambda handler `(event, context)`: after the handler returns (or
/// raises), flushes `dispatchers` within the invocation's remaining time less `margin_ms`,
/// so nothing is held while Lambda freezes the environment. What is not delivered stays in
/// each dispatcher's `unprocessed_items` and is logged at ERROR.
#[pyfunction]
#[pyo3(signature = (*dispatchers, margin_ms=250, fallback=10.0))]
pub(crate) fn flush_at_end(
    dispatchers: &Bound<'_, PyTuple>,
    margin_ms: u64,
    fallback: f64,
) -> FlushAtEnd {
    FlushAtEnd {
        dispatchers: dispatchers.clone().unbind(),
        margin_ms,
        fallback,
    }
}

/// What `flush_at_end(...)` returns: applied to a handler, the wrapped handler.
#[pyclass(module = "aws_batch_utils")]
pub(crate) struct FlushAtEnd {
    dispatchers: Py<PyTuple>,
    margin_ms: u64,
    fallback: f64,
}

#[pymethods]
impl FlushAtEnd {
    fn __call__(&self, py: Python<'_>, handler: Py<PyAny>) -> FlushingHandler {
        FlushingHandler {
            handler,
            dispatchers: self.dispatchers.clone_ref(py),
            margin_ms: self.margin_ms,
            fallback: self.fallback,
        }
    }
}

/// A handler wrapped by `flush_at_end`.
#[pyclass(module = "aws_batch_utils")]
pub(crate) struct FlushingHandler {
    handler: Py<PyAny>,
    dispatchers: Py<PyTuple>,
    margin_ms: u64,
    fallback: f64,
}

#[pymethods]
impl FlushingHandler {
    fn __call__(
        &self,
        py: Python<'_>,
        event: Py<PyAny>,
        context: Py<PyAny>,
    ) -> PyResult<Py<PyAny>> {
        let result = self.handler.call1(py, (event, context.clone_ref(py)));
        let context = context.bind(py);
        let started = tokio::time::Instant::now();
        let budget = budget(
            Some(context).filter(|c| !c.is_none()),
            self.margin_ms,
            self.fallback,
        )?;
        for dispatcher in self.dispatchers.bind(py).iter() {
            let left = budget.saturating_sub(started.elapsed()).as_secs_f64();
            let kwargs = PyDict::new(py);
            kwargs.set_item("timeout", left)?;
            let failed = dispatcher.call_method("flush_payloads", (), Some(&kwargs))?;
            let count = failed.len()?;
            if count > 0 {
                tracing::error!(
                    count,
                    "payloads not delivered by the end of the invocation; they are in the dispatcher's unprocessed_items"
                );
            }
        }
        result
    }
}
