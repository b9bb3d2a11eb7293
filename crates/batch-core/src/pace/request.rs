//! A request as the pacer sees it: its request entries (merged ones as one), each in its
//! throttling domain, and what the service answered for each domain.

use std::collections::HashMap;

use crate::backend::{Backend, Domains};
use crate::failure::{EntryOutcome, FailureKind};
use crate::pending::Item;

/// What one request takes of one domain: request entries (weighted by size where the
/// domain counts bytes: [`Domains::entry_bytes`]),
/// the payloads in them, and bytes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Share {
    pub(crate) domain: u64,
    pub(crate) units: f64,
    pub(crate) payloads: usize,
    pub(crate) bytes: usize,
    /// The domain's documented rate, if any ([`Domains::rate`]).
    pub(crate) known_rate: Option<f64>,
}

/// What the service did with one request's entries of one domain, in the units of
/// [`Share::units`].
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct Answer {
    pub(crate) accepted: f64,
    pub(crate) throttled: f64,
}

/// One request entry as the pacer sees it: entries merged into one (a slot) go, and are
/// answered, as one.
#[derive(Debug, Clone, Copy)]
struct Slot {
    slot: usize,
    domain: u64,
    payloads: usize,
    bytes: usize,
    /// The index of its first payload in the request.
    first: usize,
}

/// A request's entries, their domains and sizes, read once per attempt: for the pacer before
/// it goes and for what it learns from the answer.
pub(crate) struct Request {
    slots: Vec<Slot>,
}

impl Request {
    pub(crate) fn of<B: Backend>(backend: &B, items: &[Item<B>]) -> Self {
        let mut slots: Vec<Slot> = Vec::with_capacity(items.len());
        // Items of one slot are not always next to each other; most requests have no merged
        // entries and their slots only grow, so the index is only built once a slot comes
        // out of order.
        let mut index: Option<HashMap<usize, usize>> = None;
        let overhead = backend.merge_limit().overhead;
        for (i, item) in items.iter().enumerate() {
            let found = match slots.last() {
                None => None,
                Some(last) if last.slot == item.slot => Some(slots.len() - 1),
                Some(last) if index.is_none() && item.slot > last.slot => None,
                Some(_) => index
                    .get_or_insert_with(|| {
                        slots
                            .iter()
                            .enumerate()
                            .map(|(at, s)| (s.slot, at))
                            .collect()
                    })
                    .get(&item.slot)
                    .copied(),
            };
            match found {
                Some(at) => {
                    let slot = &mut slots[at];
                    if slot.payloads == 1 {
                        slot.bytes += overhead;
                    }
                    slot.payloads += 1;
                    slot.bytes += item.merged_size();
                }
                None => {
                    if let Some(index) = &mut index {
                        index.insert(item.slot, slots.len());
                    }
                    slots.push(Slot {
                        slot: item.slot,
                        domain: backend
                            .domains()
                            .map_or(0, |domains| domains.domain(&item.batch_entry())),
                        payloads: 1,
                        bytes: item.size,
                        first: i,
                    });
                }
            }
        }
        Self { slots }
    }

    /// Each domain's share of the request.
    pub(crate) fn shares<B: Backend>(&self, backend: &B) -> Vec<Share> {
        let domains = backend.domains();
        let unit_bytes = domains.and_then(Domains::entry_bytes);
        let mut shares: Vec<Share> = Vec::new();
        for slot in &self.slots {
            let units = units(slot.bytes, unit_bytes);
            match shares.iter_mut().find(|share| share.domain == slot.domain) {
                Some(share) => {
                    share.units += units;
                    share.payloads += slot.payloads;
                    share.bytes += slot.bytes;
                }
                None => shares.push(Share {
                    domain: slot.domain,
                    units,
                    payloads: slot.payloads,
                    bytes: slot.bytes,
                    known_rate: domains.and_then(|domains| domains.rate(slot.domain)),
                }),
            }
        }
        shares
    }

    /// What the service did with each domain's entries, and how many payloads it accepted.
    pub(crate) fn answers<B: Backend>(
        &self,
        backend: &B,
        outcomes: &[EntryOutcome],
    ) -> (Vec<(u64, Answer)>, usize) {
        let unit_bytes = backend.domains().and_then(Domains::entry_bytes);
        let mut answers: Vec<(u64, Answer)> = Vec::new();
        let mut accepted_payloads = 0;
        for slot in &self.slots {
            let at = match answers.iter().position(|(d, _)| *d == slot.domain) {
                Some(at) => at,
                None => {
                    answers.push((slot.domain, Answer::default()));
                    answers.len() - 1
                }
            };
            let units = units(slot.bytes, unit_bytes);
            match outcomes.get(slot.first) {
                Some(EntryOutcome::Delivered) => {
                    answers[at].1.accepted += units;
                    accepted_payloads += slot.payloads;
                }
                Some(EntryOutcome::Failed(failure)) if failure.kind == FailureKind::Throttling => {
                    answers[at].1.throttled += units;
                }
                _ => {}
            }
        }
        (answers, accepted_payloads)
    }
}

/// What an entry of `bytes` counts in its domain's rate.
pub(super) fn units(bytes: usize, unit_bytes: Option<usize>) -> f64 {
    #[allow(clippy::cast_precision_loss)]
    match unit_bytes {
        Some(unit) if unit > 0 && bytes > unit => bytes as f64 / unit as f64,
        _ => 1.0,
    }
}
