//! Batched writes to Amazon EventBridge with PutEvents.
//!
//! [`EventBridgeBatchDispatcher`] packs events into requests of at most 10 entries and
//! 1 MiB, sends them concurrently, retries only the events EventBridge refused for reasons
//! of its own (`ThrottlingException`, paced; `InternalFailure`), and hands back every event
//! it could not deliver, as submitted, with the reason. A response's `FailedEntryCount` is
//! never ignored: each event's own answer is read.
//!
//! - **Events** have a source, a detail type and a detail that is a JSON object (refused at
//!   submit otherwise), and optionally resources, a time, an event bus and a trace header.
//! - **Size** is counted by EventBridge's rule: 14 bytes for a time, and the UTF-8 bytes of
//!   the source, the detail type, the detail and each resource.
//! - **Event bus** per dispatcher, or per event ([`Event::with_event_bus`]).
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use batch_eventbridge::{Event, EventBridgeBackend, EventBridgeBatchDispatcher};
//!
//! let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
//! let client = aws_sdk_eventbridge::Client::new(&config);
//! let events = EventBridgeBatchDispatcher::builder(EventBridgeBackend::default_bus(client)).build()?;
//! for n in 0..100 {
//!     let event = Event::new("shop.orders", "OrderPlaced", serde_json::json!({"order": n}));
//!     events.submit_payload(event).await?;
//! }
//! assert!(events.flush_payloads().await.is_empty());
//! # Ok(()) }
//! ```

mod backend;
mod dispatcher;
mod event;

/// The AWS SDK crate this one is built on, so that a client you build for it (and its
/// types) match the version the backend takes: `eventbridge::sdk::Client::new(&config)`.
pub use aws_sdk_eventbridge as sdk;
pub use backend::{
    EVENTBRIDGE_LIMITS, EventBridgeBackend, EventBridgeEntry, EventBridgeRequestError,
};
pub use dispatcher::EventBridgeBatchDispatcher;
pub use event::Event;
