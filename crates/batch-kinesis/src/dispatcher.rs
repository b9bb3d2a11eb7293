//! The public dispatcher and the stream's options.

use std::sync::Arc;

use aws_sdk_kinesis::Client;
use batch_core::Dispatcher;

use crate::aggregation::Aggregation;
use crate::backend::KinesisBackend;
use crate::record::PartitionKey;
use crate::shards::ShardMap;

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
///     .with_partition_key(PartitionKey::Pointer("/user/id".into()))
///     .with_ordered(true);
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
            aggregation: None,
            shards: Arc::default(),
        }
    }

    /// Where partition keys come from for records that name none. Default: random.
    #[must_use]
    pub fn with_partition_key(mut self, source: PartitionKey) -> Self {
        self.partition_key = source;
        self
    }

    /// Shorthand for `partition_key(PartitionKey::Field(field))`.
    #[must_use]
    pub fn with_partition_key_field(self, field: impl Into<String>) -> Self {
        self.with_partition_key(PartitionKey::Field(field.into()))
    }

    /// Keep the order of records per partition key, across retries: a request holds at most
    /// one record of each key (Kinesis stores the records after a refused one in a request,
    /// so more would let a retried record land behind a later one), records of one key are
    /// never in two requests in flight at once, and a record that ends undelivered holds
    /// back the later records of its key. Requests fill up when there are at least as many
    /// keys as `max_entries`; with few keys, they are small. Default: off.
    #[must_use]
    pub fn with_ordered(mut self, ordered: bool) -> Self {
        self.ordered = ordered;
        self
    }

    /// Aggregate user records into Kinesis records in the KPL format, which the KCL, Lambda
    /// and Firehose de-aggregate (and [`deaggregate`](crate::deaggregate) reads): a shard takes
    /// 1,000 records and 1 MiB a second, so small records fill its record quota long before
    /// its bytes; aggregated, 100-byte records go about 9 times faster. Only records the
    /// stream's shard map puts in one shard share an aggregate, which carries an explicit
    /// hash key in that shard. Each user record keeps its outcome: when an aggregate fails,
    /// all its records are retried, and those that end undelivered come back as submitted.
    /// In ordered mode, a key's records keep their order inside and across aggregates.
    /// Consumers must de-aggregate. Default: off; `true` takes [`Aggregation::default`].
    #[must_use]
    pub fn with_aggregate(self, on: bool) -> Self {
        let aggregation = on.then(Aggregation::default);
        Self {
            aggregation,
            ..self
        }
    }

    /// The stream's shard map, given instead of read: its `count` shards split the hash key
    /// range evenly, as CreateStream and UpdateShardCount make them. The dispatcher then
    /// never calls ListShards (a mocked client needs no rule for it), and paces and
    /// aggregates records by the shard this map predicts. For a stream whose shards were
    /// split or merged unevenly, let the dispatcher read the map (the default).
    #[must_use]
    pub fn with_even_shards(mut self, count: u32) -> Self {
        self.shards = Arc::new(ShardMap::fixed(count));
        self
    }

    /// No shard map: the dispatcher never calls ListShards, and paces the stream as a whole,
    /// learning its rate from throttling, as it does when ListShards is not allowed. With
    /// aggregation on, only records of one hash key then share an aggregate (they go to one
    /// shard, whichever it is), so aggregation needs the map to pay off: give it with
    /// [`with_even_shards`](Self::with_even_shards) or let the dispatcher read it.
    #[must_use]
    pub fn without_shard_map(mut self) -> Self {
        self.shards = Arc::new(ShardMap::fixed(0));
        self
    }

    /// Aggregate with these limits (see [`with_aggregate`](Self::with_aggregate)).
    #[must_use]
    pub fn with_aggregation(mut self, aggregation: Aggregation) -> Self {
        self.aggregation = Some(aggregation);
        self
    }
}

batch_core::impl_service!(KinesisBackend, Client, String, new);
