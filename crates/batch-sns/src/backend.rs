//! PublishBatch as a [`Backend`]: the SQS message rules, FIFO topics, the topic's largest
//! message, the request and its outcomes.

use aws_sdk_sns::Client;
use aws_sdk_sns::error::SdkError;
use aws_sdk_sns::operation::publish_batch::PublishBatchError;
use aws_sdk_sns::primitives::Blob;
use aws_sdk_sns::types::{MessageAttributeValue, PublishBatchRequestEntry};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use batch_core::{
    Backend, BatchEntry, ConfigError, DedupPolicy, EntryOutcome, Failure, Grouping, Limits,
    Prepared, ServiceSpec, SubmitErrorKind, classify_sdk_error, outcomes_by_index,
};
use batch_message::{DestinationKind, Fifo, Standard, WrittenBody, check_message, numbered};
use tokio::sync::OnceCell;

use crate::message::{MAX_SUBJECT_CHARS, SnsMessage};

/// PublishBatch ceilings: 10 entries; 1 MiB per request and per message, for a topic whose
/// `MaximumMessageSize` was raised to it.
///
/// Source: Amazon SNS API reference, PublishBatch ("the total aggregate size of all messages
/// in a single PublishBatch request can't exceed" the topic's maximum message size, 256 KiB
/// unless raised, up to 1 MiB); checked 2026-12-04.
pub const SNS_LIMITS: Limits = Limits::new(10, 1_048_576, 1_048_576);

/// A topic's largest message unless raised: 256 KiB. Source: as [`SNS_LIMITS`]; checked
/// 2026-12-04.
pub const SNS_DEFAULT_MESSAGE_BYTES: usize = 262_144;

/// A standard topic: the type parameter of [`SnsBackend`] for
/// [`SnsBatchDispatcher`](crate::SnsBatchDispatcher).
pub type StandardTopic = Standard;

/// A FIFO topic's settings: the type parameter of [`SnsBackend`] for
/// [`SnsFifoBatchDispatcher`](crate::SnsFifoBatchDispatcher).
pub type FifoTopic = Fifo;

/// The PublishBatch backend of one topic, standard ([`SnsBackend::new`]) or FIFO
/// ([`SnsBackend::fifo`]).
#[derive(Debug)]
pub struct SnsBackend<K = StandardTopic> {
    pub(crate) client: Client,
    pub(crate) topic_arn: String,
    pub(crate) kind: K,
    pub(crate) max_message_bytes: Option<usize>,
    /// The topic's `MaximumMessageSize`, once read; `None` inside when it could not be.
    pub(crate) topic_maximum: OnceCell<Option<usize>>,
}

/// A prepared message: its request entry without id or message, set per request, and its
/// message if it was written from JSON.
#[derive(Debug)]
pub struct SnsEntry {
    entry: PublishBatchRequestEntry,
    body: WrittenBody,
}

