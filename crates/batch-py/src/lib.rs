//! The Python package `aws_batch_utils`: the API of boto3-batch-utils (the same classes,
//! methods and arguments) on the Rust dispatchers, plus the services and options the Rust
//! side adds.
//!
//! This crate converts between Python and Rust and does nothing else: packing, retries,
//! pacing and every check of a payload are the Rust crates'. Calls block on one runtime
//! shared by the process, with the interpreter released while they wait, so other Python
//! threads run.
//!
//! ```python
//! from aws_batch_utils import SQSBatchDispatcher
//!
//! sqs = SQSBatchDispatcher("my-queue", region_name="eu-west-1")
//! for order in orders:
//!     sqs.submit_payload(order)
//! for item in sqs.flush_payloads():
//!     print(item.code, item.message, item.payload)
//! ```

mod aio;
mod cloudwatch;
mod convert;
mod dynamodb;
mod eventbridge;
mod held;
mod kinesis;
mod lambda;
mod logs;
mod settings;
mod spark;
mod sqs;

use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use pyo3::exceptions::{PyRuntimeError, PyValueError};
use pyo3::prelude::*;

pyo3::create_exception!(
    aws_batch_utils,
    SubmitError,
    PyValueError,
    "A payload that can never be sent (too large, a field missing or invalid). The payload \
     was not taken: `payload` is the object as submitted, `field` names what is wrong and \
     `reason` says why; `size` and `limit` (bytes) are set when it is too large, `allowed` \
     when a value is out of range."
);

