//! The trait a service crate implements, and the values it exchanges with the engine.

use std::borrow::Cow;
use std::error::Error as StdError;
use std::fmt;
use std::future::Future;
use std::sync::Arc;

use crate::config::DedupPolicy;
use crate::error::SubmitErrorKind;

/// Size and count limits of one batch API.
///
/// A backend declares two sets: [`Backend::HARD_LIMITS`], the ceiling AWS enforces, and
/// [`Backend::DEFAULT_LIMITS`], what a dispatcher uses unless told otherwise. Users may lower
/// any limit (for example to a queue's own `MaximumMessageSize`), never raise it above the
/// ceiling.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Limits {
    /// Entries in one request.
    pub max_entries: usize,
    /// Bytes in one request, as the service counts them.
    pub max_request_bytes: usize,
    /// Bytes of one entry, as the service counts them.
    pub max_entry_bytes: usize,
}

impl Limits {
    /// Limits from their three values.
    ///
    /// ```
    /// let limits = batch_core::Limits::new(10, 1 << 20, 1 << 20);
    /// assert_eq!(limits.max_entries, 10);
    /// ```
    #[must_use]
    pub const fn new(max_entries: usize, max_request_bytes: usize, max_entry_bytes: usize) -> Self {
        Self {
            max_entries,
            max_request_bytes,
            max_entry_bytes,
        }
    }
}

/// Why an entry or a request failed, as the backend classified it.
///
/// `retryable` is the backend's verdict: `true` for throttling and service-side faults that a
/// later attempt may get through, `false` for anything that cannot succeed as sent (validation
/// errors, missing resources, access denied, a sender fault).
#[derive(Clone)]
#[non_exhaustive]
pub struct Failure {
    /// The AWS error code, e.g. `ProvisionedThroughputExceededException`.
    pub code: String,
    /// The message AWS gave with the code.
    pub message: String,
    /// Whether a later attempt may succeed.
    pub retryable: bool,
    /// The underlying error of a failed request (the SDK's typed error), when there is one.
    pub source: Option<Arc<dyn StdError + Send + Sync + 'static>>,
}

impl Failure {
    /// A failure that a later attempt may get past (throttling, internal errors).
    #[must_use]
    pub fn retryable(code: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            code: code.into(),
            message: message.into(),
            retryable: true,
            source: None,
        }
    }

    /// A failure that no later attempt can get past.
    #[must_use]
    pub fn permanent(code: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            retryable: false,
            ..Self::retryable(code, message)
        }
    }

    /// Attaches the error this failure was classified from.
    #[must_use]
    pub fn with_source(mut self, source: impl StdError + Send + Sync + 'static) -> Self {
        self.source = Some(Arc::new(source));
        self
    }
}

impl fmt::Debug for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Failure")
            .field("code", &self.code)
            .field("message", &self.message)
            .field("retryable", &self.retryable)
            .field("has_source", &self.source.is_some())
            .finish()
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.message.is_empty() {
            write!(f, "{}", self.code)
        } else {
            write!(f, "{}: {}", self.code, self.message)
        }
    }
}

/// What happened to one entry of a request that got a response.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum EntryOutcome {
    /// The service accepted the entry.
    Delivered,
    /// The service refused the entry; the rest of the request may still have succeeded.
    Failed(Failure),
}

