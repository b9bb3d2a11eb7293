//! Injected faults: a request's draws from the fault configuration, and what they do before
//! the operation runs (slow answers, throttling bursts, throttled and failed requests) and
//! after (a lost answer).

use std::sync::atomic::Ordering;
use std::time::Duration;

use hyper::StatusCode;

use crate::{Counters, Faults};

/// A request's draws from the fault configuration.
pub(crate) struct Draw {
    rng: fastrand::Rng,
    pub(crate) faults: Faults,
}

impl Draw {
    /// The draws of the `served`-th request: seeded from it, so a run can be repeated.
    pub(crate) fn of_request(faults: Faults, served: u64) -> Self {
        Self {
            rng: fastrand::Rng::with_seed(faults.seed ^ served.wrapping_mul(0x9E37_79B9_7F4A_7C15)),
            faults,
        }
    }

    /// Whether a fault of probability `share` hits.
    pub(crate) fn hit(&mut self, share: f64) -> bool {
        share > 0.0 && self.rng.f64() < share
    }

    /// The faults that strike before the operation runs: a slower answer (added to
    /// `delay`), and a request refused whole (throttled, alone or in a burst, or failed).
    pub(crate) fn before(
        &mut self,
        counters: &Counters,
        delay: &mut Duration,
    ) -> Option<(StatusCode, &'static str)> {
        let faults = self.faults.clone();
        if self.hit(faults.slow) {
            counters.faults.fetch_add(1, Ordering::Relaxed);
            *delay += faults.slow_by;
        }
        if self.hit(faults.throttle_bursts) {
            counters
                .burst_left
                .fetch_max(faults.burst_length, Ordering::Relaxed);
        }
        let in_burst = counters
            .burst_left
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |left| {
                left.checked_sub(1)
            })
            .is_ok();
        let failure = if in_burst || self.hit(faults.throttles) {
            Some((StatusCode::BAD_REQUEST, "ThrottlingException"))
        } else if self.hit(faults.server_errors) {
            Some((StatusCode::INTERNAL_SERVER_ERROR, "InternalFailure"))
        } else {
            None
        };
        if failure.is_some() {
            counters.faults.fetch_add(1, Ordering::Relaxed);
        }
        failure
    }

    /// Whether the answer is lost: the connection closes without one.
    pub(crate) fn loses_answer(&mut self, counters: &Counters) -> bool {
        let dropped = self.faults.dropped;
        let lost = self.hit(dropped);
        if lost {
            counters.faults.fetch_add(1, Ordering::Relaxed);
            counters.lost_responses.fetch_add(1, Ordering::Relaxed);
        }
        lost
    }
}
