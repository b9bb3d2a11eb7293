//! The window of requests in flight: how many may be out at once, learned from the answers,
//! and the order in which waiting requests take the places it frees.
//!
//! A freed place goes to whichever waiting request looks first, unless some have waited
//! longer than [`OVERDUE`]: those go first, oldest first. A writer's batch sent again after
//! throttling (its budget running) is then never passed over for each freed place by
//! batches sealed after it until its budget ends; and the requests that come and go
//! quickly, at full windows, take a freed place without waiting for the oldest to wake.

use std::collections::VecDeque;

use std::time::Duration;

use tokio::time::Instant;

use super::{Pacer, Patience};

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
/// How long a request waits for a place in the window before no later one may pass it.
const OVERDUE: Duration = Duration::from_secs(1);

/// The window's size, the requests in it, and those waiting for a place, oldest first.
#[derive(Debug)]
pub(super) struct Window {
    pub(super) size: f64,
    max: f64,
    cut: Option<Instant>,
    in_flight: usize,
    /// The requests waiting for a place, by ticket, and since when, oldest first.
    waiting: VecDeque<(u64, Instant)>,
    next_ticket: u64,
}

impl Window {
    /// A window of at most `max_in_flight`, starting small when it `learns`.
    pub(super) fn new(max_in_flight: usize, learns: bool) -> Self {
        #[allow(clippy::cast_precision_loss)]
        let max = max_in_flight as f64;
        Self {
            size: if learns { INITIAL_WINDOW.min(max) } else { max },
            max,
            cut: None,
            in_flight: 0,
            waiting: VecDeque::new(),
            next_ticket: 0,
        }
    }

    /// Takes a place for `ticket` if one is free for it: the overdue waiters have the first
    /// places free, oldest first; any other, those left.
    fn try_enter(&mut self, ticket: u64, now: Instant) -> bool {
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let size = (self.size.floor() as usize).max(1);
        let free = size.saturating_sub(self.in_flight);
        let overdue = self
            .waiting
            .iter()
            .take_while(|(_, since)| now.saturating_duration_since(*since) >= OVERDUE)
            .count();
        let Some(place) = self.place_of(ticket) else {
            return false;
        };
        let enters = if place < overdue {
            place < free
        } else {
            free > overdue
        };
        if enters {
            self.waiting.remove(place);
            self.in_flight += 1;
        }
        enters
    }

    /// Where `ticket` is in the line, if it is in it.
    fn place_of(&self, ticket: u64) -> Option<usize> {
        self.waiting.iter().position(|&(t, _)| t == ticket)
    }

    /// Learns from the answer to the request of `pass`: cut on throttling (once per round
    /// trip: requests sent before a cut do not cut again); grown when the window, not the
    /// rate or demand, was the limit.
    pub(super) fn answered(&mut self, throttled: bool, pass: &Pass<'_>) {
        if throttled {
            if self.cut.is_none_or(|at| pass.reserved_at >= at) {
                self.size = (self.size * WINDOW_DECREASE).max(1.0);
                self.cut = Some(Instant::now());
            }
        } else {
            #[allow(clippy::cast_precision_loss)]
            let full = self.in_flight as f64 >= self.size.floor();
            // With its domains paced, a window that holds a round trip's worth of the
            // request's places already lets the rate through: it is not the limit.
            let round_trip = Instant::now().saturating_duration_since(pass.reserved_at);
            let short = pass.place.mul_f64(self.size.floor() - 1.0) <= round_trip;
            if !pass.limited && full && short {
                // Doubling per round trip while small and nothing was throttled yet, else
                // one more per round trip.
                let step = if self.cut.is_none() && self.size < SLOW_START_LIMIT {
                    1.0
                } else {
                    1.0 / self.size.floor().max(1.0)
                };
                self.size = (self.size + step).min(self.max);
            }
        }
    }
}

/// A request's place in the line for the window, given up if it is dropped before it
/// enters.
struct Ticket<'a> {
    pacer: &'a Pacer,
    number: u64,
    entered: bool,
}

impl Drop for Ticket<'_> {
    fn drop(&mut self) {
        if self.entered {
            return;
        }
        let mut state = self.pacer.lock();
        if let Some(place) = state.window.place_of(self.number) {
            state.window.waiting.remove(place);
            drop(state);
            // Those behind it move up.
            self.pacer.freed.notify_waiters();
        }
    }
}

/// A request's place in the window and the schedules, taken by
/// [`Pacer::admit`](super::Pacer::admit).
#[derive(Debug)]
pub(crate) struct Pass<'a> {
    pacer: &'a Pacer,
    /// When the request took its place in the schedules, at the rates of that moment.
    pub(super) reserved_at: Instant,
    /// Whether a schedule or cap was booked past the moment the request booked its place:
    /// the rate, not demand or the window, was the limit.
    pub(super) limited: bool,
    /// Whether the request went at a paced moment (a rate or cap was set when it booked):
    /// its domains' rates grow when it is accepted.
    pub(super) paced: bool,
    /// The longest its entries take at a domain's rate; zero while none is paced.
    pub(super) place: Duration,
}

impl Drop for Pass<'_> {
    fn drop(&mut self) {
        self.pacer.lock().window.in_flight -= 1;
        self.pacer.freed.notify_waiters();
    }
}

impl Pacer {
    /// Waits for a place in the window of requests in flight, behind those overdue; `None`
    /// once `patience` ends.
    pub(super) async fn enter_window(&self, patience: Patience) -> Option<Pass<'_>> {
        let mut ticket = {
            let mut state = self.lock();
            let number = state.window.next_ticket;
            state.window.next_ticket += 1;
            state.window.waiting.push_back((number, Instant::now()));
            Ticket {
                pacer: self,
                number,
                entered: false,
            }
        };
        loop {
            let freed = self.freed.notified();
            tokio::pin!(freed);
            freed.as_mut().enable();
            let until = {
                let mut state = self.lock();
                let until = self.give_up_at(&state, patience);
                if until.is_some_and(|until| Instant::now() >= until) {
                    return None;
                }
                if state.window.try_enter(ticket.number, Instant::now()) {
                    ticket.entered = true;
                    return Some(Pass {
                        pacer: self,
                        reserved_at: Instant::now(),
                        limited: false,
                        paced: false,
                        place: Duration::ZERO,
                    });
                }
                until
            };
            // Each request that leaves the window wakes the waiters, which look again: the
            // destination may have started refusing everything meanwhile.
            match until {
                Some(until) => {
                    tokio::select! {
                        () = freed => {}
                        () = tokio::time::sleep_until(until) => return None,
                    }
                }
                None => freed.await,
            }
        }
    }
}
