//! Pacing: how fast entries go out and how many requests are in flight, learned from what
//! the service answers.
//!
//! Each throttling domain (a Kinesis shard, a table, a queue: see
//! [`Backend::domain`](crate::Backend::domain)) has a send rate in entries per second. It is unknown,
//! and nothing is paced, until the service first throttles that domain; then it is set a
//! little below the rate the domain was accepting, and from there it grows while the
//! domain's entries are accepted with more waiting to go, and shrinks multiplicatively when
//! they are throttled, at most once per round trip (requests sent before a decrease do not
//! cause another). A request reserves its entries in each of its domains' schedules and goes
//! when all of them allow. The same controller keeps a window of requests in flight: it
//! shrinks on throttling and grows back by one per window of answered requests, up to
//! `max_in_flight`. Users' own caps (`max_records_per_second`, `max_bytes_per_second`) are
//! fixed schedules on top.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;

/// Share of the accepted rate a domain is set to when the service first throttles it.
const FIRST_RATE_SHARE: f64 = 0.9;
/// A throttled domain's rate is set to what it accepted over the last second (while
/// throttled, that is the quota) times this margin, cut by at least `1 - MARGIN` and at
/// most `1 - MAX_DECREASE`.
const MARGIN: f64 = 0.95;
const MAX_DECREASE: f64 = 0.7;
/// Requests in flight at the start: the window grows from here by one per round trip in
/// which it was full. Not doubling per round trip (a slow start): a service with a burst
/// allowance would let the window double until the burst is spent, and then refuse a whole
/// window at once, about the burst again.
const INITIAL_WINDOW: f64 = 4.0;
/// Growth of a domain's rate per entry accepted while it was the limit: the rate grows by
/// this share of itself per second of sending at it.
const GROWTH: f64 = 0.03;
/// Seconds without throttling after which probing grows no faster: at most
/// `GROWTH * (1 + MAX_CALM)` of the rate per second.
const MAX_CALM: f64 = 3.0;
/// Factor the window of requests in flight is multiplied by on throttling.
const WINDOW_DECREASE: f64 = 0.7;
/// How far back accepted entries count when a rate is measured.
const MEASURE: Duration = Duration::from_secs(1);
/// The shortest span a later measure is taken over: a shorter one says too little, and the
/// rate is cut by the margin alone.
const MIN_MEASURE: Duration = Duration::from_millis(250);
/// The lowest rate a domain is paced at, in entries per second.
const MIN_RATE: f64 = 1.0;

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

#[derive(Debug)]
struct Domain {
    /// Entries per second; `None` until the service throttles the domain.
    rate: Option<f64>,
    /// When the domain's schedule next has room.
    free_at: Instant,
    /// Entries accepted recently, for the first rate.
    accepted: VecDeque<(Instant, usize)>,
    last_decrease: Option<Instant>,
    /// When the service first throttled the domain.
    throttled_since: Option<Instant>,
    /// What the domain accepted when last throttled: near it, probing slows down.
    ceiling: Option<f64>,
}

impl Domain {
    /// A domain paced from the start at `known_rate`, or not until its first throttling.
    fn new(now: Instant, known_rate: Option<f64>) -> Self {
        Self {
            rate: known_rate,
            free_at: now,
            accepted: VecDeque::new(),
            last_decrease: None,
            throttled_since: None,
            ceiling: known_rate,
        }
    }

    /// Entries per second the domain accepted over the last [`MEASURE`], but only since it
    /// was first throttled: before that, a service's burst allowance (a full bucket at the
    /// start) was being spent, and counting it would read the quota high for a second.
    /// `None` when that span is shorter than [`MIN_MEASURE`].
    fn measured(&self, now: Instant) -> Option<f64> {
        let since = match (self.throttled_since, now.checked_sub(MEASURE)) {
            (Some(first), Some(window)) => first.max(window),
            (first, window) => first.or(window)?,
        };
        let span = now.saturating_duration_since(since);
        if span < MIN_MEASURE {
            return None;
        }
        let accepted: usize = self
            .accepted
            .iter()
            .filter(|(at, _)| *at > since)
            .map(|(_, n)| n)
            .sum();
        #[allow(clippy::cast_precision_loss)]
        let accepted = accepted as f64;
        Some(accepted / span.as_secs_f64())
    }

