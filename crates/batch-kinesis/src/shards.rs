//! The stream's shard map: which shard a record goes to, so the engine paces each shard to
//! its own quota (1,000 records and 1 MiB a second on a provisioned stream).
//!
//! A record's shard is the open shard whose hash key range holds the MD5 of its partition
//! key (as a 128-bit number), or its explicit hash key. The map comes from ListShards, in
//! the background: until it is known, or when ListShards is not allowed, every record is in
//! one domain, the whole stream. A response that names a shard the map does not know (after
//! resharding) has it read again, at most once a second.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_sdk_kinesis::Client;
use md5::{Digest, Md5};
use tokio::time::Instant;

/// The domain of records whose shard is not known.
pub(crate) const UNKNOWN_SHARD: u64 = 0;
/// Records a second one shard takes, provisioned or on-demand. Source: Amazon Kinesis Data
/// Streams quotas and limits ("each shard can support writes up to 1,000 records per second,
/// up to a maximum data write total of 1 MiB per second"); checked 2026-11-29.
pub(crate) const SHARD_RECORDS_PER_SECOND: f64 = 1_000.0;
/// Bytes a second one shard takes (data and partition keys). Source: as
/// [`SHARD_RECORDS_PER_SECOND`]; checked 2026-12-04.
pub(crate) const SHARD_BYTES_PER_SECOND: f64 = 1_048_576.0;
/// The soonest the map is read again after it was read.
const REFRESH_EVERY: Duration = Duration::from_secs(1);
/// The soonest ListShards is tried again after it failed.
const RETRY_AFTER_FAILURE: Duration = Duration::from_secs(60);
/// How long the first requests wait for the first read of the map.
const FIRST_READ_WAIT: Duration = Duration::from_secs(1);

#[derive(Debug, Default)]
pub(crate) struct ShardMap {
    state: Mutex<State>,
    /// Set while no read is due or under way (the first read ended, or the map was given;
    /// cleared when the map goes stale): `ready` and `first_read` return at once.
    quiet: std::sync::atomic::AtomicBool,
    /// Woken when a read of the map ends, read or failed.
    read_ended: tokio::sync::Notify,
}

#[derive(Debug, Default)]
struct State {
    /// Open shards: (starting hash key, domain), by starting hash key.
    starts: Vec<(u128, u64)>,
    ids: HashSet<String>,
    /// Whether the map is missing or out of date.
    stale: bool,
    loaded: bool,
    reading: bool,
    not_before: Option<Instant>,
    /// Given by the user: never read, never stale.
    fixed: bool,
}

impl ShardMap {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// A map that is never read: the stream's `count` shards split the hash key range
    /// evenly (as CreateStream makes them, `shardId-000000000000` first), or, with
    /// `count` 0, no map at all (the stream is one domain).
    pub(crate) fn fixed(count: u32) -> Self {
        let map = Self::default();
        {
            let mut state = map.lock();
            state.starts = (0..count)
                .map(|index| (even_start(index, count), u64::from(index) + 1))
                .collect();
            state.ids = (0..count)
                .map(|index| format!("shardId-{index:012}"))
                .collect();
            state.loaded = true;
            state.fixed = true;
        }
        map
    }

    /// The throttling domain of a record with this hash key: its shard's number plus one, or
    /// 0 while the map is unknown (then the hash is not asked for).
    pub(crate) fn domain_of(&self, hash: impl FnOnce() -> u128) -> u64 {
        let state = self.lock();
        if state.starts.is_empty() {
            return UNKNOWN_SHARD;
        }
        let hash = hash();
        let index = state.starts.partition_point(|(start, _)| *start <= hash);
        index
            .checked_sub(1)
            .map_or(UNKNOWN_SHARD, |index| state.starts[index].1)
    }

