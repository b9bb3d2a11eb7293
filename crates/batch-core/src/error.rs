//! Errors of configuration and of submission.

use std::borrow::Cow;
use std::fmt;

/// The name of a payload field, for messages that point at it.
pub type FieldName = Cow<'static, str>;

/// A dispatcher setting that cannot be used. Nothing is clamped: a value the service would
/// refuse is an error here, at construction, instead of a failure at the first flush.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A setting that must be at least 1 was 0.
    #[error("`{field}` must be at least 1, got 0")]
    Zero {
        /// The setting.
        field: &'static str,
    },
    /// A setting above the ceiling the service enforces.
    #[error("`{field}` is {value}, above the {service} limit of {limit}")]
    AboveLimit {
        /// The setting.
        field: &'static str,
        /// The value asked for.
        value: u64,
        /// The ceiling.
        limit: u64,
        /// The service whose limit it is.
        service: &'static str,
    },
    /// A setting that is inconsistent with another, or malformed.
    #[error("`{field}` is invalid: {reason}")]
    Invalid {
        /// The setting.
        field: &'static str,
        /// What is wrong, in plain words.
        reason: String,
    },
}

/// Why a payload can never be sent as it is.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SubmitErrorKind {
    /// A field, or the whole entry, is larger than the limit.
    TooLarge {
        /// What was measured.
        field: FieldName,
        /// Its size in bytes.
        size: usize,
        /// The limit in bytes.
        limit: usize,
    },
    /// A field or count is outside the range the service accepts.
    OutOfRange {
        /// The field.
        field: FieldName,
        /// The value found, as text.
        value: String,
        /// The accepted range, in words, e.g. `"0 to 900"`.
        allowed: String,
    },
    /// A required field is missing.
    Missing {
        /// The field.
        field: FieldName,
    },
    /// A field has a value the service does not accept.
    Invalid {
        /// The field.
        field: FieldName,
        /// What the service accepts, in plain words.
        reason: String,
    },
}

impl SubmitErrorKind {
    /// The name of the field the error is about, for a program to match: the AWS request
    /// field (`MessageGroupId`), the payload's own field or attribute path (`user`,
    /// `address.city`, `/user/id`), or the entry as a whole (`message`, `record`, `item`,
    /// `metric`). The rest is in the message.
    #[must_use]
    pub fn field(&self) -> &str {
        match self {
            Self::TooLarge { field, .. }
            | Self::OutOfRange { field, .. }
            | Self::Missing { field }
            | Self::Invalid { field, .. } => field,
        }
    }
}

impl fmt::Display for SubmitErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TooLarge { field, size, limit } => {
                write!(
                    f,
                    "{field} is {size} bytes, above the limit of {limit} bytes"
                )
            }
            Self::OutOfRange {
                field,
                value,
                allowed,
            } => write!(f, "{field} is {value}, outside the allowed range {allowed}"),
            Self::Missing { field } => write!(f, "{field} is missing"),
            Self::Invalid { field, reason } => write!(f, "{field} is invalid: {reason}"),
        }
    }
}

/// A payload that can never be sent as it is, handed back with the reason.
///
/// `Debug` does not print the payload, so payload types need not implement it and their
/// contents stay out of logs.
///
/// ```
/// use batch_core::{SubmitError, SubmitErrorKind};
///
/// let err = SubmitError::new("a payload", SubmitErrorKind::Missing { field: "Id".into() });
/// assert_eq!(err.to_string(), "payload rejected: Id is missing");
/// assert_eq!(err.kind().field(), "Id");
/// assert_eq!(err.into_payload(), "a payload");
/// ```
#[derive(thiserror::Error)]
#[error("payload rejected: {kind}")]
pub struct SubmitError<P> {
    payload: P,
    kind: SubmitErrorKind,
}

impl<P> SubmitError<P> {
    /// A rejection of `payload` for `kind`.
    pub fn new(payload: P, kind: SubmitErrorKind) -> Self {
        Self { payload, kind }
    }

    /// Why the payload was rejected.
    pub fn kind(&self) -> &SubmitErrorKind {
        &self.kind
    }

    /// The payload, as submitted.
    pub fn payload(&self) -> &P {
        &self.payload
    }

    /// Takes the payload back, as submitted.
    pub fn into_payload(self) -> P {
        self.payload
    }

    /// Splits the error into the payload and the reason.
    pub fn into_parts(self) -> (P, SubmitErrorKind) {
        (self.payload, self.kind)
    }

    /// The same rejection around another payload (e.g. the user's form of it).
    pub fn map_payload<Q>(self, f: impl FnOnce(P) -> Q) -> SubmitError<Q> {
        SubmitError {
            payload: f(self.payload),
            kind: self.kind,
        }
    }
}

impl<P> fmt::Debug for SubmitError<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SubmitError")
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}

/// A flush that ran out of its time, from
/// [`Dispatcher::flush_payloads_timeout`](crate::Dispatcher::flush_payloads_timeout): the
/// payloads that had failed by then are inside. Requests still in flight go on; the next
/// flush returns what they could not deliver.
///
/// `Debug` does not print the payloads.
///
/// ```
/// use std::time::Duration;
/// use batch_core::FlushTimedOut;
///
/// let timed_out = FlushTimedOut::<String>::new(Duration::from_secs(2), Vec::new(), 3);
/// assert_eq!(timed_out.to_string(), "the flush did not finish within 2s; 3 payloads were still in flight");
/// assert!(timed_out.into_unprocessed().is_empty());
/// ```
#[derive(thiserror::Error)]
#[error("the flush did not finish within {timeout:?}; {in_flight} payloads were still in flight")]
pub struct FlushTimedOut<P> {
    timeout: std::time::Duration,
    unprocessed: Vec<crate::Unprocessed<P>>,
    in_flight: usize,
}

impl<P> FlushTimedOut<P> {
    /// A flush that gave up after `timeout`, with what had failed by then and the number of
    /// payloads still pending or in flight.
    pub fn new(
        timeout: std::time::Duration,
        unprocessed: Vec<crate::Unprocessed<P>>,
        in_flight: usize,
    ) -> Self {
        Self {
            timeout,
            unprocessed,
            in_flight,
        }
    }

    /// How long the flush waited.
    pub fn timeout(&self) -> std::time::Duration {
        self.timeout
    }

    /// Payloads still pending or in flight when the flush gave up; the next flush accounts
    /// for them.
    pub fn in_flight(&self) -> usize {
        self.in_flight
    }

    /// The payloads that had failed by then.
    pub fn unprocessed(&self) -> &[crate::Unprocessed<P>] {
        &self.unprocessed
    }

    /// Takes the payloads that had failed by then.
    pub fn into_unprocessed(self) -> Vec<crate::Unprocessed<P>> {
        self.unprocessed
    }
}

impl<P> fmt::Debug for FlushTimedOut<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FlushTimedOut")
            .field("timeout", &self.timeout)
            .field("unprocessed", &self.unprocessed.len())
            .field("in_flight", &self.in_flight)
            .finish()
    }
}
