//! Batched writes to Amazon Kinesis Data Streams with PutRecords.
//!
//! [`KinesisBatchDispatcher`] packs records into requests of at most 500 records and 5 MiB
//! (configurable up to 10 MiB), sends them concurrently, retries only the records that
//! failed with `ProvisionedThroughputExceededException` or `InternalFailure`, re-batched,
//! with backoff and a bounded number of attempts, and hands back every record it could not
//! deliver, as submitted, with the reason.
//!
//! - **Records.** Submit a `serde_json::Value` (sent as compact JSON) or a [`KinesisRecord`]
//!   with raw bytes, its own partition key and an optional explicit hash key.
//! - **Partition keys** come from the record, from a field or JSON pointer of the data
//!   ([`PartitionKey`]), or are random per record. Keys are checked: 1-256 characters.
//! - **Size** is counted as Kinesis counts it: data bytes plus the partition key's UTF-8 bytes.
//! - **Order.** With [`KinesisBackend::with_ordered`], records of one partition key
//!   reach the stream in submission order, across retries and partial failures too (a
//!   request then holds at most one record per key).
//! - **Pacing.** Records are paced per shard, from the stream's shard map (ListShards), to
//!   1,000 records and 1 MiB a second each to start with, then to what the shard accepts.
//! - **Aggregation.** With [`KinesisBackend::with_aggregate`], records are packed per shard into
//!   Kinesis records of the KPL's aggregated format; [`deaggregate`] reads them back (see
//!   the [`aggregate()`] function for the format).
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use batch_kinesis::{KinesisBackend, KinesisBatchDispatcher, KinesisRecord};
//!
//! let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
//! let stream = KinesisBackend::new(aws_sdk_kinesis::Client::new(&config), "clicks")
//!     .with_partition_key_field("user")
//!     .with_ordered(true);
//! let kinesis = KinesisBatchDispatcher::builder(stream).build()?;
//! for n in 0..1_000 {
//!     kinesis.submit_payload(serde_json::json!({"user": format!("u-{}", n % 20), "n": n})).await?;
//! }
//! kinesis.submit_payload(KinesisRecord::bytes(b"raw".to_vec()).with_partition_key("raw")).await?;
//! for failed in kinesis.flush_payloads().await {
//!     eprintln!("not delivered ({}): {}", failed.error.code(), failed.error);
//! }
//! println!("{} requests", kinesis.stats().requests_sent);
//! # Ok(()) }
//! ```

mod aggregate;
mod aggregation;
mod backend;
mod dispatcher;
mod record;
mod shards;

pub use aggregate::{
    AGGREGATE_MAGIC, DeaggregateError, UserRecord, aggregate, deaggregate, is_aggregated,
};
pub use aggregation::{Aggregation, DEFAULT_AGGREGATE_BYTES};
/// The AWS SDK crate this one is built on, so that a client you build for it (and its
/// types) match the version the backend takes: `kinesis::sdk::Client::new(&config)`.
pub use aws_sdk_kinesis as sdk;
pub use backend::{
    KINESIS_DEFAULT_LIMITS, KINESIS_MAX_LIMITS, KinesisBackend, KinesisEntry, KinesisRequestError,
};
/// The shared byte buffer raw record data is kept in ([`RecordData::Bytes`]): a `Vec<u8>`
/// converts into one without a copy.
pub use bytes::Bytes;
pub use dispatcher::KinesisBatchDispatcher;
pub use record::{KinesisRecord, MAX_PARTITION_KEY_CHARS, PartitionKey, RecordData};
