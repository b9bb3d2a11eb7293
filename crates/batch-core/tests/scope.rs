//! Scopes: units of work that share a dispatcher's batches and each flush only their own
//! payloads, within a time budget when asked.
#![cfg(feature = "test-util")]
#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use batch_core::testing::{InMemoryBackend, TestPayload};
use batch_core::{Dispatcher, DispatcherConfig, Failure, UnprocessedReason};
use tokio::time::Instant;

fn dispatcher(config: DispatcherConfig) -> (InMemoryBackend, Arc<Dispatcher<InMemoryBackend>>) {
    let backend = InMemoryBackend::new();
    let dispatcher = Dispatcher::builder(backend.clone())
        .config(config)
        .build()
        .unwrap();
    (backend, Arc::new(dispatcher))
}

fn ids<P>(failed: &[batch_core::Unprocessed<P>]) -> BTreeSet<u64> {
    failed.iter().filter_map(|item| item.tag).collect()
}

#[tokio::test(start_paused = true)]
async fn a_scope_flush_does_not_wait_for_another_scopes_slow_request() {
    let (backend, dispatcher) = dispatcher(DispatcherConfig::default().max_in_flight(4));
    backend.delay_entry(1, Duration::from_secs(10));
    let slow = dispatcher.scope();
    slow.submit_tagged(TestPayload::new(1, 10), 1)
        .await
        .unwrap();
    let started = Instant::now();
    let slow_flush =
        tokio::spawn(async move { (slow.flush_payloads().await.len(), Instant::now()) });
    tokio::task::yield_now().await;
    let fast = dispatcher.scope();
    fast.submit_tagged(TestPayload::new(2, 10), 2)
        .await
        .unwrap();
    assert!(fast.flush_payloads().await.is_empty());
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    let (slow_failed, slow_done) = slow_flush.await.unwrap();
    assert_eq!(slow_failed, 0);
    assert!(slow_done - started >= Duration::from_secs(10));
    assert_eq!(backend.delivered_ids().len(), 2);
}

#[tokio::test(start_paused = true)]
async fn scopes_share_requests_and_each_gets_exactly_its_own_failures() {
    let (backend, dispatcher) = dispatcher(DispatcherConfig::default().max_entries(10));
    let scopes: Vec<_> = (0..8).map(|_| dispatcher.scope()).collect();
    let mut failing = vec![BTreeSet::new(); scopes.len()];
    for round in 0..5u64 {
        for (n, scope) in scopes.iter().enumerate() {
            let id = round * 100 + n as u64;
            if id % 7 == 3 {
                backend.fail_entry_always(id, Failure::permanent("ValidationException", "no"));
                failing[n].insert(id);
            }
            scope
                .submit_tagged(TestPayload::new(id, 10), id)
                .await
                .unwrap();
        }
    }
    let flushes: Vec<_> = scopes
        .into_iter()
        .map(|scope| tokio::spawn(async move { ids(&scope.flush_payloads().await) }))
        .collect();
    for (n, flush) in flushes.into_iter().enumerate() {
        assert_eq!(flush.await.unwrap(), failing[n], "scope {n}");
    }
    // 40 payloads of 8 scopes in requests of 10: packed together, not one request per scope.
    assert_eq!(backend.requests().len(), 4);
    assert!(dispatcher.flush_payloads().await.is_empty());
}

#[tokio::test(start_paused = true)]
async fn a_scope_out_of_time_hands_back_its_payloads_in_flight_and_still_pending() {
    // One request slot, held by a request that hangs: the scope's second batch cannot even
    // be sealed before its budget runs out.
    let (backend, dispatcher) =
        dispatcher(DispatcherConfig::default().max_entries(2).max_in_flight(1));
    backend.delay_entry(1, Duration::from_secs(600));
    let other = dispatcher.scope();
    let mine = dispatcher.scope();
    mine.submit_tagged(TestPayload::new(1, 10), 1)
        .await
        .unwrap();
    other
        .submit_tagged(TestPayload::new(2, 10), 2)
        .await
        .unwrap();
    // The batch of 1 and 2 is full and on the wire; 3 and 4 wait for the slot.
    mine.submit_tagged(TestPayload::new(3, 10), 3)
        .await
        .unwrap();
    other
        .submit_tagged(TestPayload::new(4, 10), 4)
        .await
        .unwrap();
    let started = Instant::now();
    let failed = mine.flush_payloads_within(Duration::from_secs(2)).await;
    let took = started.elapsed();
    assert!(
        took >= Duration::from_secs(2) && took < Duration::from_secs(3),
        "{took:?}"
    );
    assert_eq!(ids(&failed), BTreeSet::from([1, 3]));
    assert!(
        failed
            .iter()
            .all(|f| f.error.reason == UnprocessedReason::Abandoned)
    );
    // The other scope's payload in the stopped request comes back to it; its pending one
    // stayed pending and is delivered.
    let theirs = other.flush_payloads().await;
    assert_eq!(ids(&theirs), BTreeSet::from([2]));
    assert_eq!(theirs[0].error.reason, UnprocessedReason::Abandoned);
    assert!(backend.delivered_ids().contains(&4));
    assert!(!backend.delivered_ids().contains(&3));
}

