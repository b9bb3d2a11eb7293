//! Behaviour of the dispatcher against the scripted in-memory backend, on paused time.
#![cfg(feature = "test-util")]
#![allow(clippy::unwrap_used, clippy::cast_possible_truncation)]

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use batch_core::testing::{InMemoryBackend, TestPayload};
use batch_core::{
    ConfigError, DedupPolicy, Dispatcher, DispatcherConfig, Failure, RetryPolicy, SubmitErrorKind,
    UnprocessedReason,
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

fn throttled() -> Failure {
    Failure::retryable("ThrottlingException", "rate exceeded")
}

fn invalid() -> Failure {
    Failure::permanent("InvalidParameterValue", "entry is invalid")
}

async fn submit_all(dispatcher: &Dispatcher<InMemoryBackend>, payloads: Vec<TestPayload>) {
    for payload in payloads {
        dispatcher.submit_payload(payload).await.unwrap();
    }
}

/// Submits a payload of size 1 for each id, tagged with its id.
async fn submit_tagged_by_id(dispatcher: &Dispatcher<InMemoryBackend>, ids: std::ops::Range<u64>) {
    for id in ids {
        dispatcher
            .submit_tagged(TestPayload::new(id, 1), id)
            .await
            .unwrap();
    }
}

fn request_ids(backend: &InMemoryBackend) -> Vec<Vec<u64>> {
    backend.requests().into_iter().map(|r| r.ids).collect()
}

// ---- packing -------------------------------------------------------------------------------

#[tokio::test(start_paused = true)]
async fn full_batches_by_count_then_the_rest_on_flush() {
    let (backend, dispatcher) = dispatcher(DispatcherConfig::default().max_entries(10));
    submit_all(
        &dispatcher,
        (0..25).map(|id| TestPayload::new(id, 1)).collect(),
    )
    .await;
    tokio::task::yield_now().await;
    assert_eq!(
        backend.requests().len(),
        2,
        "two full batches go out before the flush"
    );
    assert!(dispatcher.flush_payloads().await.is_empty());
    let sizes: Vec<usize> = request_ids(&backend).iter().map(Vec::len).collect();
    assert_eq!(sizes, vec![10, 10, 5]);
    assert_eq!(backend.delivered_ids(), (0..25).collect::<Vec<_>>());
}

// On several cores a batch sealed while no other is out is built on the thread whose submit
// sealed it, where its entries were just made, as a hand-written loop builds it; on one
// core, by the runtime.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lone_full_batch_is_built_where_it_was_sealed_on_several_cores() {
    let (backend, dispatcher) = dispatcher(DispatcherConfig::default().max_entries(10));
    let caller = std::thread::current().id();
    submit_all(
        &dispatcher,
        (0..10).map(|id| TestPayload::new(id, 1)).collect(),
    )
    .await;
    assert!(dispatcher.flush_payloads().await.is_empty());
    let requests = backend.requests();
    assert_eq!(requests.len(), 1, "the tenth payload sealed a full batch");
    assert_eq!(
        requests[0].thread == caller,
        several_cores(),
        "built on the caller's thread: {}",
        requests[0].thread == caller
    );
}

fn several_cores() -> bool {
    std::thread::available_parallelism().is_ok_and(|n| n.get() > 1)
}

/// Each delivered tag with the thread it was counted on.
type DeliveredOn = Arc<std::sync::Mutex<Vec<(u64, std::thread::ThreadId)>>>;

/// A dispatcher of one batch in flight, 10 entries a batch, whose requests are answered
/// after `delay`, recording the thread each delivered tag was counted on.
fn one_in_flight_recording_threads(
    delay: Duration,
) -> (InMemoryBackend, Dispatcher<InMemoryBackend>, DeliveredOn) {
    let backend = InMemoryBackend::new();
    backend.delay(delay);
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let hook_seen = Arc::clone(&seen);
    let dispatcher = Dispatcher::builder(backend.clone())
        .config(DispatcherConfig::default().max_entries(10).max_in_flight(1))
        .on_delivered(move |tag| {
            let thread = std::thread::current().id();
            hook_seen.lock().unwrap().push((tag, thread));
        })
        .build()
        .unwrap();
    (backend, dispatcher, seen)
}

// On several cores, a lone batch's answer is read by the caller that waits for its slot (or
// in a flush), on the thread that made its entries; on one core, by the runtime.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lone_batch_is_answered_where_its_caller_waits_on_several_cores() {
    let (backend, dispatcher, seen) = one_in_flight_recording_threads(Duration::from_millis(100));
    let caller = std::thread::current().id();
    submit_tagged_by_id(&dispatcher, 0..30).await;
    assert!(dispatcher.flush_payloads().await.is_empty());
    assert_eq!(backend.requests().len(), 3);
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 30);
    let on_caller = seen.iter().filter(|(_, thread)| *thread == caller).count();
    let expected = if several_cores() { 30 } else { 0 };
    assert_eq!(
        on_caller, expected,
        "delivered on the caller's thread: {seen:?}"
    );
}

// A caller dropped while it waits for the slot a parked batch holds takes nothing with it:
// the batch, woken with nobody waiting, finishes on the runtime.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_caller_dropped_while_a_lone_batch_is_out_loses_nothing() {
    let (backend, dispatcher, seen) = one_in_flight_recording_threads(Duration::from_millis(300));
    let caller = std::thread::current().id();
    // The first ten go out as one batch; the next ten fill the pending batch.
    submit_tagged_by_id(&dispatcher, 0..20).await;
    // The 21st waits for the slot the first batch holds, and is given up on.
    let waited = tokio::time::timeout(
        Duration::from_millis(50),
        dispatcher.submit_tagged(TestPayload::new(20, 1), 20),
    )
    .await;
    assert!(waited.is_err(), "the slot was still held");
    // Nobody waits in the dispatcher while the first batch's answer comes.
    sleep(Duration::from_millis(500)).await;
    let first: Vec<_> = seen.lock().unwrap().clone();
    assert_eq!(
        first.iter().map(|(tag, _)| *tag).collect::<Vec<_>>(),
        (0..10).collect::<Vec<_>>(),
        "the first batch finished with nobody waiting"
    );
    assert!(first.iter().all(|(_, thread)| *thread != caller));
    assert!(dispatcher.flush_payloads().await.is_empty());
    assert_eq!(backend.delivered_ids(), (0..20).collect::<Vec<_>>());
}

#[tokio::test(start_paused = true)]
async fn batches_by_bytes_when_the_next_entry_would_not_fit() {
    let (backend, dispatcher) = dispatcher(
        DispatcherConfig::default()
            .max_entries(100)
            .max_request_bytes(1_000),
    );
    let sizes = [400, 400, 300, 600, 1_000, 1];
    let payloads = sizes
        .iter()
        .enumerate()
        .map(|(id, &size)| TestPayload::new(id as u64, size))
        .collect();
    submit_all(&dispatcher, payloads).await;
    assert!(dispatcher.flush_payloads().await.is_empty());
    assert_eq!(
        request_ids(&backend),
        vec![vec![0, 1], vec![2, 3], vec![4], vec![5]]
    );
    assert!(backend.requests().iter().all(|r| r.bytes <= 1_000));
}