/// One AWS batch API, as the engine sees it.
///
/// A service crate implements this for its client and target (queue, stream, table,
/// namespace). The engine calls it from many tasks at once, so implementations are
/// `Send + Sync` and hold no per-request state.
///
/// The contract:
/// - [`send_batch`](Backend::send_batch) is never called with more entries or bytes than the
///   dispatcher's limits allow, and never with two entries that share a dedup key (when the
///   dispatcher's dedup policy is on).
/// - `payloads` stands beside `entries`: `payloads[i]` is what `entries[i]` was prepared from.
/// - It returns exactly one [`EntryOutcome`] per entry, in the order of `entries`. A response
///   that reports failed entries (SQS `Failed`, Kinesis `ErrorCode`, DynamoDB
///   `UnprocessedItems`) is `Ok` with [`EntryOutcome::Failed`] for those entries.
/// - It does not retry entries itself: the engine does, with backoff. The SDK client's own
///   retries of whole requests stay as the user configured them.
/// - A request that failed as a whole is `Err`, and [`classify`](Backend::classify) says
///   whether a later attempt may help.
pub trait Backend: Send + Sync + 'static {
    /// What the user submits and gets back when it cannot be delivered, as submitted.
    type Payload: Send + Sync + 'static;
    /// The prepared wire form of one payload, built once at submit time.
    type Entry: Send + Sync + 'static;
    /// The error of a request that failed as a whole (typically the SDK's `SdkError`).
    type Error: StdError + Send + Sync + 'static;

    /// Short service name used in logs and errors, e.g. `"sqs"`.
    const NAME: &'static str;
    /// The ceiling the service enforces. Configured limits above it are rejected.
    const HARD_LIMITS: Limits;
    /// The limits a dispatcher uses unless told otherwise.
    const DEFAULT_LIMITS: Limits = Self::HARD_LIMITS;
    /// The dedup policy a dispatcher uses unless told otherwise.
    const DEFAULT_DEDUP: DedupPolicy = DedupPolicy::Off;
    /// What the entry size counts, for error messages, e.g. `"message body and attributes"`.
    const ENTRY_SIZE_FIELD: &'static str = "entry";

    /// Validates a payload and builds its wire entry. An `Err` is handed to the user together
    /// with the payload.
    fn prepare(&self, payload: &Self::Payload) -> Result<Self::Entry, SubmitErrorKind>;

    /// Bytes the entry adds to a request, as the service counts them. Never less than the
    /// service's own count: the engine packs requests by this number.
    fn entry_size(&self, entry: &Self::Entry) -> usize;

    /// Keys under which two pending entries count as duplicates (none if the service has
    /// no such key). Two entries are duplicates when they share any key; keys of different
    /// kinds should carry a prefix so they never collide (`id:7`, `dedup:abc`).
    fn dedup_keys(&self, _entry: &Self::Entry) -> Vec<String> {
        Vec::new()
    }

    /// Key whose entries must reach the service in submission order (an SQS FIFO message
    /// group, a Kinesis partition key in ordered mode, a DynamoDB item key). Entries sharing
    /// a key are never in flight in two requests at once, and a failed entry holds back the
    /// later entries of its key.
    fn ordering_key(&self, _entry: &Self::Entry) -> Option<String> {
        None
    }

    /// Whether the service keeps the order of one ordering key's entries inside one request
    /// when it refuses some of them. SQS FIFO enqueues a batch's messages of a group in
    /// order, so a group may fill a request. Kinesis `PutRecords` goes on storing the records
    /// after a refused one, so a backend that says `false` gets at most one entry per ordering
    /// key in each request, and order then holds under any partial failure.
    const KEEPS_ORDER_WITHIN_REQUEST: bool = true;

    /// Entries the service can merge into one (CloudWatch datums of one metric, merged into
    /// values and counts) share a merge key. Up to [`MERGE_LIMIT`](Backend::MERGE_LIMIT)
    /// pending entries with one key count as one entry against `max_entries`, and every one
    /// after the first adds [`merged_size`](Backend::merged_size) bytes instead of its full
    /// size. `send_batch` still gets every entry, in order, and merges them itself (in runs of
    /// at most `MERGE_LIMIT` per key). A backend uses merge keys or dedup keys, not both.
    fn merge_key(&self, _entry: &Self::Entry) -> Option<String> {
        None
    }

    /// Entries merged into one, at most.
    const MERGE_LIMIT: usize = 1;

    /// Bytes an entry adds when it is merged into an earlier one with the same merge key.
    fn merged_size(&self, entry: &Self::Entry) -> usize {
        self.entry_size(entry)
    }

    /// Sends one batch request. See the trait docs for the contract. `payloads[i]` is the
    /// payload `entries[i]` was prepared from: a backend may build the wire entry from it
    /// rather than keep a second copy of the payload's data in the entry.
    fn send_batch(
        &self,
        entries: &[&Self::Entry],
        payloads: &[&Self::Payload],
    ) -> impl Future<Output = Result<Vec<EntryOutcome>, Self::Error>> + Send;

    /// Classifies a request that failed as a whole.
    fn classify(&self, error: &Self::Error) -> Failure;
}

/// The name of a payload field, for messages that point at it.
pub type FieldName = Cow<'static, str>;
