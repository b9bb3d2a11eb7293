//! SendMessageBatch as a [`Backend`]: validation, sizing, keys, the request and its outcomes.

use std::collections::HashMap;
use std::fmt;

use aws_sdk_sqs::Client;
use aws_sdk_sqs::error::SdkError;
use aws_sdk_sqs::operation::change_message_visibility_batch::ChangeMessageVisibilityBatchError;
use aws_sdk_sqs::operation::delete_message_batch::DeleteMessageBatchError;
use aws_sdk_sqs::operation::get_queue_url::GetQueueUrlError;
use aws_sdk_sqs::operation::send_message_batch::SendMessageBatchError;
use aws_sdk_sqs::primitives::Blob;
use aws_sdk_sqs::types::{
    BatchResultErrorEntry, MessageAttributeValue, SendMessageBatchRequestEntry,
};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use batch_core::{
    Backend, BatchEntry, DedupPolicy, EntryOutcome, Failure, Grouping, Limits, Prepared,
    ServiceSpec, SubmitErrorKind, classify_sdk_error, outcomes_by_index,
};

use crate::message::{
    MAX_DELAY_SECONDS, MessageAttribute, SqsMessage, attributes_size, body_text, check_attributes,
    check_group_or_dedup_id, check_id, dedup_keys, fifo_ids,
};
use crate::queue::Queue;

/// SendMessageBatch limits: 10 entries; 1 MiB for the sum of the messages and for one
/// message (body and attributes).
///
/// Source: Amazon SQS API reference, SendMessageBatch, and the SQS developer guide, "Amazon
/// SQS message quotas" (the maximum message size was raised from 256 KiB to 1 MiB in
/// August 2025); checked 2026-11-23.
pub const SQS_LIMITS: Limits = Limits::new(10, 1_048_576, 1_048_576);

/// How a FIFO dispatcher gets each message's deduplication id when the message has none.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum FifoDeduplication {
    /// Every message must carry its own id; one without is refused at submit.
    #[default]
    Explicit,
    /// The queue has content-based deduplication: no id is sent, SQS hashes the body.
    ContentBased,
    /// The dispatcher sends the hex SHA-256 of the body as the id.
    ContentHash,
}

/// A standard queue: the type parameter of [`SqsBackend`] for
/// [`SqsBatchDispatcher`](crate::SqsBatchDispatcher).
#[derive(Debug, Clone, Copy, Default)]
pub struct StandardQueue;

/// A FIFO queue's settings: the type parameter of [`SqsBackend`] for
/// [`SqsFifoBatchDispatcher`](crate::SqsFifoBatchDispatcher).
#[derive(Debug, Clone, Default)]
pub struct FifoQueue {
    pub(crate) default_group: Option<String>,
    pub(crate) deduplication: FifoDeduplication,
}

/// The kind of queue a [`SqsBackend`] writes to: [`StandardQueue`] or [`FifoQueue`].
pub trait QueueKind: sealed::Sealed + Default + fmt::Debug + Send + Sync + 'static {
    #[doc(hidden)]
    fn fifo(&self) -> Option<&FifoQueue>;
}

impl QueueKind for StandardQueue {
    fn fifo(&self) -> Option<&FifoQueue> {
        None
    }
}

impl QueueKind for FifoQueue {
    fn fifo(&self) -> Option<&FifoQueue> {
        Some(self)
    }
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for super::StandardQueue {}
    impl Sealed for super::FifoQueue {}
}

/// The SendMessageBatch backend of one queue, standard or FIFO.
#[derive(Debug)]
pub struct SqsBackend<K = StandardQueue> {
    client: Client,
    queue: Queue,
    pub(crate) kind: K,
    max_message_bytes: Option<usize>,
}

/// A prepared message: its SDK entry (the id is set per request).
#[derive(Debug)]
pub struct SqsEntry {
    entry: SendMessageBatchRequestEntry,
}

