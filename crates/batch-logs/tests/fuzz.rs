//! A fuzzed stream against the null endpoint, which refuses and rejects as CloudWatch Logs
//! does by a clock of its own: every event is stored or handed back with its reason, none
//! both, none neither, and no call is refused as invalid. And uniform loads take the fewest
//! calls.
#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, HashSet};
use std::time::{Duration, SystemTime};

use batch_logs::{EVENT_OVERHEAD_BYTES, LOGS_LIMITS, LogEvent, LogsBatchDispatcher};
use null_endpoint::{Api, Faults, NullEndpoint};

const MINUTE: i64 = 60_000;
const HOUR: i64 = 60 * MINUTE;
const DAY: i64 = 24 * HOUR;

fn now_ms() -> i64 {
    i64::try_from(
        SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap()
            .as_millis(),
    )
    .unwrap()
}

/// The message of event `id`: its id first, then filler of one to four bytes a character,
/// sometimes as large as an event may be.
fn message(id: usize, rng: &mut fastrand::Rng) -> String {
    let head = format!("{id:06} ");
    if rng.u8(..) < 3 {
        let largest = LOGS_LIMITS.max_entry_bytes - EVENT_OVERHEAD_BYTES;
        return format!("{head}{}", "é".repeat((largest - head.len()) / 2));
    }
    let filler: String = (0..rng.usize(0..300))
        .map(|_| ['a', 'ß', '€', '😀', '\n', '"'][rng.usize(0..6)])
        .collect();
    format!("{head}{filler}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fuzzed_stream_is_stored_or_handed_back_with_its_reason_and_never_refused_whole() {
    let endpoint = NullEndpoint::start_with_faults(Duration::from_millis(1), Faults::default())
        .await
        .unwrap();
    // CloudWatch's clock 30 minutes behind ours, and a group kept for a day that the
    // dispatcher is not told of: events that pass the checks here are rejected there.
    endpoint.set_clock_ahead(-30 * MINUTE);
    endpoint.set_log_retention_days(1);
    let config = test_support::sdk_config_at(&endpoint.url()).await;
    let logs = LogsBatchDispatcher::new(&config, ("group", "stream"));
    let mut rng = fastrand::Rng::with_seed(29);
    let now = now_ms();
    let mut ids = HashSet::new();
    let mut refused_at_submit = BTreeMap::<String, usize>::new();
    let mut refused = HashSet::new();
    for id in 0..3_000 {
        // Shuffled times over 26 hours, some 3 hours ahead or 15 days old, some just
        // inside what this clock allows but past what CloudWatch's does.
        let time = match rng.u8(0..20) {
            0 => now + 3 * HOUR,
            1 => now - 15 * DAY,
            2 => now + 2 * HOUR - 2 * MINUTE,
            _ => now - rng.i64(0..26 * HOUR),
        };
        let event = LogEvent::at_millis(message(id, &mut rng), time);
        ids.insert(id);
        if let Err(err) = logs.submit_payload(event).await {
            assert_eq!(err.kind().field(), "timestamp", "{err}");
            *refused_at_submit
                .entry(err.kind().field().to_owned())
                .or_default() += 1;
            refused.insert(id);
        }
    }
    let unprocessed = logs.flush_payloads().await;
    let mut reasons = BTreeMap::<String, usize>::new();
    for failed in &unprocessed {
        *reasons.entry(failed.error.code().to_owned()).or_default() += 1;
        let id: usize = failed.payload.message()[..6].parse().unwrap();
        assert!(refused.insert(id), "{id} handed back twice");
    }
    let stored: Vec<usize> = endpoint
        .accepted(Api::PutLogEvents)
        .iter()
        .map(|m| m[..6].parse().unwrap())
        .collect();
    let stored_set: HashSet<usize> = stored.iter().copied().collect();
    assert_eq!(stored.len(), stored_set.len(), "an event stored twice");
    let both: Vec<&usize> = stored_set.intersection(&refused).collect();
    assert!(both.is_empty(), "stored and handed back: {both:?}");
    let neither: Vec<&usize> = ids
        .iter()
        .filter(|id| !stored_set.contains(id) && !refused.contains(id))
        .collect();
    assert!(
        neither.is_empty(),
        "neither stored nor handed back: {neither:?}"
    );
    assert_eq!(endpoint.invalid_log_calls(), 0);
    // Each rejection the endpoint can make was made and read back.
    for code in ["TooNewLogEvent", "ExpiredLogEvent"] {
        assert!(reasons.contains_key(code), "{reasons:?}");
    }
    eprintln!(
        "{} events: {} stored, refused at submit {refused_at_submit:?}, handed back {reasons:?}; {} calls",
        ids.len(),
        stored.len(),
        endpoint.counts(Api::PutLogEvents).requests
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uniform_loads_take_the_fewest_calls() {
    let endpoint = NullEndpoint::start(Duration::from_millis(1)).await.unwrap();
    let config = test_support::sdk_config_at(&endpoint.url()).await;
    let now = now_ms();
    // Small events (bound by the count) and large ones (bound by the bytes).
    for (events, size) in [(45_000_usize, 60_usize), (3_000, 5_000)] {
        let logs = LogsBatchDispatcher::new(&config, ("group", format!("s{size}")));
        let before = endpoint.counts(Api::PutLogEvents).requests;
        for n in 0..events {
            let time = now - i64::try_from(n % 1_000).unwrap();
            let event = LogEvent::at_millis(format!("{n:08}{}", "x".repeat(size - 8)), time);
            logs.submit_payload(event).await.unwrap();
        }
        assert!(logs.flush_payloads().await.is_empty());
        let calls = endpoint.counts(Api::PutLogEvents).requests - before;
        let bytes = events * (size + EVENT_OVERHEAD_BYTES);
        let bound = events
            .div_ceil(LOGS_LIMITS.max_entries)
            .max(bytes.div_ceil(LOGS_LIMITS.max_request_bytes));
        eprintln!("{events} events of {size} bytes: {calls} calls, lower bound {bound}");
        assert!(
            calls as f64 <= bound as f64 * 1.01 + 1.0,
            "{calls} calls for a lower bound of {bound}"
        );
    }
}
