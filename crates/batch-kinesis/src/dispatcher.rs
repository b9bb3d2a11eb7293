//! The public dispatcher and its builder.

use std::ops::Deref;

use aws_sdk_kinesis::Client;
use aws_types::SdkConfig;
use batch_core::{ConfigError, Dispatcher, DispatcherConfig};

use crate::backend::KinesisBackend;
use crate::record::PartitionKey;

/// Builds a [`KinesisBatchDispatcher`] with options.
///
/// ```
/// # fn demo(client: aws_sdk_kinesis::Client) -> Result<(), batch_core::ConfigError> {
/// use batch_core::DispatcherConfig;
/// use batch_kinesis::{KinesisBatchDispatcher, PartitionKey};
///
/// let clicks = KinesisBatchDispatcher::builder(client, "clicks")
///     .partition_key(PartitionKey::Pointer("/user/id".into()))
///     .ordered(true)
///     .max_record_bytes(2 * 1024 * 1024) // the stream's raised maximum record size
///     .config(DispatcherConfig::default().max_in_flight(8))
///     .build()?;
/// # let _ = clicks; Ok(()) }
/// ```
#[derive(Debug)]
#[must_use]
pub struct KinesisBatchDispatcherBuilder {
    client: Client,
    stream: String,
    config: DispatcherConfig,
    partition_key: PartitionKey,
    ordered: bool,
    max_record_bytes: Option<usize>,
    max_request_bytes: Option<usize>,
}

impl KinesisBatchDispatcherBuilder {
    /// Batching, concurrency and retry settings. Default: [`DispatcherConfig::default`].
    pub fn config(mut self, config: DispatcherConfig) -> Self {
        self.config = config;
        self
    }

    /// Where partition keys come from for records that name none. Default: random.
    pub fn partition_key(mut self, source: PartitionKey) -> Self {
        self.partition_key = source;
        self
    }

    /// Shorthand for `partition_key(PartitionKey::Field(field))`.
    pub fn partition_key_field(self, field: impl Into<String>) -> Self {
        self.partition_key(PartitionKey::Field(field.into()))
    }

    /// Keep the order of records per partition key, across retries: a request holds at most
    /// one record of each key (Kinesis stores the records after a refused one in a request,
    /// so more would let a retried record land behind a later one), records of one key are
    /// never in two requests in flight at once, and a record that ends undelivered holds
    /// back the later records of its key. Requests fill up when there are at least as many
    /// keys as `max_entries`; with few keys, they are small. Default: off.
    pub fn ordered(mut self, ordered: bool) -> Self {
        self.ordered = ordered;
        self
    }

    /// The largest record (data plus partition key) in bytes. Default 1 MiB; up to 10 MiB for
    /// a stream whose maximum record size was raised.
    pub fn max_record_bytes(mut self, bytes: usize) -> Self {
        self.max_record_bytes = Some(bytes);
        self
    }

    /// The largest request in bytes. Default 5 MiB; up to 10 MiB.
    pub fn max_request_bytes(mut self, bytes: usize) -> Self {
        self.max_request_bytes = Some(bytes);
        self
    }

    /// The dispatcher.
    pub fn build(self) -> Result<KinesisBatchDispatcher, ConfigError> {
        let mut config = self.config;
        if let Some(bytes) = self.max_record_bytes {
            config = config.max_entry_bytes(bytes);
        }
        if let Some(bytes) = self.max_request_bytes {
            config = config.max_request_bytes(bytes);
        }
        let backend =
            KinesisBackend::new(self.client, self.stream, self.partition_key, self.ordered);
        Ok(KinesisBatchDispatcher(Dispatcher::new(backend, config)?))
    }
}

/// Batches records into PutRecords requests for one stream.
///
/// It dereferences to [`Dispatcher`], which has the methods:
/// [`submit_payload`](Dispatcher::submit_payload) (a `serde_json::Value` or a
/// [`KinesisRecord`](crate::KinesisRecord)), [`flush_payloads`](Dispatcher::flush_payloads)
/// and [`stats`](Dispatcher::stats).
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
#[derive(Debug)]
pub struct KinesisBatchDispatcher(Dispatcher<KinesisBackend>);

impl KinesisBatchDispatcher {
    /// A dispatcher for `stream` (a name or an ARN) with a client built from `config`, random
    /// partition keys and default limits. Does no I/O.
    pub fn new(config: &SdkConfig, stream: impl Into<String>) -> Self {
        Self::from_client(Client::new(config), stream)
    }

    /// A dispatcher for `stream` using the caller's client.
    pub fn from_client(client: Client, stream: impl Into<String>) -> Self {
        Self::builder(client, stream)
            .build()
            .unwrap_or_else(|_| unreachable!("the default configuration is valid"))
    }

    /// A builder for options.
    pub fn builder(client: Client, stream: impl Into<String>) -> KinesisBatchDispatcherBuilder {
        KinesisBatchDispatcherBuilder {
            client,
            stream: stream.into(),
            config: DispatcherConfig::default(),
            partition_key: PartitionKey::default(),
            ordered: false,
            max_record_bytes: None,
            max_request_bytes: None,
        }
    }
}

impl Deref for KinesisBatchDispatcher {
    type Target = Dispatcher<KinesisBackend>;

    fn deref(&self) -> &Self::Target {
        &self.0
    }
}