#[tokio::test(start_paused = true)]
async fn an_entry_exactly_at_the_limit_is_accepted() {
    let (backend, dispatcher) = dispatcher(DispatcherConfig::default().max_entry_bytes(500));
    dispatcher
        .submit_payload(TestPayload::new(1, 500))
        .await
        .unwrap();
    assert!(dispatcher.flush_payloads().await.is_empty());
    assert_eq!(backend.delivered_ids(), vec![1]);
}

// ---- bad input -----------------------------------------------------------------------------

#[tokio::test(start_paused = true)]
async fn an_oversized_entry_is_handed_back_naming_the_limit() {
    let (backend, dispatcher) = dispatcher(DispatcherConfig::default().max_entry_bytes(500));
    let err = dispatcher
        .submit_payload(TestPayload::new(7, 501))
        .await
        .unwrap_err();
    assert_eq!(
        err.kind(),
        &SubmitErrorKind::TooLarge {
            field: "size".into(),
            size: 501,
            limit: 500
        }
    );
    assert_eq!(
        err.to_string(),
        "payload rejected: size is 501 bytes, above the limit of 500 bytes"
    );
    assert_eq!(err.into_payload(), TestPayload::new(7, 501));
    // The dispatcher goes on working.
    dispatcher
        .submit_payload(TestPayload::new(8, 10))
        .await
        .unwrap();
    assert!(dispatcher.flush_payloads().await.is_empty());
    assert_eq!(backend.delivered_ids(), vec![8]);
    let stats = dispatcher.stats();
    assert_eq!(
        (stats.rejected, stats.submitted, stats.delivered),
        (1, 1, 1)
    );
}

#[tokio::test(start_paused = true)]
async fn an_entry_larger_than_a_whole_request_is_refused() {
    let (_, dispatcher) = dispatcher(
        DispatcherConfig::default()
            .max_request_bytes(300)
            .max_entry_bytes(1_000),
    );
    let err = dispatcher
        .submit_payload(TestPayload::new(1, 301))
        .await
        .unwrap_err();
    assert!(matches!(
        err.kind(),
        SubmitErrorKind::TooLarge { limit: 300, .. }
    ));
}

#[tokio::test(start_paused = true)]
async fn a_payload_the_backend_refuses_is_handed_back() {
    let (backend, dispatcher) = dispatcher(DispatcherConfig::default());
    let err = dispatcher
        .submit_payload(TestPayload::new(3, 0))
        .await
        .unwrap_err();
    assert_eq!(err.kind().field(), "size");
    assert!(
        err.to_string()
            .contains("outside the allowed range 1 or more")
    );
    assert_eq!(err.payload().id, 3);
    assert!(format!("{err:?}").starts_with("SubmitError"));
    assert!(dispatcher.flush_payloads().await.is_empty());
    assert!(backend.requests().is_empty());
}

#[test]
fn zero_limits_are_rejected() {
    for (config, field) in [
        (DispatcherConfig::default().max_entries(0), "max_entries"),
        (
            DispatcherConfig::default().max_request_bytes(0),
            "max_request_bytes",
        ),
        (
            DispatcherConfig::default().max_entry_bytes(0),
            "max_entry_bytes",
        ),
        (
            DispatcherConfig::default().max_in_flight(0),
            "max_in_flight",
        ),
        (
            DispatcherConfig::default().retry(RetryPolicy::default().max_attempts(0)),
            "max_attempts",
        ),
        (DispatcherConfig::default().fleet_size(0), "fleet_size"),
    ] {
        let err = Dispatcher::builder(InMemoryBackend::new())
            .config(config)
            .build()
            .unwrap_err();
        assert_eq!(err, ConfigError::Zero { field });
    }
}

#[test]
fn limits_above_the_service_ceiling_are_rejected_not_clamped() {
    let err = Dispatcher::builder(InMemoryBackend::new())
        .config(DispatcherConfig::default().max_entries(1_001))
        .build()
        .unwrap_err();
    assert_eq!(
        err,
        ConfigError::AboveLimit {
            field: "max_entries",
            value: 1_001,
            limit: 1_000,
            service: "in-memory"
        }
    );
    assert_eq!(
        err.to_string(),
        "`max_entries` is 1001, above the in-memory limit of 1000"
    );
    // The ceiling itself is fine, and above the default.
    let ok = Dispatcher::builder(InMemoryBackend::new())
        .config(DispatcherConfig::default().max_entries(1_000))
        .build()
        .unwrap();
    assert_eq!(ok.limits().max_entries, 1_000);
}

#[test]
fn inconsistent_retry_and_linger_settings_are_rejected() {
    let backoff = RetryPolicy::default()
        .initial_backoff(Duration::from_secs(2))
        .max_backoff(Duration::from_secs(1));
    let err = Dispatcher::builder(InMemoryBackend::new())
        .config(DispatcherConfig::default().retry(backoff))
        .build()
        .unwrap_err();
    assert!(matches!(
        err,
        ConfigError::Invalid {
            field: "max_backoff",
            ..
        }
    ));
    let err = Dispatcher::builder(InMemoryBackend::new())
        .config(DispatcherConfig::default().linger(Duration::ZERO))
        .build()
        .unwrap_err();
    assert!(matches!(
        err,
        ConfigError::Invalid {
            field: "linger",
            ..
        }
    ));
}

// ---- dedup ---------------------------------------------------------------------------------

#[tokio::test(start_paused = true)]
async fn keep_first_drops_later_duplicates() {
    let (backend, dispatcher) =
        dispatcher(DispatcherConfig::default().dedup(DedupPolicy::KeepFirst));
    submit_all(
        &dispatcher,
        vec![
            TestPayload::new(1, 5).dedup("a"),
            TestPayload::new(2, 5).dedup("b"),
            TestPayload::new(3, 5).dedup("a"),
        ],
    )
    .await;
    assert!(dispatcher.flush_payloads().await.is_empty());
    assert_eq!(backend.delivered_ids(), vec![1, 2]);
    let stats = dispatcher.stats();
    assert_eq!(
        (stats.submitted, stats.duplicates_dropped, stats.delivered),
        (3, 1, 2)
    );
}

#[tokio::test(start_paused = true)]
async fn keep_last_replaces_the_earlier_duplicate() {
    let (backend, dispatcher) =
        dispatcher(DispatcherConfig::default().dedup(DedupPolicy::KeepLast));
    submit_all(
        &dispatcher,
        vec![
            TestPayload::new(1, 5).dedup("a"),
            TestPayload::new(2, 5).dedup("b"),
            TestPayload::new(3, 5).dedup("a"),
        ],
    )
    .await;
    assert!(dispatcher.flush_payloads().await.is_empty());
    let mut delivered = backend.delivered_ids();
    delivered.sort_unstable();
    assert_eq!(delivered, vec![2, 3]);
    let stats = dispatcher.stats();
    assert_eq!((stats.superseded, stats.duplicates_dropped), (1, 0));
}

