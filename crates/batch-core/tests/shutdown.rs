//! Stopping early: tags that identify what came back, abandoning requests in flight, the
//! counters a caller watches to stop feeding a failing destination, and a dispatcher dropped
//! without a flush.
#![cfg(feature = "test-util")]
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use batch_core::testing::{InMemoryBackend, TestPayload};
use batch_core::{
    ABANDONED, Dispatcher, DispatcherConfig, Failure, RetryPolicy, UnprocessedReason,
};
use tokio::time::{Instant, sleep};

fn dispatcher(config: DispatcherConfig) -> (InMemoryBackend, Dispatcher<InMemoryBackend>) {
    let backend = InMemoryBackend::new();
    let dispatcher = Dispatcher::builder(backend.clone())
        .config(config)
        .build()
        .unwrap();
    (backend, dispatcher)
}

#[tokio::test(start_paused = true)]
async fn tags_come_back_with_the_payloads_that_failed() {
    let (backend, dispatcher) = dispatcher(DispatcherConfig::default().max_entries(4));
    backend.fail_entry_always(3, Failure::permanent("InvalidParameterValue", "bad"));
    backend.fail_entry_always(6, Failure::permanent("InvalidParameterValue", "bad"));
    for id in 0..10 {
        dispatcher
            .submit_tagged(TestPayload::new(id, 1), 1_000 + id)
            .await
            .unwrap();
    }
    dispatcher
        .submit_payload(TestPayload::new(99, 1))
        .await
        .unwrap();
    backend.fail_entry_always(99, Failure::permanent("InvalidParameterValue", "bad"));
    let mut failed: Vec<(u64, Option<u64>)> = dispatcher
        .flush_payloads()
        .await
        .into_iter()
        .map(|item| (item.payload.id, item.tag))
        .collect();
    failed.sort_unstable();
    assert_eq!(failed, vec![(3, Some(1_003)), (6, Some(1_006)), (99, None)]);
}

#[tokio::test(start_paused = true)]
async fn abandon_hands_back_requests_on_the_wire_and_in_backoff_at_once() {
    let retry = RetryPolicy::default()
        .max_attempts(10)
        .initial_backoff(Duration::from_secs(60))
        .max_backoff(Duration::from_secs(60));
    let (backend, dispatcher) = dispatcher(
        DispatcherConfig::default()
            .max_entries(5)
            .max_in_flight(2)
            .retry(retry),
    );
    backend.delay(Duration::from_secs(30));
    // Ids 0-4 fail and wait a minute to retry; ids 5-9 are on the wire for 30 s.
    for id in 0..5 {
        backend.fail_entry(
            id,
            1,
            Failure::retryable("ThrottlingException", "slow down"),
        );
    }
    for id in 0..12 {
        dispatcher
            .submit_tagged(TestPayload::new(id, 1), id)
            .await
            .unwrap();
    }
    sleep(Duration::from_secs(31)).await;
    let started = Instant::now();
    dispatcher.abandon();
    let failed = dispatcher.flush_payloads().await;
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "abandoned in {:?}",
        started.elapsed()
    );
    let mut ids: Vec<u64> = failed.iter().map(|item| item.payload.id).collect();
    ids.sort_unstable();
    // 5-9 were delivered before the abandon; 0-4 were waiting to retry, 10-11 were pending.
    assert_eq!(ids, vec![0, 1, 2, 3, 4, 10, 11]);
    assert!(failed.iter().all(|item| {
        item.error.reason == UnprocessedReason::Abandoned
            && item.error.code() == ABANDONED
            && item.error.is_retryable()
            && item.tag == Some(item.payload.id)
    }));
    assert_eq!(backend.attempts_of(0), 1, "no retry after the abandon");
    assert_eq!(backend.attempts_of(10), 0, "pending payloads are not sent");

    // Once that flush has returned, the dispatcher sends again.
    dispatcher
        .submit_payload(TestPayload::new(50, 1))
        .await
        .unwrap();
    assert!(dispatcher.flush_payloads().await.is_empty());
    assert_eq!(backend.attempts_of(50), 1);
}

