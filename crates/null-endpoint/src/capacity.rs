//! Quotas as AWS enforces them: Kinesis shards (records and bytes per second, the shard of a
//! record chosen by the MD5 of its partition key), a DynamoDB table's write capacity units,
//! and a request rate for SQS and CloudWatch. Each is a token bucket holding one second of
//! its rate, so a short burst passes and a sustained excess is refused.

use std::sync::Mutex;
use std::time::Duration;

use md5::{Digest, Md5};
use tokio::time::Instant;

use crate::Api;

/// The quotas an endpoint enforces. A rate of zero is no quota.
///
/// ```
/// use null_endpoint::Capacity;
///
/// // A 2-shard stream and a 1,000 WCU table, as AWS provisions them.
/// let capacity = Capacity::default().kinesis_shards(2).dynamodb_wcu(1_000.0);
/// assert_eq!(capacity.kinesis_records_per_shard, 1_000.0);
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Capacity {
    /// Shards of every stream; 0 is no Kinesis quota.
    pub kinesis_shards: u32,
    /// Records per second one shard takes. AWS: 1,000.
    pub kinesis_records_per_shard: f64,
    /// Bytes (data and partition key) per second one shard takes. AWS: 1 MiB.
    pub kinesis_bytes_per_shard: f64,
    /// After this time, the stream has `reshard_to` shards instead.
    pub reshard_after: Option<(Duration, u32)>,
    /// Write capacity units per second of every table (a write of an item costs 1 WCU per
    /// KB, rounded up); 0 is no quota.
    pub dynamodb_wcu: f64,
    /// SendMessageBatch requests per second; 0 is no quota.
    pub sqs_requests_per_second: f64,
    /// PutMetricData requests per second; 0 is no quota.
    pub cloudwatch_requests_per_second: f64,
    /// PutLogEvents requests per second, across every log stream (AWS: per account and
    /// Region); 0 is no quota.
    pub logs_requests_per_second: f64,
}

impl Default for Capacity {
    fn default() -> Self {
        Self {
            kinesis_shards: 0,
            kinesis_records_per_shard: 1_000.0,
            kinesis_bytes_per_shard: 1_048_576.0,
            reshard_after: None,
            dynamodb_wcu: 0.0,
            sqs_requests_per_second: 0.0,
            cloudwatch_requests_per_second: 0.0,
            logs_requests_per_second: 0.0,
        }
    }
}

impl Capacity {
    /// Sets the shard count of every stream.
    #[must_use]
    pub fn kinesis_shards(mut self, shards: u32) -> Self {
        self.kinesis_shards = shards;
        self
    }

    /// Changes the shard count to `shards` once `after` has passed since the endpoint started.
    #[must_use]
    pub fn reshard_after(mut self, after: Duration, shards: u32) -> Self {
        self.reshard_after = Some((after, shards));
        self
    }

    /// Sets the write capacity units of every table.
    #[must_use]
    pub fn dynamodb_wcu(mut self, wcu: f64) -> Self {
        self.dynamodb_wcu = wcu;
        self
    }

    /// Sets the SendMessageBatch request rate.
    #[must_use]
    pub fn sqs_requests_per_second(mut self, rate: f64) -> Self {
        self.sqs_requests_per_second = rate;
        self
    }

    /// Sets the PutMetricData request rate.
    #[must_use]
    pub fn cloudwatch_requests_per_second(mut self, rate: f64) -> Self {
        self.cloudwatch_requests_per_second = rate;
        self
    }

    /// Sets the PutLogEvents request rate, shared by every log stream.
    #[must_use]
    pub fn logs_requests_per_second(mut self, rate: f64) -> Self {
        self.logs_requests_per_second = rate;
        self
    }
}

/// A token bucket of one second of `rate`.
#[derive(Debug)]
struct Bucket {
    rate: f64,
    tokens: f64,
    last: Instant,
}

impl Bucket {
    fn new(rate: f64, now: Instant) -> Self {
        Self {
            rate,
            tokens: rate,
            last: now,
        }
    }

    fn refill(&mut self, now: Instant) {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.rate).min(self.rate);
        self.last = now;
    }
}

