//! What a flush hands back: every payload it could not deliver, with the reason.

use std::error::Error as StdError;
use std::fmt;

use crate::failure::Failure;

/// Why a payload ended undelivered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum UnprocessedReason {
    /// The service refused the entry, or the whole request, with an error that no retry can
    /// get past (validation, missing resource, access denied, sender fault).
    Rejected,
    /// Every allowed attempt failed with a retryable error.
    RetriesExhausted,
    /// The retry deadline passed before the entry got through.
    DeadlineExceeded,
    /// An earlier entry with the same ordering key (message group, partition key, item key)
    /// ended undelivered, so this one was not sent, to keep their order.
    HeldBack,
    /// [`Dispatcher::abandon`](crate::Dispatcher::abandon) stopped the dispatcher before the
    /// entry was delivered. If its request was cancelled on the wire, the service may have
    /// stored it all the same.
    Abandoned,
}

impl fmt::Display for UnprocessedReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Rejected => "rejected",
            Self::RetriesExhausted => "retries exhausted",
            Self::DeadlineExceeded => "retry deadline exceeded",
            Self::HeldBack => "held back behind an undelivered entry of the same ordering key",
            Self::Abandoned => "abandoned when the dispatcher was told to stop",
        })
    }
}

/// The failure of one payload: the reason, the last AWS error, and the attempts made.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct DeliveryError {
    /// Why the payload ended undelivered.
    pub reason: UnprocessedReason,
    /// The last AWS error (for [`UnprocessedReason::HeldBack`], the one of the entry it waited on).
    pub failure: Failure,
    /// Requests that carried this payload.
    pub attempts: u32,
}

impl DeliveryError {
    /// The AWS error code, e.g. `ThrottlingException`.
    #[must_use]
    pub fn code(&self) -> &str {
        &self.failure.code
    }

    /// The AWS error message.
    #[must_use]
    pub fn message(&self) -> &str {
        &self.failure.message
    }

    /// Whether sending the payload again later may succeed.
    #[must_use]
    pub fn is_retryable(&self) -> bool {
        self.failure.is_retryable()
            || matches!(
                self.reason,
                UnprocessedReason::HeldBack | UnprocessedReason::Abandoned
            )
    }
}

impl fmt::Display for DeliveryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} after {} attempt{} ({})",
            self.reason,
            self.attempts,
            if self.attempts == 1 { "" } else { "s" },
            self.failure
        )
    }
}

impl StdError for DeliveryError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.failure
            .source
            .as_deref()
            .map(|e| e as &(dyn StdError + 'static))
    }
}

/// A payload that was not delivered, exactly as submitted, with its failure.
#[non_exhaustive]
pub struct Unprocessed<P> {
    /// The payload, as submitted.
    pub payload: P,
    /// The tag it was submitted with by
    /// [`submit_tagged`](crate::Dispatcher::submit_tagged), if any.
    pub tag: Option<u64>,
    /// What went wrong.
    pub error: DeliveryError,
    /// The [`Scope`](crate::Scope) it was submitted through, whose flush hands it back.
    pub(crate) scope: Option<u64>,
}

impl<P> Unprocessed<P> {
    pub(crate) fn new(
        payload: P,
        tag: Option<u64>,
        reason: UnprocessedReason,
        failure: Failure,
        attempts: u32,
    ) -> Self {
        Self {
            payload,
            tag,
            error: DeliveryError {
                reason,
                failure,
                attempts,
            },
            scope: None,
        }
    }

    /// Splits it into the payload and the error.
    pub fn into_parts(self) -> (P, DeliveryError) {
        (self.payload, self.error)
    }
}

impl<P> fmt::Debug for Unprocessed<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Unprocessed")
            .field("tag", &self.tag)
            .field("error", &self.error)
            .finish_non_exhaustive()
    }
}
