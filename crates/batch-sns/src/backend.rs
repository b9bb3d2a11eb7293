//! PublishBatch as a [`Backend`]: the SQS message rules, FIFO topics, the topic's largest
//! message, the request and its outcomes.

use std::collections::HashMap;

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
use batch_sqs::{
    FifoDeduplication, MessageAttribute, attributes_size, body_text, check_attributes, check_id,
    dedup_keys, fifo_ids,
};
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

/// The PublishBatch backend of one topic, standard or FIFO (a topic ARN that ends with
/// `.fifo`).
#[derive(Debug)]
pub struct SnsBackend {
    pub(crate) client: Client,
    pub(crate) topic_arn: String,
    pub(crate) default_group: Option<String>,
    pub(crate) deduplication: Option<FifoDeduplication>,
    pub(crate) max_message_bytes: Option<usize>,
    /// The topic's `MaximumMessageSize`, once read; `None` inside when it could not be.
    pub(crate) topic_maximum: OnceCell<Option<usize>>,
}

/// A prepared message: its request entry (the id is set per request).
#[derive(Debug)]
pub struct SnsEntry {
    entry: PublishBatchRequestEntry,
}

/// A PublishBatch request that failed as a whole.
#[derive(Debug, thiserror::Error)]
#[error("PublishBatch failed")]
pub struct SnsRequestError(#[source] pub SdkError<PublishBatchError, HttpResponse>);

impl SnsBackend {
    /// The topic's ARN.
    #[must_use]
    pub fn topic_arn(&self) -> &str {
        &self.topic_arn
    }

    /// Whether the topic is a FIFO topic.
    #[must_use]
    pub fn is_fifo(&self) -> bool {
        self.topic_arn.ends_with(".fifo")
    }

    /// The largest message the topic takes, in bytes: as set, as read from the topic, or the
    /// default of 256 KiB.
    #[must_use]
    pub fn message_size_limit(&self) -> usize {
        self.max_message_bytes
            .or_else(|| self.topic_maximum.get().copied().flatten())
            .unwrap_or(SNS_DEFAULT_MESSAGE_BYTES)
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

fn attribute_value(value: &MessageAttribute) -> Result<MessageAttributeValue, SubmitErrorKind> {
    let builder = MessageAttributeValue::builder().data_type(value.data_type());
    let builder = match value {
        MessageAttribute::String(text) | MessageAttribute::Number(text) => {
            builder.string_value(text)
        }
        MessageAttribute::Binary(bytes) => builder.binary_value(Blob::new(bytes.clone())),
        _ => builder,
    };
    builder.build().map_err(|e| SubmitErrorKind::Invalid {
        field: "MessageAttributes".into(),
        reason: e.to_string(),
    })
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

impl Backend for SnsBackend {
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
        if let Some(id) = &message.id {
            check_id(id)?;
        }
        let body = body_text(&message.body)?;
        check_attributes(&message.attributes)?;
        if let Some(subject) = &message.subject {
            check_subject(subject)?;
        }
        let (group, dedup_id) = if self.is_fifo() {
            let (group, dedup_id) = fifo_ids(
                message.message_group_id.as_deref(),
                message.deduplication_id.as_deref(),
                self.default_group.as_deref(),
                self.deduplication.unwrap_or_default(),
                &body,
            )?;
            (Some(group), dedup_id)
        } else {
            if let Some(field) = [
                ("MessageGroupId", &message.message_group_id),
                ("MessageDeduplicationId", &message.deduplication_id),
            ]
            .iter()
            .find_map(|(field, value)| value.as_ref().map(|_| *field))
            {
                return Err(SubmitErrorKind::Invalid {
                    field: field.into(),
                    reason: "only FIFO topics take one".into(),
                });
            }
            (None, None)
        };
        let size = body.len() + attributes_size(&message.attributes);
        let attributes = (!message.attributes.is_empty())
            .then(|| {
                message
                    .attributes
                    .iter()
                    .map(|(name, value)| Ok((name.clone(), attribute_value(value)?)))
                    .collect::<Result<HashMap<_, _>, SubmitErrorKind>>()
            })
            .transpose()?;
        let keys = dedup_keys(
            message.id.as_deref(),
            self.is_fifo()
                .then_some((dedup_id.as_deref(), body.as_str())),
        );
        let entry = PublishBatchRequestEntry::builder()
            .id("")
            .message(body)
            .set_subject(message.subject.clone())
            .set_message_attributes(attributes)
            .set_message_group_id(group.clone())
            .set_message_deduplication_id(dedup_id)
            .build()
            .map_err(|e| SubmitErrorKind::Invalid {
                field: "message".into(),
                reason: e.to_string(),
            })?;
        Ok(Prepared::new(SnsEntry { entry }, size)
            .ordered_by(group)
            .grouped(Grouping::Dedup(keys)))
    }

    async fn send_batch(
        &self,
        batch: &[BatchEntry<'_, Self>],
    ) -> Result<Vec<EntryOutcome>, SnsRequestError> {
        // Ids only need to be unique within one request, so each entry gets its index.
        let entries = batch
            .iter()
            .enumerate()
            .map(|(index, item)| {
                let mut entry = item.entry.entry.clone();
                entry.id = index.to_string();
                entry
            })
            .collect();
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
        let largest = self.message_size_limit();
        Some(Limits::new(SNS_LIMITS.max_entries, largest, largest))
    }

    async fn ready(&self) {
        if self.max_message_bytes.is_none() && !self.topic_maximum.initialized() {
            // Boxed: the read is needed once, and its future is large.
            Box::pin(self.read_topic_maximum()).await;
        }
    }

    fn check(&self) -> Result<(), ConfigError> {
        let fifo_options = self.default_group.is_some() || self.deduplication.is_some();
        if fifo_options && !self.is_fifo() {
            return Err(ConfigError::Invalid {
                field: "default_message_group_id / deduplication",
                reason: format!(
                    "{} is not a FIFO topic (its ARN ends with .fifo)",
                    self.topic_arn
                ),
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