/// The runtime every dispatcher of this process sends from. A process forked from one that
/// used the package (a `multiprocessing` worker, a prefork server's worker) makes its own:
/// the parent's runtime threads do not exist in the child, and waiting on that runtime would
/// never end.
fn runtime() -> PyResult<Arc<tokio::runtime::Runtime>> {
    static RUNTIME: Mutex<Option<(u32, Arc<tokio::runtime::Runtime>)>> = Mutex::new(None);
    let pid = std::process::id();
    let mut slot = RUNTIME.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some((owner, runtime)) = slot.as_ref()
        && *owner == pid
    {
        return Ok(Arc::clone(runtime));
    }
    if let Some(inherited) = slot.take() {
        // The parent's: dropping it would wait for threads that are not in this process.
        std::mem::forget(inherited);
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("aws-batch-utils")
        .build()
        .map(Arc::new)
        .map_err(|e| PyRuntimeError::new_err(format!("no async runtime: {e}")))?;
    *slot = Some((pid, Arc::clone(&runtime)));
    Ok(runtime)
}

/// A payload that was not delivered: the object as submitted, and why.
#[pyclass(frozen, get_all, module = "aws_batch_utils")]
#[derive(Debug)]
pub(crate) struct UnprocessedItem {
    /// The payload, the very object that was submitted.
    payload: Py<PyAny>,
    /// The AWS error code, e.g. `ThrottlingException` or `AccessDeniedException`.
    code: String,
    /// The AWS error message.
    message: String,
    /// Requests that carried the payload.
    attempts: u32,
    /// Whether sending it again later may succeed.
    retryable: bool,
    /// Why it ended undelivered: `Rejected`, `RetriesExhausted`, `DeadlineExceeded`,
    /// `HeldBack` (behind an undelivered one of its ordering key) or `Abandoned`.
    reason: String,
    /// What lay behind the error, when the SDK said more than the message (e.g. the
    /// connection refused behind a `DispatchFailure`); `None` otherwise.
    cause: Option<String>,
}

#[pymethods]
impl UnprocessedItem {
    fn __repr__(&self) -> String {
        format!(
            "UnprocessedItem(code={:?}, message={:?}, attempts={}, reason={:?}, cause={})",
            self.code,
            self.message,
            self.attempts,
            self.reason,
            self.cause
                .as_ref()
                .map_or_else(|| "None".to_owned(), |cause| format!("{cause:?}"))
        )
    }
}

/// `{'Name': str(name), 'Value': str(value)}`: one CloudWatch dimension, as the original's
/// helper makes it.
#[pyfunction]
fn cloudwatch_dimension(
    py: Python<'_>,
    name: &Bound<'_, PyAny>,
    value: &Bound<'_, PyAny>,
) -> PyResult<Py<PyAny>> {
    let dimension = pyo3::types::PyDict::new(py);
    dimension.set_item("Name", name.str()?)?;
    dimension.set_item("Value", value.str()?)?;
    Ok(dimension.into_any().unbind())
}

/// The crates whose diagnostics go to Python's `logging` from DEBUG up; others' (the SDK's,
/// the HTTP client's) from WARNING up.
const LOGGED_CRATES: [&str; 8] = [
    "batch_core",
    "batch_sqs",
    "batch_kinesis",
    "batch_dynamodb",
    "batch_cloudwatch",
    "batch_firehose",
    "batch_eventbridge",
    "batch_sns",
];

static LOGGING: OnceLock<pyo3_log::ResetHandle> = OnceLock::new();

/// The original's logger: ours is its child, so that the setting its docs give
/// (`logging.getLogger("boto3-batch-utils").setLevel(...)`) and its handlers apply to ours.
const ORIGINAL_LOGGER: &str = "boto3-batch-utils";

/// Sends the engine's diagnostics to Python's `logging`, under the logger `aws_batch_utils`
/// (`aws_batch_utils.batch_core.attempt`, ...), a child of the original's
/// `boto3-batch-utils`. Loggers' levels are cached at their first use.
fn install_logging(py: Python<'_>) -> PyResult<()> {
    let logging = py.import("logging")?;
    let ours = logging.call_method1("getLogger", ("aws_batch_utils",))?;
    ours.setattr(
        "parent",
        logging.call_method1("getLogger", (ORIGINAL_LOGGER,))?,
    )?;
    let mut logger = pyo3_log::Logger::new(py, pyo3_log::Caching::LoggersAndLevels)?
        .set_prefix("aws_batch_utils")
        .filter(log::LevelFilter::Warn);
    for target in LOGGED_CRATES {
        logger = logger.filter_target(target.to_owned(), log::LevelFilter::Debug);
    }
    // Another extension may have installed its logger first; ours then stays out.
    if let Ok(handle) = logger.install() {
        let _ = LOGGING.set(handle);
    }
    Ok(())
}

/// Forgets the logging levels cached so far: call it after changing the level of an
/// `aws_batch_utils` logger once dispatchers have logged.
#[pyfunction]
fn reset_logging_cache() {
    if let Some(handle) = LOGGING.get() {
        handle.reset();
    }
}

#[pymodule]
#[pyo3(name = "aws_batch_utils")]
fn aws_batch_utils_module(m: &Bound<'_, PyModule>) -> PyResult<()> {
    install_logging(m.py())?;
    m.add_function(wrap_pyfunction!(reset_logging_cache, m)?)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add("SubmitError", m.py().get_type::<SubmitError>())?;
    m.add_class::<UnprocessedItem>()?;
    m.add_function(wrap_pyfunction!(cloudwatch_dimension, m)?)?;
    m.add_class::<sqs::SqsBatch>()?;
    m.add_class::<sqs::SqsFifoBatch>()?;
    m.add_class::<sqs::SqsDelete>()?;
    m.add_class::<sqs::SnsBatch>()?;
    m.add_class::<kinesis::KinesisBatch>()?;
    m.add_class::<kinesis::FirehoseBatch>()?;
    m.add_class::<dynamodb::DynamoBatch>()?;
    m.add_class::<cloudwatch::CloudwatchBatch>()?;
    m.add_class::<eventbridge::EventBridgeBatch>()?;
    m.add_class::<logs::LogsBatch>()?;
    m.add_class::<lambda::PartialBatch>()?;
    m.add_function(wrap_pyfunction!(lambda::flush_budget, m)?)?;
    m.add_function(wrap_pyfunction!(lambda::flush_at_end, m)?)?;
    m.add_function(wrap_pyfunction!(spark::write_partition, m)?)?;
    m.add_function(wrap_pyfunction!(spark::write_dataframe, m)?)?;
    Ok(())
}
