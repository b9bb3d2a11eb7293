//! SendMessageBatch as a [`Backend`]: validation, sizing, keys, the request and its outcomes.

use aws_sdk_sqs::Client;
use aws_sdk_sqs::primitives::Blob;
use aws_sdk_sqs::types::{
    BatchResultErrorEntry, MessageAttributeValue, SendMessageBatchRequestEntry,
};
use batch_core::{
    Backend, BatchEntry, DedupPolicy, EntryOutcome, Failure, Grouping, Limits, Prepared,
    ServiceSpec, SubmitErrorKind, outcomes_by_index,
};
use batch_message::{DestinationKind, Fifo, Standard, WrittenBody, check_message, numbered};

use crate::error::{Operation, SqsRequestError};
use crate::message::{MAX_DELAY_SECONDS, SqsMessage};
use crate::queue::Queue;

/// SendMessageBatch limits: 10 entries; 1 MiB for the sum of the messages and for one
/// message (body and attributes).
///
/// Source: Amazon SQS API reference, SendMessageBatch, and the SQS developer guide, "Amazon
/// SQS message quotas" (the maximum message size was raised from 256 KiB to 1 MiB in
/// August 2025); checked 2026-11-23.
pub const SQS_LIMITS: Limits = Limits::new(10, 1_048_576, 1_048_576);

/// A standard queue: the type parameter of [`SqsBackend`] for
/// [`SqsBatchDispatcher`](crate::SqsBatchDispatcher).
pub type StandardQueue = Standard;

/// A FIFO queue's settings: the type parameter of [`SqsBackend`] for
/// [`SqsFifoBatchDispatcher`](crate::SqsFifoBatchDispatcher).
pub type FifoQueue = Fifo;

/// The SendMessageBatch backend of one queue, standard or FIFO.
#[derive(Debug)]
pub struct SqsBackend<K = StandardQueue> {
    client: Client,
    queue: Queue,
    pub(crate) kind: K,
    max_message_bytes: Option<usize>,
}

/// A prepared message: its SDK entry without id or body, set per request, and its body if
/// it was written from JSON.
#[derive(Debug)]
pub struct SqsEntry {
    entry: SendMessageBatchRequestEntry,
    body: WrittenBody,
}

impl<K: DestinationKind> SqsBackend<K> {
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
    /// [`with_maximum_message_size`](Self::with_maximum_message_size), or read from the
    /// queue's `MaximumMessageSize` attribute when the first message was submitted; `None`
    /// before that, or when the attribute could not be read.
    #[must_use]
    pub fn maximum_message_size(&self) -> Option<usize> {
        self.max_message_bytes
            .or_else(|| self.queue.maximum_message_size())
    }

    /// The queue's largest message, in bytes, instead of reading its `MaximumMessageSize`
    /// attribute (GetQueueAttributes, once, at the first submit). Messages larger are refused
    /// at submit, naming the limit.
    #[must_use]
    pub fn with_maximum_message_size(mut self, bytes: usize) -> Self {
        self.max_message_bytes = Some(bytes);
        self
    }

    fn is_fifo(&self) -> bool {
        self.kind.fifo().is_some()
    }
}

impl<K: DestinationKind> Backend for SqsBackend<K> {
    type Payload = SqsMessage;
    type Entry = SqsEntry;
    type Error = SqsRequestError;

    const SPEC: ServiceSpec = ServiceSpec::new("sqs", SQS_LIMITS)
        .default_dedup(DedupPolicy::KeepFirst)
        .entry_size_field("message");

    fn prepare(&self, message: &SqsMessage) -> Result<Prepared<SqsEntry>, SubmitErrorKind> {
        let checked = check_message(&self.kind, &message.fields())?;
        match (self.is_fifo(), message.delay_seconds) {
            (true, Some(_)) => {
                return Err(SubmitErrorKind::Invalid {
                    field: "DelaySeconds".into(),
                    reason: "FIFO queues take no per-message delay; set the queue's delay instead"
                        .into(),
                });
            }
            (false, Some(delay)) if delay > MAX_DELAY_SECONDS => {
                return Err(SubmitErrorKind::OutOfRange {
                    field: "DelaySeconds".into(),
                    value: delay.to_string(),
                    allowed: format!("0 to {MAX_DELAY_SECONDS}"),
                });
            }
            _ => {}
        }
        let attributes =
            batch_message::sdk_attributes!(MessageAttributeValue, Blob, &message.attributes)?;
        let delay = message
            .delay_seconds
            .map(|d| i32::try_from(d).unwrap_or(i32::MAX));
        // A FIFO queue's order is kept per group; a standard queue's group only shares it fairly.
        let ordering_key = if self.is_fifo() {
            checked.message_group_id.clone()
        } else {
            None
        };
        let entry = SendMessageBatchRequestEntry::builder()
            .id("")
            .message_body("")
            .set_delay_seconds(delay)
            .set_message_attributes(attributes)
            .set_message_group_id(checked.message_group_id)
            .set_message_deduplication_id(checked.deduplication_id)
            .build()
            .map_err(|e| SubmitErrorKind::Invalid {
                field: "message".into(),
                reason: e.to_string(),
            })?;
        let body = WrittenBody::of(checked.body);
        Ok(Prepared::new(SqsEntry { entry, body }, checked.size)
            .ordered_by(ordering_key)
            .grouped(Grouping::Dedup(checked.dedup_keys)))
    }

    async fn send_batch(
        &self,
        batch: &[BatchEntry<'_, Self>],
    ) -> Result<Vec<EntryOutcome>, SqsRequestError> {
        let url = self.queue.url(&self.client).await?;
        let request = numbered(
            batch,
            |item| {
                let mut entry = item.entry.entry.clone();
                entry.message_body = item.entry.body.to_send(item.payload.body());
                entry
            },
            |entry| &mut entry.id,
        );
        let output = self
            .client
            .send_message_batch()
            .queue_url(url)
            .set_entries(Some(request))
            .send()
            .await
            .map_err(|e| SqsRequestError::new(Operation::SendMessageBatch(e)))?;
        let successful = output.successful().iter().map(|ok| ok.id());
        Ok(outcomes(batch.len(), successful, output.failed()))
    }

    fn classify(&self, error: &SqsRequestError) -> Failure {
        error.classify()
    }

    fn destination_limits(&self) -> Option<Limits> {
        let largest = self.maximum_message_size()?;
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
