//! Pacing: how fast entries go out and how many requests are in flight, learned from what
//! the service answers.
//!
//! Each throttling domain (a Kinesis shard, a table, a queue: see
//! [`Backend::domain`](crate::Backend::domain)) has a send rate in entries per second. It
//! starts at the domain's documented rate where the service has one
//! ([`Backend::domain_rate`](crate::Backend::domain_rate)); otherwise it is unknown, and
//! nothing is paced, until the service first throttles that domain; then it is set a
//! little below the rate the domain was accepting, and from there it grows while the
//! domain's entries are accepted with more waiting to go, and shrinks multiplicatively when
//! they are throttled, at most once per round trip (requests sent before a decrease do not
//! cause another). A request reserves its entries in each of its domains' schedules and goes
//! when all of them allow. The same controller keeps a window of requests in flight: it
//! starts at 4, doubles per round trip up to 16 until the first throttling, then grows by
//! one per round trip in which it was the limit, up to `max_in_flight`, and shrinks on
//! throttling. Users' own caps (`max_records_per_second`, `max_bytes_per_second`) are
//! fixed schedules on top.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;

use crate::backend::Backend;
use crate::failure::{EntryOutcome, FailureKind};
use crate::pending::Item;

mod domain;
use domain::{Domain, MIN_RATE};

/// Requests in flight at the start. Until the first throttling the window doubles per round
/// trip in which it was full, up to [`SLOW_START_LIMIT`]; beyond, and after a throttling, it
/// grows by one per such round trip. Doubling all the way would, against a quota with a
/// burst allowance, grow until the burst is spent and then have a whole window refused at
/// once; the limit bounds that to about 16 requests, once, and still reaches 32 in flight
/// about 20 round trips after the start.
const INITIAL_WINDOW: f64 = 4.0;
const SLOW_START_LIMIT: f64 = 16.0;
/// Factor the window of requests in flight is multiplied by on throttling.
const WINDOW_DECREASE: f64 = 0.7;
/// Fixed caps set by the user.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct Caps {
    pub(crate) records_per_second: Option<f64>,
    pub(crate) bytes_per_second: Option<f64>,
}

/// Entries and bytes of one request in one domain.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Share {
    pub(crate) domain: u64,
    pub(crate) entries: usize,
    pub(crate) bytes: usize,
    /// The domain's documented rate, if any ([`Backend::domain_rate`](crate::Backend::domain_rate)).
    pub(crate) known_rate: Option<f64>,
}

/// What the service did with one request's entries of one domain.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Answer {
    pub(crate) accepted: usize,
    pub(crate) throttled: usize,
}

/// The pacing state of one dispatcher.
#[derive(Debug)]
pub(crate) struct Pacer {
    state: Mutex<State>,
    /// Woken when a request leaves the window.
    freed: Notify,
    max_in_flight: usize,
    caps: Caps,
    /// Whether rates and the window follow the service; without it only the caps pace.
    learns: bool,
}

#[derive(Debug)]
struct State {
    domains: HashMap<u64, Domain>,
    window: f64,
    window_cut: Option<Instant>,
    in_flight: usize,
    /// When the user's caps next allow a request.
    records_cap_free: Instant,
    bytes_cap_free: Instant,
}

/// A request's place in the window and the schedules, taken by [`Pacer::admit`].
#[derive(Debug)]
pub(crate) struct Pass<'a> {
    pacer: &'a Pacer,
    /// When the request took its place in the schedules, at the rates of that moment.
    reserved_at: Instant,
    /// Whether the request waited for a schedule: the rate, not demand, was the limit.
    limited: bool,
}

impl Drop for Pass<'_> {
    fn drop(&mut self) {
        self.pacer.lock().in_flight -= 1;
        self.pacer.freed.notify_waiters();
    }
}

