//! The aggregated record format of the Kinesis Producer Library (KPL), which the KCL, Lambda
//! and Firehose de-aggregators read: many user records in one Kinesis record.
//!
//! A record is the 4-byte magic `F3 89 9A C2`, then a protobuf `AggregatedRecord` (field 1:
//! the partition key table, 2: the explicit hash key table, 3: the records, each with the
//! index of its partition key (1), of its explicit hash key (2, optional), its data (3) and
//! tags (4, unused)), then the MD5 of the protobuf bytes.
//!
//! ```
//! use batch_kinesis::{UserRecord, aggregate, deaggregate};
//!
//! let records = vec![
//!     UserRecord::new("user-1", b"first".to_vec()),
//!     UserRecord::new("user-2", b"second".to_vec()).with_explicit_hash_key("42"),
//! ];
//! let data = aggregate(&records);
//! assert_eq!(deaggregate("user-1", &data)?, records);
//! // A record that is not aggregated comes back as it is.
//! assert_eq!(deaggregate("k", b"plain")?, vec![UserRecord::new("k", b"plain".to_vec())]);
//! # Ok::<(), batch_kinesis::DeaggregateError>(())
//! ```

use std::collections::HashMap;

use md5::{Digest, Md5};

/// The first four bytes of an aggregated record.
pub const AGGREGATE_MAGIC: [u8; 4] = [0xF3, 0x89, 0x9A, 0xC2];
const DIGEST_LEN: usize = 16;

/// Protobuf field keys: (field number << 3) | wire type.
const PARTITION_KEY_TABLE: u64 = 1 << 3 | 2;
const EXPLICIT_HASH_KEY_TABLE: u64 = 2 << 3 | 2;
const RECORDS: u64 = 3 << 3 | 2;
const PARTITION_KEY_INDEX: u64 = 1 << 3;
const EXPLICIT_HASH_KEY_INDEX: u64 = 2 << 3;
const DATA: u64 = 3 << 3 | 2;

/// One user record inside an aggregated record: its partition key, explicit hash key and
/// data.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct UserRecord {
    /// The partition key.
    pub partition_key: String,
    /// The explicit hash key, if the record had one.
    pub explicit_hash_key: Option<String>,
    /// The data.
    pub data: Vec<u8>,
}

impl UserRecord {
    /// A user record without an explicit hash key.
    #[must_use]
    pub fn new(partition_key: impl Into<String>, data: Vec<u8>) -> Self {
        Self {
            partition_key: partition_key.into(),
            explicit_hash_key: None,
            data,
        }
    }

    /// Sets the explicit hash key.
    #[must_use]
    pub fn with_explicit_hash_key(mut self, key: impl Into<String>) -> Self {
        self.explicit_hash_key = Some(key.into());
        self
    }
}

/// Why an aggregated record could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DeaggregateError {
    /// The record starts with the magic but its MD5 does not match its contents.
    #[error("the aggregated record's MD5 does not match its contents")]
    Digest,
    /// The protobuf message is malformed.
    #[error("the aggregated record is malformed: {0}")]
    Malformed(&'static str),
}

/// Packs `records` into the data of one aggregated Kinesis record.
///
/// Send it with the first record's partition key and, when the records have different keys,
/// an explicit hash key in the shard they all hash to: a KCL reader drops user records whose
/// key hashes outside the shard it read them from. The dispatcher's
/// [`with_aggregate`](crate::KinesisBackend::with_aggregate) option does this itself.
#[must_use]
pub fn aggregate(records: &[UserRecord]) -> Vec<u8> {
    encode(records.iter().map(|r| {
        (
            r.partition_key.as_str(),
            r.explicit_hash_key.as_deref(),
            r.data.as_slice(),
        )
    }))
}

