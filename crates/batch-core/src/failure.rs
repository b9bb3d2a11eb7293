//! Why an entry or a request failed: the kind of failure, from which retrying follows, and
//! the codes the engine itself gives.

use std::error::Error as StdError;
use std::fmt;
use std::sync::Arc;

/// Error codes AWS services use for throttling. A later attempt may get through.
///
/// Source: the AWS SDK's standard retry classifier (`aws-runtime`, `THROTTLING_ERRORS`) and
/// the service API references; checked 2026-11-23.
pub const THROTTLING_CODES: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestThrottledException",
    "TooManyRequestsException",
    "ProvisionedThroughputExceededException",
    "TransactionInProgressException",
    "RequestLimitExceeded",
    "BandwidthLimitExceeded",
    "LimitExceededException",
    "RequestThrottled",
    "SlowDown",
    "PriorRequestNotComplete",
    "KMSThrottlingException",
    "KmsThrottled",
];

/// Error codes of service-side faults that a later attempt may get past.
///
/// Source: the AWS SDK's standard retry classifier (`TRANSIENT_ERRORS`); checked 2026-11-23.
pub const TRANSIENT_CODES: &[&str] = &[
    "RequestTimeout",
    "RequestTimeoutException",
    "InternalError",
    "InternalFailure",
    "InternalServerError",
    "ServiceUnavailable",
    "ServiceUnavailableException",
    codes::KEY_RANGE_THROTTLED,
];

/// Error codes with which a service refuses a whole request for what is in it: one invalid
/// entry (a key of the wrong type, a value out of range) spoils the request of every entry
/// with it. The dispatcher then sends the request's halves apart, down to single entries,
/// so that only the invalid ones are handed back.
///
/// Source: the API references of BatchWriteItem, PutRecords, PutMetricData,
/// PutRecordBatch, PutEvents, SendMessageBatch and PublishBatch (their common errors);
/// checked 2026-12-05.
pub const INVALID_REQUEST_CODES: &[&str] = &[
    "ValidationException",
    "ValidationError",
    "InvalidArgumentException",
    "InvalidParameterValue",
    "InvalidParameterValueException",
    "InvalidParameterCombination",
    "InvalidParameter",
    "InvalidParameterException",
    "SerializationException",
];

/// Whether an AWS error code names a failure that a later attempt may get past.
///
/// ```
/// assert!(batch_core::is_retryable_code("ThrottlingException"));
/// assert!(!batch_core::is_retryable_code("AccessDeniedException"));
/// ```
#[must_use]
pub fn is_retryable_code(code: &str) -> bool {
    THROTTLING_CODES.contains(&code) || TRANSIENT_CODES.contains(&code)
}

/// What kind of failure it was. Whether a later attempt may help follows from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum FailureKind {
    /// The service refused for capacity or rate: a later attempt, slower, gets through.
    Throttling,
    /// The request did not complete (a timeout, a connection lost, an unreadable answer): a
    /// later attempt may get through.
    Transient,
    /// The service failed on its side (a 5xx, an internal error): a later attempt may get
    /// through.
    Server,
    /// The entry or request cannot succeed as sent (validation, missing resource, access
    /// denied, a sender fault): no attempt will get through.
    Client,
}

impl FailureKind {
    /// The kind of a failure with this AWS error `code`, for entries and whole requests
    /// alike: throttling for a code of [`THROTTLING_CODES`] or an HTTP 429; transient for a
    /// code of [`TRANSIENT_CODES`]; a server fault for a 5xx, or for an entry the service
    /// refused without an HTTP status of its own (`status` is `None`); a client fault
    /// otherwise.
    ///
    /// ```
    /// use batch_core::FailureKind;
    ///
    /// assert_eq!(FailureKind::of("ThrottlingException", Some(400)), FailureKind::Throttling);
    /// assert_eq!(FailureKind::of("InternalFailure", Some(500)), FailureKind::Transient);
    /// assert_eq!(FailureKind::of("InternalFailure", None), FailureKind::Transient);
    /// assert_eq!(FailureKind::of("BadGateway", Some(502)), FailureKind::Server);
    /// assert_eq!(FailureKind::of("UnknownFault", None), FailureKind::Server);
    /// assert_eq!(FailureKind::of("AccessDenied", Some(403)), FailureKind::Client);
    /// ```
    #[must_use]
    pub fn of(code: &str, status: Option<u16>) -> Self {
        if THROTTLING_CODES.contains(&code) || status == Some(429) {
            Self::Throttling
        } else if TRANSIENT_CODES.contains(&code) {
            Self::Transient
        } else if status.is_none_or(|status| status >= 500) {
            Self::Server
        } else {
            Self::Client
        }
    }