#[tokio::test(start_paused = true)]
async fn keep_last_with_a_larger_replacement_moves_it_to_the_next_batch() {
    let (backend, dispatcher) = dispatcher(
        DispatcherConfig::default()
            .max_request_bytes(100)
            .dedup(DedupPolicy::KeepLast),
    );
    submit_all(
        &dispatcher,
        vec![
            TestPayload::new(1, 30).dedup("a"),
            TestPayload::new(2, 60).dedup("b"),
            TestPayload::new(3, 50).dedup("a"),
        ],
    )
    .await;
    assert!(dispatcher.flush_payloads().await.is_empty());
    assert_eq!(request_ids(&backend), vec![vec![2], vec![3]]);
    assert!(backend.requests().iter().all(|r| r.bytes <= 100));
}

#[tokio::test(start_paused = true)]
async fn dedup_off_sends_every_duplicate() {
    let (backend, dispatcher) = dispatcher(DispatcherConfig::default().dedup(DedupPolicy::Off));
    submit_all(
        &dispatcher,
        vec![
            TestPayload::new(1, 5).dedup("a"),
            TestPayload::new(2, 5).dedup("a"),
        ],
    )
    .await;
    assert!(dispatcher.flush_payloads().await.is_empty());
    assert_eq!(backend.delivered_ids(), vec![1, 2]);
    assert_eq!(dispatcher.stats().duplicates_dropped, 0);
}

#[tokio::test(start_paused = true)]
async fn dedup_never_reaches_across_sealed_batches() {
    let (backend, dispatcher) = dispatcher(DispatcherConfig::default().max_entries(2));
    submit_all(
        &dispatcher,
        vec![
            TestPayload::new(1, 5).dedup("a"),
            TestPayload::new(2, 5).dedup("b"),
            TestPayload::new(3, 5).dedup("a"),
        ],
    )
    .await;
    assert!(dispatcher.flush_payloads().await.is_empty());
    assert_eq!(request_ids(&backend), vec![vec![1, 2], vec![3]]);
}

#[tokio::test(start_paused = true)]
async fn merged_entries_count_once_up_to_the_merge_limit() {
    let (backend, dispatcher) = dispatcher(
        DispatcherConfig::default()
            .max_entries(2)
            .max_request_bytes(100),
    );
    // Keys m, m, m (one merged entry), m, m, m (a second), then m needs a third: new request.
    let payloads = (0..7)
        .map(|id| TestPayload::new(id, 10).merged_by("m"))
        .collect();
    submit_all(&dispatcher, payloads).await;
    assert!(dispatcher.flush_payloads().await.is_empty());
    assert_eq!(request_ids(&backend), vec![vec![0, 1, 2, 3, 4, 5], vec![6]]);
    // Bytes: a full entry per merged entry, 1 per entry merged into it.
    assert_eq!(
        backend.requests()[0].bytes,
        60,
        "the backend sees every entry"
    );
}

#[tokio::test(start_paused = true)]
async fn merged_bytes_still_respect_the_request_limit() {
    let (backend, dispatcher) = dispatcher(
        DispatcherConfig::default()
            .max_entries(10)
            .max_request_bytes(25),
    );
    // a (10) + a merged (1) + b (10) + b merged (1) = 22; c (10) does not fit.
    let payloads = vec![
        TestPayload::new(0, 10).merged_by("a"),
        TestPayload::new(1, 10).merged_by("a"),
        TestPayload::new(2, 10).merged_by("b"),
        TestPayload::new(3, 10).merged_by("b"),
        TestPayload::new(4, 10).merged_by("c"),
        TestPayload::new(5, 10).merged_by("a"),
    ];
    submit_all(&dispatcher, payloads).await;
    assert!(dispatcher.flush_payloads().await.is_empty());
    assert_eq!(request_ids(&backend), vec![vec![0, 1, 2, 3], vec![4, 5]]);
}

// ---- retries -------------------------------------------------------------------------------

#[tokio::test(start_paused = true)]
async fn only_the_failed_entries_are_retried_then_delivered() {
    let (backend, dispatcher) = dispatcher(DispatcherConfig::default());
    backend.fail_entry(2, 1, throttled());
    backend.fail_entry(4, 1, throttled());
    submit_all(
        &dispatcher,
        (0..6).map(|id| TestPayload::new(id, 1)).collect(),
    )
    .await;
    assert!(dispatcher.flush_payloads().await.is_empty());
    assert_eq!(
        request_ids(&backend),
        vec![vec![0, 1, 2, 3, 4, 5], vec![2, 4]]
    );
    let stats = dispatcher.stats();
    assert_eq!(
        (stats.delivered, stats.retries, stats.requests_sent),
        (6, 2, 2)
    );
}

#[tokio::test(start_paused = true)]
async fn a_permanent_failure_is_not_retried() {
    let (backend, dispatcher) = dispatcher(DispatcherConfig::default());
    backend.fail_entry_always(1, invalid());
    submit_all(
        &dispatcher,
        (0..3).map(|id| TestPayload::new(id, 1)).collect(),
    )
    .await;
    let unprocessed = dispatcher.flush_payloads().await;
    assert_eq!(unprocessed.len(), 1);
    let (payload, error) = unprocessed.into_iter().next().unwrap().into_parts();
    assert_eq!(payload, TestPayload::new(1, 1));
    assert_eq!(error.reason, UnprocessedReason::Rejected);
    assert_eq!(
        (error.code(), error.message()),
        ("InvalidParameterValue", "entry is invalid")
    );
    assert_eq!(error.attempts, 1);
    assert!(!error.is_retryable());
    assert_eq!(backend.attempts_of(1), 1);
    assert_eq!(backend.requests().len(), 1);
}

#[tokio::test(start_paused = true)]
async fn retries_stop_at_max_attempts() {
    let (backend, dispatcher) = dispatcher(
        DispatcherConfig::default()
            .adaptive(false)
            .retry(RetryPolicy::default().max_attempts(3)),
    );
    backend.fail_entry_always(9, throttled());
    dispatcher
        .submit_payload(TestPayload::new(9, 1))
        .await
        .unwrap();
    let unprocessed = dispatcher.flush_payloads().await;
    assert_eq!(unprocessed.len(), 1);
    let error = &unprocessed[0].error;
    assert_eq!(error.reason, UnprocessedReason::RetriesExhausted);
    assert_eq!(error.attempts, 3);
    assert_eq!(error.code(), "ThrottlingException");
    assert!(error.is_retryable());
    assert_eq!(backend.attempts_of(9), 3);
    assert_eq!(
        error.to_string(),
        "retries exhausted after 3 attempts (ThrottlingException: rate exceeded)"
    );
}