/// A PublishBatch request that failed as a whole, with the SDK's error as its
/// [`source`](std::error::Error::source).
#[derive(Debug, thiserror::Error)]
#[error("PublishBatch failed")]
pub struct SnsRequestError(#[source] SdkError<PublishBatchError, HttpResponse>);

impl SnsRequestError {
    /// The SDK's error.
    #[must_use]
    pub fn as_sdk_error(&self) -> &SdkError<PublishBatchError, HttpResponse> {
        &self.0
    }

    /// The SDK's error, owned.
    #[must_use]
    pub fn into_sdk_error(self) -> SdkError<PublishBatchError, HttpResponse> {
        self.0
    }
}

impl<K: DestinationKind> SnsBackend<K> {
    /// The topic's ARN.
    #[must_use]
    pub fn topic_arn(&self) -> &str {
        &self.topic_arn
    }

    /// The largest message the topic takes, in bytes: as set with
    /// [`with_maximum_message_size`](Self::with_maximum_message_size), as read from the
    /// topic, or the default of 256 KiB.
    #[must_use]
    pub fn maximum_message_size(&self) -> usize {
        self.max_message_bytes
            .or_else(|| self.topic_maximum.get().copied().flatten())
            .unwrap_or(SNS_DEFAULT_MESSAGE_BYTES)
    }

    /// A FIFO topic's ARN ends with `.fifo`; a standard topic's does not. A dispatcher of
    /// the other kind would send every message the topic refuses.
    fn check_topic_kind(&self) -> Result<(), SubmitErrorKind> {
        let fifo_arn = self.topic_arn.ends_with(".fifo");
        match (fifo_arn, self.kind.fifo().is_some()) {
            (true, false) => Err(SubmitErrorKind::Invalid {
                field: "TopicArn".into(),
                reason: format!(
                    "{} is a FIFO topic: write to it with SnsFifoBatchDispatcher",
                    self.topic_arn
                ),
            }),
            (false, true) => Err(SubmitErrorKind::Invalid {
                field: "TopicArn".into(),
                reason: format!(
                    "{} is not a FIFO topic (a FIFO topic's ARN ends with .fifo): write to it \
                     with SnsBatchDispatcher",
                    self.topic_arn
                ),
            }),
            _ => Ok(()),
        }
    }

    /// Reads the topic's `MaximumMessageSize` once; a topic that cannot be read keeps the
    /// default.
    async fn read_topic_maximum(&self) {
        self.topic_maximum
            .get_or_init(|| {
                let read = async {
                    let output = self
                        .client
                        .get_topic_attributes()
                        .topic_arn(&self.topic_arn)
                        .send()
                        .await
                        .map_err(|error| {
                            tracing::info!(
                                topic = %self.topic_arn,
                                error = %aws_sdk_sns::Error::from(error),
                                "the topic's MaximumMessageSize could not be read; messages \
                                 are held to 256 KiB"
                            );
                        })
                        .ok()?;
                    output.attributes()?.get("MaximumMessageSize")?.parse().ok()
                };
                batch_core::read_setting(&self.topic_arn, read)
            })
            .await;
    }
}

fn check_subject(subject: &str) -> Result<(), SubmitErrorKind> {
    let printable = subject
        .chars()
        .all(|c| c.is_ascii() && !c.is_ascii_control());
    if subject.is_empty() || subject.chars().count() > MAX_SUBJECT_CHARS || !printable {
        return Err(SubmitErrorKind::Invalid {
            field: "Subject".into(),
            reason: format!(
                "must be 1-{MAX_SUBJECT_CHARS} ASCII characters without line breaks or control \\
                 characters"
            ),
        });
    }
    Ok(())
}

impl<K: DestinationKind> Backend for SnsBackend<K> {
    type Payload = SnsMessage;
    type Entry = SnsEntry;
    type Error = SnsRequestError;

    // SNS does not document that it refuses a FIFO group's later messages in a request
    // after a refused one, as SQS does: a request holds at most one message per group, and
    // a group's order then holds under any partial failure.
    const SPEC: ServiceSpec = ServiceSpec::new("sns", SNS_LIMITS)
        .default_dedup(DedupPolicy::KeepFirst)
        .entry_size_field("message")
        .keeps_order_within_request(false);

    fn prepare(&self, message: &SnsMessage) -> Result<Prepared<SnsEntry>, SubmitErrorKind> {
        self.check_topic_kind()?;
        if self.kind.fifo().is_none() && message.message_group_id.is_some() {
            return Err(SubmitErrorKind::Invalid {
                field: "MessageGroupId".into(),
                reason: "only FIFO topics take a message group".into(),
            });
        }
        let checked = check_message(&self.kind, &message.fields())?;
        if let Some(subject) = &message.subject {
            check_subject(subject)?;
        }
        let attributes =
            batch_message::sdk_attributes!(MessageAttributeValue, Blob, &message.attributes)?;
        let group = checked.message_group_id;
        let entry = PublishBatchRequestEntry::builder()
            .id("")
            .message("")
            .set_subject(message.subject.clone())
            .set_message_attributes(attributes)
            .set_message_group_id(group.clone())
            .set_message_deduplication_id(checked.deduplication_id)
            .build()
            .map_err(|e| SubmitErrorKind::Invalid {
                field: "message".into(),
                reason: e.to_string(),
            })?;
        let body = WrittenBody::of(checked.body);
        Ok(Prepared::new(SnsEntry { entry, body }, checked.size)
            .ordered_by(group)
            .grouped(Grouping::Dedup(checked.dedup_keys)))
    }

    async fn send_batch(
        &self,
        batch: &[BatchEntry<'_, Self>],
    ) -> Result<Vec<EntryOutcome>, SnsRequestError> {
        let entries = numbered(
            batch,
            |item| {
                let mut entry = item.entry.entry.clone();
                entry.message = item.entry.body.to_send(item.payload.body());
                entry
            },
            |entry| &mut entry.id,
        );
        let output = self
            .client
            .publish_batch()
            .topic_arn(&self.topic_arn)
            .set_publish_batch_request_entries(Some(entries))
            .send()
            .await
            .map_err(SnsRequestError)?;
        let failed = output.failed().iter().map(|failed| {
            let message = failed.message().unwrap_or_default();
            let failure = Failure::by_sender_fault(failed.sender_fault(), failed.code(), message);
            (failed.id(), failure)
        });
        let successful = output.successful().iter().filter_map(|ok| ok.id());
        Ok(outcomes_by_index(batch.len(), successful, failed))
    }

    fn classify(&self, error: &SnsRequestError) -> Failure {
        classify_sdk_error(&error.0)
    }

    fn destination_limits(&self) -> Option<Limits> {
        // The whole request must fit the topic's largest message too.
        let largest = self.maximum_message_size();
        Some(Limits::new(SNS_LIMITS.max_entries, largest, largest))
    }

    async fn ready(&self) {
        if self.max_message_bytes.is_none() && !self.topic_maximum.initialized() {
            // Boxed: the read is needed once, and its future is large.
            Box::pin(self.read_topic_maximum()).await;
        }
    }

    fn check(&self) -> Result<(), ConfigError> {
        if let Err(error) = self.check_topic_kind() {
            return Err(ConfigError::Invalid {
                field: "topic_arn",
                reason: error.to_string(),
            });
        }
        match self.max_message_bytes {
            Some(bytes) if bytes > SNS_LIMITS.max_entry_bytes => Err(ConfigError::AboveLimit {
                field: "maximum_message_size",
                value: bytes as u64,
                limit: SNS_LIMITS.max_entry_bytes as u64,
                service: Self::SPEC.name,
            }),
            Some(0) => Err(ConfigError::Zero {
                field: "maximum_message_size",
            }),
            _ => Ok(()),
        }
    }
}
