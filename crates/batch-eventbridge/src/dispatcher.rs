//! The public dispatcher and its options.

use aws_sdk_eventbridge::Client;
use batch_core::Dispatcher;

use crate::backend::EventBridgeBackend;

/// Batches events into PutEvents requests.
///
/// [`new`](Dispatcher::new) and [`from_client`](Dispatcher::from_client) take the event bus
/// (a name or an ARN) of events that name none; [`builder`](Dispatcher::builder) takes an
/// [`EventBridgeBackend`]. Submit [`Event`](crate::Event)s; events of one request may go to
/// different buses.
///
/// ```no_run
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// use batch_eventbridge::{Event, EventBridgeBatchDispatcher};
///
/// let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
/// let events = EventBridgeBatchDispatcher::new(&config, "orders");
/// let placed = Event::new("shop.orders", "OrderPlaced", serde_json::json!({"order": 17}));
/// events.submit_payload(placed).await?;
/// for failed in events.flush_payloads().await {
///     eprintln!("not delivered ({}): {}", failed.error.code(), failed.error);
/// }
/// # Ok(()) }
/// ```
pub type EventBridgeBatchDispatcher = Dispatcher<EventBridgeBackend>;

impl EventBridgeBackend {
    /// The backend of events that name no bus going to `event_bus` (a name or an ARN).
    pub fn new(client: Client, event_bus: impl Into<String>) -> Self {
        Self {
            client,
            event_bus: Some(event_bus.into()),
        }
    }

    /// The backend of events that name no bus going to the account's default bus.
    pub fn default_bus(client: Client) -> Self {
        Self {
            client,
            event_bus: None,
        }
    }
}

batch_core::impl_service!(EventBridgeBackend, Client, String, new);
