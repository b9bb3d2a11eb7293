//! The two public dispatchers and their builder.

use std::ops::Deref;

use aws_sdk_sqs::Client;
use aws_types::SdkConfig;
use batch_core::{ConfigError, Dispatcher, DispatcherConfig};

use crate::backend::{FifoDeduplication, QueueKind, SqsBackend};

/// Builds an [`SqsBatchDispatcher`] for a standard queue with options. The FIFO options are
/// on [`SqsFifoBatchDispatcherBuilder`] only:
///
/// ```compile_fail
/// # fn demo(client: aws_sdk_sqs::Client) {
/// batch_sqs::SqsBatchDispatcher::builder(client, "q").default_message_group_id("g");
/// # }
/// ```
///
/// ```
/// # fn demo(client: aws_sdk_sqs::Client) -> Result<(), batch_core::ConfigError> {
/// use batch_core::DispatcherConfig;
/// use batch_sqs::SqsBatchDispatcher;
///
/// let orders = SqsBatchDispatcher::builder(client, "orders")
///     .max_message_bytes(256 * 1024)
///     .config(DispatcherConfig::default().max_in_flight(8))
///     .build()?;
/// # let _ = orders; Ok(()) }
/// ```
#[derive(Debug)]
#[must_use]
pub struct SqsBatchDispatcherBuilder {
    client: Client,
    queue: String,
    config: DispatcherConfig,
    max_message_bytes: Option<usize>,
}

impl SqsBatchDispatcherBuilder {
    fn new(client: Client, queue: String) -> Self {
        Self {
            client,
            queue,
            config: DispatcherConfig::default(),
            max_message_bytes: None,
        }
    }

    /// Batching, concurrency and retry settings. Default: [`DispatcherConfig::default`].
    pub fn config(mut self, config: DispatcherConfig) -> Self {
        self.config = config;
        self
    }

    /// The largest message (body and attributes) in bytes: the queue's
    /// `MaximumMessageSize` when it is below the SQS maximum of 1 MiB. Larger messages are
    /// refused at submit.
    pub fn max_message_bytes(mut self, bytes: usize) -> Self {
        self.max_message_bytes = Some(bytes);
        self
    }

    fn dispatcher(self, kind: QueueKind) -> Result<Dispatcher<SqsBackend>, ConfigError> {
        let mut config = self.config;
        if let Some(bytes) = self.max_message_bytes {
            config = config.max_entry_bytes(bytes);
        }
        Dispatcher::new(SqsBackend::new(self.client, self.queue, kind), config)
    }

    /// A dispatcher for a standard queue.
    pub fn build(self) -> Result<SqsBatchDispatcher, ConfigError> {
        Ok(SqsBatchDispatcher(self.dispatcher(QueueKind::Standard)?))
    }
}

/// Builds an [`SqsFifoBatchDispatcher`] with options: always a FIFO dispatcher.
///
/// ```
/// # fn demo(client: aws_sdk_sqs::Client) -> Result<(), batch_core::ConfigError> {
/// use std::time::Duration;
/// use batch_core::DispatcherConfig;
/// use batch_sqs::{FifoDeduplication, SqsFifoBatchDispatcher};
///
/// let orders = SqsFifoBatchDispatcher::builder(client, "orders.fifo")
///     .default_message_group_id("all")
///     .deduplication(FifoDeduplication::ContentHash)
///     .max_message_bytes(256 * 1024)
///     .config(DispatcherConfig::default().max_in_flight(8).linger(Duration::from_millis(50)))
///     .build()?;
/// # let _ = orders; Ok(()) }
/// ```
#[derive(Debug)]
#[must_use]
pub struct SqsFifoBatchDispatcherBuilder {
    queue: SqsBatchDispatcherBuilder,
    default_group: Option<String>,
    deduplication: FifoDeduplication,
}

impl SqsFifoBatchDispatcherBuilder {
    /// Batching, concurrency and retry settings. Default: [`DispatcherConfig::default`].
    pub fn config(mut self, config: DispatcherConfig) -> Self {
        self.queue = self.queue.config(config);
        self
    }

    /// The largest message (body and attributes) in bytes; see
    /// [`SqsBatchDispatcherBuilder::max_message_bytes`].
    pub fn max_message_bytes(mut self, bytes: usize) -> Self {
        self.queue = self.queue.max_message_bytes(bytes);
        self
    }

    /// The message group of messages that name none. Without it such messages are refused at
    /// submit.
    pub fn default_message_group_id(mut self, group: impl Into<String>) -> Self {
        self.default_group = Some(group.into());
        self
    }