    /// Whether a later attempt may succeed.
    #[must_use]
    pub fn is_retryable(self) -> bool {
        !matches!(self, Self::Client)
    }
}

/// The codes the engine gives to failures of its own, beside the AWS error codes.
pub mod codes {
    /// Payloads handed back after [`Dispatcher::abandon`](crate::Dispatcher::abandon).
    pub const ABANDONED: &str = "Abandoned";
    /// The backend panicked while sending the request.
    pub const BACKEND_PANICKED: &str = "BackendPanicked";
    /// The backend returned a different number of outcomes than entries.
    pub const OUTCOME_COUNT_MISMATCH: &str = "OutcomeCountMismatch";
    /// The service's answer did not mention the entry.
    pub const MISSING_FROM_RESPONSE: &str = "MissingFromResponse";
    /// The request timed out in the SDK.
    pub const TIMEOUT: &str = "TimeoutError";
    /// DynamoDB refused the request only for partition keys hotter than their partition
    /// takes (every one of its `ThrottlingReasons` a `...KeyRangeThroughputExceeded`): the
    /// table has room, so the writes back off and go again as after a transient fault,
    /// without slowing the table.
    pub const KEY_RANGE_THROTTLED: &str = "KeyRangeThroughputExceeded";
    /// The request could not be sent (connection refused, DNS, TLS).
    pub const DISPATCH_FAILURE: &str = "DispatchFailure";
    /// The answer could not be read.
    pub const RESPONSE_ERROR: &str = "ResponseError";
    /// The SDK could not build the request.
    pub const CONSTRUCTION_FAILURE: &str = "ConstructionFailure";
    /// An error the SDK did not classify.
    pub const UNKNOWN: &str = "Unknown";
    /// Never sent: the destination throttled every request for the whole throttle budget
    /// ([`RetryPolicy::throttle_budget`](crate::RetryPolicy::throttle_budget)) before this
    /// entry's turn came.
    pub const THROTTLE_BUDGET_SPENT: &str = "ThrottleBudgetSpent";
    /// A record aggregated for a Kinesis shard it no longer hashes to (the stream was
    /// resharded while it was in flight); it is aggregated again and retried.
    pub const SHARD_CHANGED: &str = "ShardChanged";
}

/// Why an entry or a request failed, as the backend classified it.
///
/// ```
/// use batch_core::{Failure, FailureKind};
///
/// let throttled = Failure::retryable("ThrottlingException", "Rate exceeded");
/// assert_eq!(throttled.kind, FailureKind::Throttling);
/// assert!(throttled.is_retryable());
/// assert!(!Failure::permanent("AccessDenied", "no").is_retryable());
/// ```
#[derive(Clone)]
#[non_exhaustive]
pub struct Failure {
    /// The AWS error code, e.g. `ProvisionedThroughputExceededException`, or one of the
    /// engine's [`codes`].
    pub code: String,
    /// What happened, once: the service's message, or the error's own words. The chain of
    /// causes is in [`source`](Self::source), not repeated here.
    pub message: String,
    /// What kind of failure it was.
    pub kind: FailureKind,
    /// The underlying error of a failed request (the SDK's typed error), when there is one.
    pub source: Option<Arc<dyn StdError + Send + Sync + 'static>>,
}

