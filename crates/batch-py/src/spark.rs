//! Spark: a DataFrame written through one dispatcher per partition, what was not delivered
//! coming back as a DataFrame for a dead-letter table, and the counts of each partition.
//!
//! Nothing here imports pyspark: the helpers call the DataFrame's own methods, so the package
//! does not depend on it, and the partition function is a module function that Spark's
//! pickling sends to the executors by name.

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyTuple};

use crate::SubmitError;

/// The columns of the undelivered DataFrame.
const FAILED_SCHEMA: &str =
    "partition int, payload string, code string, message string, reason string";

/// What a partition's task returns: one `failed` row per payload not delivered, then one
/// `counts` row.
const FAILED: &str = "failed";
const COUNTS: &str = "counts";

/// The payload a row stands for: `to_payload(row)`, or the row as a dict (nested rows too).
fn payload_of<'py>(
    row: &Bound<'py, PyAny>,
    to_payload: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyAny>> {
    if let Some(to_payload) = to_payload {
        return to_payload.call1((row,));
    }
    if row.hasattr("asDict")? {
        let kwargs = PyDict::new(row.py());
        kwargs.set_item("recursive", true)?;
        return row.call_method("asDict", (), Some(&kwargs));
    }
    Ok(row.clone())
}

/// A payload as JSON text for the dead-letter table (values JSON cannot hold as their text).
fn json_text(py: Python<'_>, payload: &Bound<'_, PyAny>) -> PyResult<String> {
    let kwargs = PyDict::new(py);
    kwargs.set_item("default", py.get_type::<pyo3::types::PyString>())?;
    py.import("json")?
        .call_method("dumps", (payload,), Some(&kwargs))?
        .extract()
}

/// Writes the rows of one partition through a dispatcher of its own, made by
/// `make_dispatcher()`, and returns what was not delivered and the counts: the function
/// `write_dataframe` runs in each task, usable in a `mapPartitionsWithIndex` of your own as
/// `functools.partial(write_partition, make_dispatcher, to_payload)`.
///
/// Returns `("failed", partition, payload_json, code, message, reason)` for each row not
/// delivered (refused at submit: code `SubmitError`, reason `Refused`), then
/// `("counts", partition, rows, delivered, refused, unprocessed)`.
#[pyfunction]
#[pyo3(signature = (make_dispatcher, to_payload, partition, rows))]
pub(crate) fn write_partition<'py>(
    py: Python<'py>,
    make_dispatcher: &Bound<'py, PyAny>,
    to_payload: Option<&Bound<'py, PyAny>>,
    partition: i64,
    rows: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyList>> {
    let dispatcher = make_dispatcher.call0()?;
    let out = PyList::empty(py);
    let (mut count, mut refused) = (0_u64, 0_u64);
    for row in rows.try_iter()? {
        let row = row?;
        count += 1;
        let payload = match payload_of(&row, to_payload) {
            Ok(payload) => payload,
            Err(error) => {
                refused += 1;
                let text = json_text(py, &row.str()?.into_any()).unwrap_or_default();
                let message = error.value(py).str()?.to_string();
                out.append((FAILED, partition, text, "PayloadError", message, "Refused"))?;
                continue;
            }
        };
        if let Err(error) = dispatcher.call_method1("submit_payload", (&payload,)) {
            if !error.is_instance_of::<SubmitError>(py) {
                return Err(error);
            }
            refused += 1;
            let reason: String = error
                .value(py)
                .getattr("reason")
                .and_then(|reason| reason.extract())
                .unwrap_or_default();
            let text = json_text(py, &payload)?;
            out.append((FAILED, partition, text, "SubmitError", reason, "Refused"))?;
        }
    }
    let kwargs = PyDict::new(py);
    kwargs.set_item("details", true)?;
    let failed = dispatcher.call_method("flush_payloads", (), Some(&kwargs))?;
    let mut unprocessed = 0_u64;
    for item in failed.try_iter()? {
        let item = item?;
        unprocessed += 1;
        let text = json_text(py, &item.getattr("payload")?)?;
        let (code, message, reason): (String, String, String) = (
            item.getattr("code")?.extract()?,
            item.getattr("message")?.extract()?,
            item.getattr("reason")?.extract()?,
        );
        out.append((FAILED, partition, text, code, message, reason))?;
    }
    let delivered = count - refused - unprocessed;
    out.append((COUNTS, partition, count, delivered, refused, unprocessed))?;
    Ok(out)
}

/// Writes every row of `df` (a Spark DataFrame) through one dispatcher per partition, made by
/// `make_dispatcher()` in each task, and returns `(failed, counts)`: a DataFrame of what was
/// not delivered (`partition`, `payload` as JSON, `code`, `message`, `reason`), for a
/// dead-letter table, and a list with the counts of each partition (`partition`, `rows`,
/// `delivered`, `refused`, `unprocessed`).
///
/// Each row is sent as `to_payload(row)`, or as `row.asDict(recursive=True)`. The job runs
/// once, here; what was not delivered comes through the driver, so a load that may fail
/// wholesale is better written with `write_partition` in a `mapPartitionsWithIndex` of your
/// own, its output written straight to storage.
#[pyfunction]
#[pyo3(signature = (df, make_dispatcher, to_payload=None))]
pub(crate) fn write_dataframe<'py>(
    py: Python<'py>,
    df: &Bound<'py, PyAny>,
    make_dispatcher: &Bound<'py, PyAny>,
    to_payload: Option<&Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyTuple>> {
    let module = py.import("aws_batch_utils")?;
    let task = py.import("functools")?.getattr("partial")?.call1((
        module.getattr("write_partition")?,
        make_dispatcher,
        to_payload,
    ))?;
    let results = df
        .getattr("rdd")?
        .call_method1("mapPartitionsWithIndex", (task,))?
        .call_method0("collect")?;
    let (failed, counts) = (PyList::empty(py), PyList::empty(py));
    for result in results.try_iter()? {
        let result = result?;
        let kind: String = result.get_item(0)?.extract()?;
        let values = result.get_item(pyo3::types::PySlice::new(py, 1, 6, 1))?;
        if kind == COUNTS {
            let (partition, rows, delivered, refused, unprocessed): (i64, u64, u64, u64, u64) =
                values.extract()?;
            let entry = PyDict::new(py);
            entry.set_item("partition", partition)?;
            entry.set_item("rows", rows)?;
            entry.set_item("delivered", delivered)?;
            entry.set_item("refused", refused)?;
            entry.set_item("unprocessed", unprocessed)?;
            counts.append(entry)?;
        } else {
            failed.append(values)?;
        }
    }
    let failed = df
        .getattr("sparkSession")?
        .call_method1("createDataFrame", (failed, FAILED_SCHEMA))?;
    PyTuple::new(py, [failed.into_any(), counts.into_any()])
}
