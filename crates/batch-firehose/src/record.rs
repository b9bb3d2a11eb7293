//! The Firehose record type.

use bytes::Bytes;
use serde_json::Value;

/// One record for PutRecordBatch: JSON (written compactly) or raw bytes.
///
/// A `serde_json::Value` converts into a JSON record.
///
/// ```
/// use batch_firehose::FirehoseRecord;
///
/// let event: FirehoseRecord = serde_json::json!({"page": "/", "ms": 12}).into();
/// assert!(event.as_json().is_some());
/// let raw = FirehoseRecord::bytes(b"2026-12-04 GET /\n".to_vec());
/// assert_eq!(raw.as_bytes(), Some(&b"2026-12-04 GET /\n"[..]));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct FirehoseRecord {
    data: Data,
}

#[derive(Debug, Clone, PartialEq)]
enum Data {
    Json(Value),
    Bytes(Bytes),
}

impl From<Value> for FirehoseRecord {
    fn from(value: Value) -> Self {
        Self::json(value)
    }
}

impl FirehoseRecord {
    /// A record with JSON data.
    #[must_use]
    pub fn json(data: Value) -> Self {
        Self {
            data: Data::Json(data),
        }
    }

    /// A record with raw bytes, sent as they are. A `Vec<u8>` (or a `String`) is kept without
    /// a copy, and every attempt shares it with its request.
    #[must_use]
    pub fn bytes(data: impl Into<Vec<u8>>) -> Self {
        Self {
            data: Data::Bytes(Bytes::from(data.into())),
        }
    }

    /// The JSON data, for a JSON record.
    #[must_use]
    pub fn as_json(&self) -> Option<&Value> {
        match &self.data {
            Data::Json(value) => Some(value),
            Data::Bytes(_) => None,
        }
    }

    /// The bytes, for a byte record.
    #[must_use]
    pub fn as_bytes(&self) -> Option<&[u8]> {
        self.shared_bytes().map(|bytes| &bytes[..])
    }

    /// The raw bytes as the buffer they are kept in, which a request shares.
    pub(crate) fn shared_bytes(&self) -> Option<&Bytes> {
        match &self.data {
            Data::Bytes(bytes) => Some(bytes),
            Data::Json(_) => None,
        }
    }
}