/// The aggregated form of `(partition key, explicit hash key, data)` records.
pub(crate) fn encode<'a>(
    records: impl IntoIterator<Item = (&'a str, Option<&'a str>, &'a [u8])>,
) -> Vec<u8> {
    let mut tables = Vec::new();
    let mut body = Vec::new();
    let mut keys: HashMap<&str, u64> = HashMap::new();
    let mut hash_keys: HashMap<&str, u64> = HashMap::new();
    let mut record = Vec::new();
    for (key, hash_key, data) in records {
        let next = keys.len() as u64;
        let key_index = *keys.entry(key).or_insert_with(|| {
            put_bytes(&mut tables, PARTITION_KEY_TABLE, key.as_bytes());
            next
        });
        record.clear();
        put_varint(&mut record, PARTITION_KEY_INDEX);
        put_varint(&mut record, key_index);
        if let Some(hash_key) = hash_key {
            let next = hash_keys.len() as u64;
            let index = *hash_keys.entry(hash_key).or_insert_with(|| {
                put_bytes(&mut tables, EXPLICIT_HASH_KEY_TABLE, hash_key.as_bytes());
                next
            });
            put_varint(&mut record, EXPLICIT_HASH_KEY_INDEX);
            put_varint(&mut record, index);
        }
        put_bytes(&mut record, DATA, data);
        put_bytes(&mut body, RECORDS, &record);
    }
    let mut out = Vec::with_capacity(4 + tables.len() + body.len() + DIGEST_LEN);
    out.extend_from_slice(&AGGREGATE_MAGIC);
    out.extend_from_slice(&tables);
    out.extend_from_slice(&body);
    let digest = Md5::new()
        .chain_update(&tables)
        .chain_update(&body)
        .finalize();
    out.extend_from_slice(&digest);
    out
}

/// Bytes a user record adds to an aggregated record, at most: its data, its key in the
/// partition key table (a repeated key is stored once: counted each time, an upper bound),
/// its explicit hash key likewise, and the protobuf framing, with table indexes below
/// `max_index`.
pub(crate) fn encoded_len(
    key: usize,
    hash_key: Option<usize>,
    data: usize,
    max_index: u64,
) -> usize {
    let index = 1 + varint_len(max_index);
    let mut record = index + 1 + varint_len(data as u64) + data;
    let mut tables = 1 + varint_len(key as u64) + key;
    if let Some(hash_key) = hash_key {
        record += index;
        tables += 1 + varint_len(hash_key as u64) + hash_key;
    }
    tables + 1 + varint_len(record as u64) + record
}

/// Bytes an aggregated record adds beyond its user records: the magic and the digest.
pub(crate) const FRAMING: usize = AGGREGATE_MAGIC.len() + DIGEST_LEN;

/// Whether `data` has the aggregated record's magic and room for a digest.
#[must_use]
pub fn is_aggregated(data: &[u8]) -> bool {
    data.len() >= FRAMING && data.starts_with(&AGGREGATE_MAGIC)
}