#[tokio::test(start_paused = true)]
async fn a_retryable_request_failure_is_retried_whole() {
    let (backend, dispatcher) = dispatcher(DispatcherConfig::default());
    backend.fail_request(1, Failure::retryable("ServiceUnavailable", "503"));
    submit_all(
        &dispatcher,
        (0..4).map(|id| TestPayload::new(id, 1)).collect(),
    )
    .await;
    assert!(dispatcher.flush_payloads().await.is_empty());
    assert_eq!(
        request_ids(&backend),
        vec![vec![0, 1, 2, 3], vec![0, 1, 2, 3]]
    );
    assert_eq!(backend.delivered_ids(), vec![0, 1, 2, 3]);
}

#[tokio::test(start_paused = true)]
async fn a_permanent_request_failure_returns_every_entry_with_its_source() {
    let (backend, dispatcher) = dispatcher(DispatcherConfig::default());
    backend.fail_every_request(Failure::permanent(
        "ResourceNotFoundException",
        "no such queue",
    ));
    submit_all(
        &dispatcher,
        (0..4).map(|id| TestPayload::new(id, 1)).collect(),
    )
    .await;
    let unprocessed = dispatcher.flush_payloads().await;
    let ids: Vec<u64> = unprocessed.iter().map(|u| u.payload.id).collect();
    assert_eq!(ids, vec![0, 1, 2, 3]);
    for item in &unprocessed {
        assert_eq!(item.error.code(), "ResourceNotFoundException");
        assert!(std::error::Error::source(&item.error).is_some());
    }
    assert_eq!(backend.requests().len(), 1);
}

#[tokio::test(start_paused = true)]
async fn a_request_refused_whole_as_invalid_is_split_until_only_the_invalid_entries_fail() {
    let (backend, dispatcher) = dispatcher(DispatcherConfig::default());
    let refusal = Failure::permanent("ValidationException", "one item is invalid");
    backend.fail_requests_with(5, refusal.clone());
    backend.fail_requests_with(17, refusal);
    submit_all(
        &dispatcher,
        (0..20).map(|id| TestPayload::new(id, 1)).collect(),
    )
    .await;
    let unprocessed = dispatcher.flush_payloads().await;
    let ids: Vec<u64> = unprocessed.iter().map(|u| u.payload.id).collect();
    assert_eq!(ids, vec![5, 17]);
    for item in &unprocessed {
        assert_eq!(item.error.reason, UnprocessedReason::Rejected);
        assert_eq!(item.error.code(), "ValidationException");
    }
    let mut delivered = backend.delivered_ids();
    delivered.sort_unstable();
    let expected: Vec<u64> = (0..20).filter(|id| *id != 5 && *id != 17).collect();
    assert_eq!(delivered, expected, "each good entry once");
    // Halving finds each invalid entry in at most two requests a level.
    let requests = backend.requests().len();
    assert!(requests <= 1 + 2 * 2 * 5, "{requests} requests");
}

#[tokio::test(start_paused = true)]
async fn halves_of_a_refused_request_keep_the_order_of_a_key() {
    let (backend, dispatcher) = dispatcher(DispatcherConfig::default());
    backend.fail_requests_with(1, Failure::permanent("ValidationException", "invalid"));
    submit_all(
        &dispatcher,
        (0..4)
            .map(|id| TestPayload::new(id, 1).ordered_by(if id % 2 == 1 { "odd" } else { "even" }))
            .collect(),
    )
    .await;
    let unprocessed = dispatcher.flush_payloads().await;
    let reasons: Vec<(u64, UnprocessedReason)> = unprocessed
        .iter()
        .map(|u| (u.payload.id, u.error.reason))
        .collect();
    // 3 comes after the invalid 1 in key "odd": held back, not sent past it.
    assert_eq!(
        reasons,
        vec![
            (1, UnprocessedReason::Rejected),
            (3, UnprocessedReason::HeldBack)
        ]
    );
    assert_eq!(backend.delivered_ids(), vec![0, 2]);
}

#[tokio::test(start_paused = true)]
async fn a_request_refused_for_what_is_not_in_it_is_not_split() {
    let (backend, dispatcher) = dispatcher(DispatcherConfig::default());
    backend.fail_requests_with(2, Failure::permanent("AccessDeniedException", "no"));
    submit_all(
        &dispatcher,
        (0..8).map(|id| TestPayload::new(id, 1)).collect(),
    )
    .await;
    assert_eq!(dispatcher.flush_payloads().await.len(), 8);
    assert_eq!(backend.requests().len(), 1);
}

#[tokio::test(start_paused = true)]
async fn the_deadline_ends_retries_before_max_attempts() {
    let retry = RetryPolicy::default()
        .max_attempts(100)
        .initial_backoff(Duration::from_secs(1))
        .max_backoff(Duration::from_secs(1))
        .deadline(Duration::from_secs(5));
    let (backend, dispatcher) =
        dispatcher(DispatcherConfig::default().adaptive(false).retry(retry));
    backend.fail_entry_always(1, throttled());
    let start = Instant::now();
    dispatcher
        .submit_payload(TestPayload::new(1, 1))
        .await
        .unwrap();
    let unprocessed = dispatcher.flush_payloads().await;
    assert_eq!(
        unprocessed[0].error.reason,
        UnprocessedReason::DeadlineExceeded
    );
    assert!(start.elapsed() <= Duration::from_secs(5));
    assert!(
        backend.attempts_of(1) >= 5,
        "waits of at most 1 s fit 5 tries in 5 s"
    );
    assert!(backend.attempts_of(1) < 100);
}

#[test]
fn backoff_cap_doubles_up_to_the_maximum() {
    let retry = RetryPolicy::default()
        .initial_backoff(Duration::from_millis(100))
        .max_backoff(Duration::from_secs(1));
    let caps: Vec<u128> = (1..=6).map(|a| retry.backoff_cap(a).as_millis()).collect();
    assert_eq!(caps, vec![100, 200, 400, 800, 1_000, 1_000]);
    assert_eq!(retry.backoff_cap(u32::MAX), Duration::from_secs(1));
}