/// A request that failed as a whole.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SqsRequestError {
    /// The queue name could not be resolved to a URL.
    #[error("GetQueueUrl failed")]
    GetQueueUrl(#[source] SdkError<GetQueueUrlError, HttpResponse>),
    /// SendMessageBatch failed as a whole.
    #[error("SendMessageBatch failed")]
    SendMessageBatch(#[source] SdkError<SendMessageBatchError, HttpResponse>),
    /// DeleteMessageBatch failed as a whole.
    #[error("DeleteMessageBatch failed")]
    DeleteMessageBatch(#[source] SdkError<DeleteMessageBatchError, HttpResponse>),
    /// ChangeMessageVisibilityBatch failed as a whole.
    #[error("ChangeMessageVisibilityBatch failed")]
    ChangeMessageVisibilityBatch(
        #[source] SdkError<ChangeMessageVisibilityBatchError, HttpResponse>,
    ),
}

impl SqsRequestError {
    /// What the engine makes of it.
    pub(crate) fn classify(&self) -> Failure {
        match self {
            Self::GetQueueUrl(e) => classify_sdk_error(e),
            Self::SendMessageBatch(e) => classify_sdk_error(e),
            Self::DeleteMessageBatch(e) => classify_sdk_error(e),
            Self::ChangeMessageVisibilityBatch(e) => classify_sdk_error(e),
        }
    }
}

impl<K: QueueKind> SqsBackend<K> {
    pub(crate) fn with_defaults(client: Client, queue: String) -> Self {
        Self {
            client,
            queue: Queue::new(queue),
            kind: K::default(),
            max_message_bytes: None,
        }
    }

    /// The queue name or URL the dispatcher was given.
    #[must_use]
    pub fn queue(&self) -> &str {
        self.queue.target()
    }

    /// The largest message the queue takes, in bytes: as set with
    /// [`maximum_message_size`](Self::maximum_message_size), or read from the queue's
    /// `MaximumMessageSize` attribute when the first message was submitted; `None` before
    /// that, or when the attribute could not be read.
    #[must_use]
    pub fn message_size_limit(&self) -> Option<usize> {
        self.max_message_bytes
            .or_else(|| self.queue.maximum_message_size())
    }

    /// The queue's largest message, in bytes, instead of reading its `MaximumMessageSize`
    /// attribute (GetQueueAttributes, once, at the first submit). Messages larger are refused
    /// at submit, naming the limit.
    #[must_use]
    pub fn maximum_message_size(mut self, bytes: usize) -> Self {
        self.max_message_bytes = Some(bytes);
        self
    }

    fn is_fifo(&self) -> bool {
        self.kind.fifo().is_some()
    }
}

fn attribute_value(value: &MessageAttribute) -> Result<MessageAttributeValue, SubmitErrorKind> {
    let builder = MessageAttributeValue::builder().data_type(value.data_type());
    let builder = match value {
        MessageAttribute::String(text) | MessageAttribute::Number(text) => {
            builder.string_value(text)
        }
        MessageAttribute::Binary(bytes) => builder.binary_value(Blob::new(bytes.clone())),
    };
    builder.build().map_err(|e| SubmitErrorKind::Invalid {
        field: "MessageAttributes".into(),
        reason: e.to_string(),
    })
}

impl<K: QueueKind> Backend for SqsBackend<K> {
    type Payload = SqsMessage;
    type Entry = SqsEntry;
    type Error = SqsRequestError;

    const SPEC: ServiceSpec = ServiceSpec::new("sqs", SQS_LIMITS)
        .default_dedup(DedupPolicy::KeepFirst)
        .entry_size_field("message");

    fn prepare(&self, message: &SqsMessage) -> Result<Prepared<SqsEntry>, SubmitErrorKind> {
        if let Some(id) = &message.id {
            check_id(id)?;
        }
        let body = body_text(&message.body)?;
        check_attributes(&message.attributes)?;
        let (group, dedup_id) = match self.kind.fifo() {
            None => {
                if message.deduplication_id.is_some() {
                    return Err(SubmitErrorKind::Invalid {
                        field: "MessageDeduplicationId".into(),
                        reason: "only FIFO queues take a deduplication id".into(),
                    });
                }
                if let Some(delay) = message.delay_seconds.filter(|&d| d > MAX_DELAY_SECONDS) {
                    return Err(SubmitErrorKind::OutOfRange {
                        field: "DelaySeconds".into(),
                        value: delay.to_string(),
                        allowed: format!("0 to {MAX_DELAY_SECONDS}"),
                    });
                }
                if let Some(group) = &message.message_group_id {
                    check_group_or_dedup_id("MessageGroupId", group)?;
                }
                (message.message_group_id.clone(), None)
            }
            Some(fifo) => {
                if message.delay_seconds.is_some() {
                    return Err(SubmitErrorKind::Invalid {
                        field: "DelaySeconds".into(),
                        reason:
                            "FIFO queues take no per-message delay; set the queue's delay instead"
                                .into(),
                    });
                }
                let (group, dedup_id) = fifo_ids(
                    message.message_group_id.as_deref(),
                    message.deduplication_id.as_deref(),
                    fifo.default_group.as_deref(),
                    fifo.deduplication,
                    &body,
                )?;
                (Some(group), dedup_id)
            }
        };
        let size = body.len() + attributes_size(&message.attributes);
        let attributes = if message.attributes.is_empty() {
            None
        } else {
            Some(
                message
                    .attributes
                    .iter()
                    .map(|(name, value)| Ok((name.clone(), attribute_value(value)?)))
                    .collect::<Result<HashMap<_, _>, SubmitErrorKind>>()?,
            )
        };
        let delay = message
            .delay_seconds
            .map(|d| i32::try_from(d).unwrap_or(i32::MAX));
        let entry = SendMessageBatchRequestEntry::builder()
            .id("")
            .message_body(body)
            .set_delay_seconds(delay)
            .set_message_attributes(attributes)
            .set_message_group_id(group)
            .set_message_deduplication_id(dedup_id)
            .build()
            .map_err(|e| SubmitErrorKind::Invalid {
                field: "message".into(),
                reason: e.to_string(),
            })?;
        let keys = dedup_keys(
            message.id.as_deref(),
            self.is_fifo().then(|| {
                (
                    entry.message_deduplication_id.as_deref(),
                    &*entry.message_body,
                )
            }),
        );
        let ordering_key = if self.is_fifo() {
            entry.message_group_id.clone()
        } else {
            None
        };
        Ok(Prepared::new(SqsEntry { entry }, size)
            .ordered_by(ordering_key)
            .grouped(Grouping::Dedup(keys)))
    }

    async fn send_batch(
        &self,
        batch: &[BatchEntry<'_, Self>],
    ) -> Result<Vec<EntryOutcome>, SqsRequestError> {
        let url = self.queue.url(&self.client).await?;
        // Ids only need to be unique within one request, so each entry gets its index.
        let request: Vec<SendMessageBatchRequestEntry> = batch
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
            .send_message_batch()
            .queue_url(url)
            .set_entries(Some(request))
            .send()
            .await
            .map_err(SqsRequestError::SendMessageBatch)?;
        let successful = output.successful().iter().map(|ok| ok.id());
        Ok(outcomes(batch.len(), successful, output.failed()))
    }

    fn classify(&self, error: &SqsRequestError) -> Failure {
        error.classify()
    }

    fn destination_limits(&self) -> Option<Limits> {
        let largest = self.message_size_limit()?;
        Some(Limits::new(
            SQS_LIMITS.max_entries,
            SQS_LIMITS.max_request_bytes,
            largest,
        ))
    }

    async fn ready(&self) {
        if self.max_message_bytes.is_none() && !self.queue.maximum_message_size_read() {
            // Boxed: the read is needed once, and its future is large.
            Box::pin(self.queue.read_maximum_message_size(&self.client)).await;
        }
    }
}

/// Maps a batch response of SQS's shape (`Successful` and `Failed` entries by id) onto the
/// request's entries, whose ids are their indices. An entry with `SenderFault` cannot
/// succeed as sent; others may on a later attempt.
pub(crate) fn outcomes<'a>(
    count: usize,
    successful: impl IntoIterator<Item = &'a str>,
    failed: &'a [BatchResultErrorEntry],
) -> Vec<EntryOutcome> {
    let failed = failed.iter().map(|failed| {
        let message = failed.message().unwrap_or_default();
        let failure = Failure::by_sender_fault(failed.sender_fault(), failed.code(), message);
        (failed.id(), failure)
    });
    outcomes_by_index(count, successful, failed)
}
