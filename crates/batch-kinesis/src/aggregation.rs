//! How user records are aggregated into Kinesis records: the limits of one aggregate.

use crate::aggregate::FRAMING;
use crate::record::MAX_PARTITION_KEY_CHARS;

/// How user records are aggregated into Kinesis records (the KPL format; see
/// [`KinesisBackend::with_aggregation`](crate::KinesisBackend::with_aggregation)).
///
/// ```
/// use batch_kinesis::Aggregation;
///
/// let small = Aggregation::default().with_max_bytes(50 * 1024).with_max_records(1_000);
/// assert_eq!(small.max_bytes(), Some(50 * 1024));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Aggregation {
    pub(crate) max_bytes: Option<usize>,
    pub(crate) max_records: Option<usize>,
}

/// The default size of an aggregated record: 64 KiB. An aggregate of 100-byte records then
/// holds about 600 of them, and is a few hundredths of what a shard takes in a second, so
/// pacing stays smooth and an aggregate refused for capacity is cheap to send again. (The
/// KPL's default is 50 KiB.)
pub const DEFAULT_AGGREGATE_BYTES: usize = 64 * 1_024;

/// The bytes at which a batch of aggregates goes: half a MiB, half a second of one shard's
/// quota, rather than the 5 MiB a request takes (seconds of the quota, which would send
/// nothing for seconds and then a burst).
pub(crate) const AGGREGATED_BATCH_BYTES: usize = 512 * 1_024;

/// Bytes an aggregated record may count beyond the sizes of its user records, at most: the
/// magic and digest, the outer partition key (the first record's, up to 4 bytes a
/// character), and the first record's framing in the tables.
pub(crate) const AGGREGATE_OVERHEAD: usize = FRAMING + 4 * MAX_PARTITION_KEY_CHARS + 64;

impl Aggregation {
    /// Aggregated records of at most `bytes` bytes (as Kinesis counts them: data and
    /// partition key), up to the stream's record limit (the dispatcher's `max_entry_bytes`).
    /// Default: [`DEFAULT_AGGREGATE_BYTES`].
    #[must_use]
    pub fn with_max_bytes(mut self, bytes: usize) -> Self {
        self.max_bytes = Some(bytes);
        self
    }

    /// At most `records` user records in one aggregated record. Default: as many as fit.
    #[must_use]
    pub fn with_max_records(mut self, records: usize) -> Self {
        self.max_records = Some(records);
        self
    }

    /// The byte limit set, if any.
    #[must_use]
    pub fn max_bytes(&self) -> Option<usize> {
        self.max_bytes
    }

    /// The record limit set, if any.
    #[must_use]
    pub fn max_records(&self) -> Option<usize> {
        self.max_records
    }

    /// The largest table index an aggregated record can have.
    pub(crate) fn max_index(&self) -> u64 {
        self.max_records.map_or(u64::from(u32::MAX), |n| n as u64)
    }
}
