//! Batched writes to Amazon CloudWatch Logs with PutLogEvents.
//!
//! [`LogsBatchDispatcher`] packs the events of one log stream into the fewest calls
//! CloudWatch Logs accepts, sends them concurrently, retries only what failed for reasons of
//! the service's own (throttling, paced; server faults), and hands back every event it could
//! not store, as submitted, with the reason. It keeps the rules on which a call fails whole:
//!
//! - **Order**: a call's events are sorted by time (a stable sort: events of one millisecond
//!   keep the order they were submitted in).
//! - **Span**: a call spans at most 24 hours; events further apart go in separate calls.
//! - **Size**: 10,000 events and 1,048,576 bytes a call, counting 26 bytes per event besides
//!   its UTF-8 message, to the byte; events of up to 1 MB.
//!
//! And it never drops an event CloudWatch Logs would reject while storing the rest: events
//! more than 2 hours ahead, more than 14 days old, or older than the log group's retention
//! (given, or read with [`LogsBackend::with_retention_read`]) are refused at submit, or
//! handed back if they leave the window while they wait; the events an answer's
//! `rejectedLogEventsInfo` names are handed back as permanent failures, each the very event
//! rejected. A missing stream is handed back (`ResourceNotFoundException`), or created first
//! when asked ([`LogsBackend::with_create_stream`]).
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use batch_logs::{LogEvent, LogsBackend, LogsBatchDispatcher};
//!
//! let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
//! let client = aws_sdk_cloudwatchlogs::Client::new(&config);
//! let backend = LogsBackend::new(client, "/shop/orders", "worker-1").with_create_stream(true);
//! let logs = LogsBatchDispatcher::builder(backend).build()?;
//! for n in 0..100 {
//!     logs.submit_payload(LogEvent::new(format!("order {n} placed"))).await?;
//! }
//! assert!(logs.flush_payloads().await.is_empty());
//! # Ok(()) }
//! ```
//!
//! PutLogEvents is throttled per account and Region, not per stream: dispatchers of several
//! streams in one process share one [`SharedPace`](batch_core::SharedPace), so that a throttle
//! one of them meets slows all of them, instead of each learning the quota alone:
//!
//! ```no_run
//! # async fn demo(client: aws_sdk_cloudwatchlogs::Client) -> Result<(), Box<dyn std::error::Error>> {
//! use batch_core::SharedPace;
//! use batch_logs::{LogsBackend, LogsBatchDispatcher};
//!
//! let account = SharedPace::new();
//! let streams: Vec<LogsBatchDispatcher> = ["worker-1", "worker-2", "audit"]
//!     .into_iter()
//!     .map(|stream| {
//!         let backend = LogsBackend::new(client.clone(), "/shop/orders", stream);
//!         LogsBatchDispatcher::builder(backend).shared_pace(&account).build()
//!     })
//!     .collect::<Result<_, _>>()?;
//! # let _ = streams;
//! # Ok(()) }
//! ```

mod backend;
mod dispatcher;
mod event;

/// The AWS SDK crate this one is built on, so that a client you build for it (and its
/// types) match the version the backend takes: `logs::sdk::Client::new(&config)`.
pub use aws_sdk_cloudwatchlogs as sdk;
pub use backend::{LOGS_LIMITS, LogsBackend, LogsRequestError};
pub use dispatcher::{LogStream, LogsBatchDispatcher};
pub use event::{CLOCK_MARGIN, EVENT_OVERHEAD_BYTES, LogEvent, MAX_AGE, MAX_AHEAD, MAX_SPAN};
