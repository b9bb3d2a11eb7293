//! The public dispatcher and the topic's options.

use aws_sdk_sns::Client;
use batch_core::Dispatcher;
use batch_sqs::FifoDeduplication;
use tokio::sync::OnceCell;

use crate::backend::SnsBackend;

/// Batches messages into PublishBatch requests for one topic, standard or FIFO.
///
/// [`new`](Dispatcher::new) and [`from_client`](Dispatcher::from_client) take the topic's
/// ARN; [`builder`](Dispatcher::builder) takes an [`SnsBackend`]. Submit a
/// `serde_json::Value` or an [`SnsMessage`](crate::SnsMessage). On a FIFO topic, messages of
/// one group reach it in submission order, across retries too, as on an SQS FIFO queue.
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
/// A FIFO topic with defaults:
///
/// ```
/// # fn demo(client: aws_sdk_sns::Client) -> Result<(), batch_core::ConfigError> {
/// use batch_sns::{SnsBackend, SnsBatchDispatcher};
/// use batch_sqs::FifoDeduplication;
///
/// let topic = SnsBackend::new(client, "arn:aws:sns:eu-west-1:123456789012:orders.fifo")
///     .default_message_group_id("all")
///     .deduplication(FifoDeduplication::ContentHash);
/// let orders = SnsBatchDispatcher::builder(topic).build()?;
/// # let _ = orders; Ok(()) }
/// ```
pub type SnsBatchDispatcher = Dispatcher<SnsBackend>;

impl SnsBackend {
    /// The backend of the topic `topic_arn`; a FIFO topic when the ARN ends with `.fifo`.
    pub fn new(client: Client, topic_arn: impl Into<String>) -> Self {
        Self {
            client,
            topic_arn: topic_arn.into(),
            default_group: None,
            deduplication: None,
            max_message_bytes: None,
            topic_maximum: OnceCell::new(),
        }
    }

    /// FIFO topics: the message group of messages that name none.
    #[must_use]
    pub fn default_message_group_id(mut self, group: impl Into<String>) -> Self {
        self.default_group = Some(group.into());
        self
    }

    /// FIFO topics: where deduplication ids come from. Default:
    /// [`FifoDeduplication::Explicit`].
    #[must_use]
    pub fn deduplication(mut self, deduplication: FifoDeduplication) -> Self {
        self.deduplication = Some(deduplication);
        self
    }

    /// The topic's largest message, in bytes, instead of reading its `MaximumMessageSize`
    /// attribute (GetTopicAttributes, once, at the first submit). Messages larger are refused
    /// at submit, and requests stay within it.
    #[must_use]
    pub fn maximum_message_size(mut self, bytes: usize) -> Self {
        self.max_message_bytes = Some(bytes);
        self
    }
}

batch_core::impl_service!(SnsBackend, Client, String, new);