#[tokio::test(start_paused = true)]
async fn out_of_time_a_scope_leaves_shared_requests_running_and_names_its_payloads_in_them() {
    let (backend, dispatcher) =
        dispatcher(DispatcherConfig::default().max_entries(2).max_in_flight(4));
    // Every request takes 5 s: the scope's budget of 2 s runs out with all of them on the
    // wire.
    backend.delay(Duration::from_secs(5));
    let (mine, other) = (dispatcher.scope(), dispatcher.scope());
    // A request of 1 (mine) and 2 (theirs), shared; a request of 3 and 5, mine alone.
    mine.submit_tagged(TestPayload::new(1, 10), 1)
        .await
        .unwrap();
    other
        .submit_tagged(TestPayload::new(2, 10), 2)
        .await
        .unwrap();
    mine.submit_tagged(TestPayload::new(3, 10), 3)
        .await
        .unwrap();
    mine.submit_tagged(TestPayload::new(5, 10), 5)
        .await
        .unwrap();
    let started = Instant::now();
    let flushed = mine.flush_within(Duration::from_secs(2)).await;
    let took = started.elapsed();
    assert!(
        took >= Duration::from_secs(2) && took < Duration::from_secs(3),
        "{took:?}"
    );
    // Its own request is stopped and handed back; its payload in the shared one is named.
    assert_eq!(ids(&flushed.unprocessed), BTreeSet::from([3, 5]));
    assert!(
        flushed
            .unprocessed
            .iter()
            .all(|f| f.error.reason == UnprocessedReason::Abandoned)
    );
    assert_eq!(flushed.in_flight, vec![Some(1)]);
    assert!(!flushed.all_delivered());
    // The shared request goes on: the other scope's payload is delivered, not abandoned,
    // and so is the in-flight one.
    assert!(other.flush_payloads().await.is_empty());
    assert_eq!(
        backend.delivered_ids().into_iter().collect::<BTreeSet<_>>(),
        BTreeSet::from([1, 2])
    );
    assert!(
        mine.flush_payloads().await.is_empty(),
        "nothing came back later"
    );
}

#[tokio::test(start_paused = true)]
async fn a_shared_request_is_stopped_once_every_scope_in_it_is_out_of_time() {
    let (backend, dispatcher) =
        dispatcher(DispatcherConfig::default().max_entries(2).max_in_flight(4));
    backend.delay(Duration::from_secs(600));
    let (first, last) = (dispatcher.scope(), dispatcher.scope());
    first
        .submit_tagged(TestPayload::new(1, 10), 1)
        .await
        .unwrap();
    last.submit_tagged(TestPayload::new(2, 10), 2)
        .await
        .unwrap();
    let (early, late) = tokio::join!(
        first.flush_within(Duration::from_secs(1)),
        last.flush_within(Duration::from_secs(2)),
    );
    // The first leaves it running for the last; the last, out of time too, stops it.
    assert_eq!(early.in_flight, vec![Some(1)]);
    assert!(early.unprocessed.is_empty());
    assert_eq!(ids(&late.unprocessed), BTreeSet::from([2]));
    assert!(late.in_flight.is_empty());
    // The first's payload, named in flight, is not handed back a second time.
    assert!(first.flush_payloads().await.is_empty());
    assert!(dispatcher.flush_payloads().await.is_empty());
    assert!(backend.delivered_ids().is_empty());
}

#[tokio::test(start_paused = true)]
async fn an_in_flight_payload_that_fails_later_is_not_handed_back_twice() {
    let (backend, dispatcher) =
        dispatcher(DispatcherConfig::default().max_entries(2).max_in_flight(4));
    backend.delay(Duration::from_secs(5));
    backend.fail_entry_always(1, Failure::permanent("ValidationException", "no"));
    let (mine, other) = (dispatcher.scope(), dispatcher.scope());
    mine.submit_tagged(TestPayload::new(1, 10), 1)
        .await
        .unwrap();
    other
        .submit_tagged(TestPayload::new(2, 10), 2)
        .await
        .unwrap();
    let flushed = mine.flush_within(Duration::from_secs(1)).await;
    assert_eq!(flushed.in_flight, vec![Some(1)]);
    drop(mine);
    assert!(other.flush_payloads().await.is_empty());
    // Named in flight, then failed: the caller has it already.
    assert!(dispatcher.flush_payloads().await.is_empty());
    assert_eq!(backend.delivered_ids(), vec![2]);
}