#[tokio::test(start_paused = true)]
async fn backoff_between_attempts_grows_and_is_jittered() {
    let retry = RetryPolicy::default()
        .max_attempts(6)
        .initial_backoff(Duration::from_millis(100))
        .max_backoff(Duration::from_secs(60));
    let (backend, dispatcher) = dispatcher(
        DispatcherConfig::default()
            .adaptive(false)
            .max_entries(1)
            .max_in_flight(64)
            .retry(retry.clone()),
    );
    let entries = 64;
    for id in 0..entries {
        backend.fail_entry_always(id, throttled());
    }
    submit_all(
        &dispatcher,
        (0..entries).map(|id| TestPayload::new(id, 1)).collect(),
    )
    .await;
    assert_eq!(dispatcher.flush_payloads().await.len(), entries as usize);
    // Per entry, the start times of its 6 requests.
    let mut times = vec![Vec::new(); entries as usize];
    for request in backend.requests() {
        times[request.ids[0] as usize].push(request.at);
    }
    let mut mean_wait = vec![0.0_f64; 5];
    let mut distinct_first_waits = BTreeSet::new();
    for starts in &times {
        assert_eq!(starts.len(), 6);
        for (attempt, pair) in starts.windows(2).enumerate() {
            let wait = pair[1] - pair[0];
            assert!(
                wait <= retry.backoff_cap(attempt as u32 + 1),
                "wait above its cap"
            );
            mean_wait[attempt] += wait.as_secs_f64() / entries as f64;
        }
        distinct_first_waits.insert(starts[1] - starts[0]);
    }
    assert!(
        distinct_first_waits.len() > 32,
        "waits are jittered, not all equal"
    );
    for pair in mean_wait.windows(2) {
        assert!(pair[1] > pair[0] * 1.3, "mean waits grow: {mean_wait:?}");
    }
}

#[tokio::test(start_paused = true)]
async fn a_panicking_backend_fails_its_batch_instead_of_hanging_the_flush() {
    let (backend, dispatcher) = dispatcher(DispatcherConfig::default().max_entries(2));
    backend.panic_on_request(1);
    submit_all(
        &dispatcher,
        (0..4).map(|id| TestPayload::new(id, 1)).collect(),
    )
    .await;
    let unprocessed = dispatcher.flush_payloads().await;
    let ids: Vec<u64> = unprocessed.iter().map(|u| u.payload.id).collect();
    assert_eq!(ids, vec![0, 1]);
    assert_eq!(unprocessed[0].error.code(), "BackendPanicked");
    assert!(unprocessed[0].error.message().contains("scripted panic"));
    assert_eq!(backend.delivered_ids(), vec![2, 3]);
}

// ---- concurrency and backpressure ----------------------------------------------------------

#[tokio::test(start_paused = true)]
async fn requests_in_flight_never_exceed_max_in_flight() {
    let (backend, dispatcher) =
        dispatcher(DispatcherConfig::default().max_entries(2).max_in_flight(3));
    backend.delay(Duration::from_millis(100));
    submit_all(
        &dispatcher,
        (0..40).map(|id| TestPayload::new(id, 1)).collect(),
    )
    .await;
    assert!(dispatcher.flush_payloads().await.is_empty());
    assert_eq!(backend.max_in_flight_seen(), 3);
    assert_eq!(backend.requests().len(), 20);
}

