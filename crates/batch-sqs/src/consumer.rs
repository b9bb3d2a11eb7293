//! The consumer's side: deleting received messages and changing their visibility, batched
//! (DeleteMessageBatch, ChangeMessageVisibilityBatch) while the consumer handles them one at
//! a time.

use std::marker::PhantomData;

use aws_sdk_sqs::Client;
use aws_sdk_sqs::types::{
    ChangeMessageVisibilityBatchRequestEntry, DeleteMessageBatchRequestEntry,
};
use batch_core::{
    Backend, BatchEntry, DedupPolicy, Dispatcher, EntryOutcome, Failure, Grouping, Limits,
    Prepared, ServiceSpec, SubmitErrorKind,
};

use batch_message::numbered;

use crate::backend::outcomes;
use crate::error::{Operation, SqsRequestError};
use crate::queue::Queue;

/// DeleteMessageBatch and ChangeMessageVisibilityBatch limits: 10 entries a request. A
/// request carries receipt handles only; its bytes are bounded as any SQS request's.
///
/// Source: Amazon SQS API reference, DeleteMessageBatch and ChangeMessageVisibilityBatch
/// ("up to ten messages"); checked 2026-12-04.
pub const SQS_CONSUMER_LIMITS: Limits = Limits::new(10, 1_048_576, 1_048_576);

/// The longest visibility timeout, in seconds (12 hours). Source: Amazon SQS API reference,
/// ChangeMessageVisibility, `VisibilityTimeout`; checked 2026-12-04.
pub const MAX_VISIBILITY_TIMEOUT_SECONDS: u32 = 43_200;

/// Deleting messages: the action of [`SqsDeleteDispatcher`].
#[derive(Debug, Clone, Copy, Default)]
pub struct Delete;

/// Changing messages' visibility timeout: the action of [`SqsVisibilityDispatcher`].
#[derive(Debug, Clone, Copy, Default)]
pub struct ChangeVisibility;

/// A visibility change: a received message's receipt handle and its new visibility timeout.
///
/// ```
/// use batch_sqs::VisibilityChange;
///
/// // Make the message visible again at once, for another consumer.
/// let release = VisibilityChange::new("AQEB...", 0);
/// assert_eq!(release.timeout_seconds(), 0);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VisibilityChange {
    receipt_handle: String,
    timeout_seconds: u32,
}

impl VisibilityChange {
    /// The message with `receipt_handle` becomes visible `timeout_seconds` from now (0 to
    /// [`MAX_VISIBILITY_TIMEOUT_SECONDS`]).
    #[must_use]
    pub fn new(receipt_handle: impl Into<String>, timeout_seconds: u32) -> Self {
        Self {
            receipt_handle: receipt_handle.into(),
            timeout_seconds,
        }
    }

    /// The receipt handle.
    #[must_use]
    pub fn receipt_handle(&self) -> &str {
        &self.receipt_handle
    }

    /// The new visibility timeout, in seconds.
    #[must_use]
    pub fn timeout_seconds(&self) -> u32 {
        self.timeout_seconds
    }
}

/// The backend of a consumer's batched deletes or visibility changes on one queue.
#[derive(Debug)]
pub struct SqsConsumerBackend<A> {
    client: Client,
    queue: Queue,
    action: PhantomData<A>,
}

impl<A> SqsConsumerBackend<A> {
    /// The backend of `queue` (a name or a queue URL).
    pub fn new(client: Client, queue: impl Into<String>) -> Self {
        Self {
            client,
            queue: Queue::new(queue.into()),
            action: PhantomData,
        }
    }

    /// The queue name or URL the dispatcher was given.
    #[must_use]
    pub fn queue(&self) -> &str {
        self.queue.target()
    }
}

/// Deletes received messages in DeleteMessageBatch requests: submit each message's receipt
/// handle once it is handled, and flush before the function or batch ends. A handle that is
/// no longer valid (`ReceiptHandleIsInvalid`) comes back unprocessed, not retried; two
/// pending deletes of one handle are one.
///
/// ```no_run
/// # async fn demo(messages: Vec<aws_sdk_sqs::types::Message>) -> Result<(), Box<dyn std::error::Error>> {
/// use batch_sqs::SqsDeleteDispatcher;
///
/// let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
/// let deletes = SqsDeleteDispatcher::new(&config, "orders");
/// for message in &messages {
///     // ... handle the message, then:
///     deletes.submit_payload(message.receipt_handle().unwrap_or_default()).await?;
/// }
/// for failed in deletes.flush_payloads().await {
///     eprintln!("not deleted ({}): {}", failed.error.code(), failed.payload);
/// }
/// # Ok(()) }
/// ```
pub type SqsDeleteDispatcher = Dispatcher<SqsConsumerBackend<Delete>>;

