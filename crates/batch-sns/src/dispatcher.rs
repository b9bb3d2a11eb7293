//! The public dispatchers and the topic's options.

use aws_sdk_sns::Client;
use batch_core::Dispatcher;
use batch_message::{DestinationKind, FifoDeduplication};
use tokio::sync::OnceCell;

use crate::backend::{FifoTopic, SnsBackend, StandardTopic};

/// Batches messages into PublishBatch requests for one standard topic.
///
/// [`new`](Dispatcher::new) and [`from_client`](Dispatcher::from_client) take the topic's
/// ARN; [`builder`](Dispatcher::builder) takes an [`SnsBackend`]. Submit a
/// `serde_json::Value` or an [`SnsMessage`](crate::SnsMessage).
///
/// ```no_run
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// use batch_sns::SnsBatchDispatcher;
///
/// let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
/// let sns = SnsBatchDispatcher::new(&config, "arn:aws:sns:eu-west-1:123456789012:orders");
/// sns.submit_payload(serde_json::json!({"order": 17})).await?;
/// assert!(sns.flush_payloads().await.is_empty());
/// # Ok(()) }
/// ```
///
/// The FIFO options belong to FIFO topics only:
///
/// ```compile_fail
/// # fn demo(client: aws_sdk_sns::Client) {
/// batch_sns::SnsBackend::new(client, "arn:aws:sns:eu-west-1:123456789012:t")
///     .with_default_message_group_id("g");
/// # }
/// ```
pub type SnsBatchDispatcher = Dispatcher<SnsBackend<StandardTopic>>;

/// Batches messages into PublishBatch requests for one FIFO topic (its ARN ends with
/// `.fifo`). Messages of one group reach it in submission order, across retries too, as on
/// an SQS FIFO queue.
///
/// ```
/// # fn demo(client: aws_sdk_sns::Client) -> Result<(), batch_core::ConfigError> {
/// use batch_sns::{FifoDeduplication, SnsBackend, SnsFifoBatchDispatcher};
///
/// let topic = SnsBackend::fifo(client, "arn:aws:sns:eu-west-1:123456789012:orders.fifo")
///     .with_default_message_group_id("all")
///     .with_deduplication(FifoDeduplication::ContentHash);
/// let orders = SnsFifoBatchDispatcher::builder(topic).build()?;
/// # let _ = orders; Ok(()) }
/// ```
pub type SnsFifoBatchDispatcher = Dispatcher<SnsBackend<FifoTopic>>;

impl<K: DestinationKind> SnsBackend<K> {
    fn with_defaults(client: Client, topic_arn: String) -> Self {
        Self {
            client,
            topic_arn,
            kind: K::default(),
            max_message_bytes: None,
            topic_maximum: OnceCell::new(),
        }
    }

    /// The topic's largest message, in bytes, instead of reading its `MaximumMessageSize`
    /// attribute (GetTopicAttributes, once, at the first submit). Messages larger are refused
    /// at submit, and requests stay within it.
    #[must_use]
    pub fn with_maximum_message_size(mut self, bytes: usize) -> Self {
        self.max_message_bytes = Some(bytes);
        self
    }
}

impl SnsBackend<StandardTopic> {
    /// The backend of the standard topic `topic_arn`.
    pub fn new(client: Client, topic_arn: impl Into<String>) -> Self {
        Self::with_defaults(client, topic_arn.into())
    }
}

impl SnsBackend<FifoTopic> {
    /// The backend of the FIFO topic `topic_arn` (ending with `.fifo`). Messages must carry a
    /// group and a deduplication id unless the options below give defaults.
    pub fn fifo(client: Client, topic_arn: impl Into<String>) -> Self {
        Self::with_defaults(client, topic_arn.into())
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

batch_core::impl_service!(SnsBackend<StandardTopic>, Client, String, new);
batch_core::impl_service!(SnsBackend<FifoTopic>, Client, String, fifo);