#[tokio::test(start_paused = true)]
async fn submit_waits_while_the_buffer_and_the_window_are_full() {
    let (backend, dispatcher) =
        dispatcher(DispatcherConfig::default().max_entries(1).max_in_flight(1));
    backend.delay(Duration::from_secs(10));
    let dispatcher = Arc::new(dispatcher);
    dispatcher
        .submit_payload(TestPayload::new(1, 1))
        .await
        .unwrap(); // sealed, in flight
    dispatcher
        .submit_payload(TestPayload::new(2, 1))
        .await
        .unwrap(); // pending, window full
    let blocked = {
        let dispatcher = Arc::clone(&dispatcher);
        tokio::spawn(async move { dispatcher.submit_payload(TestPayload::new(3, 1)).await })
    };
    sleep(Duration::from_secs(9)).await;
    assert!(
        !blocked.is_finished(),
        "submit must wait for a free request slot"
    );
    assert_eq!(dispatcher.pending(), 1);
    sleep(Duration::from_secs(2)).await;
    assert!(blocked.is_finished());
    blocked.await.unwrap().unwrap();
    assert!(dispatcher.flush_payloads().await.is_empty());
    assert_eq!(backend.delivered_ids(), vec![1, 2, 3]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sixteen_tasks_share_one_dispatcher() {
    let (backend, dispatcher) =
        dispatcher(DispatcherConfig::default().max_entries(10).max_in_flight(4));
    let dispatcher = Arc::new(dispatcher);
    let tasks: Vec<_> = (0..16_u64)
        .map(|task| {
            let dispatcher = Arc::clone(&dispatcher);
            tokio::spawn(async move {
                for n in 0..100 {
                    dispatcher
                        .submit_payload(TestPayload::new(task * 1_000 + n, 8))
                        .await
                        .unwrap();
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    assert!(dispatcher.flush_payloads().await.is_empty());
    let delivered: BTreeSet<u64> = backend.delivered_ids().into_iter().collect();
    let expected: BTreeSet<u64> = (0..16)
        .flat_map(|t| (0..100).map(move |n| t * 1_000 + n))
        .collect();
    assert_eq!(delivered, expected);
    assert_eq!(
        backend.delivered_ids().len(),
        1_600,
        "each payload sent once"
    );
    assert_eq!(backend.requests().len(), 160, "every request full");
    assert!(backend.max_in_flight_seen() <= 4);
}

// ---- flush ---------------------------------------------------------------------------------

#[tokio::test(start_paused = true)]
async fn flush_waits_for_requests_in_flight() {
    let (backend, dispatcher) = dispatcher(DispatcherConfig::default().max_entries(5));
    backend.delay(Duration::from_secs(3));
    submit_all(
        &dispatcher,
        (0..12).map(|id| TestPayload::new(id, 1)).collect(),
    )
    .await;
    let start = Instant::now();
    assert!(dispatcher.flush_payloads().await.is_empty());
    assert!(start.elapsed() >= Duration::from_secs(3));
    assert_eq!(backend.delivered_ids().len(), 12);
    assert_eq!(backend.in_flight(), 0);
}

#[tokio::test(start_paused = true)]
async fn flush_drains_and_later_flushes_return_only_later_failures() {
    let (backend, dispatcher) = dispatcher(DispatcherConfig::default());
    backend.fail_entry_always(1, invalid());
    backend.fail_entry_always(5, invalid());
    submit_all(
        &dispatcher,
        vec![TestPayload::new(1, 1), TestPayload::new(2, 1)],
    )
    .await;
    let first: Vec<u64> = dispatcher
        .flush_payloads()
        .await
        .iter()
        .map(|u| u.payload.id)
        .collect();
    assert_eq!(first, vec![1]);
    assert!(
        dispatcher.flush_payloads().await.is_empty(),
        "the list drained"
    );
    submit_all(
        &dispatcher,
        vec![TestPayload::new(5, 1), TestPayload::new(6, 1)],
    )
    .await;
    let third: Vec<u64> = dispatcher
        .flush_payloads()
        .await
        .iter()
        .map(|u| u.payload.id)
        .collect();
    assert_eq!(third, vec![5]);
}

#[tokio::test(start_paused = true)]
async fn a_dropped_flush_loses_nothing() {
    let (backend, dispatcher) = dispatcher(DispatcherConfig::default());
    backend.delay(Duration::from_secs(5));
    backend.fail_entry_always(3, invalid());
    submit_all(
        &dispatcher,
        (0..6).map(|id| TestPayload::new(id, 1)).collect(),
    )
    .await;
    let cut_short = tokio::time::timeout(Duration::from_secs(1), dispatcher.flush_payloads()).await;
    assert!(cut_short.is_err(), "the flush was dropped midway");
    let unprocessed = dispatcher.flush_payloads().await;
    assert_eq!(unprocessed.len(), 1);
    assert_eq!(unprocessed[0].payload.id, 3);
    assert_eq!(backend.delivered_ids(), vec![0, 1, 2, 4, 5]);
}

#[tokio::test(start_paused = true)]
async fn flush_payloads_timeout_gives_up_and_the_next_flush_returns_the_rest() {
    let (backend, dispatcher) = dispatcher(DispatcherConfig::default());
    backend.delay(Duration::from_secs(10));
    backend.fail_entry_always(0, invalid());
    dispatcher
        .submit_payload(TestPayload::new(0, 1))
        .await
        .unwrap();
    let early = dispatcher
        .flush_payloads_timeout(Duration::from_secs(1))
        .await;
    let timed_out = early.unwrap_err();
    assert_eq!(timed_out.in_flight(), 1, "the payload was still in flight");
    assert!(
        timed_out
            .to_string()
            .contains("1 payloads were still in flight")
    );
    assert!(
        timed_out.into_unprocessed().is_empty(),
        "nothing had failed yet"
    );
    let late = dispatcher
        .flush_payloads_timeout(Duration::from_secs(60))
        .await
        .unwrap();
    assert_eq!(late.len(), 1);
}

#[tokio::test(start_paused = true)]
async fn stats_account_for_every_payload() {
    let (backend, dispatcher) = dispatcher(DispatcherConfig::default().max_entries(4));
    backend.fail_entry_always(4, invalid());
    backend.fail_entry(5, 1, throttled());
    let mut payloads: Vec<_> = (0..8).map(|id| TestPayload::new(id, 1)).collect();
    payloads.push(TestPayload::new(99, 1).dedup("dup"));
    payloads.push(TestPayload::new(100, 1).dedup("dup"));
    submit_all(&dispatcher, payloads).await;
    let unprocessed = dispatcher.flush_payloads().await;
    let stats = dispatcher.stats();
    assert_eq!(unprocessed.len(), 1);
    assert_eq!(stats.submitted, 10);
    assert_eq!(
        stats.submitted,
        stats.delivered + stats.duplicates_dropped + stats.unprocessed
    );
    assert_eq!(
        (stats.delivered, stats.duplicates_dropped, stats.unprocessed),
        (8, 1, 1)
    );
    assert_eq!(stats.retries, 1);
    assert_eq!(stats.requests_sent, backend.requests().len() as u64);
}

// ---- linger --------------------------------------------------------------------------------

#[tokio::test(start_paused = true)]
async fn linger_sends_a_partial_batch_after_the_oldest_entry_waited() {
    let (backend, dispatcher) =
        dispatcher(DispatcherConfig::default().linger(Duration::from_millis(200)));
    dispatcher
        .submit_payload(TestPayload::new(1, 1))
        .await
        .unwrap();
    sleep(Duration::from_millis(150)).await;
    dispatcher
        .submit_payload(TestPayload::new(2, 1))
        .await
        .unwrap();
    // The timer runs at most 20% short: not before 160 ms, and by 200 ms.
    sleep(Duration::from_millis(9)).await;
    assert!(backend.requests().is_empty(), "not yet: 159 ms");
    sleep(Duration::from_millis(42)).await;
    assert_eq!(request_ids(&backend), vec![vec![1, 2]]);
    assert_eq!(dispatcher.pending(), 0);
}

#[tokio::test(start_paused = true)]
async fn linger_timers_of_writers_started_together_do_not_fire_in_step() {
    let linger = Duration::from_secs(1);
    // The distinct times at which the writers sent.
    let mut fired = BTreeSet::new();
    let mut writers = Vec::new();
    for _ in 0..20 {
        let (backend, dispatcher) = dispatcher(DispatcherConfig::default().linger(linger));
        dispatcher
            .submit_payload(TestPayload::new(1, 1))
            .await
            .unwrap();
        writers.push((backend, dispatcher));
    }
    let start = Instant::now();
    let mut waiting: Vec<_> = writers.iter().map(|(backend, _)| backend).collect();
    while !waiting.is_empty() {
        sleep(Duration::from_millis(1)).await;
        waiting.retain(|backend| {
            let sent = !backend.requests().is_empty();
            if sent {
                fired.insert(start.elapsed().as_millis());
            }
            !sent
        });
        // The request follows its timer within a tick of the clock.
        let tick = Duration::from_millis(2);
        assert!(
            start.elapsed() <= linger + tick,
            "a timer outlasted the linger"
        );
    }
    let (first, last) = (fired.first().copied(), fired.last().copied());
    assert!(first.is_some_and(|f| f >= 799), "fired at {fired:?}");
    assert!(fired.len() >= 5, "20 timers fired at only {fired:?}");
    assert!(last > first);
}

#[tokio::test(start_paused = true)]
async fn without_linger_a_partial_batch_waits_for_the_flush() {
    let (backend, dispatcher) = dispatcher(DispatcherConfig::default());
    dispatcher
        .submit_payload(TestPayload::new(1, 1))
        .await
        .unwrap();
    sleep(Duration::from_secs(3_600)).await;
    assert!(backend.requests().is_empty());
    assert!(dispatcher.flush_payloads().await.is_empty());
    assert_eq!(backend.delivered_ids(), vec![1]);
}

// ---- ordering ------------------------------------------------------------------------------

#[tokio::test(start_paused = true)]
async fn a_retried_entry_is_not_overtaken_by_a_later_one_of_its_key() {
    let (backend, dispatcher) = dispatcher(
        DispatcherConfig::default()
            .max_entries(1)
            .max_in_flight(4)
            .adaptive(false),
    );
    backend.fail_entry(1, 1, throttled());
    backend.fail_entry(1, 2, throttled());
    submit_all(
        &dispatcher,
        vec![
            TestPayload::new(1, 1).ordered_by("g"),
            TestPayload::new(2, 1).ordered_by("g"),
            TestPayload::new(3, 1).ordered_by("other"),
        ],
    )
    .await;
    assert!(dispatcher.flush_payloads().await.is_empty());
    let delivered = backend.delivered_ids();
    let position = |id| delivered.iter().position(|&d| d == id).unwrap();
    assert!(
        position(1) < position(2),
        "order within the key kept: {delivered:?}"
    );
    assert!(
        position(3) < position(1),
        "another key is not held up: {delivered:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn an_undelivered_entry_holds_back_the_rest_of_its_key_until_the_flush() {
    let (backend, dispatcher) = dispatcher(DispatcherConfig::default().max_entries(2));
    backend.fail_entry_always(1, invalid());
    submit_all(
        &dispatcher,
        vec![
            TestPayload::new(1, 1).ordered_by("g"),
            TestPayload::new(2, 1).ordered_by("h"),
            TestPayload::new(3, 1).ordered_by("g"),
            TestPayload::new(4, 1).ordered_by("h"),
        ],
    )
    .await;
    let unprocessed = dispatcher.flush_payloads().await;
    let reasons: Vec<(u64, UnprocessedReason)> = unprocessed
        .iter()
        .map(|u| (u.payload.id, u.error.reason))
        .collect();
    assert_eq!(
        reasons,
        vec![
            (1, UnprocessedReason::Rejected),
            (3, UnprocessedReason::HeldBack)
        ]
    );
    assert_eq!(unprocessed[1].error.code(), "InvalidParameterValue");
    assert!(unprocessed[1].error.is_retryable());
    assert_eq!(backend.attempts_of(3), 0, "never sent");
    assert_eq!(backend.delivered_ids(), vec![2, 4]);
    // After the flush handed the failure over, the key is free again.
    dispatcher
        .submit_payload(TestPayload::new(5, 1).ordered_by("g"))
        .await
        .unwrap();
    assert!(dispatcher.flush_payloads().await.is_empty());
    assert_eq!(backend.delivered_ids(), vec![2, 4, 5]);
}

#[tokio::test(start_paused = true)]
async fn retries_inside_one_request_keep_later_entries_of_a_failed_key_back() {
    let (backend, dispatcher) = dispatcher(DispatcherConfig::default());
    backend.fail_entry_always(1, invalid());
    backend.fail_entry(2, 1, throttled());
    submit_all(
        &dispatcher,
        vec![
            TestPayload::new(1, 1).ordered_by("g"),
            TestPayload::new(2, 1).ordered_by("g"),
        ],
    )
    .await;
    let unprocessed = dispatcher.flush_payloads().await;
    assert_eq!(unprocessed[1].payload.id, 2);
    assert_eq!(unprocessed[1].error.reason, UnprocessedReason::HeldBack);
    assert_eq!(backend.attempts_of(2), 1, "not retried past entry 1");
}

#[tokio::test(start_paused = true)]
async fn requests_sharing_an_ordering_key_never_overlap() {
    let (backend, dispatcher) =
        dispatcher(DispatcherConfig::default().max_entries(3).max_in_flight(4));
    let delay = Duration::from_millis(100);
    backend.delay(delay);
    let keys = ["a", "b", "c", "d"];
    submit_all(
        &dispatcher,
        (0..48)
            .map(|id| TestPayload::new(id, 1).ordered_by(keys[(id / 6) as usize % 4]))
            .collect(),
    )
    .await;
    assert!(dispatcher.flush_payloads().await.is_empty());
    let requests = backend.requests();
    assert!(
        backend.max_in_flight_seen() > 1,
        "unrelated keys still run in parallel"
    );
    for (i, a) in requests.iter().enumerate() {
        for b in &requests[i + 1..] {
            let share = a
                .ids
                .iter()
                .any(|x| b.ids.iter().any(|y| x / 6 % 4 == y / 6 % 4));
            if share {
                let gap = if b.at > a.at {
                    b.at - a.at
                } else {
                    a.at - b.at
                };
                assert!(
                    gap >= delay,
                    "requests {:?} and {:?} overlapped",
                    a.ids,
                    b.ids
                );
            }
        }
    }
    assert_eq!(backend.delivered_ids().len(), 48);
}

// ---- drop and auto traits ------------------------------------------------------------------

#[test]
fn dropping_a_dispatcher_with_pending_payloads_logs_an_error() {
    use tracing_subscriber::layer::SubscriberExt;

    struct CountErrors(Arc<AtomicUsize>);
    impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for CountErrors {
        fn on_event(
            &self,
            event: &tracing::Event<'_>,
            _: tracing_subscriber::layer::Context<'_, S>,
        ) {
            if *event.metadata().level() == tracing::Level::ERROR {
                self.0.fetch_add(1, Ordering::SeqCst);
            }
        }
    }

    let errors = Arc::new(AtomicUsize::new(0));
    let subscriber = tracing_subscriber::registry().with(CountErrors(Arc::clone(&errors)));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    tracing::subscriber::with_default(subscriber, || {
        runtime.block_on(async {
            let (_, flushed) = dispatcher(DispatcherConfig::default());
            flushed
                .submit_payload(TestPayload::new(1, 1))
                .await
                .unwrap();
            flushed.flush_payloads().await;
            drop(flushed);
        });
        assert_eq!(
            errors.load(Ordering::SeqCst),
            0,
            "a flushed dispatcher drops quietly"
        );
        runtime.block_on(async {
            let (_, dispatcher) = dispatcher(DispatcherConfig::default());
            dispatcher
                .submit_payload(TestPayload::new(1, 1))
                .await
                .unwrap();
            drop(dispatcher);
        });
    });
    assert_eq!(errors.load(Ordering::SeqCst), 1);
}

#[test]
fn public_types_are_send_and_sync() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<Dispatcher<InMemoryBackend>>();
    send_sync::<batch_core::SubmitError<TestPayload>>();
    send_sync::<batch_core::Unprocessed<TestPayload>>();
    send_sync::<ConfigError>();
    send_sync::<batch_core::Stats>();
}

#[tokio::test(start_paused = true)]
async fn a_paced_dispatcher_retries_throttled_entries_past_max_attempts_until_delivered() {
    let (backend, dispatcher) =
        dispatcher(DispatcherConfig::default().retry(RetryPolicy::default().max_attempts(2)));
    for attempt in 1..=6 {
        backend.fail_entry(7, attempt, throttled());
    }
    dispatcher
        .submit_payload(TestPayload::new(7, 1))
        .await
        .unwrap();
    assert!(dispatcher.flush_payloads().await.is_empty());
    assert_eq!(backend.attempts_of(7), 7);
    let stats = dispatcher.stats();
    assert_eq!((stats.delivered, stats.throttled), (1, 6));
    assert!(stats.paced_rate.is_some());
}

/// Two dispatchers on one quota; the first one's destination throttles. Returns what the
/// second, never throttled itself, learned.
async fn second_of_two_after_the_first_is_throttled(share: bool) -> batch_core::Stats {
    let pace = batch_core::SharedPace::new();
    let build = |backend: InMemoryBackend| {
        let builder =
            Dispatcher::builder(backend).config(DispatcherConfig::default().max_entries(10));
        if share {
            builder.shared_pace(&pace)
        } else {
            builder
        }
        .build()
        .unwrap()
    };
    let (throttling, calm) = (InMemoryBackend::new(), InMemoryBackend::new());
    for id in 0..20 {
        throttling.fail_entry(id, 1, throttled());
    }
    let (first, second) = (build(throttling), build(calm.clone()));
    submit_all(&first, (0..50).map(|id| TestPayload::new(id, 1)).collect()).await;
    assert!(first.flush_payloads().await.is_empty());
    submit_all(
        &second,
        (100..150).map(|id| TestPayload::new(id, 1)).collect(),
    )
    .await;
    assert!(second.flush_payloads().await.is_empty());
    assert_eq!(calm.attempts_of(100), 1, "the second was never throttled");
    second.stats()
}

#[tokio::test(start_paused = true)]
async fn dispatchers_sharing_a_pace_slow_down_together_when_one_is_throttled() {
    let shared = second_of_two_after_the_first_is_throttled(true).await;
    assert!(
        shared.paced_rate.is_some(),
        "paced by the rate the first learned"
    );
    assert!(shared.paced_wait > Duration::ZERO, "{shared:?}");
    // Each with a pace of its own, the second knows nothing of the first's throttling.
    let alone = second_of_two_after_the_first_is_throttled(false).await;
    assert_eq!((alone.paced_rate, alone.paced_wait), (None, Duration::ZERO));
}

#[tokio::test(start_paused = true)]
async fn a_paced_dispatcher_gives_up_on_throttling_after_the_throttle_budget() {
    let budget = Duration::from_secs(20);
    let retry = RetryPolicy::default().throttle_budget(budget);
    let (backend, dispatcher) = dispatcher(DispatcherConfig::default().retry(retry));
    backend.fail_entry_always(3, throttled());
    dispatcher
        .submit_payload(TestPayload::new(3, 1))
        .await
        .unwrap();
    let started = tokio::time::Instant::now();
    let unprocessed = dispatcher.flush_payloads().await;
    // It gives up once its next place in the pace would be past the budget: at most one
    // place (a second and a half at the lowest rate) before it, never after.
    let took = started.elapsed();
    assert!(
        took >= budget - Duration::from_millis(1_500) && took <= budget,
        "{took:?}"
    );
    assert_eq!(unprocessed.len(), 1);
    assert_eq!(
        unprocessed[0].error.reason,
        UnprocessedReason::DeadlineExceeded
    );
    assert_eq!(unprocessed[0].error.code(), "ThrottlingException");
    assert!(backend.attempts_of(3) > 5);
}

/// The budget bounds the whole time from a batch's first attempt, its waits for the pace
/// included: a destination that refuses everything hands every record back by then, also
/// the batches that were still waiting for their first attempt.
#[tokio::test(start_paused = true)]
async fn a_destination_that_refuses_everything_hands_every_record_back_by_the_budget() {
    let budget = Duration::from_secs(5);
    let request_time = Duration::from_millis(50);
    let retry = RetryPolicy::default().throttle_budget(budget);
    let (backend, dispatcher) = dispatcher(DispatcherConfig::default().max_entries(5).retry(retry));
    backend.delay(request_time);
    backend.fail_every_request(throttled());
    let started = Instant::now();
    submit_all(
        &dispatcher,
        (0..200).map(|id| TestPayload::new(id, 10)).collect(),
    )
    .await;
    let unprocessed = dispatcher.flush_payloads().await;
    let took = started.elapsed();
    assert!(took <= budget + request_time, "the flush took {took:?}");
    assert_eq!(unprocessed.len(), 200);
    assert!(
        unprocessed
            .iter()
            .all(|u| u.error.reason == UnprocessedReason::DeadlineExceeded)
    );
    let ids: BTreeSet<u64> = unprocessed.iter().map(|u| u.payload.id).collect();
    assert_eq!(ids.len(), 200);
}

#[tokio::test(start_paused = true)]
async fn other_failures_keep_their_attempt_bound_in_a_paced_dispatcher() {
    let (backend, dispatcher) =
        dispatcher(DispatcherConfig::default().retry(RetryPolicy::default().max_attempts(3)));
    backend.fail_entry_always(4, Failure::retryable("InternalFailure", "oops"));
    dispatcher
        .submit_payload(TestPayload::new(4, 1))
        .await
        .unwrap();
    let unprocessed = dispatcher.flush_payloads().await;
    assert_eq!(
        unprocessed[0].error.reason,
        UnprocessedReason::RetriesExhausted
    );
    assert_eq!(backend.attempts_of(4), 3);
}

#[tokio::test(start_paused = true)]
async fn a_records_per_second_cap_paces_without_any_throttling() {
    let (backend, dispatcher) = dispatcher(
        DispatcherConfig::default()
            .max_entries(10)
            .max_records_per_second(100),
    );
    let started = tokio::time::Instant::now();
    for id in 0..300 {
        dispatcher
            .submit_payload(TestPayload::new(id, 1))
            .await
            .unwrap();
    }
    assert!(dispatcher.flush_payloads().await.is_empty());
    // 30 requests of 10 at 100 entries a second: the last goes out after 2.9 s.
    let took = started.elapsed();
    assert!(took >= Duration::from_millis(2_900), "{took:?}");
    assert_eq!(backend.requests().len(), 30);
    // Held back by its pace for nearly all of it: every request but the first waited.
    let waited = dispatcher.stats().paced_wait;
    assert!(
        waited >= Duration::from_millis(2_800) && waited <= took,
        "{waited:?} of {took:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_dispatcher_nothing_paces_never_waits_for_its_pace() {
    let (_backend, dispatcher) = dispatcher(DispatcherConfig::default().max_entries(10));
    for id in 0..300 {
        dispatcher
            .submit_payload(TestPayload::new(id, 1))
            .await
            .unwrap();
    }
    assert!(dispatcher.flush_payloads().await.is_empty());
    assert_eq!(dispatcher.stats().paced_wait, Duration::ZERO);
}

#[tokio::test(start_paused = true)]
async fn on_delivered_names_each_accepted_tag_once_and_never_a_failed_one() {
    let backend = InMemoryBackend::new();
    // Payload 3 is refused for good, payload 5 throttled twice and then stored.
    backend.fail_entry_always(3, invalid());
    backend.fail_entry(5, 1, throttled());
    backend.fail_entry(5, 2, throttled());
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let hook_seen = Arc::clone(&seen);
    let dispatcher = Dispatcher::builder(backend.clone())
        .on_delivered(move |tag| hook_seen.lock().unwrap().push(tag))
        .build()
        .unwrap();
    for id in 0..25 {
        dispatcher
            .submit_tagged(TestPayload::new(id, 10), 100 + id)
            .await
            .unwrap();
    }
    let failed = dispatcher.flush_payloads().await;
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].tag, Some(103));
    let mut seen = seen.lock().unwrap().clone();
    seen.sort_unstable();
    let expected: Vec<u64> = (100..125).filter(|&tag| tag != 103).collect();
    assert_eq!(
        seen, expected,
        "each delivered tag once, the refused one never"
    );
}