    /// Entries per second accepted over the last [`MEASURE`]: the first rate.
    fn accepted_last_second(&self, now: Instant) -> f64 {
        let accepted: usize = self
            .accepted
            .iter()
            .filter(|(at, _)| now.saturating_duration_since(*at) <= MEASURE)
            .map(|(_, n)| n)
            .sum();
        #[allow(clippy::cast_precision_loss)]
        let accepted = accepted as f64;
        accepted / MEASURE.as_secs_f64()
    }
}

/// A request's place in the window and the schedules, taken by [`Pacer::admit`].
#[derive(Debug)]
pub(crate) struct Pass<'a> {
    pacer: &'a Pacer,
    /// When the request took its place in the schedules, at the rates of that moment.
    reserved_at: Instant,
    /// Whether the request waited for a schedule: the rate, not demand, was the limit.
    limited: bool,
    /// Whether the window was full when the request entered it.
    window_full: bool,
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
        let window_full = loop {
            let freed = self.freed.notified();
            tokio::pin!(freed);
            freed.as_mut().enable();
            {
                let mut state = self.lock();
                #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
                let window = (state.window.floor() as usize).max(1);
                if state.in_flight < window {
                    state.in_flight += 1;
                    break state.in_flight == window;
                }
            }
            freed.await;
        };
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
            window_full,
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
            if answer.accepted > 0 {
                domain.accepted.push_back((now, answer.accepted));
                while domain
                    .accepted
                    .front()
                    .is_some_and(|(at, _)| now.saturating_duration_since(*at) > MEASURE)
                {
                    domain.accepted.pop_front();
                }
            }
            if answer.throttled > 0 {
                throttled = true;
                // A request scheduled before the last decrease went at the old rate: its
                // throttling is what that decrease answered, not a reason for another.
                if domain.last_decrease.is_some_and(|at| pass.reserved_at < at) {
                    continue;
                }
                // Before any entry got through, half of what was just refused in a second.
                #[allow(clippy::cast_precision_loss)]
                let refused = answer.throttled as f64 * 0.5;
                let rate = match (domain.rate, domain.measured(now)) {
                    (Some(rate), Some(measured)) => {
                        domain.ceiling = Some(measured);
                        (measured * MARGIN).clamp(rate * MAX_DECREASE, rate * MARGIN)
                    }
                    (Some(rate), None) => rate * MARGIN,
                    (None, _) => {
                        let measured = domain.accepted_last_second(now);
                        domain.ceiling = Some(measured);
                        (measured * FIRST_RATE_SHARE).max(refused)
                    }
                };
                domain.throttled_since.get_or_insert(now);
                let rate = rate.max(MIN_RATE);
                tracing::debug!(domain = domain_id, rate, "throttled: send rate lowered");
                domain.rate = Some(rate);
                domain.last_decrease = Some(now);
            } else if pass.limited
                && let Some(rate) = domain.rate
            {
                // Probing speeds up the longer nothing is throttled, so a rate set too low
                // (or a quota that grew) is found again in seconds, not minutes.
                let calm = domain
                    .last_decrease
                    .map_or(0.0, |at| now.saturating_duration_since(at).as_secs_f64())
                    .min(MAX_CALM);
                // Below the last ceiling the rate climbs back quickly; at it, slowly, to
                // find out whether the quota grew without hitting it hard.
                let speed = match domain.ceiling {
                    Some(ceiling) if rate >= ceiling * MARGIN => GROWTH / 3.0,
                    _ => GROWTH * (1.0 + calm),
                };
                #[allow(clippy::cast_precision_loss)]
                let grown = rate + speed * answer.accepted as f64;
                domain.rate = Some(grown);
            }
        }
        #[allow(clippy::cast_precision_loss)]
        let max = self.max_in_flight as f64;
        if throttled {
            // As for rates: one cut per round trip.
            if state.window_cut.is_none_or(|at| pass.reserved_at >= at) {
                state.window = (state.window * WINDOW_DECREASE).max(1.0);
                state.window_cut = Some(now);
            }
        } else if pass.window_full {
            state.window = (state.window + 1.0 / state.window.max(1.0)).min(max);
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

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// Reports an answer of domain 0 to `pass`.
    fn answer(pacer: &Pacer, pass: &Pass<'_>, accepted: usize, throttled: usize) {
        pacer.report(
            pass,
            &[(
                0,
                Answer {
                    accepted,
                    throttled,
                },
            )],
        );
    }

    fn share(entries: usize) -> Vec<Share> {
        vec![Share {
            domain: 0,
            entries,
            bytes: entries * 100,
            known_rate: None,
        }]
    }

    #[tokio::test(start_paused = true)]
    async fn a_domain_with_a_known_rate_is_paced_from_the_start() {
        let pacer = Pacer::new(4, Caps::default(), true);
        let known = |entries| {
            vec![Share {
                domain: 1,
                entries,
                bytes: 0,
                known_rate: Some(1_000.0),
            }]
        };
        let start = Instant::now();
        for _ in 0..4 {
            drop(pacer.admit(&known(500)).await);
        }
        // 2,000 entries at 1,000 a second: the fourth request goes after 1.5 s.
        assert_eq!(Instant::now() - start, Duration::from_millis(1_500));
        // Unpaced, the known rate is not used.
        let unpaced = Pacer::new(4, Caps::default(), false);
        let start = Instant::now();
        for _ in 0..4 {
            drop(unpaced.admit(&known(500)).await);
        }
        assert_eq!(Instant::now(), start);
    }

    #[tokio::test(start_paused = true)]
    async fn nothing_is_paced_until_the_service_throttles() {
        let pacer = Pacer::new(4, Caps::default(), true);
        let start = Instant::now();
        for _ in 0..100 {
            let pass = pacer.admit(&share(500)).await;
            answer(&pacer, &pass, 500, 0);
        }
        assert_eq!(Instant::now(), start);
        assert_eq!(pacer.rate(), None);
    }

    #[tokio::test(start_paused = true)]
    async fn the_first_throttle_sets_the_rate_below_what_was_accepted() {
        let pacer = Pacer::new(4, Caps::default(), true);
        // 1,000 entries accepted over one second, then a throttle.
        for _ in 0..10 {
            let pass = pacer.admit(&share(100)).await;
            answer(&pacer, &pass, 100, 0);
            tokio::time::advance(Duration::from_millis(100)).await;
        }
        let pass = pacer.admit(&share(100)).await;
        answer(&pacer, &pass, 0, 100);
        let rate = pacer.rate().unwrap();
        assert!((850.0..=950.0).contains(&rate), "{rate}");
        // From then on, 900 entries take about a second.
        let start = Instant::now();
        for _ in 0..9 {
            let pass = pacer.admit(&share(100)).await;
            answer(&pacer, &pass, 100, 0);
        }
        let took = Instant::now() - start;
        assert!(took >= Duration::from_millis(800), "{took:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn a_throttle_on_a_request_sent_before_the_last_cut_does_not_cut_again() {
        let pacer = Pacer::new(4, Caps::default(), true);
        let first = pacer.admit(&share(10)).await;
        let second = pacer.admit(&share(10)).await;
        answer(&pacer, &first, 10, 0);
        tokio::time::advance(Duration::from_millis(100)).await;
        answer(&pacer, &second, 0, 10);
        let rate = pacer.rate().unwrap();
        // `first` was sent before the cut too: its throttling does not cut again.
        answer(&pacer, &first, 0, 10);
        assert!((pacer.rate().unwrap() - rate).abs() < f64::EPSILON);
        drop((first, second));
        let third = pacer.admit(&share(10)).await;
        answer(&pacer, &third, 0, 10);
        assert!(pacer.rate().unwrap() < rate);
    }

    #[tokio::test(start_paused = true)]
    async fn the_window_shrinks_on_throttling_and_grows_back() {
        let pacer = Pacer::new(8, Caps::default(), true);
        let pass = pacer.admit(&share(1)).await;
        answer(&pacer, &pass, 0, 1);
        drop(pass);
        assert!(pacer.lock().window < 8.0);
        for _ in 0..200 {
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            let room = pacer.lock().window.floor() as usize;
            let mut passes = Vec::new();
            for _ in 0..room {
                passes.push(pacer.admit(&share(1)).await);
            }
            for pass in &passes {
                answer(&pacer, pass, 1, 0);
            }
        }
        assert!((pacer.lock().window - 8.0).abs() < f64::EPSILON);
    }

    #[tokio::test(start_paused = true)]
    async fn the_users_cap_holds_without_any_throttling() {
        let caps = Caps {
            records_per_second: Some(100.0),
            bytes_per_second: None,
        };
        let pacer = Pacer::new(4, caps, true);
        let start = Instant::now();
        for _ in 0..11 {
            let pass = pacer.admit(&share(10)).await;
            answer(&pacer, &pass, 10, 0);
        }
        // 110 entries at 100/s: the last request goes after a second.
        assert_eq!(Instant::now() - start, Duration::from_secs(1));
    }
}
