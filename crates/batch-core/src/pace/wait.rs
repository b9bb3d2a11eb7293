//! How long sending was held back by its pace: the time during which at least one request
//! was waiting, however many were.

use std::time::Duration;

use tokio::time::Instant;

use super::Pacer;

#[derive(Debug)]
pub(super) struct WaitClock {
    /// Requests waiting now.
    waiting: usize,
    /// Since when one has been.
    since: Instant,
    /// The spans before that.
    past: Duration,
}

impl WaitClock {
    pub(super) fn new(now: Instant) -> Self {
        Self {
            waiting: 0,
            since: now,
            past: Duration::ZERO,
        }
    }

    /// A request starts waiting.
    pub(super) fn start(&mut self, now: Instant) {
        if self.waiting == 0 {
            self.since = now;
        }
        self.waiting += 1;
    }

    /// A request stops waiting.
    pub(super) fn stop(&mut self, now: Instant) {
        self.waiting = self.waiting.saturating_sub(1);
        if self.waiting == 0 {
            self.past += now.saturating_duration_since(self.since);
        }
    }

    /// The time at least one request was waiting, up to `now`.
    pub(super) fn total(&self, now: Instant) -> Duration {
        if self.waiting > 0 {
            self.past + now.saturating_duration_since(self.since)
        } else {
            self.past
        }
    }
}

/// A request waiting for its pace, from its start to its drop (its end, or the request
/// abandoned meanwhile).
pub(super) struct Waiting<'a>(&'a Pacer);

impl<'a> Waiting<'a> {
    pub(super) fn start(pacer: &'a Pacer) -> Self {
        pacer.lock().waits.start(Instant::now());
        Self(pacer)
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.lock().waits.stop(Instant::now());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overlapping_waits_count_once_and_gaps_not_at_all() {
        let t0 = Instant::now();
        let at = |ms: u64| t0 + Duration::from_millis(ms);
        let mut clock = WaitClock::new(t0);
        clock.start(at(100));
        clock.start(at(150));
        clock.stop(at(200));
        assert_eq!(
            clock.total(at(250)),
            Duration::from_millis(150),
            "still one waiting"
        );
        clock.stop(at(300));
        // Nothing waits from 300 to 500.
        clock.start(at(500));
        clock.stop(at(600));
        assert_eq!(clock.total(at(900)), Duration::from_millis(300));
    }
}
