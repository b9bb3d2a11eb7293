//! One throttling domain's send rate: set from what the service accepted when it first
//! throttled, cut on throttling at most once per round trip, grown while accepted.

use std::collections::VecDeque;
use std::time::Duration;

use tokio::time::Instant;

/// Share of the accepted rate a domain is set to when the service first throttles it.
const FIRST_RATE_SHARE: f64 = 0.9;
/// Share of a rate kept when the service throttles it (once per round trip). The same for
/// every writer of a fleet, so that a cut keeps their rates' ratios while growth, faster
/// for those rarely throttled, brings them together.
const DECREASE: f64 = 0.7;
/// Share of the rate measured when last throttled (the ceiling) above which probing slows;
/// also the cut when too little was measured to say more.
const MARGIN: f64 = 0.95;
/// Growth of a domain's rate per entry accepted while it was the limit: the rate grows by
/// this share of itself per second of sending at it. Writers that do not see each other
/// grow together, so slow enough that a fleet of 50 does not outgrow its cuts.
const GROWTH: f64 = 0.015;
/// For a writer told nothing of its fleet, the least its rate grows, in units a second per
/// second of sending at it (a third of that near the rate last throttled). Growth in
/// proportion to the rate keeps the ratios of a fleet's rates, so writers that once fell
/// behind stay behind; growth of one size for every writer brings them together, each cut
/// taking more from the faster. It matters only at small rates: one of 50 writers on a
/// shard, not a writer alone on it.
const EVEN_GROWTH: f64 = 2.0;
/// Seconds without throttling after which probing grows no faster: at most
/// `GROWTH * (1 + MAX_CALM)` of the rate per second.
const MAX_CALM: f64 = 3.0;
/// How far back accepted entries count when a rate is measured.
const MEASURE: Duration = Duration::from_secs(1);
/// A measure spans at least this many answers with accepted entries, going back as far as
/// [`LONGEST_MEASURE`]: a writer with a small share of a quota sends a request every few
/// seconds, and one second of its answers would read as nothing accepted.
const MEASURED_ANSWERS: usize = 3;
const LONGEST_MEASURE: Duration = Duration::from_secs(10);
/// The shortest span a later measure is taken over: a shorter one says too little, and the
/// rate is cut by the margin alone.
const MIN_MEASURE: Duration = Duration::from_millis(250);
/// Share of what a domain took from this writer over the last [`LONGEST_MEASURE`] below
/// which throttling does not cut its rate.
const FLOOR_SHARE: f64 = 0.5;
/// The lowest rate a domain is paced at, in entries per second.
pub(super) const MIN_RATE: f64 = 1.0;

#[derive(Debug)]
pub(super) struct Domain {
    /// Entries per second; `None` until the service throttles the domain.
    pub(super) rate: Option<f64>,
    /// When the domain's schedule next has room.
    pub(super) free_at: Instant,
    /// When a request last reserved room in it.
    pub(super) last_reserved: Instant,
    /// Entries accepted recently, for the first rate.
    accepted: VecDeque<(Instant, f64)>,
    last_decrease: Option<Instant>,
    /// When the service first throttled the domain.
    throttled_since: Option<Instant>,
    /// When the domain was first seen: no rate is measured over time before it.
    created: Instant,
    /// What the domain accepted when last throttled: near it, probing slows down.
    ceiling: Option<f64>,
    /// The share of the documented rate a fleet's coordinator granted last.
    granted: Option<f64>,
}

impl Domain {
    /// A domain paced from the start at `known_rate`, or not until its first throttling.
    pub(super) fn new(now: Instant, known_rate: Option<f64>) -> Self {
        Self {
            rate: known_rate,
            free_at: now,
            last_reserved: now,
            accepted: VecDeque::new(),
            last_decrease: None,
            throttled_since: None,
            created: now,
            ceiling: known_rate,
            granted: None,
        }
    }

    /// Entries per second the domain accepted over the last [`MEASURE`], but only since it
    /// was first throttled (before that, a service's burst allowance, a full bucket at the
    /// start, was being spent, and counting it would read the quota high for a second), and
    /// never over time before the domain was first seen (that would read it low). `None`
    /// when that span is shorter than [`MIN_MEASURE`].
    fn measured(&self, now: Instant) -> Option<f64> {
        let start = self.throttled_since.unwrap_or(self.created);
        let last_second = now.checked_sub(MEASURE).unwrap_or(start);
        let recent = self
            .accepted
            .iter()
            .filter(|(at, _)| *at > last_second)
            .count();
        let window = if recent >= MEASURED_ANSWERS {
            last_second
        } else {
            // Just before the oldest of the last answers, so that it counts.
            self.accepted
                .iter()
                .rev()
                .nth(MEASURED_ANSWERS - 1)
                .map_or(start, |(at, _)| {
                    at.checked_sub(Duration::from_millis(1)).unwrap_or(*at)
                })
                .min(last_second)
        };
        let since = window.max(start);
        let span = now.saturating_duration_since(since);
        if span < MIN_MEASURE {
            return None;
        }
        let accepted: f64 = self
            .accepted
            .iter()
            .filter(|(at, _)| *at > since)
            .map(|(_, n)| n)
            .sum();
        Some(accepted / span.as_secs_f64())
    }

