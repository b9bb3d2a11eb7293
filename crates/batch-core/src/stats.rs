//! Counters of one dispatcher.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

/// A snapshot of a dispatcher's counters since it was built.
///
/// Once a flush has returned, and with no submit running, every accepted payload is accounted
/// for: `submitted == delivered + duplicates_dropped + superseded + unprocessed`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stats {
    /// Payloads accepted by `submit`.
    pub submitted: u64,
    /// Payloads refused at `submit` (handed back in a `SubmitError`).
    pub rejected: u64,
    /// Payloads the service accepted.
    pub delivered: u64,
    /// Payloads dropped as duplicates of a pending payload that was kept
    /// ([`DedupPolicy::KeepFirst`](crate::DedupPolicy::KeepFirst)).
    pub duplicates_dropped: u64,
    /// Pending payloads replaced by a later one with the same key
    /// ([`DedupPolicy::KeepLast`](crate::DedupPolicy::KeepLast), as for DynamoDB writes to
    /// one item): the later write stands for both.
    pub superseded: u64,
    /// Batch requests sent, retries included.
    pub requests_sent: u64,
    /// Entries sent again after a failure.
    pub retries: u64,
    /// Payloads that ended in a flush's unprocessed list.
    pub unprocessed: u64,
    /// Entries the service refused for throttling (alone, or with their whole request).
    pub throttled: u64,
    /// Requests that failed as a whole for a reason other than throttling (no answer, a
    /// server fault, a refusal), retries included.
    pub requests_failed: u64,
    /// Of those, how many came in a row up to the latest request: 0 once a request gets an
    /// answer with an outcome per entry. A destination that is down or refuses everything
    /// makes it grow; a program can stop feeding the dispatcher when it does.
    pub requests_failed_in_a_row: u64,
    /// Entries per second the dispatcher allows itself now, summed over its throttling
    /// domains: learned from the service's throttling (see
    /// [`DispatcherConfig::adaptive`](crate::DispatcherConfig::adaptive)). `None` while the
    /// destination has not throttled it.
    pub paced_rate: Option<u64>,
    /// How long, in all, sending was held back by its pace: the time during which at least
    /// one request was waiting for the rate learned from the destination's throttling (or
    /// for the caps of [`DispatcherConfig`](crate::DispatcherConfig)). Near the whole run
    /// when the destination's quota, not this writer, set the speed.
    pub paced_wait: Duration,
}

#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) submitted: AtomicU64,
    pub(crate) rejected: AtomicU64,
    pub(crate) delivered: AtomicU64,
    pub(crate) duplicates_dropped: AtomicU64,
    pub(crate) superseded: AtomicU64,
    pub(crate) requests_sent: AtomicU64,
    pub(crate) retries: AtomicU64,
    pub(crate) unprocessed: AtomicU64,
    pub(crate) throttled: AtomicU64,
    pub(crate) requests_failed: AtomicU64,
    pub(crate) requests_failed_in_a_row: AtomicU64,
}

impl Counters {
    pub(crate) fn add(counter: &AtomicU64, n: usize) {
        counter.fetch_add(n as u64, Relaxed);
    }

    /// A request got an answer with an outcome per entry.
    pub(crate) fn request_answered(&self) {
        self.requests_failed_in_a_row.store(0, Relaxed);
    }

    /// A request failed as a whole; throttling is not a failure of the destination.
    pub(crate) fn request_failed(&self, throttled: bool) {
        if !throttled {
            self.requests_failed.fetch_add(1, Relaxed);
            self.requests_failed_in_a_row.fetch_add(1, Relaxed);
        }
    }

    pub(crate) fn snapshot(&self) -> Stats {
        Stats {
            submitted: self.submitted.load(Relaxed),
            rejected: self.rejected.load(Relaxed),
            delivered: self.delivered.load(Relaxed),
            duplicates_dropped: self.duplicates_dropped.load(Relaxed),
            superseded: self.superseded.load(Relaxed),
            requests_sent: self.requests_sent.load(Relaxed),
            retries: self.retries.load(Relaxed),
            unprocessed: self.unprocessed.load(Relaxed),
            throttled: self.throttled.load(Relaxed),
            requests_failed: self.requests_failed.load(Relaxed),
            requests_failed_in_a_row: self.requests_failed_in_a_row.load(Relaxed),
            paced_rate: None,
            paced_wait: Duration::ZERO,
        }
    }
}
