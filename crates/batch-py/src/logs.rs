//! CloudWatch Logs log streams.

use std::time::Duration;

use aws_batch_utils::engine::Service;
use aws_batch_utils::logs::{LogEvent, LogsBackend};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString};

use crate::convert::{self, Invalid, in_argument, or_submit_error};
use crate::held::{Boto3Names, Held, dispatcher_methods};
use crate::settings;

/// `LogsBatchDispatcher(log_group_name, log_stream_name, create_stream=False,
/// retention_days=None, read_retention=False, **kwargs)`: events to one log stream, sorted
/// by time in each call, calls spanning at most 24 hours; events more than 2 hours ahead,
/// more than 14 days old or older than the retention (given, or read from the group) are
/// refused at submit or handed back, never sent to be rejected.
#[pyclass(frozen, name = "LogsBatchDispatcher", module = "aws_batch_utils")]
pub(crate) struct LogsBatch {
    held: Held<LogsBackend>,
}

dispatcher_methods!(LogsBatch {
    #[new]
    #[pyo3(signature = (log_group_name, log_stream_name, create_stream=false, retention_days=None, read_retention=false, **kwargs))]
    #[allow(clippy::too_many_arguments)] // Python keyword arguments
    fn new(
        py: Python<'_>,
        log_group_name: String,
        log_stream_name: String,
        create_stream: bool,
        retention_days: Option<u64>,
        read_retention: bool,
        kwargs: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<Self> {
        let settings = settings::read(py, None, kwargs)?;
        let client = LogsBackend::client(&settings.sdk);
        let mut backend = LogsBackend::new(client, &log_group_name, &log_stream_name)
            .with_create_stream(create_stream)
            .with_retention_read(read_retention);
        if let Some(days) = retention_days {
            backend = backend.with_retention(Duration::from_secs(days.saturating_mul(86_400)));
        }
        let label = format!("LogsBatchDispatcher::{log_group_name}/{log_stream_name}");
        Ok(Self {
            held: Held::build(py, backend, &settings, label, Boto3Names { service: "logs", method: "put_log_events" })?,
        })
    }

    /// Puts one event: `payload` is its message (a str as it is; anything else as JSON);
    /// `timestamp` a `datetime` or seconds since 1970, now when left out.
    #[pyo3(signature = (payload, timestamp=None))]
    fn submit_payload(
        &self,
        py: Python<'_>,
        payload: &Bound<'_, PyAny>,
        timestamp: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<()> {
        let event = (|| {
            let message = match payload.cast::<PyString>() {
                Ok(text) => text
                    .extract::<String>()
                    .map_err(|e| Invalid::new(e.to_string()))?,
                Err(_) => String::from_utf8(convert::json(payload)?)
                    .map_err(|e| Invalid::new(e.to_string()))?,
            };
            Ok(match timestamp.filter(|t| !t.is_none()) {
                Some(time) => LogEvent::at(message, convert::time(time).map_err(in_argument("timestamp"))?),
                None => LogEvent::new(message),
            })
        })();
        let event = or_submit_error(py, payload, event)?;
        self.held.submit(py, event, payload)
    }
});
