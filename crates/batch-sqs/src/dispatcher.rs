//! The two public dispatchers and the queue's options.

use aws_sdk_sqs::Client;
use batch_core::Dispatcher;

use batch_message::FifoDeduplication;

use crate::backend::{FifoQueue, SqsBackend, StandardQueue};

/// Batches messages into SendMessageBatch requests for a standard queue.
///
/// [`new`](Dispatcher::new) and [`from_client`](Dispatcher::from_client) take the queue (a
/// name, resolved with GetQueueUrl when the first batch is sent, or a queue URL);
/// [`builder`](Dispatcher::builder) takes an [`SqsBackend`]. Submit a `serde_json::Value`
/// or an [`SqsMessage`](crate::SqsMessage).
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
///
/// With settings (a queue whose `MaximumMessageSize` is 256 KiB):
///
/// ```
/// # fn demo(client: aws_sdk_sqs::Client) -> Result<(), batch_core::ConfigError> {
/// use batch_core::DispatcherConfig;
/// use batch_sqs::{SqsBackend, SqsBatchDispatcher};
///
/// let orders = SqsBatchDispatcher::builder(SqsBackend::new(client, "orders"))
///     .config(DispatcherConfig::default().max_entry_bytes(256 * 1024).max_in_flight(8))
///     .build()?;
/// # let _ = orders; Ok(()) }
/// ```
///
/// The FIFO options belong to FIFO queues only:
///
/// ```compile_fail
/// # fn demo(client: aws_sdk_sqs::Client) {
/// batch_sqs::SqsBackend::new(client, "q").with_default_message_group_id("g");
/// # }
/// ```
pub type SqsBatchDispatcher = Dispatcher<SqsBackend<StandardQueue>>;

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
///     .with_message_group_id("customer-7")
///     .with_deduplication_id("order-1");
/// fifo.submit_payload(message).await?;
/// let unprocessed = fifo.flush_payloads().await;
/// # let _ = unprocessed; Ok(()) }
/// ```
///
/// With options:
///
/// ```
/// # fn demo(client: aws_sdk_sqs::Client) -> Result<(), batch_core::ConfigError> {
/// use std::time::Duration;
/// use batch_core::DispatcherConfig;
/// use batch_sqs::{FifoDeduplication, SqsBackend, SqsFifoBatchDispatcher};
///
/// let queue = SqsBackend::fifo(client, "orders.fifo")
///     .with_default_message_group_id("all")
///     .with_deduplication(FifoDeduplication::ContentHash);
/// let orders = SqsFifoBatchDispatcher::builder(queue)
///     .config(DispatcherConfig::default().max_in_flight(8).linger(Duration::from_millis(50)))
///     .build()?;
/// # let _ = orders; Ok(()) }
/// ```
pub type SqsFifoBatchDispatcher = Dispatcher<SqsBackend<FifoQueue>>;

impl SqsBackend<StandardQueue> {
    /// The backend of the standard `queue` (a name or a queue URL).
    pub fn new(client: Client, queue: impl Into<String>) -> Self {
        Self::with_defaults(client, queue.into())
    }
}

impl SqsBackend<FifoQueue> {
    /// The backend of the FIFO `queue` (a name or a queue URL). Messages must carry a group
    /// and a deduplication id unless the options below give defaults.
    pub fn fifo(client: Client, queue: impl Into<String>) -> Self {
        Self::with_defaults(client, queue.into())
    }

    /// The message group of messages that name none. Without it such messages are refused at
    /// submit.
    #[must_use]
    pub fn with_default_message_group_id(mut self, group: impl Into<String>) -> Self {
        self.kind = self.kind.with_default_message_group_id(group);
        self
    }

    /// Where deduplication ids come from. Default: [`FifoDeduplication::Explicit`].
    #[must_use]
    pub fn with_deduplication(mut self, deduplication: FifoDeduplication) -> Self {
        self.kind = self.kind.with_deduplication(deduplication);
        self
    }
}

batch_core::impl_service!(SqsBackend<StandardQueue>, Client, String, new);
batch_core::impl_service!(SqsBackend<FifoQueue>, Client, String, fifo);
