//! Pacing: how fast entries go out and how many requests are in flight, learned from what
//! the service answers.
//!
//! Each throttling domain (a Kinesis shard, a table, a queue: see
//! [`Backend::domains`](crate::Backend::domains)) has a send rate in entries per second. It
//! starts at the domain's documented rate where the service has one
//! ([`Domains::rate`](crate::Domains::rate)); otherwise it is unknown, and
//! nothing is paced, until the service first throttles that domain. The first throttle sets
//! it a little below what this writer got through in the last second, documented rate or
//! not (other writers share the domain); from there it grows while the domain's entries are
//! accepted with more waiting to go, and is cut by the same share on throttling, at most
//! once per round trip (requests sent before a cut do not cause another). A request
//! reserves its entries in each of its domains' schedules and goes when all of them allow,
//! at a moment taken by chance early in its place, so that writers paced alike do not send
//! together; places are booked one after another, just in time, so a cut slows the next
//! request at once.
//! A first attempt that would hold a domain for more than 2 s at its rate (a large
//! request at a small share) goes in pieces of 2 s each, one after the other.
//! The same controller keeps a window of requests in flight: it starts at 4, doubles per
//! round trip up to 16 until the first throttling, then grows by one per round trip in
//! which it was the limit, up to `max_in_flight`, and shrinks on throttling; its places go
//! first to the requests that waited for them longest, once those waited a second. Users'
//! own caps (`max_records_per_second`, `max_bytes_per_second`) are fixed schedules on top.
//! With a fleet's [`Coordinator`](crate::Coordinator), documented rates and the fleet's
//! quota are divided by the live writers, and the learned rates stay below that share.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;

use crate::coordinate::Fleet;

mod caps;
mod domain;
mod group;
mod request;
mod schedule;
mod wait;
mod window;
pub(crate) use caps::Caps;
use domain::Domain;
pub use group::SharedPace;
pub(crate) use request::{Answer, Request, Share};
use schedule::Booking;
use wait::{WaitClock, Waiting};
pub(crate) use window::Pass;
use window::Window;

/// How recently a domain must have been used for its rate to count in [`Pacer::rate`].
const IN_USE: Duration = Duration::from_secs(1);
/// The pacing state of one dispatcher.
#[derive(Debug)]
pub(crate) struct Pacer {
    state: Mutex<State>,
    /// Woken when a request leaves the window.
    freed: Notify,
    caps: Caps,
    /// Whether rates and the window follow the service; without it only the caps pace.
    learns: bool,
    /// The fleet this writer shares the quota with, through a coordinator.
    fleet: Option<Arc<Fleet>>,
}

#[derive(Debug)]
struct State {
    domains: HashMap<u64, Domain>,
    window: Window,
    /// Payloads and units accepted so far, to state the learned rates in payloads.
    accepted_payloads: f64,
    accepted_units: f64,
    /// Since when every answer was throttling with nothing accepted: the destination
    /// refuses everything; `None` once anything is accepted.
    refusing_since: Option<Instant>,
    /// When the user's caps next allow a request.
    records_cap_free: Instant,
    bytes_cap_free: Instant,
    /// How long requests waited for their pace.
    waits: WaitClock,
}

/// How long a request may wait for its pace: the throttle budget, from its batch's first
/// attempt, once the batch was throttled or while the destination refuses everything (then
/// from the start of that, for a batch that began within its budget), so that a destination
/// that refuses everything has every batch handed back within one budget.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Patience {
    /// When the batch's first attempt began.
    pub(crate) started: Instant,
    /// Whether the service throttled the batch before.
    pub(crate) throttled: bool,
    pub(crate) budget: Duration,
}

/// What a request got from [`Pacer::admit_within`].
#[derive(Debug)]
pub(crate) enum Admission<'a> {
    /// It may go.
    Go(Pass<'a>),
    /// Its wait would outlast its patience; nothing is reserved.
    OutOfPatience,
    /// It would hold a domain's schedule too long at this writer's rate: this share of it
    /// (by units) is to go first, and the rest after it; nothing is reserved.
    Split(f64),
}

impl Pacer {
    pub(crate) fn new(max_in_flight: usize, caps: Caps, learns: bool) -> Self {
        let now = Instant::now();
        Self {
            state: Mutex::new(State {
                domains: HashMap::new(),
                window: Window::new(max_in_flight, learns),
                refusing_since: None,
                accepted_payloads: 0.0,
                accepted_units: 0.0,
                records_cap_free: now,
                bytes_cap_free: now,
                waits: WaitClock::new(now),
            }),
            freed: Notify::new(),
            caps,
            learns,
            fleet: None,
        }
    }

    /// Ends this writer's lease with its fleet, if it has one.
    pub(crate) async fn leave_fleet(&self) {
        if let Some(fleet) = &self.fleet {
            fleet.leave().await;
        }
    }

    /// The same pacer, dividing the quota with the fleet `fleet` says is live.
    pub(crate) fn with_fleet(mut self, fleet: Option<Arc<Fleet>>) -> Self {
        self.fleet = fleet;
        self
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Waits for room in the window, reserves the request's entries in its domains'
    /// schedules and the user's caps, and waits until all of them allow it.
    #[cfg(test)]
    pub(crate) async fn admit(&self, shares: &[Share]) -> Pass<'_> {
        let patient = Patience {
            started: Instant::now(),
            throttled: false,
            budget: Duration::MAX,
        };
        loop {
            if let Admission::Go(pass) = self.admit_within(shares, patient, false).await {
                return pass;
            }
        }
    }

