//! Counters of one dispatcher.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// A snapshot of a dispatcher's counters since it was built.
///
/// Once a flush has returned, and with no submit running, every accepted payload is accounted
/// for: `submitted == delivered + duplicates_dropped + unprocessed`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stats {
    /// Payloads accepted by `submit`.
    pub submitted: u64,
    /// Payloads refused at `submit` (handed back in a `SubmitError`).
    pub rejected: u64,
    /// Payloads the service accepted.
    pub delivered: u64,
    /// Payloads dropped as duplicates of another pending payload.
    pub duplicates_dropped: u64,
    /// Batch requests sent, retries included.
    pub requests_sent: u64,
    /// Entries sent again after a failure.
    pub retries: u64,
    /// Payloads that ended in a flush's unprocessed list.
    pub unprocessed: u64,
}

#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) submitted: AtomicU64,
    pub(crate) rejected: AtomicU64,
    pub(crate) delivered: AtomicU64,
    pub(crate) duplicates_dropped: AtomicU64,
    pub(crate) requests_sent: AtomicU64,
    pub(crate) retries: AtomicU64,
    pub(crate) unprocessed: AtomicU64,
}

impl Counters {
    pub(crate) fn add(counter: &AtomicU64, n: usize) {
        counter.fetch_add(n as u64, Relaxed);
    }

    pub(crate) fn snapshot(&self) -> Stats {
        Stats {
            submitted: self.submitted.load(Relaxed),
            rejected: self.rejected.load(Relaxed),
            delivered: self.delivered.load(Relaxed),
            duplicates_dropped: self.duplicates_dropped.load(Relaxed),
            requests_sent: self.requests_sent.load(Relaxed),
            retries: self.retries.load(Relaxed),
            unprocessed: self.unprocessed.load(Relaxed),
        }
    }
}