impl Pacer {
    pub(crate) fn new(max_in_flight: usize, caps: Caps, learns: bool) -> Self {
        let now = Instant::now();
        Self {
            state: Mutex::new(State {
                domains: HashMap::new(),
                #[allow(clippy::cast_precision_loss)]
                window: if learns {
                    INITIAL_WINDOW.min(max_in_flight as f64)
                } else {
                    max_in_flight as f64
                },
                window_cut: None,
                in_flight: 0,
                records_cap_free: now,
                bytes_cap_free: now,
            }),
            freed: Notify::new(),
            max_in_flight,
            caps,
            learns,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Waits for room in the window, reserves the request's entries in its domains'
    /// schedules and the user's caps, and waits until all of them allow it.
    pub(crate) async fn admit(&self, shares: &[Share]) -> Pass<'_> {
        loop {
            let freed = self.freed.notified();
            tokio::pin!(freed);
            freed.as_mut().enable();
            {
                let mut state = self.lock();
                #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
                let window = (state.window.floor() as usize).max(1);
                if state.in_flight < window {
                    state.in_flight += 1;
                    break;
                }
            }
            freed.await;
        }
        let now = Instant::now();
        let go = self.reserve(shares, now);
        let limited = go > now;
        if limited {
            tokio::time::sleep_until(go).await;
        }
        Pass {
            pacer: self,
            reserved_at: now,
            limited,
        }
    }

    /// Reserves `shares` and returns when the request may go.
    fn reserve(&self, shares: &[Share], now: Instant) -> Instant {
        let mut state = self.lock();
        let mut go = now;
        for share in shares {
            let known_rate = share.known_rate.filter(|_| self.learns);
            let domain = state
                .domains
                .entry(share.domain)
                .or_insert_with(|| Domain::new(now, known_rate));
            if let Some(rate) = domain.rate {
                let start = domain.free_at.max(now);
                go = go.max(start);
                domain.free_at = start + per(share.entries, rate);
            }
        }
        let entries: usize = shares.iter().map(|s| s.entries).sum();
        let bytes: usize = shares.iter().map(|s| s.bytes).sum();
        if let Some(rate) = self.caps.records_per_second {
            let start = state.records_cap_free.max(now);
            go = go.max(start);
            state.records_cap_free = start + per(entries, rate);
        }
        if let Some(rate) = self.caps.bytes_per_second {
            let start = state.bytes_cap_free.max(now);
            go = go.max(start);
            state.bytes_cap_free = start + per(bytes, rate);
        }
        go
    }

    /// Learns from a request's answer, per domain.
    pub(crate) fn report(&self, pass: &Pass<'_>, answers: &[(u64, Answer)]) {
        if !self.learns {
            return;
        }
        let now = Instant::now();
        let mut state = self.lock();
        let mut throttled = false;
        for &(domain_id, answer) in answers {
            let domain = state
                .domains
                .entry(domain_id)
                .or_insert_with(|| Domain::new(now, None));
            domain.note_accepted(now, answer.accepted);
            if answer.throttled > 0 {
                throttled = true;
                if let Some(rate) = domain.throttled(now, pass.reserved_at, answer.throttled) {
                    tracing::debug!(domain = domain_id, rate, "throttled: send rate lowered");
                }
            } else if pass.limited {
                domain.grow(now, answer.accepted);
            }
        }
        #[allow(clippy::cast_precision_loss)]
        let (max, in_flight) = (self.max_in_flight as f64, state.in_flight as f64);
        if throttled {
            // As for rates: one cut per round trip.
            if state.window_cut.is_none_or(|at| pass.reserved_at >= at) {
                state.window = (state.window * WINDOW_DECREASE).max(1.0);
                state.window_cut = Some(now);
            }
        } else if !pass.limited && in_flight >= state.window.floor() {
            // The window, not the rate or demand, was the limit: double it per round trip
            // while it is small and nothing was throttled yet, else one more per round trip.
            let step = if state.window_cut.is_none() && state.window < SLOW_START_LIMIT {
                1.0
            } else {
                1.0 / state.window.floor().max(1.0)
            };
            state.window = (state.window + step).min(max);
        }
    }

    /// Whether throttled entries are paced rather than counted as failed attempts.
    pub(crate) fn learns(&self) -> bool {
        self.learns
    }

    /// The sum of the learned rates, in entries per second; `None` while nothing is paced.
    pub(crate) fn rate(&self) -> Option<f64> {
        let state = self.lock();
        let rates: Vec<f64> = state.domains.values().filter_map(|d| d.rate).collect();
        (!rates.is_empty()).then(|| rates.iter().sum())
    }
}

/// The time `count` units take at `rate` per second.
fn per(count: usize, rate: f64) -> Duration {
    #[allow(clippy::cast_precision_loss)]
    let seconds = count as f64 / rate.max(MIN_RATE);
    Duration::try_from_secs_f64(seconds).unwrap_or(Duration::MAX)
}

/// Each domain's entries and bytes in a request.
pub(crate) fn shares<B: Backend>(backend: &B, items: &[Item<B>]) -> Vec<Share> {
    let mut shares: Vec<Share> = Vec::new();
    for item in items {
        let domain = backend.domain(&item.entry);
        match shares.iter_mut().find(|share| share.domain == domain) {
            Some(share) => {
                share.entries += 1;
                share.bytes += item.size;
            }
            None => shares.push(Share {
                domain,
                entries: 1,
                bytes: item.size,
                known_rate: backend.domain_rate(domain),
            }),
        }
    }
    shares
}

/// What the service did with each domain's entries of a request.
pub(crate) fn answers<B: Backend>(
    backend: &B,
    items: &[Item<B>],
    outcomes: &[EntryOutcome],
) -> Vec<(u64, Answer)> {
    let mut answers: Vec<(u64, Answer)> = Vec::new();
    for (item, outcome) in items.iter().zip(outcomes) {
        let domain = backend.domain(&item.entry);
        let index = match answers.iter().position(|(d, _)| *d == domain) {
            Some(index) => index,
            None => {
                answers.push((domain, Answer::default()));
                answers.len() - 1
            }
        };
        match outcome {
            EntryOutcome::Delivered => answers[index].1.accepted += 1,
            EntryOutcome::Failed(failure) if failure.kind == FailureKind::Throttling => {
                answers[index].1.throttled += 1;
            }
            EntryOutcome::Failed(_) => {}
        }
    }
    answers
}

#[cfg(test)]
mod tests;