/// Changes received messages' visibility timeouts in ChangeMessageVisibilityBatch requests:
/// to extend the time a slow message is hidden, or to release one at once (timeout 0). A
/// handle that is no longer valid, or a message no longer in flight (`MessageNotInflight`),
/// comes back unprocessed, not retried; of two pending changes to one handle the later one
/// is sent.
///
/// ```no_run
/// # async fn demo(message: aws_sdk_sqs::types::Message) -> Result<(), Box<dyn std::error::Error>> {
/// use batch_sqs::{SqsVisibilityDispatcher, VisibilityChange};
///
/// let config = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
/// let visibility = SqsVisibilityDispatcher::new(&config, "orders");
/// let handle = message.receipt_handle().unwrap_or_default();
/// visibility.submit_payload(VisibilityChange::new(handle, 300)).await?;
/// assert!(visibility.flush_payloads().await.is_empty());
/// # Ok(()) }
/// ```
pub type SqsVisibilityDispatcher = Dispatcher<SqsConsumerBackend<ChangeVisibility>>;

/// Checks a receipt handle and says how it dedups.
fn prepared<E>(handle: &str, entry: E) -> Result<Prepared<E>, SubmitErrorKind> {
    if handle.is_empty() {
        return Err(SubmitErrorKind::Missing {
            field: "ReceiptHandle".into(),
        });
    }
    Ok(Prepared::new(entry, handle.len()).grouped(Grouping::Dedup(vec![handle.to_owned()])))
}

impl Backend for SqsConsumerBackend<Delete> {
    type Payload = String;
    type Entry = DeleteMessageBatchRequestEntry;
    type Error = SqsRequestError;

    const SPEC: ServiceSpec = ServiceSpec::new("sqs-delete", SQS_CONSUMER_LIMITS)
        .default_dedup(DedupPolicy::KeepFirst)
        .entry_size_field("ReceiptHandle");

    fn prepare(
        &self,
        handle: &String,
    ) -> Result<Prepared<DeleteMessageBatchRequestEntry>, SubmitErrorKind> {
        let entry = DeleteMessageBatchRequestEntry::builder()
            .id("")
            .receipt_handle(handle)
            .build()
            .map_err(|e| SubmitErrorKind::Invalid {
                field: "ReceiptHandle".into(),
                reason: e.to_string(),
            })?;
        prepared(handle, entry)
    }

    async fn send_batch(
        &self,
        batch: &[BatchEntry<'_, Self>],
    ) -> Result<Vec<EntryOutcome>, SqsRequestError> {
        let url = self.queue.url(&self.client).await?;
        let entries = numbered(batch, |item| item.entry.clone(), |entry| &mut entry.id);
        let output = self
            .client
            .delete_message_batch()
            .queue_url(url)
            .set_entries(Some(entries))
            .send()
            .await
            .map_err(|e| SqsRequestError::new(Operation::DeleteMessageBatch(e)))?;
        let successful = output.successful().iter().map(|ok| ok.id());
        Ok(outcomes(batch.len(), successful, output.failed()))
    }

    fn classify(&self, error: &SqsRequestError) -> Failure {
        error.classify()
    }
}

impl Backend for SqsConsumerBackend<ChangeVisibility> {
    type Payload = VisibilityChange;
    type Entry = ChangeMessageVisibilityBatchRequestEntry;
    type Error = SqsRequestError;

    // Of two changes to one message, the later one is what the consumer means.
    const SPEC: ServiceSpec = ServiceSpec::new("sqs-visibility", SQS_CONSUMER_LIMITS)
        .default_dedup(DedupPolicy::KeepLast)
        .entry_size_field("ReceiptHandle");

    fn prepare(
        &self,
        change: &VisibilityChange,
    ) -> Result<Prepared<ChangeMessageVisibilityBatchRequestEntry>, SubmitErrorKind> {
        if change.timeout_seconds > MAX_VISIBILITY_TIMEOUT_SECONDS {
            return Err(SubmitErrorKind::OutOfRange {
                field: "VisibilityTimeout".into(),
                value: change.timeout_seconds.to_string(),
                allowed: format!("0 to {MAX_VISIBILITY_TIMEOUT_SECONDS} seconds"),
            });
        }
        let timeout = i32::try_from(change.timeout_seconds).unwrap_or(i32::MAX);
        let entry = ChangeMessageVisibilityBatchRequestEntry::builder()
            .id("")
            .receipt_handle(&change.receipt_handle)
            .visibility_timeout(timeout)
            .build()
            .map_err(|e| SubmitErrorKind::Invalid {
                field: "ReceiptHandle".into(),
                reason: e.to_string(),
            })?;
        prepared(&change.receipt_handle, entry)
    }

    async fn send_batch(
        &self,
        batch: &[BatchEntry<'_, Self>],
    ) -> Result<Vec<EntryOutcome>, SqsRequestError> {
        let url = self.queue.url(&self.client).await?;
        let entries = numbered(batch, |item| item.entry.clone(), |entry| &mut entry.id);
        let output = self
            .client
            .change_message_visibility_batch()
            .queue_url(url)
            .set_entries(Some(entries))
            .send()
            .await
            .map_err(|e| SqsRequestError::new(Operation::ChangeMessageVisibilityBatch(e)))?;
        let successful = output.successful().iter().map(|ok| ok.id());
        Ok(outcomes(batch.len(), successful, output.failed()))
    }

    fn classify(&self, error: &SqsRequestError) -> Failure {
        error.classify()
    }
}

batch_core::impl_service!(SqsConsumerBackend<Delete>, Client, String, new);
batch_core::impl_service!(SqsConsumerBackend<ChangeVisibility>, Client, String, new);