    /// Notes the shards a response named; one the map does not know makes it stale.
    pub(crate) fn saw<'a>(&self, shard_ids: impl IntoIterator<Item = &'a str>) {
        let mut state = self.lock();
        if state.loaded && !state.fixed && shard_ids.into_iter().any(|id| !state.ids.contains(id)) {
            state.stale = true;
            self.quiet
                .store(false, std::sync::atomic::Ordering::Release);
        }
    }

    /// Whether no read is due or under way: the first read ended (or the map was given),
    /// and no answer named a shard the map does not know since.
    pub(crate) fn is_quiet(&self) -> bool {
        self.quiet.load(std::sync::atomic::Ordering::Acquire)
    }

    /// Waits, at most [`FIRST_READ_WAIT`], while the first read of the map is under way:
    /// records sent before it would go unpaced, and a burst of them could use up the
    /// shards' quota before the first answer says so.
    pub(crate) async fn first_read(&self) {
        if self.is_quiet() {
            return;
        }
        let ended = self.read_ended.notified();
        tokio::pin!(ended);
        ended.as_mut().enable();
        {
            let state = self.lock();
            if state.loaded || !state.reading {
                if (state.loaded && !state.stale) || state.not_before.is_some() {
                    // The read ended, read or failed: nothing to wait for until the map
                    // goes stale.
                    self.quiet.store(true, std::sync::atomic::Ordering::Release);
                }
                return;
            }
        }
        let _ = tokio::time::timeout(FIRST_READ_WAIT, ended).await;
    }

    /// Reads the map in the background when it is missing or stale and may be read now.
    pub(crate) fn refresh(self: &Arc<Self>, client: &Client, stream: &str) {
        let now = Instant::now();
        {
            let mut state = self.lock();
            let due = !state.loaded || state.stale;
            if !due || state.reading || state.not_before.is_some_and(|at| now < at) {
                return;
            }
            state.reading = true;
        }
        let (map, client, stream) = (Arc::clone(self), client.clone(), stream.to_owned());
        tokio::spawn(async move {
            // Bounded in time, and a panic (a mocked client without a rule for ListShards)
            // is a failed read: the records go on, paced per stream.
            let read = async {
                list_open_shards(&client, &stream)
                    .await
                    .map_err(|error| {
                        tracing::info!(
                            stream,
                            %error,
                            "ListShards failed: records are paced per stream, not per shard"
                        );
                    })
                    .ok()
            };
            let result = batch_core::read_setting(&stream, read).await;
            let mut state = map.lock();
            state.reading = false;
            match result {
                Some(shards) => {
                    tracing::debug!(stream, shards = shards.len(), "shard map read");
                    state.ids = shards.iter().map(|(id, _)| id.clone()).collect();
                    state.starts = shards
                        .iter()
                        .map(|(id, start)| (*start, domain_of_id(id)))
                        .collect();
                    state.starts.sort_unstable();
                    state.loaded = true;
                    state.stale = false;
                    state.not_before = Some(Instant::now() + REFRESH_EVERY);
                }
                None => {
                    state.not_before = Some(Instant::now() + RETRY_AFTER_FAILURE);
                }
            }
            drop(state);
            map.read_ended.notify_waiters();
        });
    }
}

/// A record's hash key: its explicit hash key, or the MD5 of its partition key as a 128-bit
/// number, as Kinesis computes it.
pub(crate) fn hash_key(partition_key: &str, explicit_hash_key: Option<&str>) -> u128 {
    explicit_hash_key
        .and_then(|key| key.parse::<u128>().ok())
        .unwrap_or_else(|| u128::from_be_bytes(Md5::digest(partition_key.as_bytes()).into()))
}

/// The starting hash key of shard `index` of `count` that split the key range evenly:
/// `index * 2^128 / count`, rounded down, as CreateStream makes them.
fn even_start(index: u32, count: u32) -> u128 {
    if index == 0 {
        return 0;
    }
    // From here on `count` is at least 2, so 2^128 / count fits.
    let (index, count) = (u128::from(index), u128::from(count));
    // 2^128 = quotient * count + remainder.
    let remainder = (u128::MAX % count + 1) % count;
    let quotient = u128::MAX / count + u128::from(remainder == 0);
    index * quotient + index * remainder / count
}