#[tokio::test(start_paused = true)]
async fn abandon_cancels_a_request_on_the_wire() {
    let (backend, dispatcher) = dispatcher(DispatcherConfig::default().max_entries(3));
    backend.delay(Duration::from_secs(3_600));
    for id in 0..3 {
        dispatcher
            .submit_payload(TestPayload::new(id, 1))
            .await
            .unwrap();
    }
    sleep(Duration::from_secs(1)).await;
    assert_eq!(backend.in_flight(), 1);
    dispatcher.abandon();
    let failed = dispatcher.flush_payloads().await;
    assert_eq!(failed.len(), 3);
    assert!(
        failed.iter().all(
            |item| item.error.attempts == 1 && item.error.message().contains("may have stored")
        )
    );
    assert_eq!(dispatcher.stats().unprocessed, 3);
}

#[tokio::test(start_paused = true)]
async fn whole_request_failures_in_a_row_are_counted_apart_from_throttling() {
    let retry = RetryPolicy::default()
        .max_attempts(2)
        .initial_backoff(Duration::from_millis(1));
    let (backend, dispatcher) = dispatcher(
        DispatcherConfig::default()
            .max_entries(2)
            .adaptive(false)
            .retry(retry),
    );
    backend.fail_request(1, Failure::retryable("ThrottlingException", "slow down"));
    backend.fail_request(2, Failure::retryable("ThrottlingException", "slow down"));
    for id in 0..2 {
        dispatcher
            .submit_payload(TestPayload::new(id, 1))
            .await
            .unwrap();
    }
    assert_eq!(dispatcher.flush_payloads().await.len(), 2);
    let stats = dispatcher.stats();
    assert_eq!(
        (
            stats.throttled,
            stats.requests_failed,
            stats.requests_failed_in_a_row
        ),
        (4, 0, 0),
        "throttling is not a failing destination"
    );

    backend.fail_every_request(Failure::retryable("DispatchFailure", "connection refused"));
    for id in 10..16 {
        dispatcher
            .submit_payload(TestPayload::new(id, 1))
            .await
            .unwrap();
    }
    assert_eq!(dispatcher.flush_payloads().await.len(), 6);
    let stats = dispatcher.stats();
    assert_eq!(
        (stats.requests_failed, stats.requests_failed_in_a_row),
        (6, 6)
    );
}

#[tokio::test]
async fn a_dropped_dispatcher_sends_what_it_held_in_the_background() {
    let (backend, dispatcher) = dispatcher(DispatcherConfig::default().max_entries(10));
    for id in 0..25 {
        dispatcher
            .submit_payload(TestPayload::new(id, 1))
            .await
            .unwrap();
    }
    drop(dispatcher);
    for _ in 0..200 {
        if backend.delivered_ids().len() == 25 {
            break;
        }
        sleep(Duration::from_millis(5)).await;
    }
    let mut delivered = backend.delivered_ids();
    delivered.sort_unstable();
    assert_eq!(delivered, (0..25).collect::<Vec<_>>());
}

#[test]
fn a_dispatcher_dropped_outside_a_runtime_does_not_panic() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    let (backend, dispatcher) = dispatcher_outside(&runtime);
    drop(runtime);
    drop(dispatcher);
    assert!(backend.delivered_ids().is_empty());
}

fn dispatcher_outside(
    runtime: &tokio::runtime::Runtime,
) -> (InMemoryBackend, Dispatcher<InMemoryBackend>) {
    runtime.block_on(async {
        let (backend, dispatcher) = dispatcher(DispatcherConfig::default());
        dispatcher
            .submit_payload(TestPayload::new(1, 1))
            .await
            .unwrap();
        (backend, dispatcher)
    })
}