    /// Where deduplication ids come from. Default: [`FifoDeduplication::Explicit`].
    pub fn deduplication(mut self, deduplication: FifoDeduplication) -> Self {
        self.deduplication = deduplication;
        self
    }

    /// A dispatcher for the FIFO queue.
    pub fn build(self) -> Result<SqsFifoBatchDispatcher, ConfigError> {
        let kind = QueueKind::Fifo {
            default_group: self.default_group,
            deduplication: self.deduplication,
        };
        Ok(SqsFifoBatchDispatcher(self.queue.dispatcher(kind)?))
    }
}

/// Batches messages into SendMessageBatch requests for a standard queue.
///
/// It dereferences to [`Dispatcher`], which has the methods:
/// [`submit_payload`](Dispatcher::submit_payload) (a `serde_json::Value` or an
/// [`SqsMessage`](crate::SqsMessage)), [`flush_payloads`](Dispatcher::flush_payloads) and
/// [`stats`](Dispatcher::stats).
///
/// ```no_run
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// use batch_sqs::SqsBatchDispatcher;
///
/// let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
/// let sqs = SqsBatchDispatcher::new(&config, "MySqsQueue");
/// sqs.submit_payload(serde_json::json!({"test": "message"})).await?;
/// let unprocessed = sqs.flush_payloads().await;
/// assert!(unprocessed.is_empty());
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct SqsBatchDispatcher(Dispatcher<SqsBackend>);

impl SqsBatchDispatcher {
    /// A dispatcher for `queue` (a name or a queue URL) with a client built from `config`.
    /// Does no I/O: a name is resolved with GetQueueUrl when the first batch is sent.
    pub fn new(config: &SdkConfig, queue: impl Into<String>) -> Self {
        Self::from_client(Client::new(config), queue)
    }

    /// A dispatcher for `queue` using the caller's client.
    pub fn from_client(client: Client, queue: impl Into<String>) -> Self {
        Self::builder(client, queue)
            .build()
            .unwrap_or_else(|_| unreachable!("the default configuration is valid"))
    }

    /// A builder for options.
    pub fn builder(client: Client, queue: impl Into<String>) -> SqsBatchDispatcherBuilder {
        SqsBatchDispatcherBuilder::new(client, queue.into())
    }
}

impl Deref for SqsBatchDispatcher {
    type Target = Dispatcher<SqsBackend>;

    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

/// Batches messages into SendMessageBatch requests for a FIFO queue.
///
/// Messages of one group reach the queue in submission order, across retries too: a group's
/// messages are never in two requests in flight at once, and a message that ends undelivered
/// holds back the later messages of its group (they end in the unprocessed list as
/// [`HeldBack`](batch_core::UnprocessedReason::HeldBack)). Two pending messages with the same
/// id or deduplication id are duplicates; the first is kept.
///
/// ```no_run
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// use batch_sqs::{SqsFifoBatchDispatcher, SqsMessage};
///
/// let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
/// let fifo = SqsFifoBatchDispatcher::new(&config, "orders.fifo");
/// let message = SqsMessage::json(serde_json::json!({"order": 1}))
///     .message_group_id("customer-7")
///     .deduplication_id("order-1");
/// fifo.submit_payload(message).await?;
/// let unprocessed = fifo.flush_payloads().await;
/// # let _ = unprocessed; Ok(()) }
/// ```
#[derive(Debug)]
pub struct SqsFifoBatchDispatcher(Dispatcher<SqsBackend>);

impl SqsFifoBatchDispatcher {
    /// A dispatcher for the FIFO `queue` (a name or a queue URL) with a client built from
    /// `config`. Messages must carry a group and a deduplication id; see the builder for
    /// defaults.
    pub fn new(config: &SdkConfig, queue: impl Into<String>) -> Self {
        Self::from_client(Client::new(config), queue)
    }

    /// A dispatcher for the FIFO `queue` using the caller's client.
    pub fn from_client(client: Client, queue: impl Into<String>) -> Self {
        Self::builder(client, queue)
            .build()
            .unwrap_or_else(|_| unreachable!("the default configuration is valid"))
    }

    /// A builder for options.
    pub fn builder(client: Client, queue: impl Into<String>) -> SqsFifoBatchDispatcherBuilder {
        SqsFifoBatchDispatcherBuilder {
            queue: SqsBatchDispatcherBuilder::new(client, queue.into()),
            default_group: None,
            deduplication: FifoDeduplication::default(),
        }
    }
}

impl Deref for SqsFifoBatchDispatcher {
    type Target = Dispatcher<SqsBackend>;

    fn deref(&self) -> &Self::Target {
        &self.0
    }
}