/// A shard's domain: its number (`shardId-000000000007` is 7) plus one, stable across
/// reads of the map.
fn domain_of_id(id: &str) -> u64 {
    let digits = id.rsplit('-').next().unwrap_or_default();
    digits
        .parse::<u64>()
        .map_or_else(|_| fastrand::u64(1..), |n| n.saturating_add(1))
}

/// The open shards of `stream` (a name or an ARN): id and starting hash key.
async fn list_open_shards(
    client: &Client,
    stream: &str,
) -> Result<Vec<(String, u128)>, aws_sdk_kinesis::Error> {
    let mut shards = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let request = client.list_shards();
        let request = match &token {
            Some(token) => request.next_token(token),
            None if stream.starts_with("arn:") => request.stream_arn(stream),
            None => request.stream_name(stream),
        };
        let output = request.send().await?;
        for shard in output.shards() {
            let open = shard
                .sequence_number_range()
                .is_none_or(|range| range.ending_sequence_number().is_none());
            let start = shard
                .hash_key_range()
                .and_then(|range| range.starting_hash_key().parse::<u128>().ok());
            if let (true, Some(start)) = (open, start) {
                shards.push((shard.shard_id().to_owned(), start));
            }
        }
        match output.next_token() {
            Some(next) => token = Some(next.to_owned()),
            None => return Ok(shards),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(starts: &[(u128, u64)]) -> ShardMap {
        let map = ShardMap::default();
        {
            let mut state = map.lock();
            state.starts = starts.to_vec();
            state.ids = starts
                .iter()
                .map(|(_, d)| format!("shardId-{:012}", d - 1))
                .collect();
            state.loaded = true;
        }
        map
    }

    #[test]
    fn a_record_goes_to_the_shard_whose_range_holds_its_hash() {
        let half = 1_u128 << 127;
        let map = map(&[(0, 1), (half, 2)]);
        // MD5("a") starts with 0x0c: the lower half.
        assert_eq!(map.domain_of(|| hash_key("a", None)), 1);
        assert_eq!(map.domain_of(|| hash_key("a", Some(&half.to_string()))), 2);
        assert_eq!(
            map.domain_of(|| hash_key("a", Some(&(half - 1).to_string()))),
            1
        );
        assert_eq!(
            ShardMap::default().domain_of(|| hash_key("a", None)),
            UNKNOWN_SHARD
        );
    }

    #[test]
    fn an_unknown_shard_in_a_response_makes_the_map_stale() {
        let map = map(&[(0, 1)]);
        map.saw(["shardId-000000000000"]);
        assert!(!map.lock().stale);
        map.saw(["shardId-000000000003"]);
        assert!(map.lock().stale);
    }

    #[test]
    fn even_shards_start_where_create_stream_starts_them() {
        assert_eq!(even_start(0, 1), 0);
        assert_eq!(even_start(1, 2), 1_u128 << 127);
        // The second of three shards AWS makes starts at floor(2^128 / 3).
        assert_eq!(
            even_start(1, 3),
            113_427_455_640_312_821_154_458_202_477_256_070_485
        );
        let map = ShardMap::fixed(2);
        assert_eq!(map.domain_of(|| 0), 1);
        assert_eq!(map.domain_of(|| u128::MAX), 2);
        map.saw(["shardId-000000000009"]);
        assert!(!map.lock().stale, "a given map is never read again");
        assert_eq!(ShardMap::fixed(0).domain_of(|| 7), UNKNOWN_SHARD);
    }

    #[test]
    fn a_shard_id_names_its_domain() {
        assert_eq!(domain_of_id("shardId-000000000007"), 8);
        assert!(domain_of_id("odd") > 0);
    }
}