#[tokio::test(start_paused = true)]
async fn a_dropped_scope_leaves_its_failures_to_the_dispatcher() {
    let (backend, dispatcher) = dispatcher(DispatcherConfig::default());
    backend.fail_entry_always(5, Failure::permanent("ValidationException", "no"));
    let scope = dispatcher.scope();
    scope
        .submit_tagged(TestPayload::new(5, 10), 5)
        .await
        .unwrap();
    scope
        .submit_tagged(TestPayload::new(6, 10), 6)
        .await
        .unwrap();
    drop(scope);
    let failed = dispatcher.flush_payloads().await;
    assert_eq!(ids(&failed), BTreeSet::from([5]));
    assert_eq!(backend.delivered_ids(), vec![6]);
}

#[tokio::test(start_paused = true)]
async fn the_dispatcher_flush_within_its_budget_hands_back_what_hangs() {
    let (backend, dispatcher) = dispatcher(DispatcherConfig::default().max_entries(2));
    backend.delay_entry(1, Duration::from_secs(600));
    for id in 0..4 {
        dispatcher
            .submit_tagged(TestPayload::new(id, 10), id)
            .await
            .unwrap();
    }
    let started = Instant::now();
    let failed = dispatcher
        .flush_payloads_within(Duration::from_secs(1))
        .await;
    assert!(started.elapsed() < Duration::from_secs(2));
    assert_eq!(ids(&failed), BTreeSet::from([0, 1]));
    assert_eq!(backend.delivered_ids(), vec![2, 3]);
    // The dispatcher sends again afterwards.
    dispatcher
        .submit_tagged(TestPayload::new(9, 10), 9)
        .await
        .unwrap();
    assert!(dispatcher.flush_payloads().await.is_empty());
}

#[tokio::test(start_paused = true)]
async fn a_failed_ordering_key_is_released_by_the_flush_of_the_scope_it_failed_in() {
    let (backend, dispatcher) = dispatcher(DispatcherConfig::default().max_entries(1));
    backend.fail_entry(1, 1, Failure::permanent("ValidationException", "no"));
    let scope = dispatcher.scope();
    scope
        .submit_tagged(TestPayload::new(1, 10).ordered_by("k"), 1)
        .await
        .unwrap();
    scope
        .submit_tagged(TestPayload::new(2, 10).ordered_by("k"), 2)
        .await
        .unwrap();
    let failed = scope.flush_payloads().await;
    assert_eq!(ids(&failed), BTreeSet::from([1, 2]));
    assert_eq!(failed[1].error.reason, UnprocessedReason::HeldBack);
    // Released: the key's next payload goes out.
    scope
        .submit_tagged(TestPayload::new(3, 10).ordered_by("k"), 3)
        .await
        .unwrap();
    assert!(scope.flush_payloads().await.is_empty());
    assert_eq!(backend.delivered_ids(), vec![3]);
}

#[tokio::test(start_paused = true)]
async fn a_flush_waits_briefly_for_the_other_live_scopes_so_they_share_a_request() {
    let (backend, dispatcher) = dispatcher(DispatcherConfig::default());
    let (first, second, idle) = (dispatcher.scope(), dispatcher.scope(), dispatcher.scope());
    first
        .submit_tagged(TestPayload::new(1, 10), 1)
        .await
        .unwrap();
    let started = Instant::now();
    let first_flush = tokio::spawn(async move { first.flush_payloads().await.len() });
    tokio::time::sleep(Duration::from_millis(3)).await;
    second
        .submit_tagged(TestPayload::new(2, 10), 2)
        .await
        .unwrap();
    drop(idle); // a scope that ends without a flush is not waited for
    assert!(second.flush_payloads().await.is_empty());
    assert_eq!(first_flush.await.unwrap(), 0);
    assert!(started.elapsed() < Duration::from_millis(10));
    assert_eq!(backend.requests().len(), 1, "one request for both scopes");

    // A scope that stays busy holds nobody up for more than the gathering time.
    let (lone, busy) = (dispatcher.scope(), dispatcher.scope());
    lone.submit_tagged(TestPayload::new(3, 10), 3)
        .await
        .unwrap();
    let started = Instant::now();
    assert!(lone.flush_payloads().await.is_empty());
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(10) && waited < Duration::from_millis(20),
        "{waited:?}"
    );
    drop(busy);
}
