//! The Kinesis record type and where partition keys come from.

use batch_core::SubmitErrorKind;
use bytes::Bytes;
use serde_json::Value;

/// Record data: JSON (written compactly) or raw bytes.
///
/// Raw bytes are kept as [`Bytes`], so every attempt of a record shares its data with the
/// request instead of copying it.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum RecordData {
    /// A JSON value, serialised compactly.
    Json(Value),
    /// Bytes sent as they are.
    Bytes(Bytes),
}

/// One record for PutRecords.
///
/// A `serde_json::Value` converts into a record whose partition key comes from the
/// dispatcher's [`PartitionKey`] setting.
///
/// ```
/// use batch_kinesis::KinesisRecord;
///
/// let record = KinesisRecord::json(serde_json::json!({"user": "u-7", "clicks": 3}))
///     .with_partition_key("u-7");
/// assert_eq!(record.partition_key(), Some("u-7"));
/// let raw = KinesisRecord::bytes(vec![0, 1, 2]).with_explicit_hash_key("0");
/// # let _ = raw;
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct KinesisRecord {
    pub(crate) data: RecordData,
    pub(crate) partition_key: Option<String>,
    pub(crate) explicit_hash_key: Option<String>,
}

impl From<Value> for KinesisRecord {
    fn from(value: Value) -> Self {
        Self::json(value)
    }
}

impl KinesisRecord {
    /// A record with JSON data.
    #[must_use]
    pub fn json(data: Value) -> Self {
        Self::with_data(RecordData::Json(data))
    }

    /// A record with raw bytes. A `Vec<u8>` (or a `String`) is kept without a copy, and every
    /// attempt shares it with its request.
    #[must_use]
    pub fn bytes(data: impl Into<Vec<u8>>) -> Self {
        Self::with_data(RecordData::Bytes(Bytes::from(data.into())))
    }

    fn with_data(data: RecordData) -> Self {
        Self {
            data,
            partition_key: None,
            explicit_hash_key: None,
        }
    }

    /// The partition key of this record (1-256 characters), overriding the dispatcher's
    /// [`PartitionKey`] setting.
    #[must_use]
    pub fn with_partition_key(mut self, key: impl Into<String>) -> Self {
        self.partition_key = Some(key.into());
        self
    }

    /// An explicit hash key: a decimal number from 0 to 2^128 - 1 that picks the shard
    /// instead of the partition key's hash.
    #[must_use]
    pub fn with_explicit_hash_key(mut self, key: impl Into<String>) -> Self {
        self.explicit_hash_key = Some(key.into());
        self
    }

    /// The data.
    #[must_use]
    pub fn data(&self) -> &RecordData {
        &self.data
    }

    /// The partition key given on the record, if any.
    #[must_use]
    pub fn partition_key(&self) -> Option<&str> {
        self.partition_key.as_deref()
    }

    /// The explicit hash key, if any.
    #[must_use]
    pub fn explicit_hash_key(&self) -> Option<&str> {
        self.explicit_hash_key.as_deref()
    }
}

/// Where a record's partition key comes from when the record names none.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum PartitionKey {
    /// A random key per record (32 hex characters): records spread evenly over the shards.
    #[default]
    Random,
    /// A top-level field of the JSON data. Strings are used as they are; numbers and
    /// booleans as their JSON text.
    Field(String),
    /// A JSON pointer (RFC 6901) into the data, e.g. `/user/id`, for nested fields.
    Pointer(String),
}

/// Longest partition key in Unicode characters. Source: Kinesis API reference,
/// PutRecordsRequestEntry `PartitionKey`; checked 2026-11-23.
pub const MAX_PARTITION_KEY_CHARS: usize = 256;

impl PartitionKey {
    /// The key of `data` by this rule; `None` for [`PartitionKey::Random`].
    pub(crate) fn key_of(&self, data: &RecordData) -> Result<Option<String>, SubmitErrorKind> {
        match self {
            Self::Random => Ok(None),
            Self::Field(_) | Self::Pointer(_) => self.key_of_json(json(data)?),
        }
    }

    /// The key this rule takes from a JSON value; `None` for [`PartitionKey::Random`]. For
    /// records sent as bytes whose key comes from a JSON form of them, as a dispatcher would
    /// take it from the JSON record.
    ///
    /// ```
    /// use batch_kinesis::PartitionKey;
    ///
    /// let rule = PartitionKey::Field("user".into());
    /// let key = rule.key_of_json(&serde_json::json!({"user": "u7"})).expect("has the field");
    /// assert_eq!(key.as_deref(), Some("u7"));
    /// ```
    ///
    /// # Errors
    ///
    /// When the field is missing, null, an object or an array.
    pub fn key_of_json(&self, data: &Value) -> Result<Option<String>, SubmitErrorKind> {
        let (field, value) = match self {
            Self::Random => return Ok(None),
            Self::Field(name) => (name, data.get(name)),
            Self::Pointer(pointer) => (pointer, data.pointer(pointer)),
        };
        match value {
            None => Err(SubmitErrorKind::Missing {
                field: field.clone().into(),
            }),
            Some(Value::Null) => Err(SubmitErrorKind::Invalid {
                field: field.clone().into(),
                reason: "the partition key is null; it must be a string, number or boolean".into(),
            }),
            Some(Value::String(text)) => Ok(Some(text.clone())),
            Some(scalar @ (Value::Number(_) | Value::Bool(_))) => Ok(Some(scalar.to_string())),
            Some(_) => Err(SubmitErrorKind::Invalid {
                field: field.clone().into(),
                reason: "the partition key must be a string, number or boolean, not an object \
                         or array"
                    .into(),
            }),
        }
    }
}

fn json(data: &RecordData) -> Result<&Value, SubmitErrorKind> {
    match data {
        RecordData::Json(value) => Ok(value),
        // A byte record has no field to read the key from: it needs a key of its own.
        RecordData::Bytes(_) => Err(SubmitErrorKind::Missing {
            field: "PartitionKey".into(),
        }),
    }
}

/// Checks a partition key: 1-256 Unicode characters.
pub(crate) fn check_partition_key(key: &str) -> Result<(), SubmitErrorKind> {
    // No more bytes than the limit allows characters: no need to count them.
    if !key.is_empty() && key.len() <= MAX_PARTITION_KEY_CHARS {
        return Ok(());
    }
    let chars = key.chars().count();
    if chars == 0 || chars > MAX_PARTITION_KEY_CHARS {
        return Err(SubmitErrorKind::OutOfRange {
            field: "PartitionKey".into(),
            value: format!("{chars} characters"),
            allowed: format!("1 to {MAX_PARTITION_KEY_CHARS} characters"),
        });
    }
    Ok(())
}

/// Checks an explicit hash key: a decimal number from 0 to 2^128 - 1.
pub(crate) fn check_explicit_hash_key(key: &str) -> Result<(), SubmitErrorKind> {
    let valid =
        !key.is_empty() && key.bytes().all(|b| b.is_ascii_digit()) && key.parse::<u128>().is_ok();
    if valid {
        Ok(())
    } else {
        Err(SubmitErrorKind::Invalid {
            field: "ExplicitHashKey".into(),
            reason: "must be a decimal number from 0 to 2^128 - 1".into(),
        })
    }
}
