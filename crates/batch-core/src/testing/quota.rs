//! A quota for the in-memory backend: the entries a destination takes per second.

use tokio::time::Instant;

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
