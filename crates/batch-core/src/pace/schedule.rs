//! A request's place in its domains' schedules and the user's caps: booked just in time,
//! at the rates of the moment, a fleet's grant dividing documented rates and quotas.

use std::time::Duration;

use tokio::time::Instant;

use super::domain::{Domain, MIN_RATE};
use super::{Pacer, Share};
use crate::coordinate::{GRANT_MARGIN, Grant};

/// How late in its place in a domain's schedule a request may go, chosen by chance, as a
/// share of the time its entries take at the domain's rate.
const JITTER: f64 = 0.4;
/// The longest place the chance moment is taken in: a long place (a large request at a
/// small rate) does not delay its request by more than `JITTER` of this.
const JITTER_SPAN: Duration = Duration::from_secs(1);
/// How much earlier than its place's own length a request may book it.
const BOOKING_SLACK: Duration = Duration::from_millis(5);
/// The longest a first attempt may hold a domain's schedule at this writer's rate; a
/// longer one is sent in pieces. A writer with a small share of a quota (one of 50 on a
/// Kinesis stream: 20 records a second of a shard) would otherwise send 500 records every
/// 13 seconds: lumps a quarter of a shard's second that, from writers at chance moments,
/// overflow the shard while it is idle on average, and a share measured in lumps.
pub(crate) const LONGEST_PLACE: Duration = Duration::from_secs(2);
/// A request's booked place.
#[derive(Debug, Clone, Copy)]
pub(super) struct Slot {
    /// When it may go.
    pub(super) go: Instant,
    /// Whether a schedule or cap was booked past the moment it booked: the rate, not demand
    /// or the window, was the limit. The chance moment in its place alone is not.
    pub(super) limited: bool,
    /// The longest its entries take at a domain's rate: no more than one round trip's
    /// worth of such places need be in flight at once.
    pub(super) place: Duration,
}

/// Why a request did not book its place.
#[derive(Debug, Clone, Copy)]
pub(super) enum Booking {
    /// Its place would start after its patience ends.
    PastPatience,
    /// Its place in a domain would be longer than [`LONGEST_PLACE`]: the share of it
    /// that fits is to go first.
    Split(f64),
    /// The schedules are booked too far ahead: it may book from then.
    From(Instant),
}

impl Pacer {
    /// Reserves `shares` and returns when the request may go (its [`Slot`]); `Err`,
    /// reserving nothing, when that is after `until` or, for a first attempt (not a `retry`),
    /// when a domain's schedule is booked further ahead than this request's own place:
    /// entries sent again book at once, ahead of new ones, so that their budget is not spent
    /// behind them.
    /// With a fleet's `grant`, documented rates and the fleet's quota are divided by its
    /// live writers. A request that `may_split` and would hold a domain longer than
    /// [`LONGEST_PLACE`] reserves nothing and is told what share of it to send first.
    pub(super) fn reserve(
        &self,
        shares: &[Share],
        now: Instant,
        until: Option<Instant>,
        (retry, may_split): (bool, bool),
        grant: Option<Grant>,
    ) -> Result<Slot, Booking> {
        let mut state = self.lock();
        let payloads: usize = shares.iter().map(|s| s.payloads).sum();
        let bytes: usize = shares.iter().map(|s| s.bytes).sum();
        // A writer's part of the fleet's rates: divided by the live writers a coordinator
        // counts, or by the fleet size the user gave.
        #[allow(clippy::cast_precision_loss)]
        let part = |rate: f64| match grant {
            Some(grant) => rate / grant.writers as f64 * GRANT_MARGIN,
            None => rate / self.caps.fleet_size,
        };
        let in_fleet = grant.map_or(self.caps.fleet_size > 1.0, |grant| grant.writers > 1);
        let records_cap = match (self.caps.records_per_second, grant.and_then(|g| g.quota)) {
            (cap, Some(quota)) => Some(cap.map_or(part(quota), |cap| cap.min(part(quota)))),
            (cap, None) => cap,
        };
        let mut slot = Slot {
            go: now,
            limited: false,
            place: Duration::ZERO,
        };
        let mut book_from = now;
        let mut longest = Duration::ZERO;
        for share in shares {
            // A documented rate is the whole destination's: this writer's share of it.
            // Without a documented rate, a fleet's quota is the destination's.
            let known_rate = share
                .known_rate
                .or(grant.and_then(|grant| grant.quota))
                .filter(|_| self.learns)
                .map(part);
            let domain = state.domains.entry(share.domain).or_insert_with(|| {
                let mut domain = Domain::new(now, known_rate);
                // A fleet started together spreads its first requests over the time one
                // of them takes at its share, rather than sending them all at once.
                if let Some(rate) = known_rate.filter(|_| in_fleet) {
                    let place = per(share.units, rate).min(LONGEST_PLACE);
                    domain.free_at = now + place.mul_f64(fastrand::f64());
                }
                domain
            });
            if let Some(granted) = known_rate.filter(|_| grant.is_some()) {
                domain.hold_to(granted);
            }
            if let Some(rate) = domain.rate {
                // A request goes at a moment taken by chance early in its place, so that
                // writers paced alike do not keep sending at the same moments, the later
                // ones always meeting an emptied quota; the places themselves keep the rate.
                let place = per(share.units, rate);
                if share.units > 1.0 {
                    longest = longest.max(place);
                }
                slot.place = slot.place.max(place);
                let offset = place.min(JITTER_SPAN).mul_f64(JITTER * fastrand::f64());
                slot.limited |= domain.free_at > now;
                slot.go = slot.go.max(domain.free_at.max(now) + offset);
                // Places are booked just in time, one after another: a request booked
                // seconds ahead would go at the rate of when it booked, after a throttle
                // has cut it, and hold its batch past its budget at a small share.
                let lead = place.mul_f64(1.0 + JITTER) + BOOKING_SLACK;
                book_from = book_from.max(domain.free_at.checked_sub(lead).unwrap_or(now));
            }
        }
        if may_split && longest > LONGEST_PLACE {
            return Err(Booking::Split(LONGEST_PLACE.div_duration_f64(longest)));
        }
        if records_cap.is_some() {
            slot.limited |= state.records_cap_free > now;
            slot.go = slot.go.max(state.records_cap_free);
        }
        if self.caps.bytes_per_second.is_some() {
            slot.limited |= state.bytes_cap_free > now;
            slot.go = slot.go.max(state.bytes_cap_free);
        }
        if until.is_some_and(|until| slot.go > until) {
            return Err(Booking::PastPatience);
        }
        if book_from > now && !retry {
            return Err(Booking::From(book_from));
        }
        for share in shares {
            if let Some(domain) = state.domains.get_mut(&share.domain) {
                domain.last_reserved = now;
                if let Some(rate) = domain.rate {
                    domain.free_at = domain.free_at.max(now) + per(share.units, rate);
                }
            }
        }
        if let Some(rate) = records_cap {
            #[allow(clippy::cast_precision_loss)]
            let payloads = payloads as f64;
            state.records_cap_free = state.records_cap_free.max(now) + per(payloads, rate);
        }
        if let Some(rate) = self.caps.bytes_per_second {
            #[allow(clippy::cast_precision_loss)]
            let bytes = bytes as f64;
            state.bytes_cap_free = state.bytes_cap_free.max(now) + per(bytes, rate);
        }
        Ok(slot)
    }
}

/// The time `count` units take at `rate` per second.
pub(super) fn per(count: f64, rate: f64) -> Duration {
    let seconds = count / rate.max(MIN_RATE);
    Duration::try_from_secs_f64(seconds).unwrap_or(Duration::MAX)
}