    /// Entries per second accepted over the `span` up to `now`.
    fn accepted_per_second(&self, now: Instant, span: Duration) -> f64 {
        let accepted: f64 = self
            .accepted
            .iter()
            .filter(|(at, _)| now.saturating_duration_since(*at) <= span)
            .map(|(_, n)| n)
            .sum();
        accepted / span.as_secs_f64()
    }

    /// Entries per second the domain accepted from this writer over the last
    /// [`LONGEST_MEASURE`] (or since it was first throttled, at least a second). What it
    /// took before its first throttle does not count: a fleet's writers starting together
    /// each get a part of the service's burst allowance, and a floor at half of that held
    /// ten writers at twice a shard for their first seconds.
    fn accepted_lately(&self, now: Instant) -> f64 {
        let start = self.throttled_since.unwrap_or(self.created);
        let span = now
            .saturating_duration_since(start)
            .min(LONGEST_MEASURE)
            .max(Duration::from_secs(1));
        let accepted: f64 = self
            .accepted
            .iter()
            .filter(|(at, _)| *at > start && now.saturating_duration_since(*at) <= span)
            .map(|(_, n)| n)
            .sum();
        accepted / span.as_secs_f64()
    }

    /// Notes entries the domain accepted now.
    pub(super) fn note_accepted(&mut self, now: Instant, accepted: f64) {
        if accepted <= 0.0 {
            return;
        }
        self.accepted.push_back((now, accepted));
        while self
            .accepted
            .front()
            .is_some_and(|(at, _)| now.saturating_duration_since(*at) > LONGEST_MEASURE)
        {
            self.accepted.pop_front();
        }
    }

    /// Lowers the rate after `throttled` entries of a request reserved at `reserved_at` were
    /// refused; returns the new rate, or `None` when that throttling was already answered.
    pub(super) fn throttled(
        &mut self,
        now: Instant,
        reserved_at: Instant,
        throttled: f64,
    ) -> Option<f64> {
        // A request scheduled before the last decrease went at the old rate: its throttling
        // is what that decrease answered, not a reason for another.
        if self.last_decrease.is_some_and(|at| reserved_at < at) {
            return None;
        }
        // Before any entry got through, half of what was just refused in a second.
        let refused = throttled * 0.5;
        // A documented rate is the whole domain's: the first throttle says other writers
        // share it, and what this one got through is its part, as for a domain whose rate
        // was not known.
        let first = self.throttled_since.is_none();
        let rate = match (self.rate.filter(|_| !first), self.measured(now)) {
            // The same cut for every writer, whatever share it had: cutting those that got
            // less through by more (to what each measured) drives a fleet apart.
            (Some(rate), Some(measured)) => {
                self.ceiling = Some(measured);
                rate * DECREASE
            }
            (Some(rate), None) => rate * MARGIN,
            (None, _) => {
                let measured = self.accepted_per_second(now, MEASURE);
                let first_rate = measured * FIRST_RATE_SHARE;
                // What got through says where the domain's limit is only when it says more
                // than what was refused: a writer of a fleet whose first requests met a
                // quota others had emptied got next to nothing through, and a ceiling at
                // that would hold it near nothing, probing at the slowest pace.
                self.ceiling = (first_rate >= refused).then_some(measured);
                first_rate.max(refused)
            }
        };
        self.throttled_since.get_or_insert(now);
        // A run of throttles does not take the rate far below what the domain took from
        // this writer lately: cut after cut in a few round trips would leave it crawling,
        // and it grows back slowly.
        let rate = rate
            .max(self.accepted_lately(now) * FLOOR_SHARE)
            .max(MIN_RATE);
        self.rate = Some(rate);
        self.last_decrease = Some(now);
        Some(rate)
    }

    /// Keeps the rate at most `share`, the part of the documented rate a fleet's coordinator
    /// grants this writer; a new share (writers joined or left) is taken at once.
    pub(super) fn hold_to(&mut self, share: f64) {
        if self.granted != Some(share) {
            self.granted = Some(share);
            self.rate = Some(share);
            self.ceiling = Some(share);
        }
        self.rate = self.rate.map(|rate| rate.min(share));
    }

    /// Raises the rate after `accepted` entries of a request that waited for it got through;
    /// by at least [`EVEN_GROWTH`] for a writer told nothing of its fleet (`unaware`).
    pub(super) fn grow(&mut self, now: Instant, accepted: f64, unaware: bool) {
        let Some(rate) = self.rate else { return };
        // Probing speeds up the longer nothing is throttled, so a rate set too low (or a
        // quota that grew) is found again in seconds, not minutes.
        let calm = self
            .last_decrease
            .map_or(0.0, |at| now.saturating_duration_since(at).as_secs_f64());
        // Near the rate last throttled, the rate climbs slowly, to find out whether the
        // quota grew without hitting it hard; below it, the faster the longer the calm
        // lasts. Under a coordinator's share, it climbs back to the share quickly.
        let near_ceiling = self.ceiling.is_some_and(|ceiling| rate >= ceiling * MARGIN)
            && self.granted.is_none_or(|share| rate >= share);
        let speed = if near_ceiling {
            GROWTH / 3.0
        } else {
            GROWTH * (1.0 + calm.min(MAX_CALM))
        };
        let mut growth = speed * accepted;
        if unaware {
            let even = if near_ceiling {
                EVEN_GROWTH / 3.0
            } else {
                EVEN_GROWTH
            };
            growth = growth.max(even * accepted / rate.max(MIN_RATE));
        }
        let grown = rate + growth;
        self.rate = Some(grown);
    }
}
