//! EventBridge event buses.

use aws_batch_utils::engine::Service;
use aws_batch_utils::eventbridge::{Event, EventBridgeBackend};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};

use crate::convert::{self, Invalid, in_argument, or_submit_error};
use crate::held::{Boto3Names, Held, dispatcher_methods};
use crate::settings;

/// `EventBridgeBatchDispatcher(event_bus_name=None, **kwargs)`: events to `event_bus_name`
/// (a name or an ARN), or to the account's default bus.
#[pyclass(
    frozen,
    name = "EventBridgeBatchDispatcher",
    module = "aws_batch_utils"
)]
pub(crate) struct EventBridgeBatch {
    held: Held<EventBridgeBackend>,
}

dispatcher_methods!(EventBridgeBatch {
    #[new]
    #[pyo3(signature = (event_bus_name=None, **kwargs))]
    fn new(
        py: Python<'_>,
        event_bus_name: Option<String>,
        kwargs: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<Self> {
        let settings = settings::read(py, None, kwargs)?;
        let client = EventBridgeBackend::client(&settings.sdk);
        let (backend, label) = match event_bus_name {
            Some(bus) => (
                EventBridgeBackend::new(client, bus.clone()),
                format!("EventBridgeBatchDispatcher::{bus}"),
            ),
            None => (
                EventBridgeBackend::default_bus(client),
                "EventBridgeBatchDispatcher::default".to_owned(),
            ),
        };
        Ok(Self {
            held: Held::build(py, backend, &settings, label, Boto3Names { service: "events", method: "put_events" })?,
        })
    }

    /// Puts the event whose detail is `payload` (a dict). `time`: a `datetime` or seconds
    /// since 1970; `resources`: a list of ARNs; `event_bus_name`: this event's bus.
    #[pyo3(signature = (payload, source, detail_type, resources=None, time=None, event_bus_name=None))]
    #[allow(clippy::too_many_arguments)] // Python keyword arguments
    fn submit_payload(
        &self,
        py: Python<'_>,
        payload: &Bound<'_, PyAny>,
        source: String,
        detail_type: String,
        resources: Option<&Bound<'_, PyList>>,
        time: Option<&Bound<'_, PyAny>>,
        event_bus_name: Option<String>,
    ) -> PyResult<()> {
        let event = (|| {
            let detail = serde_json::from_slice(&convert::json(payload)?)
                .map_err(|e| Invalid::new(e.to_string()))?;
            let mut event = Event::new(source, detail_type, detail);
            for arn in resources.into_iter().flat_map(|list| list.iter()) {
                let arn = arn
                    .extract::<String>()
                    .map_err(|_| Invalid::new("an ARN is a str"))
                    .map_err(in_argument("Resources"))?;
                event = event.with_resource(arn);
            }
            if let Some(time) = time.filter(|t| !t.is_none()) {
                event = event.with_time(convert::time(time).map_err(in_argument("Time"))?);
            }
            if let Some(bus) = event_bus_name {
                event = event.with_event_bus(bus);
            }
            Ok(event)
        })();
        let event = or_submit_error(py, payload, event)?;
        self.held.submit(py, event, payload)
    }
});