impl Failure {
    /// A failure of `kind`.
    #[must_use]
    pub fn new(kind: FailureKind, code: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            code: code.into(),
            message: message.into(),
            kind,
            source: None,
        }
    }

    /// A failure of an entry that a later attempt may get past, of the kind
    /// [`FailureKind::of`] gives its code: throttling, transient, or a server fault.
    #[must_use]
    pub fn retryable(code: impl Into<String>, message: impl Into<String>) -> Self {
        let code = code.into();
        let kind = FailureKind::of(&code, None);
        Self::new(kind, code, message)
    }

    /// A failure of an entry the service refused, as SQS and SNS report one: permanent when
    /// the sender is at fault, retryable otherwise.
    #[must_use]
    pub fn by_sender_fault(
        sender_fault: bool,
        code: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        if sender_fault {
            Self::permanent(code, message)
        } else {
            Self::retryable(code, message)
        }
    }

    /// A failure that no later attempt can get past.
    #[must_use]
    pub fn permanent(code: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new(FailureKind::Client, code, message)
    }

    /// Whether a later attempt may succeed.
    #[must_use]
    pub fn is_retryable(&self) -> bool {
        self.kind.is_retryable()
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
            .field("kind", &self.kind)
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

/// Outcomes of a request whose response names its entries by id, as SendMessageBatch,
/// DeleteMessageBatch and SNS PublishBatch do, for a request whose entry ids are their
/// indices (`"0"`, `"1"`, ...). An entry the response does not mention is a retryable
/// failure (`MissingFromResponse`); an id that is not an index of the request is ignored.
///
/// ```
/// use batch_core::{EntryOutcome, Failure, outcomes_by_index};
///
/// let outcomes = outcomes_by_index(3, ["0"], [("2", Failure::permanent("InvalidParameterValue", "bad"))]);
/// assert!(matches!(outcomes[0], EntryOutcome::Delivered));
/// assert!(matches!(&outcomes[1], EntryOutcome::Failed(f) if f.code == "MissingFromResponse"));
/// assert!(matches!(&outcomes[2], EntryOutcome::Failed(f) if !f.is_retryable()));
/// ```
pub fn outcomes_by_index<'a>(
    count: usize,
    delivered: impl IntoIterator<Item = &'a str>,
    failed: impl IntoIterator<Item = (&'a str, Failure)>,
) -> Vec<EntryOutcome> {
    // An entry's outcome once the response names it: a failure for each entry up front
    // would cost two strings per entry of every request, most of them delivered.
    let mut outcomes: Vec<Option<EntryOutcome>> = vec![None; count];
    let index = |id: &str| id.parse::<usize>().ok().filter(|&i| i < count);
    for id in delivered {
        if let Some(i) = index(id) {
            outcomes[i] = Some(EntryOutcome::Delivered);
        }
    }
    for (id, failure) in failed {
        if let Some(i) = index(id) {
            outcomes[i] = Some(EntryOutcome::Failed(failure));
        }
    }
    outcomes
        .into_iter()
        .map(|outcome| {
            outcome.unwrap_or_else(|| {
                EntryOutcome::Failed(Failure::retryable(
                    codes::MISSING_FROM_RESPONSE,
                    "the response did not mention this entry",
                ))
            })
        })
        .collect()
}

/// Outcomes of a request whose response answers its entries in request order, as Kinesis
/// PutRecords, Firehose PutRecordBatch and EventBridge PutEvents do: `None` for an entry
/// stored, `Some((code, message))` for one refused. A refused entry is retryable when its
/// code is in [`THROTTLING_CODES`] or [`TRANSIENT_CODES`] and permanent otherwise; an entry
/// the response has no answer for is a retryable failure (`MissingFromResponse`).
///
/// ```
/// use batch_core::{EntryOutcome, FailureKind, outcomes_in_order};
///
/// let answers = [None, Some(("ProvisionedThroughputExceededException", "slow down"))];
/// let outcomes = outcomes_in_order(3, answers);
/// assert!(matches!(outcomes[0], EntryOutcome::Delivered));
/// assert!(matches!(&outcomes[1], EntryOutcome::Failed(f) if f.kind == FailureKind::Throttling));
/// assert!(matches!(&outcomes[2], EntryOutcome::Failed(f) if f.code == "MissingFromResponse"));
/// ```
pub fn outcomes_in_order<'a>(
    count: usize,
    answers: impl IntoIterator<Item = Option<(&'a str, &'a str)>>,
) -> Vec<EntryOutcome> {
    let mut answers = answers.into_iter();
    (0..count)
        .map(|_| match answers.next() {
            None => EntryOutcome::Failed(Failure::retryable(
                codes::MISSING_FROM_RESPONSE,
                "the response has no answer for this entry",
            )),
            Some(None) => EntryOutcome::Delivered,
            Some(Some((code, message))) => EntryOutcome::Failed(if is_retryable_code(code) {
                Failure::retryable(code, message)
            } else {
                Failure::permanent(code, message)
            }),
        })
        .collect()
}
