//! A quota for the in-memory backend: the entries a destination takes per second, and the
//! rate it documents.

use tokio::time::Instant;

use super::{InMemoryBackend, lock};

/// A token bucket of one second of `rate` entries: what a destination's quota takes.
pub(super) struct Quota {
    rate: f64,
    tokens: f64,
    last: Instant,
    refused: u64,
}

impl Quota {
    pub(super) fn new(rate: f64, now: Instant) -> Self {
        Self {
            rate,
            tokens: rate,
            last: now,
            refused: 0,
        }
    }

    /// Entries refused so far.
    pub(super) fn refused(&self) -> u64 {
        self.refused
    }

    /// Whether one more entry fits now.
    pub(super) fn take(&mut self, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.rate).min(self.rate);
        self.last = now;
        let fits = self.tokens >= 1.0;
        if fits {
            self.tokens -= 1.0;
        } else {
            self.refused += 1;
        }
        fits
    }
}

impl InMemoryBackend {
    /// Refuses as throttled (`ThrottlingException`) the entries beyond a quota of
    /// `entries_per_second`, a token bucket holding one second of them, shared by every clone:
    /// dispatchers each with a clone are writers on one quota, as a fleet is.
    pub fn quota(&self, entries_per_second: f64) {
        lock(&self.inner.script).quota = Some(Quota::new(entries_per_second, Instant::now()));
    }

    /// Makes the destination one throttling domain that documents `entries_per_second` as
    /// its rate ([`Domains::rate`](crate::Domains::rate)), as a Kinesis shard does: a paced
    /// dispatcher starts at that rate instead of learning it. Set once, before the first
    /// request; later calls change nothing.
    pub fn documented_rate(&self, entries_per_second: f64) {
        let _ = self.inner.documented_rate.set(entries_per_second);
    }

    /// Entries refused for the quota so far.
    pub fn refused_for_quota(&self) -> u64 {
        lock(&self.inner.script)
            .quota
            .as_ref()
            .map_or(0, Quota::refused)
    }
}

impl crate::Domains<InMemoryBackend> for InMemoryBackend {
    fn domain(&self, _entry: &crate::BatchEntry<'_, Self>) -> u64 {
        0
    }

    fn rate(&self, _domain: u64) -> Option<f64> {
        self.inner.documented_rate.get().copied()
    }
}
