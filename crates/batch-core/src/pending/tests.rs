//! Packing without a runtime: unit and property tests of the pending batch.
#![cfg(all(test, feature = "test-util"))]

use super::*;
use crate::testing::{InMemoryBackend, TestPayload};
use proptest::prelude::*;

fn item(payload: TestPayload) -> Item<InMemoryBackend> {
    Item {
        tag: None,
        scope: None,
        entry: payload.clone(),
        size: payload.size,
        ordering_key: payload.ordering_key.clone(),
        grouping: match (&payload.dedup_key, &payload.merge_key) {
            (_, Some(key)) => Grouping::Merge {
                key: key.clone(),
                merged_size: 1,
            },
            (Some(key), None) => Grouping::Dedup(vec![key.clone()]),
            (None, None) => Grouping::None,
        },
        slot: 0,
        failures: 0,
        payload,
    }
}

fn payload() -> impl Strategy<Value = TestPayload> {
    (
        1..400usize,
        proptest::option::of(0..6u8),
        proptest::option::of(0..4u8),
    )
        .prop_map(|(size, dedup, merge)| {
            let mut p = TestPayload::new(0, size);
            if let Some(key) = dedup {
                p = p.dedup(format!("d{key}"));
            }
            // A backend uses merge keys or dedup keys, never both on one entry.
            if let (None, Some(key)) = (dedup, merge) {
                p = p.merged_by(format!("m{key}"));
            }
            p
        })
}

/// A backend whose ordering keys allow one request entry per key in a request.
struct OneEntryPerKey;

