//! The Firehose record type.

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
    Bytes(Vec<u8>),
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

    /// A record with raw bytes, sent as they are.
    #[must_use]
    pub fn bytes(data: impl Into<Vec<u8>>) -> Self {
        Self {
            data: Data::Bytes(data.into()),
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
        match &self.data {
            Data::Bytes(bytes) => Some(bytes),
            Data::Json(_) => None,
        }
    }
}
