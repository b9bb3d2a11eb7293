//! The event type and its checks.

use std::time::SystemTime;

use batch_core::SubmitErrorKind;
use serde_json::Value;

/// One event for PutEvents: where it comes from, what kind it is, its detail (a JSON
/// object), and optionally the resources it concerns, its time, its event bus and a trace
/// header.
///
/// ```
/// use batch_eventbridge::Event;
///
/// let event = Event::new("shop.orders", "OrderPlaced", serde_json::json!({"order": 17}))
///     .with_resource("arn:aws:dynamodb:eu-west-1:123456789012:table/orders")
///     .with_event_bus("orders");
/// assert_eq!(event.detail_type(), "OrderPlaced");
/// assert_eq!(event.event_bus(), Some("orders"));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub(crate) source: String,
    pub(crate) detail_type: String,
    pub(crate) detail: Value,
    pub(crate) resources: Vec<String>,
    pub(crate) time: Option<SystemTime>,
    pub(crate) event_bus: Option<String>,
    pub(crate) trace_header: Option<String>,
}

impl Event {
    /// An event from `source` of kind `detail_type` with `detail`, which must be a JSON
    /// object.
    #[must_use]
    pub fn new(source: impl Into<String>, detail_type: impl Into<String>, detail: Value) -> Self {
        Self {
            source: source.into(),
            detail_type: detail_type.into(),
            detail,
            resources: Vec::new(),
            time: None,
            event_bus: None,
            trace_header: None,
        }
    }

    /// Adds a resource (an ARN) the event concerns.
    #[must_use]
    pub fn with_resource(mut self, arn: impl Into<String>) -> Self {
        self.resources.push(arn.into());
        self
    }

    /// The event's time; without it, EventBridge uses the time it received the event.
    #[must_use]
    pub fn with_time(mut self, time: SystemTime) -> Self {
        self.time = Some(time);
        self
    }

    /// The event bus (a name or an ARN) this event goes to, instead of the dispatcher's.
    #[must_use]
    pub fn with_event_bus(mut self, bus: impl Into<String>) -> Self {
        self.event_bus = Some(bus.into());
        self
    }

    /// An AWS X-Ray trace header.
    #[must_use]
    pub fn with_trace_header(mut self, header: impl Into<String>) -> Self {
        self.trace_header = Some(header.into());
        self
    }

    /// The source.
    #[must_use]
    pub fn source(&self) -> &str {
        &self.source
    }

    /// The detail type.
    #[must_use]
    pub fn detail_type(&self) -> &str {
        &self.detail_type
    }

    /// The detail.
    #[must_use]
    pub fn detail(&self) -> &Value {
        &self.detail
    }

    /// The resources.
    #[must_use]
    pub fn resources(&self) -> &[String] {
        &self.resources
    }

    /// The time, if set.
    #[must_use]
    pub fn time(&self) -> Option<SystemTime> {
        self.time
    }

    /// The event bus, if the event names its own.
    #[must_use]
    pub fn event_bus(&self) -> Option<&str> {
        self.event_bus.as_deref()
    }
}

/// Bytes a set `Time` adds to an entry's size. Source: Amazon EventBridge user guide,
/// "Calculating PutEvents event entry size"; checked 2026-12-04.
const TIME_BYTES: usize = 14;

/// The entry's size by EventBridge's rule: 14 bytes for a time, and the UTF-8 bytes of the
/// source, the detail type, the detail and each resource.
pub(crate) fn entry_size(event: &Event, detail: &str) -> usize {
    let time = if event.time.is_some() { TIME_BYTES } else { 0 };
    time + event.source.len()
        + event.detail_type.len()
        + detail.len()
        + event.resources.iter().map(String::len).sum::<usize>()
}

/// Checks the fields EventBridge requires, and writes the detail out.
pub(crate) fn checked_detail(event: &Event) -> Result<String, SubmitErrorKind> {
    for (field, value) in [
        ("Source", &event.source),
        ("DetailType", &event.detail_type),
    ] {
        if value.is_empty() {
            return Err(SubmitErrorKind::Missing {
                field: field.into(),
            });
        }
    }
    if !event.detail.is_object() {
        return Err(SubmitErrorKind::Invalid {
            field: "Detail".into(),
            reason: "must be a JSON object".into(),
        });
    }
    if event.resources.iter().any(String::is_empty) {
        return Err(SubmitErrorKind::Invalid {
            field: "Resources".into(),
            reason: "a resource is empty".into(),
        });
    }
    serde_json::to_string(&event.detail).map_err(|e| SubmitErrorKind::Invalid {
        field: "Detail".into(),
        reason: format!("cannot be written as JSON: {e}"),
    })
}