/// The buckets of one endpoint.
#[derive(Debug)]
pub(crate) struct Quotas {
    capacity: Capacity,
    started: Instant,
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    shards: Vec<(Bucket, Bucket)>,
    /// The number of the first open shard: a reshard closes the shards and opens new ones
    /// with the next numbers, as Kinesis does.
    first_id: usize,
    wcu: Bucket,
    sqs: Bucket,
    cloudwatch: Bucket,
    logs: Bucket,
}

/// The largest hash key, 2^128 - 1.
const MAX_HASH_KEY: u128 = u128::MAX;

impl Quotas {
    pub(crate) fn new(capacity: Capacity) -> Self {
        let now = Instant::now();
        let shards = Self::shard_buckets(&capacity, capacity.kinesis_shards, now);
        let state = State {
            shards,
            first_id: 0,
            wcu: Bucket::new(capacity.dynamodb_wcu, now),
            sqs: Bucket::new(capacity.sqs_requests_per_second, now),
            cloudwatch: Bucket::new(capacity.cloudwatch_requests_per_second, now),
            logs: Bucket::new(capacity.logs_requests_per_second, now),
        };
        Self {
            capacity,
            started: now,
            state: Mutex::new(state),
        }
    }

    fn shard_buckets(capacity: &Capacity, shards: u32, now: Instant) -> Vec<(Bucket, Bucket)> {
        (0..shards)
            .map(|_| {
                (
                    Bucket::new(capacity.kinesis_records_per_shard, now),
                    Bucket::new(capacity.kinesis_bytes_per_shard, now),
                )
            })
            .collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        let mut state = self
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some((after, shards)) = self.capacity.reshard_after
            && self.started.elapsed() >= after
            && state.shards.len() != shards as usize
        {
            state.first_id += state.shards.len();
            state.shards = Self::shard_buckets(&self.capacity, shards, Instant::now());
        }
        state
    }

    /// The numbers of the open shards (empty: no Kinesis quota).
    pub(crate) fn open_shards(&self) -> std::ops::Range<usize> {
        let state = self.lock();
        state.first_id..state.first_id + state.shards.len()
    }

    /// The number of the open shard a record goes to, and whether the shard takes it now.
    /// `None` when there is no Kinesis quota.
    pub(crate) fn take_record(
        &self,
        partition_key: &str,
        explicit_hash_key: Option<&str>,
        bytes: usize,
    ) -> Option<(usize, bool)> {
        let mut state = self.lock();
        let count = state.shards.len();
        if count == 0 {
            return None;
        }
        let hash = explicit_hash_key
            .and_then(|key| key.parse::<u128>().ok())
            .unwrap_or_else(|| hash_key(partition_key));
        let shard = shard_of(hash, count);
        let now = Instant::now();
        let first_id = state.first_id;
        let (records, bytes_bucket) = &mut state.shards[shard];
        records.refill(now);
        bytes_bucket.refill(now);
        #[allow(clippy::cast_precision_loss)]
        let size = bytes as f64;
        let fits = records.tokens >= 1.0 && bytes_bucket.tokens >= size;
        if fits {
            records.tokens -= 1.0;
            bytes_bucket.tokens -= size;
        }
        Some((first_id + shard, fits))
    }

    /// Write capacity units per second of every table; 0 when there is no quota.
    pub(crate) fn write_capacity_units(&self) -> f64 {
        self.capacity.dynamodb_wcu
    }

    /// Whether the table takes a write of `bytes` now; `None` when there is no quota.
    pub(crate) fn take_write(&self, bytes: usize) -> Option<bool> {
        if self.capacity.dynamodb_wcu <= 0.0 {
            return None;
        }
        #[allow(clippy::cast_precision_loss)]
        let units = bytes.div_ceil(1024).max(1) as f64;
        let mut state = self.lock();
        state.wcu.refill(Instant::now());
        let fits = state.wcu.tokens >= units;
        if fits {
            state.wcu.tokens -= units;
        }
        Some(fits)
    }

