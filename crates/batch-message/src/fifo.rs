//! FIFO queues and topics: the kind of destination, its defaults, and the ids it needs.

use std::fmt;

use batch_core::SubmitErrorKind;
use sha2::{Digest, Sha256};

use crate::invalid;

/// Longest message group or deduplication id. Source: Amazon SQS API reference,
/// SendMessageBatchRequestEntry, and Amazon SNS API reference, PublishBatchRequestEntry;
/// checked 2026-11-23.
pub const MAX_GROUP_OR_DEDUP_ID_CHARS: usize = 128;

/// How a FIFO dispatcher gets each message's deduplication id when the message has none.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum FifoDeduplication {
    /// Every message must carry its own id; one without is refused at submit.
    #[default]
    Explicit,
    /// The queue or topic has content-based deduplication: no id is sent, the service
    /// hashes the body.
    ContentBased,
    /// The dispatcher sends the hex SHA-256 of the body as the id.
    ContentHash,
}

/// A standard queue or topic: no message groups are required, no deduplication ids taken.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Standard;

/// A FIFO queue or topic, with the defaults for messages that name no group or
/// deduplication id.
///
/// ```
/// use batch_message::{Fifo, FifoDeduplication};
///
/// let fifo = Fifo::default().with_default_message_group_id("all");
/// assert_eq!(fifo.default_message_group_id(), Some("all"));
/// assert_eq!(fifo.deduplication(), FifoDeduplication::Explicit);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Fifo {
    default_group: Option<String>,
    deduplication: FifoDeduplication,
}

impl Fifo {
    /// The message group of messages that name none. Without it such messages are refused
    /// at submit.
    #[must_use]
    pub fn with_default_message_group_id(mut self, group: impl Into<String>) -> Self {
        self.default_group = Some(group.into());
        self
    }

    /// Where deduplication ids come from. Default: [`FifoDeduplication::Explicit`].
    #[must_use]
    pub fn with_deduplication(mut self, deduplication: FifoDeduplication) -> Self {
        self.deduplication = deduplication;
        self
    }

    /// The message group of messages that name none, if set.
    #[must_use]
    pub fn default_message_group_id(&self) -> Option<&str> {
        self.default_group.as_deref()
    }

    /// Where deduplication ids come from.
    #[must_use]
    pub fn deduplication(&self) -> FifoDeduplication {
        self.deduplication
    }

    /// The group and deduplication id a message gets: its own or the defaults; checked.
    pub(crate) fn ids(
        &self,
        group: Option<&str>,
        dedup_id: Option<&str>,
        body: &str,
    ) -> Result<(String, Option<String>), SubmitErrorKind> {
        let group =
            group
                .or(self.default_group.as_deref())
                .ok_or_else(|| SubmitErrorKind::Missing {
                    field: "MessageGroupId".into(),
                })?;
        check_group_or_dedup_id("MessageGroupId", group)?;
        let dedup_id = match (dedup_id, self.deduplication) {
            (Some(id), _) => Some(id.to_owned()),
            (None, FifoDeduplication::ContentHash) => Some(sha256_hex(body)),
            (None, FifoDeduplication::ContentBased) => None,
            (None, FifoDeduplication::Explicit) => {
                return Err(invalid(
                    "MessageDeduplicationId",
                    "is required: set one on the message, or build the dispatcher with \
                     FifoDeduplication::ContentBased or ContentHash",
                ));
            }
        };
        if let Some(id) = &dedup_id {
            check_group_or_dedup_id("MessageDeduplicationId", id)?;
        }
        Ok((group.to_owned(), dedup_id))
    }
}

/// The kind of queue or topic a backend writes to: [`Standard`] or [`Fifo`]. Sealed.
pub trait DestinationKind: sealed::Sealed + Default + fmt::Debug + Send + Sync + 'static {
    /// The FIFO settings, on a FIFO destination.
    fn fifo(&self) -> Option<&Fifo>;
}

impl DestinationKind for Standard {
    fn fifo(&self) -> Option<&Fifo> {
        None
    }
}

impl DestinationKind for Fifo {
    fn fifo(&self) -> Option<&Fifo> {
        Some(self)
    }
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for super::Standard {}
    impl Sealed for super::Fifo {}
}

/// Checks a message group or deduplication id (reported as `field`): 1-128 printable ASCII
/// characters.
///
/// # Errors
///
/// When the id is empty, too long, or holds other characters.
pub fn check_group_or_dedup_id(field: &str, id: &str) -> Result<(), SubmitErrorKind> {
    let valid_chars = id.chars().all(|c| c.is_ascii_graphic());
    if id.is_empty() || id.len() > MAX_GROUP_OR_DEDUP_ID_CHARS || !valid_chars {
        return Err(invalid(
            field,
            format!(
                "must be 1-{MAX_GROUP_OR_DEDUP_ID_CHARS} characters of letters, digits and punctuation"
            ),
        ));
    }
    Ok(())
}

/// The hex SHA-256 of a body: the deduplication id of [`FifoDeduplication::ContentHash`].
pub(crate) fn sha256_hex(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}