impl Backend for OneEntryPerKey {
    type Payload = TestPayload;
    type Entry = TestPayload;
    type Error = std::io::Error;
    const SPEC: crate::ServiceSpec =
        crate::ServiceSpec::new("one-per-key", Limits::new(10, 1_000, 1_000))
            .keeps_order_within_request(false);
    fn prepare(&self, _: &TestPayload) -> Result<Prepared<TestPayload>, crate::SubmitErrorKind> {
        unreachable!("items are built by hand")
    }
    async fn send_batch(
        &self,
        _: &[crate::BatchEntry<'_, Self>],
    ) -> Result<Vec<crate::EntryOutcome>, std::io::Error> {
        unreachable!("nothing is sent")
    }
    fn classify(&self, _: &std::io::Error) -> crate::Failure {
        unreachable!("nothing is sent")
    }
}

fn merged<B: Backend<Payload = TestPayload, Entry = TestPayload>>(
    id: u64,
    ordering_key: &str,
) -> Item<B> {
    let payload = TestPayload::new(id, 20)
        .merged_by("m")
        .ordered_by(ordering_key);
    Item {
        tag: None,
        scope: None,
        entry: payload.clone(),
        size: 20,
        ordering_key: Some(ordering_key.to_owned()),
        grouping: payload
            .merge_key
            .clone()
            .map_or(Grouping::None, |key| Grouping::Merge {
                key,
                merged_size: 20,
            }),
        slot: 0,
        failures: 0,
        payload,
    }
}

fn added<B: Backend>(pending: &mut Pending<B>, item: Item<B>) -> bool {
    matches!(pending.try_add(item), Added::Done { .. })
}

#[test]
fn a_merged_entry_keeps_its_byte_limit_counting_its_overhead_once() {
    let merge = MergeLimit::new(10).bytes(70).overhead(5);
    let limits = Limits::new(10, 1_000, 1_000);
    let mut pending = Pending::<OneEntryPerKey>::new(DedupPolicy::Off, limits, merge);
    for id in 0..4 {
        assert!(added(&mut pending, merged(id, &format!("k{id}"))));
    }
    // 20, + 5 + 20, + 20 = 65; a fourth would make 85 > 70: it opens a second entry.
    let slots: Vec<usize> = pending.items.iter().map(|i| i.slot).collect();
    assert_eq!(slots, vec![0, 0, 0, 1]);
    assert_eq!(pending.bytes, 85);
}

#[test]
fn a_batch_of_merged_entries_goes_at_its_batch_bytes() {
    let merge = MergeLimit::new(2).batch_bytes(70);
    let limits = Limits::new(10, 1_000, 1_000);
    let mut pending = Pending::<OneEntryPerKey>::new(DedupPolicy::Off, limits, merge);
    for id in 0..3 {
        assert!(added(&mut pending, merged(id, &format!("k{id}"))));
    }
    // 60 bytes held: a fourth merged entry would make 80, past 70.
    assert!(!added(&mut pending, merged(3, "k3")));
    assert_eq!(pending.take().len(), 3);
    assert!(added(&mut pending, merged(3, "k3")));
}

#[test]
fn a_key_may_fill_one_merged_entry_but_not_two() {
    let merge = MergeLimit::new(2);
    let limits = Limits::new(10, 1_000, 1_000);
    let mut pending = Pending::<OneEntryPerKey>::new(DedupPolicy::Off, limits, merge);
    assert!(added(&mut pending, merged(0, "k")));
    assert!(added(&mut pending, merged(1, "k")), "same merged entry");
    // The merged entry is full: a third of key k would be a second request entry.
    assert!(!added(&mut pending, merged(2, "k")));
    assert!(added(&mut pending, merged(3, "other")));
}

proptest! {
    /// Packing alone, without a runtime: every batch within the limits, no two entries of
    /// one dedup key in a batch, and every payload in a batch or counted as a duplicate.
    #[test]
    fn batches_keep_the_limits_and_account_for_every_payload(
        payloads in proptest::collection::vec(payload(), 1..200),
        keep_last in any::<bool>(),
    ) {
        let limits = Limits::new(10, 1_000, 1_000);
        let policy = if keep_last { DedupPolicy::KeepLast } else { DedupPolicy::KeepFirst };
        let mut pending = Pending::<InMemoryBackend>::new(policy, limits, MergeLimit::new(3));
        let mut batches = Vec::new();
        let mut duplicates = 0;
        let count = payloads.len();
        for (id, mut p) in payloads.into_iter().enumerate() {
            p.id = id as u64;
            let mut next = item(p);
            loop {
                match pending.try_add(next) {
                    Added::Done { duplicates: d, .. } => {
                        duplicates += d;
                        break;
                    }
                    Added::NoRoom { item, duplicates: d } => {
                        duplicates += d;
                        prop_assert!(!pending.is_empty(), "an empty batch takes any entry");
                        batches.push(pending.take());
                        next = item;
                    }
                }
            }
        }
        batches.push(pending.take());
        let mut seen = 0;
        for batch in &batches {
            seen += batch.len();
            let mut keys = std::collections::HashSet::new();
            for item in batch {
                for key in item.dedup_keys() {
                    prop_assert!(keys.insert(key.clone()), "one entry per dedup key");
                }
            }
            // Merged entries count once (up to 3 per key) and add 1 byte each.
            let mut merged: HashMap<&str, usize> = HashMap::new();
            let (mut slots, mut bytes) = (0, 0);
            for item in batch {
                match item.merge_key() {
                    Some(key) if merged.get(key).is_some_and(|&n| n < 3) => {
                        *merged.entry(key).or_default() += 1;
                        bytes += 1;
                    }
                    key => {
                        if let Some(key) = key {
                            merged.insert(key, 1);
                        }
                        slots += 1;
                        bytes += item.size;
                    }
                }
            }
            prop_assert!(slots <= limits.max_entries && bytes <= limits.max_request_bytes);
        }
        prop_assert_eq!(seen + duplicates, count);
    }
}

#[test]
fn entries_deduplicated_by_their_ordering_key_keep_the_last_of_a_key_and_none_without_one() {
    let keyed = |id: u64, key: Option<&str>| {
        let mut item = item(TestPayload::new(id, 10));
        item.ordering_key = key.map(str::to_owned);
        item.grouping = Grouping::DedupByOrderingKey;
        item
    };
    let mut pending = Pending::<InMemoryBackend>::new(
        DedupPolicy::KeepLast,
        Limits::new(10, 1_000, 1_000),
        MergeLimit::new(1),
    );
    assert!(added(&mut pending, keyed(1, Some("a"))));
    assert!(added(&mut pending, keyed(2, Some("b"))));
    assert!(matches!(
        pending.try_add(keyed(3, Some("a"))),
        Added::Done { duplicates: 1, .. }
    ));
    // No ordering key: no duplicates, however many.
    assert!(added(&mut pending, keyed(4, None)));
    assert!(matches!(
        pending.try_add(keyed(5, None)),
        Added::Done { duplicates: 0, .. }
    ));
    let ids: Vec<u64> = pending.take().iter().map(|item| item.payload.id).collect();
    assert_eq!(ids, [3, 2, 4, 5]);
}