    /// As `admit`, unless the wait would outlast `patience`, or the request `may_split`
    /// and would hold a domain longer than a request should: then nothing is reserved.
    pub(crate) async fn admit_within(
        &self,
        shares: &[Share],
        patience: Patience,
        may_split: bool,
    ) -> Admission<'_> {
        loop {
            let Some(mut pass) = self.enter_window(patience).await else {
                return Admission::OutOfPatience;
            };
            let until = self.give_up_at(&self.lock(), patience);
            let grant = match &self.fleet {
                Some(fleet) => fleet.grant().await,
                None => None,
            };
            // Dropping `pass` leaves the window again.
            let kind = (patience.throttled, may_split && self.learns);
            match self.reserve(shares, pass.reserved_at, until, kind, grant) {
                Ok(slot) => {
                    pass.limited = slot.limited;
                    pass.place = slot.place;
                    pass.paced = slot.go > pass.reserved_at;
                    if pass.paced {
                        let _waiting = Waiting::start(self);
                        tokio::time::sleep_until(slot.go).await;
                    }
                    return Admission::Go(pass);
                }
                Err(Booking::PastPatience) => return Admission::OutOfPatience,
                Err(Booking::Split(share)) => return Admission::Split(share),
                Err(Booking::From(from)) => {
                    drop(pass);
                    let _waiting = Waiting::start(self);
                    tokio::time::sleep_until(from).await;
                }
            }
        }
    }

    /// How long, in all, at least one request was waiting for its pace (the rates learned
    /// from the destination, or the user's caps), up to now.
    pub(crate) fn waited(&self) -> Duration {
        self.lock().waits.total(Instant::now())
    }

    /// When a request of `patience` stops waiting for its pace, if it does.
    fn give_up_at(&self, state: &State, patience: Patience) -> Option<Instant> {
        if !self.learns {
            return None;
        }
        let Patience {
            started,
            throttled,
            budget,
        } = patience;
        let refusing = state
            .refusing_since
            .filter(|since| since.checked_add(budget).is_some_and(|end| end > started));
        if !throttled && refusing.is_none() {
            return None;
        }
        let from = refusing.map_or(started, |since| since.min(started));
        from.checked_add(budget)
    }

    /// Learns from a request's answer, per domain; `accepted_payloads` is the number of
    /// payloads the accepted entries held.
    pub(crate) fn report(
        &self,
        pass: &Pass<'_>,
        answers: &[(u64, Answer)],
        accepted_payloads: usize,
    ) {
        if !self.learns {
            return;
        }
        let now = Instant::now();
        let mut state = self.lock();
        #[allow(clippy::cast_precision_loss)]
        {
            state.accepted_payloads += accepted_payloads as f64;
        }
        let mut throttled = false;
        // Told the fleet's size or given a coordinator, a writer's rate starts at its share;
        // told nothing, it has only its growth to find it.
        let unaware = self.unaware();
        let accepted: f64 = answers.iter().map(|(_, a)| a.accepted).sum();
        state.accepted_units += accepted;
        for &(domain_id, answer) in answers {
            let domain = state
                .domains
                .entry(domain_id)
                .or_insert_with(|| Domain::new(now, None));
            domain.note_accepted(now, answer.accepted);
            if answer.throttled > 0.0 {
                throttled = true;
                if let Some(rate) = domain.throttled(now, pass.reserved_at, answer.throttled) {
                    tracing::debug!(domain = domain_id, rate, "throttled: send rate lowered");
                }
            } else if pass.paced {
                domain.grow(now, answer.accepted, unaware);
            }
        }
        if accepted > 0.0 || accepted_payloads > 0 {
            state.refusing_since = None;
        } else if throttled {
            state.refusing_since.get_or_insert(pass.reserved_at);
        }
        state.window.answered(throttled, pass);
    }

    /// Whether this writer was told nothing of the fleet it may share the quota with: neither
    /// its size nor a coordinator.
    fn unaware(&self) -> bool {
        self.fleet.is_none() && self.caps.fleet_size <= 1.0
    }

    /// Whether throttled entries are paced rather than counted as failed attempts.
    pub(crate) fn learns(&self) -> bool {
        self.learns
    }

    /// The sum of the learned rates of the domains in use (those a request reserved room in
    /// within a second of the latest: a domain left behind, such as a Kinesis stream's
    /// before its shards were known, no longer counts), in payloads per second at the mix of
    /// sizes accepted so far; `None` while nothing is paced.
    pub(crate) fn rate(&self) -> Option<f64> {
        let state = self.lock();
        let latest = state.domains.values().map(|d| d.last_reserved).max()?;
        let since = latest.checked_sub(IN_USE).unwrap_or(latest);
        let mut rates = state
            .domains
            .values()
            .filter(|d| d.last_reserved >= since)
            .filter_map(|d| d.rate)
            .peekable();
        rates.peek()?;
        let units: f64 = rates.sum();
        let per_unit = if state.accepted_units > 0.0 {
            state.accepted_payloads / state.accepted_units
        } else {
            1.0
        };
        Some(units * per_unit)
    }
}

#[cfg(test)]
mod tests;
