//! Property tests: random entry sizes, limits and failures.
#![cfg(feature = "test-util")]
#![allow(clippy::unwrap_used, clippy::cast_possible_truncation)]

use std::collections::HashMap;

use batch_core::testing::{InMemoryBackend, TestPayload};
use batch_core::{Dispatcher, DispatcherConfig, Failure, RetryPolicy};
use proptest::prelude::*;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()
        .unwrap()
}

/// Requests that next-fit packing in submission order makes.
fn next_fit(sizes: &[usize], max_entries: usize, max_bytes: usize) -> usize {
    let (mut requests, mut count, mut bytes) = (0, 0, 0);
    for &size in sizes {
        if count == 0 || count == max_entries || bytes + size > max_bytes {
            requests += 1;
            count = 0;
            bytes = 0;
        }
        count += 1;
        bytes += size;
    }
    requests
}

#[derive(Debug, Clone)]
struct Case {
    max_entries: usize,
    max_request_bytes: usize,
    max_entry_bytes: usize,
    sizes: Vec<usize>,
}

fn case() -> impl Strategy<Value = Case> {
    (1_usize..=30, 1_usize..=5_000, 1_usize..=5_000).prop_flat_map(|(entries, request, entry)| {
        let largest = request.min(entry);
        proptest::collection::vec(1..=largest, 0..200).prop_map(move |sizes| Case {
            max_entries: entries,
            max_request_bytes: request,
            max_entry_bytes: entry,
            sizes,
        })
    })
}

fn config(case: &Case) -> DispatcherConfig {
    DispatcherConfig::default()
        .max_entries(case.max_entries)
        .max_request_bytes(case.max_request_bytes)
        .max_entry_bytes(case.max_entry_bytes)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn packing_respects_limits_and_matches_next_fit(case in case()) {
        let backend = InMemoryBackend::new();
        let dispatcher = Dispatcher::builder(backend.clone()).config(config(&case)).build().unwrap();
        let unprocessed = runtime().block_on(async {
            for (id, &size) in case.sizes.iter().enumerate() {
                dispatcher.submit_payload(TestPayload::new(id as u64, size)).await.unwrap();
            }
            dispatcher.flush_payloads().await
        });
        prop_assert!(unprocessed.is_empty());
        let requests = backend.requests();
        for request in &requests {
            prop_assert!(request.ids.len() <= case.max_entries);
            prop_assert!(request.bytes <= case.max_request_bytes);
        }
        prop_assert_eq!(
            requests.len(),
            next_fit(&case.sizes, case.max_entries, case.max_request_bytes)
        );
        let delivered = backend.delivered_ids();
        prop_assert_eq!(delivered, (0..case.sizes.len() as u64).collect::<Vec<_>>());
    }

    #[test]
    fn every_entry_ends_delivered_once_or_unprocessed(
        case in case(),
        faults in proptest::collection::vec((0_u64..200, 1_u32..4, any::<bool>()), 0..60),
        max_in_flight in 1_usize..6,
    ) {
        let backend = InMemoryBackend::new();
        for &(id, attempt, retryable) in &faults {
            let failure = if retryable {
                Failure::retryable("Throttled", "try again")
            } else {
                Failure::permanent("Invalid", "no")
            };
            backend.fail_entry(id, attempt, failure);
        }
        let config = config(&case)
            .max_in_flight(max_in_flight)
            .retry(RetryPolicy::default().max_attempts(3));
        let dispatcher = Dispatcher::builder(backend.clone()).config(config).build().unwrap();
        let unprocessed = runtime().block_on(async {
            for (id, &size) in case.sizes.iter().enumerate() {
                dispatcher.submit_payload(TestPayload::new(id as u64, size)).await.unwrap();
            }
            dispatcher.flush_payloads().await
        });
        let mut seen: HashMap<u64, usize> = HashMap::new();
        for id in backend.delivered_ids() {
            *seen.entry(id).or_default() += 1;
        }
        for item in &unprocessed {
            *seen.entry(item.payload.id).or_default() += 1;
            prop_assert_eq!(item.payload.size, case.sizes[item.payload.id as usize]);
        }
        prop_assert_eq!(seen.len(), case.sizes.len());
        prop_assert!(seen.values().all(|&n| n == 1), "an entry ended twice: {:?}", seen);
        for request in backend.requests() {
            prop_assert!(request.ids.len() <= case.max_entries);
            prop_assert!(request.bytes <= case.max_request_bytes);
        }
        prop_assert!(backend.max_in_flight_seen() <= max_in_flight);
        let stats = dispatcher.stats();
        prop_assert_eq!(stats.submitted, stats.delivered + stats.unprocessed);
    }
}

#[test]
fn next_fit_reference_is_right() {
    assert_eq!(next_fit(&[], 10, 100), 0);
    assert_eq!(next_fit(&[60, 60, 40], 10, 100), 2);
    assert_eq!(next_fit(&[1, 1, 1], 2, 100), 2);
}
