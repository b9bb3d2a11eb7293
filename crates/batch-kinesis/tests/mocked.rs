//! Throttling and partial failures, with aws-smithy-mocks clients on paused time.
#![allow(
    clippy::unwrap_used,
    clippy::cast_possible_truncation,
    clippy::cast_precision_loss
)]

use std::time::Duration;

use aws_sdk_kinesis::Client;
use aws_sdk_kinesis::config::retry::RetryConfig as SdkRetryConfig;
use aws_sdk_kinesis::operation::list_shards::ListShardsOutput;
use aws_sdk_kinesis::operation::put_records::{PutRecordsError, PutRecordsOutput};
use aws_sdk_kinesis::types::PutRecordsResultEntry;
use aws_smithy_mocks::{MockResponse, Rule, RuleMode, mock, mock_client};
use aws_smithy_types::error::ErrorMetadata;
use batch_core::{DispatcherConfig, RetryPolicy, UnprocessedReason};
use batch_kinesis::{KinesisBackend, KinesisBatchDispatcher, KinesisRecord, RecordData};
use serde_json::{Value, json};
use tokio::time::Instant;

const PTE: &str = "ProvisionedThroughputExceededException";

#[derive(Debug, Clone)]
struct Seen {
    at: Instant,
    numbers: Vec<u64>,
}

type Log = test_support::Recorder<Seen>;

