//! PutEvents as a [`Backend`]: sizing, the request and its outcomes.

use aws_sdk_eventbridge::Client;
use aws_sdk_eventbridge::error::SdkError;
use aws_sdk_eventbridge::operation::put_events::PutEventsError;
use aws_sdk_eventbridge::types::PutEventsRequestEntry;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_types::DateTime;
use batch_core::{
    Backend, BatchEntry, EntryOutcome, Failure, Limits, Prepared, ServiceSpec, SubmitErrorKind,
    classify_sdk_error, outcomes_in_order,
};

use crate::event::{Event, checked_detail, entry_size};

/// PutEvents limits: 10 entries; 1 MiB per entry and per request.
///
/// Source: Amazon EventBridge, "Serverless services now support payloads up to 1 MB" (AWS
/// Compute Blog, 29 January 2026: event entries up to 1 MB); the PutEvents API reference
/// (10 entries). The API reference still gave 256 KB for the request when checked: a bus
/// whose account is not yet raised refuses larger entries, and a user lowers both limits
/// with `DispatcherConfig::max_entry_bytes` and `max_request_bytes`. Checked 2026-12-04.
pub const EVENTBRIDGE_LIMITS: Limits = Limits::new(10, 1_048_576, 1_048_576);

/// The PutEvents backend: events go to each event's own bus, or to the dispatcher's.
#[derive(Debug)]
pub struct EventBridgeBackend {
    pub(crate) client: Client,
    pub(crate) event_bus: Option<String>,
}

/// A prepared event: its detail written out, until the first request takes it (a later one
/// writes it again). The rest of its request entry is built from the event for each request
/// (building it here would copy every field twice).
#[derive(Debug)]
pub struct EventBridgeEntry {
    detail: std::sync::Mutex<Option<String>>,
}

impl EventBridgeEntry {
    /// The detail of `event` to send: written when prepared, the first time.
    fn detail_to_send(&self, event: &Event) -> String {
        let written = self
            .detail
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take();
        // Written once when prepared, so writing it again succeeds as well.
        written.unwrap_or_else(|| event.detail.to_string())
    }
}

/// A PutEvents request that failed as a whole.
#[derive(Debug, thiserror::Error)]
#[error("PutEvents failed")]
pub struct EventBridgeRequestError(#[source] SdkError<PutEventsError, HttpResponse>);

impl EventBridgeRequestError {
    /// The SDK's error.
    #[must_use]
    pub fn as_sdk_error(&self) -> &SdkError<PutEventsError, HttpResponse> {
        &self.0
    }

    /// The SDK's error, owned.
    #[must_use]
    pub fn into_sdk_error(self) -> SdkError<PutEventsError, HttpResponse> {
        self.0
    }
}

impl EventBridgeBackend {
    /// The event bus of events that name none (`None`: the account's default bus).
    #[must_use]
    pub fn default_event_bus(&self) -> Option<&str> {
        self.event_bus.as_deref()
    }

    /// The request entry of `event`, whose detail was written out as `detail`.
    fn wire_entry(&self, event: &Event, detail: String) -> PutEventsRequestEntry {
        PutEventsRequestEntry::builder()
            .source(&event.source)
            .detail_type(&event.detail_type)
            .detail(detail)
            .set_resources((!event.resources.is_empty()).then(|| event.resources.clone()))
            .set_time(event.time.map(DateTime::from))
            .set_event_bus_name(event.event_bus.clone().or_else(|| self.event_bus.clone()))
            .set_trace_header(event.trace_header.clone())
            .build()
    }
}

impl Backend for EventBridgeBackend {
    type Payload = Event;
    type Entry = EventBridgeEntry;
    type Error = EventBridgeRequestError;

    const SPEC: ServiceSpec =
        ServiceSpec::new("eventbridge", EVENTBRIDGE_LIMITS).entry_size_field("event");

    fn prepare(&self, event: &Event) -> Result<Prepared<EventBridgeEntry>, SubmitErrorKind> {
        let detail = checked_detail(event)?;
        let size = entry_size(event, &detail);
        let detail = std::sync::Mutex::new(Some(detail));
        Ok(Prepared::new(EventBridgeEntry { detail }, size))
    }

    async fn send_batch(
        &self,
        batch: &[BatchEntry<'_, Self>],
    ) -> Result<Vec<EntryOutcome>, EventBridgeRequestError> {
        let entries = batch
            .iter()
            .map(|item| self.wire_entry(item.payload, item.entry.detail_to_send(item.payload)))
            .collect();
        let output = self
            .client
            .put_events()
            .set_entries(Some(entries))
            .send()
            .await
            .map_err(EventBridgeRequestError)?;
        let answers = output.entries().iter().map(|answer| {
            answer
                .error_code()
                .map(|code| (code, answer.error_message().unwrap_or_default()))
        });
        Ok(outcomes_in_order(batch.len(), answers))
    }

    fn classify(&self, error: &EventBridgeRequestError) -> Failure {
        classify_sdk_error(&error.0)
    }
}
