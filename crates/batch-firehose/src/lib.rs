//! Batched writes to Amazon Data Firehose with PutRecordBatch.
//!
//! [`FirehoseBatchDispatcher`] packs records into requests of at most 500 records and 4 MiB,
//! sends them concurrently, retries only the records Firehose refused
//! (`ServiceUnavailableException`, paced as throttling; `InternalFailure`), and hands back
//! every record it could not deliver, as submitted, with the reason. A response's
//! `FailedPutCount` is never ignored: each record's own answer is read.
//!
//! - **Records.** Submit a `serde_json::Value` (sent as compact JSON) or a [`FirehoseRecord`]
//!   of raw bytes, up to 1,000 KiB.
//! - **Newlines.** [`FirehoseBackend::with_newline`] ends each record with a newline, so that the
//!   objects Firehose writes to S3 hold one record a line.
//! - **Packing.** Firehose bills each record rounded up to 5 KB: [`FirehoseBackend::with_pack`]
//!   packs small records, newline-delimited, into Firehose records of up to a size (for S3
//!   the objects are the same), and a packed record that fails hands back the records it
//!   held. [`billed_bytes`] computes the bill.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use batch_firehose::{FirehoseBackend, FirehoseBatchDispatcher};
//!
//! let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
//! let stream = FirehoseBackend::new(aws_sdk_firehose::Client::new(&config), "clicks-to-s3")
//!     .with_pack(64 * 1024);
//! let firehose = FirehoseBatchDispatcher::builder(stream).build()?;
//! for n in 0..10_000 {
//!     firehose.submit_payload(serde_json::json!({"n": n})).await?;
//! }
//! for failed in firehose.flush_payloads().await {
//!     eprintln!("not delivered ({}): {}", failed.error.code(), failed.error);
//! }
//! # Ok(()) }
//! ```

mod backend;
mod dispatcher;
mod record;

/// The AWS SDK crate this one is built on, so that a client you build for it (and its
/// types) match the version the backend takes: `firehose::sdk::Client::new(&config)`.
pub use aws_sdk_firehose as sdk;
pub use backend::{
    BILLING_UNIT_BYTES, FIREHOSE_LIMITS, FirehoseBackend, FirehoseEntry, FirehoseRequestError,
    billed_bytes,
};
pub use dispatcher::FirehoseBatchDispatcher;
pub use record::FirehoseRecord;