/// A client whose PutRecords answers with `respond(call, numbers)`: `Ok(numbers that fail
/// with a code)` or `Err(code)` for the whole request. The SDK's own retries are off.
fn client<F>(respond: F) -> (Client, Log, Rule)
where
    F: Fn(usize, &[u64]) -> Result<Vec<(u64, &'static str)>, &'static str> + Send + Sync + 'static,
{
    let log = Log::default();
    let seen = log.clone();
    let rule = mock!(Client::put_records).then_compute_response(move |request| {
        let numbers: Vec<u64> = request
            .records()
            .iter()
            .map(|r| {
                serde_json::from_slice::<Value>(r.data().as_ref()).unwrap()["n"]
                    .as_u64()
                    .unwrap()
            })
            .collect();
        let call = seen.record(Seen {
            at: Instant::now(),
            numbers: numbers.clone(),
        });
        match respond(call, &numbers) {
            Err(code) => MockResponse::Error(PutRecordsError::generic(
                ErrorMetadata::builder()
                    .code(code)
                    .message("scripted")
                    .build(),
            )),
            Ok(failing) => {
                let results: Vec<PutRecordsResultEntry> = numbers
                    .iter()
                    .map(|n| match failing.iter().find(|(f, _)| f == n) {
                        Some((_, code)) => PutRecordsResultEntry::builder()
                            .error_code(*code)
                            .error_message("scripted")
                            .build(),
                        None => PutRecordsResultEntry::builder()
                            .shard_id("shardId-000000000000")
                            .sequence_number(n.to_string())
                            .build(),
                    })
                    .collect();
                let failed = failing.len() as i32;
                MockResponse::Output(
                    PutRecordsOutput::builder()
                        .set_records(Some(results))
                        .failed_record_count(failed)
                        .build()
                        .unwrap(),
                )
            }
        }
    });
    (client_of(&rule), log, rule)
}

/// A client whose PutRecords answers by `rule`, on a stream of no known shards. The SDK's
/// own retries are off.
fn client_of(rule: &Rule) -> Client {
    // The backend reads the shard map in the background; a stream of no known shards keeps
    // every record in one throttling domain.
    let shards = mock!(Client::list_shards)
        .then_compute_response(|_| MockResponse::Output(ListShardsOutput::builder().build()));
    mock_client!(aws_sdk_kinesis, RuleMode::MatchAny, [rule, &shards], |c| c
        .retry_config(SdkRetryConfig::disabled()))
}

fn number(record: &KinesisRecord) -> u64 {
    match record.data() {
        RecordData::Json(value) => value["n"].as_u64().unwrap(),
        other => panic!("unexpected data {other:?}"),
    }
}

#[tokio::test(start_paused = true)]
async fn throttled_records_are_retried_then_delivered() {
    let (client, log, _) = client(|call, _| {
        Ok(if call == 1 {
            vec![(4, PTE), (9, "InternalFailure")]
        } else {
            vec![]
        })
    });
    let kinesis = KinesisBatchDispatcher::from_client(client, "stream");
    for n in 0..12 {
        kinesis.submit_payload(json!({"n": n})).await.unwrap();
    }
    assert!(kinesis.flush_payloads().await.is_empty());
    let requests: Vec<Vec<u64>> = log.seen().into_iter().map(|s| s.numbers).collect();
    assert_eq!(requests, vec![(0..12).collect(), vec![4, 9]]);
    assert_eq!(kinesis.stats().retries, 2);
}

#[tokio::test(start_paused = true)]
async fn steady_throttling_ends_unprocessed_after_bounded_growing_backoff() {
    let (client, log, _) = client(|_, numbers| Ok(numbers.iter().map(|&n| (n, PTE)).collect()));
    let retry = RetryPolicy::default()
        .max_attempts(5)
        .initial_backoff(Duration::from_millis(100))
        .max_backoff(Duration::from_secs(30));
    let records = 40;
    let kinesis = KinesisBatchDispatcher::builder(KinesisBackend::new(client, "stream"))
        .config(
            DispatcherConfig::default()
                .adaptive(false)
                .max_entries(1)
                .max_in_flight(records)
                .retry(retry.clone()),
        )
        .build()
        .unwrap();
    for n in 0..records as u64 {
        kinesis.submit_payload(json!({"n": n})).await.unwrap();
    }
    let unprocessed = kinesis.flush_payloads().await;
    assert_eq!(unprocessed.len(), records, "nothing lost");
    for item in &unprocessed {
        assert_eq!(item.error.reason, UnprocessedReason::RetriesExhausted);
        assert_eq!(item.error.code(), PTE);
        assert_eq!(item.error.attempts, 5);
    }
    // Per record, the waits between its attempts: each below its cap, and growing on average.
    let mut times: Vec<Vec<Instant>> = vec![Vec::new(); records];
    for request in log.seen() {
        times[request.numbers[0] as usize].push(request.at);
    }
    let mut mean = [0.0_f64; 4];
    for starts in &times {
        assert_eq!(starts.len(), 5, "exactly max_attempts requests per record");
        for (attempt, pair) in starts.windows(2).enumerate() {
            let wait = pair[1] - pair[0];
            assert!(wait <= retry.backoff_cap(attempt as u32 + 1));
            mean[attempt] += wait.as_secs_f64() / records as f64;
        }
    }
    for pair in mean.windows(2) {
        assert!(pair[1] > pair[0] * 1.3, "waits grow: {mean:?}");
    }
}

#[tokio::test(start_paused = true)]
async fn an_unknown_stream_reports_every_pending_record() {
    let (client, _, rule) = client(|_, _| Err("ResourceNotFoundException"));
    let kinesis = KinesisBatchDispatcher::from_client(client, "absent");
    for n in 0..7 {
        kinesis.submit_payload(json!({"n": n})).await.unwrap();
    }
    let unprocessed = kinesis.flush_payloads().await;
    assert_eq!(rule.num_calls(), 1, "not retried");
    let mut numbers: Vec<u64> = unprocessed.iter().map(|u| number(&u.payload)).collect();
    numbers.sort_unstable();
    assert_eq!(numbers, (0..7).collect::<Vec<_>>());
    assert!(
        unprocessed
            .iter()
            .all(|u| u.error.code() == "ResourceNotFoundException")
    );
}

#[tokio::test(start_paused = true)]
async fn ordered_mode_keeps_order_per_key_under_partial_failures() {
    // Record 3 (key k3) fails twice; records of key k3 in later requests wait for it.
    let (client, log, _) = client(|call, _| Ok(if call <= 2 { vec![(3, PTE)] } else { vec![] }));
    let kinesis = KinesisBatchDispatcher::builder(
        KinesisBackend::new(client, "stream")
            .with_partition_key_field("key")
            .with_ordered(true),
    )
    .config(DispatcherConfig::default().max_entries(4).max_in_flight(4))
    .build()
    .unwrap();
    for n in 0..12_u64 {
        let key = format!("k{}", n % 4);
        kinesis
            .submit_payload(json!({"n": n, "key": key}))
            .await
            .unwrap();
    }
    assert!(kinesis.flush_payloads().await.is_empty());
    let requests: Vec<Vec<u64>> = log.seen().into_iter().map(|s| s.numbers).collect();
    assert_eq!(
        requests,
        vec![
            vec![0, 1, 2, 3],
            vec![3],
            vec![3],
            vec![4, 5, 6, 7],
            vec![8, 9, 10, 11]
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn ordered_requests_hold_one_record_per_key() {
    // Kinesis would store record 1 even if record 0 of the same key failed in one request.
    let (client, log, _) = client(|_, _| Ok(vec![]));
    let kinesis = KinesisBatchDispatcher::builder(
        KinesisBackend::new(client, "stream")
            .with_partition_key_field("key")
            .with_ordered(true),
    )
    .build()
    .unwrap();
    for (n, key) in [(0, "a"), (1, "a"), (2, "b"), (3, "b"), (4, "a"), (5, "c")] {
        kinesis
            .submit_payload(json!({"n": n, "key": key}))
            .await
            .unwrap();
    }
    assert!(kinesis.flush_payloads().await.is_empty());
    let requests: Vec<Vec<u64>> = log.seen().into_iter().map(|s| s.numbers).collect();
    assert_eq!(requests, vec![vec![0], vec![1, 2], vec![3, 4, 5]]);
}

#[tokio::test(start_paused = true)]
async fn unordered_requests_pack_one_key_together() {
    let (client, log, _) = client(|_, _| Ok(vec![]));
    let kinesis = KinesisBatchDispatcher::builder(
        KinesisBackend::new(client, "stream").with_partition_key_field("key"),
    )
    .build()
    .unwrap();
    for n in 0..6_u64 {
        kinesis
            .submit_payload(json!({"n": n, "key": "a"}))
            .await
            .unwrap();
    }
    assert!(kinesis.flush_payloads().await.is_empty());
    let requests: Vec<Vec<u64>> = log.seen().into_iter().map(|s| s.numbers).collect();
    assert_eq!(requests, vec![(0..6).collect::<Vec<u64>>()]);
}

#[tokio::test(start_paused = true)]
async fn a_record_that_ends_undelivered_holds_back_its_key() {
    let (client, log, _) = client(|_, numbers| {
        Ok(numbers
            .iter()
            .filter(|&&n| n == 1)
            .map(|&n| (n, "KMSAccessDeniedException"))
            .collect())
    });
    let kinesis = KinesisBatchDispatcher::builder(
        KinesisBackend::new(client, "stream")
            .with_partition_key_field("key")
            .with_ordered(true),
    )
    .config(DispatcherConfig::default().max_entries(2))
    .build()
    .unwrap();
    for (n, key) in [(0, "b"), (1, "a"), (2, "a"), (3, "b")] {
        kinesis
            .submit_payload(json!({"n": n, "key": key}))
            .await
            .unwrap();
    }
    let unprocessed = kinesis.flush_payloads().await;
    let reasons: Vec<(u64, UnprocessedReason)> = unprocessed
        .iter()
        .map(|u| (number(&u.payload), u.error.reason))
        .collect();
    assert_eq!(
        reasons,
        vec![
            (1, UnprocessedReason::Rejected),
            (2, UnprocessedReason::HeldBack)
        ]
    );
    let sent: Vec<u64> = log.seen().into_iter().flat_map(|s| s.numbers).collect();
    assert_eq!(sent, vec![0, 1, 3], "record 2 never sent");
}

/// A client for a 2-shard stream whose PutRecords de-aggregates each Kinesis record and
/// answers it with `respond(call, numbers in it)`: `None` stored, `Some(code)` refused.
fn aggregating_client<F>(respond: F) -> (Client, test_support::Recorder<Vec<Vec<u64>>>)
where
    F: Fn(usize, &[u64]) -> Option<&'static str> + Send + Sync + 'static,
{
    aggregating_client_resharded(respond, usize::MAX)
}

/// As [`aggregating_client`]; the stream has one shard until PutRecords call `reshard`,
/// which names a shard the map does not know, and two after.
fn aggregating_client_resharded<F>(
    respond: F,
    reshard: usize,
) -> (Client, test_support::Recorder<Vec<Vec<u64>>>)
where
    F: Fn(usize, &[u64]) -> Option<&'static str> + Send + Sync + 'static,
{
    let resharded = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(reshard == usize::MAX));
    let resharded_put = std::sync::Arc::clone(&resharded);
    use aws_sdk_kinesis::types::{HashKeyRange, Shard};
    let log = test_support::Recorder::default();
    let seen = log.clone();
    let rule = mock!(Client::put_records).then_compute_response(move |request| {
        let records: Vec<Vec<u64>> = request
            .records()
            .iter()
            .map(|r| {
                batch_kinesis::deaggregate(r.partition_key().unwrap_or_default(), r.data().as_ref())
                    .unwrap()
                    .iter()
                    .map(|u| {
                        serde_json::from_slice::<Value>(&u.data).unwrap()["n"]
                            .as_u64()
                            .unwrap()
                    })
                    .collect()
            })
            .collect();
        let call = seen.record(records.clone());
        if call == reshard {
            resharded_put.store(true, std::sync::atomic::Ordering::SeqCst);
        }
        let shard_id = if call >= reshard {
            "shardId-000000000002"
        } else {
            "shardId-000000000000"
        };
        let results = records
            .iter()
            .map(|numbers| match respond(call, numbers) {
                Some(code) => PutRecordsResultEntry::builder()
                    .error_code(code)
                    .error_message("scripted")
                    .build(),
                None => PutRecordsResultEntry::builder()
                    .shard_id(shard_id)
                    .sequence_number("1")
                    .build(),
            })
            .collect();
        MockResponse::Output(
            PutRecordsOutput::builder()
                .set_records(Some(results))
                .build()
                .unwrap(),
        )
    });
    let shard = |id: &str, start: u128, end: u128| {
        Shard::builder()
            .shard_id(id)
            .hash_key_range(
                HashKeyRange::builder()
                    .starting_hash_key(start.to_string())
                    .ending_hash_key(end.to_string())
                    .build()
                    .unwrap(),
            )
            .build()
            .unwrap()
    };
    let half = 1_u128 << 127;
    let shards = mock!(Client::list_shards).then_compute_response(move |_| {
        let output = if resharded.load(std::sync::atomic::Ordering::SeqCst) {
            ListShardsOutput::builder()
                .shards(shard("shardId-000000000001", 0, half - 1))
                .shards(shard("shardId-000000000002", half, u128::MAX))
        } else {
            ListShardsOutput::builder().shards(shard("shardId-000000000000", 0, u128::MAX))
        };
        MockResponse::Output(output.build())
    });
    let client = mock_client!(aws_sdk_kinesis, RuleMode::MatchAny, [&rule, &shards], |c| c
        .retry_config(SdkRetryConfig::disabled()));
    (client, log)
}

#[tokio::test(start_paused = true)]
async fn a_failed_aggregate_is_retried_whole_and_handed_back_as_its_user_records() {
    // The aggregate holding record 0 is throttled once, then goes; the one holding record 1
    // (the other shard: keys k0 and k1 hash to different halves) fails every time.
    let (client, log) = aggregating_client(|call, numbers| {
        if numbers.contains(&1) {
            Some("InternalFailure")
        } else if numbers.contains(&0) && call == 1 {
            Some(PTE)
        } else {
            None
        }
    });
    let kinesis = KinesisBatchDispatcher::builder(
        KinesisBackend::new(client, "stream")
            .with_partition_key_field("key")
            .with_ordered(true)
            .with_aggregate(true),
    )
    .config(DispatcherConfig::default().retry(RetryPolicy::default().max_attempts(3)))
    .build()
    .unwrap();
    for n in 0..40_u64 {
        let key = format!("k{}", n % 8);
        kinesis
            .submit_payload(json!({"key": key, "n": n}))
            .await
            .unwrap();
    }
    let unprocessed = kinesis.flush_payloads().await;
    let requests = log.seen();
    let first = &requests[0];
    assert_eq!(first.len(), 2, "one aggregate per shard: {first:?}");
    let failing = first.iter().find(|r| r.contains(&1)).unwrap().clone();
    let throttled = first.iter().find(|r| r.contains(&0)).unwrap().clone();
    assert_ne!(failing, throttled);
    assert!(failing.len() > 1 && throttled.len() > 1);
    // Every later request carries the same aggregates whole, and in the same order.
    for request in &requests[1..] {
        for record in request {
            assert!(record == &failing || record == &throttled, "{record:?}");
        }
    }
    assert_eq!(requests.len(), 3, "attempts of the failing aggregate");
    // Handed back: the failing aggregate's records, each as submitted, in order.
    let back: Vec<u64> = unprocessed.iter().map(|u| number(&u.payload)).collect();
    assert_eq!(back, failing);
    for item in &unprocessed {
        assert_eq!(item.error.code(), "InternalFailure");
        assert_eq!(item.error.reason, UnprocessedReason::RetriesExhausted);
        assert_eq!(item.error.attempts, 3);
    }
    let stats = kinesis.stats();
    assert_eq!(stats.delivered as usize, 40 - failing.len());
    assert_eq!(stats.throttled as usize, throttled.len());
}

/// The half of the hash key space a user record's key falls in.
fn half_of(n: u64) -> bool {
    use md5::{Digest, Md5};
    let key = format!("k{}", n % 8);
    Md5::digest(key.as_bytes())[0] >= 0x80
}

#[tokio::test(start_paused = true)]
async fn records_aggregated_for_a_shard_that_split_go_again_apart() {
    // One shard; the first request's answer names a shard the map does not know (a
    // reshard): the map is read again and has two.
    let (client, log) = aggregating_client_resharded(|_, _| None, 1);
    let kinesis = KinesisBatchDispatcher::builder(
        KinesisBackend::new(client, "stream")
            .with_partition_key_field("key")
            .with_aggregate(true),
    )
    .build()
    .unwrap();
    let submit = |n: u64| json!({"key": format!("k{}", n % 8), "n": n});
    for n in 0..20 {
        kinesis.submit_payload(submit(n)).await.unwrap();
    }
    assert!(kinesis.flush_payloads().await.is_empty());
    // The map is read at most once a second. The next records are prepared while it still
    // has one shard (the read they start has not run yet), and sent after it has two.
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    for n in 20..40 {
        kinesis.submit_payload(submit(n)).await.unwrap();
    }
    tokio::time::sleep(Duration::from_millis(1)).await;
    assert!(kinesis.flush_payloads().await.is_empty());
    let requests = log.seen();
    assert_eq!(requests[0], vec![(0..20).collect::<Vec<u64>>()]);
    // From the second request on, no aggregate mixes the halves.
    for request in &requests[1..] {
        for record in request {
            let half = half_of(record[0]);
            assert!(record.iter().all(|&n| half_of(n) == half), "{record:?}");
        }
    }
    let mut delivered: Vec<u64> = requests[1..].iter().flatten().flatten().copied().collect();
    delivered.sort_unstable();
    assert_eq!(delivered, (20..40).collect::<Vec<u64>>(), "each once");
    assert!(kinesis.stats().retries > 0, "some went again");
}

/// A PutRecords rule that accepts every record, counting the calls.
fn accept_all() -> Rule {
    mock!(Client::put_records).then_compute_response(|request| {
        let results = request.records().iter().map(|_| {
            PutRecordsResultEntry::builder()
                .shard_id("shardId-000000000000")
                .sequence_number("1")
                .build()
        });
        MockResponse::Output(
            PutRecordsOutput::builder()
                .set_records(Some(results.collect()))
                .failed_record_count(0)
                .build()
                .unwrap(),
        )
    })
}

#[tokio::test(start_paused = true)]
async fn a_strict_mock_of_put_records_alone_is_enough_once_the_shards_are_given() {
    // The default mode: any call without a rule panics, and so would ListShards.
    let put = accept_all();
    let client = mock_client!(aws_sdk_kinesis, RuleMode::Sequential, [&put], |c| c
        .retry_config(SdkRetryConfig::disabled()));
    let backend = KinesisBackend::new(client, "stream").with_even_shards(2);
    let kinesis = KinesisBatchDispatcher::builder(backend).build().unwrap();
    for n in 0..300 {
        kinesis.submit_payload(json!({"n": n})).await.unwrap();
    }
    assert!(kinesis.flush_payloads().await.is_empty());
    assert_eq!(put.num_calls(), 1);
    assert_eq!(kinesis.stats().delivered, 300);
}

#[tokio::test(start_paused = true)]
async fn a_stream_without_a_shard_map_never_reads_one() {
    let put = accept_all();
    let client = mock_client!(aws_sdk_kinesis, RuleMode::Sequential, [&put], |c| c
        .retry_config(SdkRetryConfig::disabled()));
    let backend = KinesisBackend::new(client, "stream").without_shard_map();
    let kinesis = KinesisBatchDispatcher::builder(backend).build().unwrap();
    for n in 0..500 {
        kinesis.submit_payload(json!({"n": n})).await.unwrap();
    }
    // The strict mock would have panicked on ListShards.
    assert!(kinesis.flush_payloads().await.is_empty());
    assert_eq!(put.num_calls(), 1);
    assert_eq!(kinesis.stats().delivered, 500);
}

#[tokio::test(start_paused = true)]
async fn a_list_shards_call_that_panics_leaves_the_records_to_be_paced_per_stream() {
    let panic_on =
        test_support::PanicOn::<aws_sdk_kinesis::operation::list_shards::ListShardsInput>::new();
    let put = accept_all();
    let interceptor = panic_on.clone();
    let client = mock_client!(aws_sdk_kinesis, RuleMode::MatchAny, [&put], |c| c
        .retry_config(SdkRetryConfig::disabled())
        .interceptor(interceptor.clone()));
    let kinesis = KinesisBatchDispatcher::from_client(client, "stream");
    for n in 0..600 {
        kinesis.submit_payload(json!({"n": n})).await.unwrap();
    }
    assert!(kinesis.flush_payloads().await.is_empty());
    assert!(panic_on.panics() >= 1, "ListShards was called");
    assert_eq!(put.num_calls(), 2);
    assert_eq!(kinesis.stats().delivered, 600);
}

#[tokio::test(start_paused = true)]
async fn raw_bytes_go_out_in_every_attempt_without_a_copy() {
    // Where each request's data lives, per attempt; the first refuses the record.
    let addresses = test_support::Recorder::<usize>::default();
    let seen = addresses.clone();
    let rule = mock!(Client::put_records).then_compute_response(move |request| {
        let data = request.records()[0].data();
        let call = seen.record(data.as_ref().as_ptr() as usize);
        let entry = if call == 1 {
            PutRecordsResultEntry::builder()
                .error_code(PTE)
                .error_message("scripted")
                .build()
        } else {
            PutRecordsResultEntry::builder()
                .shard_id("shardId-000000000000")
                .sequence_number("1")
                .build()
        };
        MockResponse::Output(
            PutRecordsOutput::builder()
                .records(entry)
                .failed_record_count(i32::from(call == 1))
                .build()
                .unwrap(),
        )
    });
    let kinesis = KinesisBatchDispatcher::from_client(client_of(&rule), "stream");
    let record = KinesisRecord::bytes(vec![7_u8; 4_096]).with_partition_key("k");
    let RecordData::Bytes(data) = record.data() else {
        panic!("a record of bytes")
    };
    let buffer = data.as_ptr() as usize;
    kinesis.submit_payload(record).await.unwrap();
    assert!(kinesis.flush_payloads().await.is_empty());
    assert_eq!(
        addresses.seen(),
        vec![buffer; 2],
        "both attempts send the record's own buffer"
    );
}