    /// Whether one more request of `api` fits its request rate now (SendMessageBatch,
    /// PutMetricData and PutLogEvents have one; other operations always fit).
    pub(crate) fn take_request(&self, api: Api) -> bool {
        let mut state = self.lock();
        let bucket = match api {
            Api::SendMessageBatch => &mut state.sqs,
            Api::PutMetricData => &mut state.cloudwatch,
            Api::PutLogEvents => &mut state.logs,
            _ => return true,
        };
        if bucket.rate <= 0.0 {
            return true;
        }
        bucket.refill(Instant::now());
        let fits = bucket.tokens >= 1.0;
        if fits {
            bucket.tokens -= 1.0;
        }
        fits
    }
}

/// The hash key of a partition key: its MD5 as a 128-bit number, as Kinesis computes it.
#[must_use]
pub fn hash_key(partition_key: &str) -> u128 {
    u128::from_be_bytes(Md5::digest(partition_key.as_bytes()).into())
}

/// The shard of `hash` among `count` shards that split the hash key space evenly, as
/// CreateStream splits it.
#[must_use]
pub fn shard_of(hash: u128, count: usize) -> usize {
    match width(count) {
        Some(width) => usize::try_from((hash / width).min(count as u128 - 1)).unwrap_or(0),
        None => 0,
    }
}

/// Hash keys per shard among `count`; `None` for one shard (the whole space, 2^128).
fn width(count: usize) -> Option<u128> {
    (MAX_HASH_KEY / count.max(1) as u128).checked_add(1)
}

/// The hash key range of shard `index` among `count`, as (start, end), inclusive.
#[must_use]
pub fn shard_range(index: usize, count: usize) -> (u128, u128) {
    let Some(width) = width(count) else {
        return (0, MAX_HASH_KEY);
    };
    let start = width * index as u128;
    let end = if index + 1 >= count {
        MAX_HASH_KEY
    } else {
        start + width - 1
    };
    (start, end)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shard_ranges_cover_the_key_space_and_agree_with_shard_of() {
        for count in [1, 2, 3, 7] {
            let mut next = 0_u128;
            for index in 0..count {
                let (start, end) = shard_range(index, count);
                assert_eq!(start, next);
                assert_eq!(shard_of(start, count), index);
                assert_eq!(shard_of(end, count), index);
                next = end.wrapping_add(1);
            }
            assert_eq!(shard_range(count - 1, count).1, u128::MAX);
        }
    }

    #[test]
    fn a_key_hashes_to_its_md5() {
        // MD5("a") = 0cc175b9c0f1b6a831c399e269772661
        assert_eq!(hash_key("a"), 0x0cc1_75b9_c0f1_b6a8_31c3_99e2_6977_2661);
    }

    #[tokio::test(start_paused = true)]
    async fn a_shard_takes_one_second_of_records_then_refills() {
        let quotas = Quotas::new(Capacity::default().kinesis_shards(1));
        let taken = (0..1_500)
            .filter(|_| {
                quotas
                    .take_record("k", None, 10)
                    .is_some_and(|(_, fits)| fits)
            })
            .count();
        assert_eq!(taken, 1_000);
        tokio::time::advance(Duration::from_millis(500)).await;
        let taken = (0..1_000)
            .filter(|_| {
                quotas
                    .take_record("k", None, 10)
                    .is_some_and(|(_, fits)| fits)
            })
            .count();
        assert_eq!(taken, 500);
    }

    #[tokio::test(start_paused = true)]
    async fn a_reshard_opens_new_shards_with_the_next_numbers() {
        let capacity = Capacity::default()
            .kinesis_shards(2)
            .reshard_after(Duration::from_secs(5), 3);
        let quotas = Quotas::new(capacity);
        assert_eq!(quotas.open_shards(), 0..2);
        tokio::time::advance(Duration::from_secs(5)).await;
        assert_eq!(quotas.open_shards(), 2..5);
        let taken = quotas.take_record("k", None, 10);
        assert!(taken.is_some_and(|(shard, fits)| (2..5).contains(&shard) && fits));
    }

    #[tokio::test(start_paused = true)]
    async fn a_write_costs_one_unit_per_kilobyte() {
        let quotas = Quotas::new(Capacity::default().dynamodb_wcu(10.0));
        assert_eq!(quotas.take_write(4_000), Some(true)); // 4 units
        assert_eq!(quotas.take_write(6_144), Some(true)); // 6 units
        assert_eq!(quotas.take_write(1), Some(false));
        assert_eq!(Quotas::new(Capacity::default()).take_write(1), None);
    }
}
