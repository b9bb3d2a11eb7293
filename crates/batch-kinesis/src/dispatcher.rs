//! The public dispatcher and the stream's options.

use std::sync::Arc;

use aws_sdk_kinesis::Client;
use batch_core::Dispatcher;

use crate::backend::KinesisBackend;
use crate::record::PartitionKey;

/// Batches records into PutRecords requests for one stream.
///
/// [`new`](Dispatcher::new) and [`from_client`](Dispatcher::from_client) take the stream (a
/// name or an ARN); [`builder`](Dispatcher::builder) takes a [`KinesisBackend`] with its
/// options set. Submit a `serde_json::Value` or a [`KinesisRecord`](crate::KinesisRecord).
///
/// ```no_run
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// use batch_kinesis::KinesisBatchDispatcher;
///
/// let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
/// let kinesis = KinesisBatchDispatcher::new(&config, "my-stream");
/// kinesis.submit_payload(serde_json::json!({"user": "u-1", "event": "click"})).await?;
/// let unprocessed = kinesis.flush_payloads().await;
/// # let _ = unprocessed; Ok(()) }
/// ```
///
/// With options:
///
/// ```
/// # fn demo(client: aws_sdk_kinesis::Client) -> Result<(), batch_core::ConfigError> {
/// use batch_core::DispatcherConfig;
/// use batch_kinesis::{KinesisBackend, KinesisBatchDispatcher, PartitionKey};
///
/// let stream = KinesisBackend::new(client, "clicks")
///     .partition_key(PartitionKey::Pointer("/user/id".into()))
///     .ordered(true);
/// let clicks = KinesisBatchDispatcher::builder(stream)
///     // a stream whose maximum record size was raised to 2 MiB
///     .config(DispatcherConfig::default().max_entry_bytes(2 << 20).max_in_flight(8))
///     .build()?;
/// # let _ = clicks; Ok(()) }
/// ```
pub type KinesisBatchDispatcher = Dispatcher<KinesisBackend>;

impl KinesisBackend {
    /// The backend of `stream` (a name or an ARN) with random partition keys, unordered.
    pub fn new(client: Client, stream: impl Into<String>) -> Self {
        Self {
            client,
            stream: stream.into(),
            partition_key: PartitionKey::Random,
            ordered: false,
            shards: Arc::default(),
        }
    }

    /// Where partition keys come from for records that name none. Default: random.
    #[must_use]
    pub fn partition_key(mut self, source: PartitionKey) -> Self {
        self.partition_key = source;
        self
    }

    /// Shorthand for `partition_key(PartitionKey::Field(field))`.
    #[must_use]
    pub fn partition_key_field(self, field: impl Into<String>) -> Self {
        self.partition_key(PartitionKey::Field(field.into()))
    }

    /// Keep the order of records per partition key, across retries: a request holds at most
    /// one record of each key (Kinesis stores the records after a refused one in a request,
    /// so more would let a retried record land behind a later one), records of one key are
    /// never in two requests in flight at once, and a record that ends undelivered holds
    /// back the later records of its key. Requests fill up when there are at least as many
    /// keys as `max_entries`; with few keys, they are small. Default: off.
    #[must_use]
    pub fn ordered(mut self, ordered: bool) -> Self {
        self.ordered = ordered;
        self
    }
}

batch_core::impl_service!(KinesisBackend, Client, String, new);