/// The user records of one Kinesis record: those it aggregates, or the record itself (with
/// `partition_key`) when it is not aggregated.
///
/// # Errors
///
/// [`DeaggregateError`] when the record has the magic but a wrong MD5 or a malformed
/// protobuf message: it is neither a valid aggregate nor, most likely, a plain record.
pub fn deaggregate(partition_key: &str, data: &[u8]) -> Result<Vec<UserRecord>, DeaggregateError> {
    if !is_aggregated(data) {
        return Ok(vec![UserRecord::new(partition_key, data.to_vec())]);
    }
    let (message, digest) = data[AGGREGATE_MAGIC.len()..].split_at(data.len() - FRAMING);
    if Md5::digest(message).as_slice() != digest {
        return Err(DeaggregateError::Digest);
    }
    let mut keys = Vec::new();
    let mut hash_keys = Vec::new();
    let mut records = Vec::new();
    let mut reader = Reader(message);
    while let Some((field, value)) = reader.field()? {
        match (field, value) {
            (PARTITION_KEY_TABLE, Value::Bytes(key)) => keys.push(text(key)?),
            (EXPLICIT_HASH_KEY_TABLE, Value::Bytes(key)) => hash_keys.push(text(key)?),
            (RECORDS, Value::Bytes(record)) => records.push(record),
            _ => {}
        }
    }
    records
        .into_iter()
        .map(|record| {
            let (mut key, mut hash_key, mut data) = (None, None, None);
            let mut reader = Reader(record);
            while let Some((field, value)) = reader.field()? {
                match (field, value) {
                    (PARTITION_KEY_INDEX, Value::Varint(index)) => key = Some(index),
                    (EXPLICIT_HASH_KEY_INDEX, Value::Varint(index)) => hash_key = Some(index),
                    (DATA, Value::Bytes(bytes)) => data = Some(bytes),
                    _ => {}
                }
            }
            let key = key.ok_or(DeaggregateError::Malformed("a record has no partition key"))?;
            let data = data.ok_or(DeaggregateError::Malformed("a record has no data"))?;
            let entry = |table: &[String], index: u64, what| {
                usize::try_from(index)
                    .ok()
                    .and_then(|i| table.get(i).cloned())
                    .ok_or(DeaggregateError::Malformed(what))
            };
            Ok(UserRecord {
                partition_key: entry(&keys, key, "a partition key index is out of range")?,
                explicit_hash_key: hash_key
                    .map(|i| entry(&hash_keys, i, "an explicit hash key index is out of range"))
                    .transpose()?,
                data: data.to_vec(),
            })
        })
        .collect()
}

fn text(bytes: &[u8]) -> Result<String, DeaggregateError> {
    String::from_utf8(bytes.to_vec()).map_err(|_| DeaggregateError::Malformed("a key is not UTF-8"))
}

// Each byte holds the low 7 bits of what is left.
#[allow(clippy::cast_possible_truncation)]
fn put_varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

fn put_bytes(out: &mut Vec<u8>, field: u64, bytes: &[u8]) {
    put_varint(out, field);
    put_varint(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

fn varint_len(value: u64) -> usize {
    (64 - value.leading_zeros() as usize).max(1).div_ceil(7)
}

enum Value<'a> {
    Varint(u64),
    Bytes(&'a [u8]),
    Fixed,
}

/// Reads protobuf fields off a byte slice.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn varint(&mut self) -> Result<u64, DeaggregateError> {
        let mut value = 0_u64;
        for shift in (0..64).step_by(7) {
            let (&byte, rest) = self
                .0
                .split_first()
                .ok_or(DeaggregateError::Malformed("a varint is cut short"))?;
            self.0 = rest;
            value |= u64::from(byte & 0x7F) << shift;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(DeaggregateError::Malformed("a varint is too long"))
    }

    fn take(&mut self, len: usize) -> Result<&'a [u8], DeaggregateError> {
        if len > self.0.len() {
            return Err(DeaggregateError::Malformed("a field runs past the end"));
        }
        let (taken, rest) = self.0.split_at(len);
        self.0 = rest;
        Ok(taken)
    }

    /// The next field's key and value; `None` at the end.
    fn field(&mut self) -> Result<Option<(u64, Value<'a>)>, DeaggregateError> {
        if self.0.is_empty() {
            return Ok(None);
        }
        let key = self.varint()?;
        let value = match key & 7 {
            0 => Value::Varint(self.varint()?),
            1 => {
                self.take(8)?;
                Value::Fixed
            }
            2 => {
                let len = usize::try_from(self.varint()?)
                    .map_err(|_| DeaggregateError::Malformed("a length is too large"))?;
                Value::Bytes(self.take(len)?)
            }
            5 => {
                self.take(4)?;
                Value::Fixed
            }
            _ => return Err(DeaggregateError::Malformed("an unknown wire type")),
        };
        Ok(Some((key, value)))
    }
}

#[cfg(test)]
mod tests;
