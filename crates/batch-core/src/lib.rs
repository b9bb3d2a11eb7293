//! The batching engine behind `aws-batch-utils`.
//!
//! A service crate implements [`Backend`] for one AWS batch API (its limits, how it sizes an
//! entry, its dedup and ordering keys, how it sends a request and reads the response). The
//! generic [`Dispatcher`] does everything else, once for every service:
//!
//! - **Packing.** Payloads are added to a pending batch in submission order. The batch is sent
//!   as soon as the next payload would break the entry-count or byte limit (next-fit packing),
//!   on [`Dispatcher::flush_payloads`], or after an optional linger time.
//! - **Dedup.** Within the pending batch, a payload whose dedup key is already pending is
//!   dropped ([`DedupPolicy::KeepFirst`]) or replaces the earlier one
//!   ([`DedupPolicy::KeepLast`]). Every drop is logged at WARN and counted. Dedup never
//!   reaches across batches that were already sealed.
//! - **Concurrency and backpressure.** Up to `max_in_flight` requests run at once on tokio
//!   tasks. When they are all busy and the pending batch is full, `submit` waits, so memory
//!   stays bounded.
//! - **Retries.** A response can report failed entries. Only those are sent again, in a new
//!   smaller request, after a jittered exponential backoff, up to a bounded number of
//!   attempts and an optional deadline. Failures that cannot succeed are not retried. Whole
//!   requests that failed with a retryable error (throttling, 5xx) are retried the same way,
//!   within the same bound: the SDK client's own retries come first, this layer does not
//!   multiply them without limit. A request the service refuses whole for what is in it
//!   ([`INVALID_REQUEST_CODES`], such as DynamoDB's `ValidationException` for one item with a
//!   key of the wrong type) is sent again in halves, down to single entries, so only the
//!   invalid entries come back.
//! - **Ordering.** Entries sharing an ordering key (an SQS FIFO message group, a Kinesis
//!   partition key in ordered mode, a DynamoDB item key) are never in two requests in flight
//!   at once, and one that ends undelivered holds back the later ones of its key
//!   ([`UnprocessedReason::HeldBack`]) until the next flush hands the failure to the user.
//! - **Nothing lost.** [`Dispatcher::flush_payloads`] returns every payload accepted before it that
//!   was not delivered, as submitted, with the AWS error code, message, attempts and whether
//!   a later try may help. Payloads that can never be sent are refused by
//!   [`Dispatcher::submit_payload`] with a [`SubmitError`] that names the field and the limit and
//!   hands the payload back.
//!
//! All time goes through tokio's clock, so tests can run on paused time. Logging goes
//! through `tracing`: counts and keys at DEBUG and WARN, never payload contents.
//!
//! # Exact numbers
//!
//! JSON payloads are `serde_json::Value`s, and a `Value`'s number keeps its decimal text
//! only when the program's serde_json has its `arbitrary_precision` feature. This crate does
//! not turn it on, since Cargo features are additive and it changes how the whole program
//! reads numbers; the facade's `exact-numbers` feature does, for programs that want
//! `12345678901234567890.5` to reach DynamoDB or an SQS body unrounded.
//!
//! # Feature flags
//!
//! - `test-util`: `testing::InMemoryBackend`, a backend whose outcomes a test scripts (the
//!   `testing` module).
#![cfg_attr(docsrs, feature(doc_cfg))]

mod attempt;
mod aws;
mod backend;
mod catch;
mod config;
mod coordinate;
mod dispatcher;
mod error;
mod failure;
mod ordering;
mod pace;
mod pending;
mod scope;
mod service;
mod shared;
mod spec;
mod stats;
mod unprocessed;

#[cfg(feature = "test-util")]
#[cfg_attr(docsrs, doc(cfg(feature = "test-util")))]
pub mod testing;

pub use aws::{SETTING_READ_WAIT, classify_sdk_error, read_setting};
pub use backend::{Backend, BatchEntry, Domains, Grouping, Prepared, Slots};
pub use config::{DEFAULT_MAX_IN_FLIGHT, DEFAULT_THROTTLE_BUDGET, DispatcherConfig, RetryPolicy};
pub use coordinate::{Coordinator, CoordinatorError, CoordinatorFuture, DEFAULT_LEASE, Grant};
pub use dispatcher::Dispatcher;
pub use error::{ConfigError, FieldName, FlushTimedOut, SubmitError, SubmitErrorKind};
pub use failure::codes::{self, ABANDONED};
pub use failure::{
    EntryOutcome, Failure, FailureKind, INVALID_REQUEST_CODES, THROTTLING_CODES, TRANSIENT_CODES,
    is_retryable_code, outcomes_by_index, outcomes_in_order,
};
pub use scope::{Scope, ScopeFlush};
pub use service::{DispatcherBuilder, Service, without_sdk_retries};

#[doc(hidden)]
pub mod __private {
    pub use aws_types::SdkConfig;
}
pub use pace::SharedPace;
pub use spec::{DedupPolicy, Limits, MergeLimit, ServiceSpec};
pub use stats::Stats;
pub use unprocessed::{DeliveryError, Unprocessed, UnprocessedReason};
