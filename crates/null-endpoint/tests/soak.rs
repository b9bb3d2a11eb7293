//! Soak tests: each dispatcher against the null endpoint's fault mode (entry failures,
//! throttling, 5xx, lost responses, slow answers). Every record must end accepted by the
//! endpoint or in the unprocessed list with a reason; duplicates only where a response was
//! lost; order per FIFO group and per ordered Kinesis key as submitted; attempts within the
//! bound; what a dispatcher holds within `max_entries * (max_in_flight + 1)`.
//!
//! `AWS_BATCH_SOAK_RECORDS` sets the records per service (default 5,000; `cargo xtask soak`
//! runs 100,000).
#![allow(clippy::unwrap_used, clippy::cast_possible_truncation)]

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use aws_batch_utils::cloudwatch::{CloudWatchBackend, CloudWatchBatchDispatcher, Metric};
use aws_batch_utils::dynamodb::{DynamoBackend, DynamoBatchDispatcher, DynamoItem, DynamoWrite};
use aws_batch_utils::engine::{
    Backend, Dispatcher, DispatcherConfig, RetryPolicy, Stats, Unprocessed, UnprocessedReason,
};
use aws_batch_utils::eventbridge::{Event, EventBridgeBackend, EventBridgeBatchDispatcher};
use aws_batch_utils::firehose::{FirehoseBackend, FirehoseBatchDispatcher, FirehoseRecord};
use aws_batch_utils::kinesis::{KinesisBackend, KinesisBatchDispatcher, KinesisRecord, RecordData};
use aws_batch_utils::logs::{LogEvent, LogsBackend, LogsBatchDispatcher};
use aws_batch_utils::sns::{SnsBackend, SnsBatchDispatcher, SnsMessage};
use aws_batch_utils::sqs::{
    MessageBody, SqsBackend, SqsBatchDispatcher, SqsFifoBatchDispatcher, SqsMessage,
};
use null_endpoint::{Api, Faults, NullEndpoint};

mod common;
use common::{base64_decode, number_in, sdk_config};
use serde_json::{Value, json};

const MAX_ATTEMPTS: u32 = 6;
const MAX_IN_FLIGHT: usize = 8;
/// Records between flushes, as in a function that flushes at the end of each invocation.
const FLUSH_EVERY: u64 = 5_000;

fn records() -> u64 {
    std::env::var("AWS_BATCH_SOAK_RECORDS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(5_000)
}

fn faults(seed: u64) -> Faults {
    Faults {
        seed,
        entry_failures: 0.1,
        sender_faults: 0.0,
        throttles: 0.03,
        throttle_bursts: 0.002,
        burst_length: 5,
        server_errors: 0.03,
        dropped: 0.02,
        slow: 0.02,
        slow_by: Duration::from_millis(10),
    }
}

/// The engine's retry bounds under random faults, without pacing (the capacity soak runs
/// with it): every failure, throttling included, counts against `MAX_ATTEMPTS`.
fn config(max_entries: usize) -> DispatcherConfig {
    DispatcherConfig::default()
        .max_entries(max_entries)
        .max_in_flight(MAX_IN_FLIGHT)
        .adaptive(false)
        .retry(
            RetryPolicy::default()
                .max_attempts(MAX_ATTEMPTS)
                .initial_backoff(Duration::from_millis(2))
                .max_backoff(Duration::from_millis(20)),
        )
}

/// Submits records `0..records` (each made by `record`), flushing every [`FLUSH_EVERY`] and
/// at the end. Returns what the flushes handed back and the most payloads the dispatcher held
/// (pending and in flight) after any submit.
async fn drive<B: Backend>(
    dispatcher: &Dispatcher<B>,
    records: u64,
    record: impl Fn(u64) -> B::Payload,
) -> (Vec<Unprocessed<B::Payload>>, usize)
where
    B::Payload: std::fmt::Debug,
{
    let mut returned = Vec::new();
    let mut held = 0;
    for n in 0..records {
        dispatcher.submit_payload(record(n)).await.unwrap();
        held = held.max(dispatcher.pending() + dispatcher.in_flight());
        if (n + 1) % FLUSH_EVERY == 0 {
            returned.extend(dispatcher.flush_payloads().await);
        }
    }
    returned.extend(dispatcher.flush_payloads().await);
    (returned, held)
}

/// What the endpoint saw of one operation.
struct Seen {
    /// Record numbers stored, in the order stored.
    accepted: Vec<u64>,
    entries_received: u64,
    faults: u64,
    lost_responses: u64,
}

impl Seen {
    /// `number` reads the record number out of a stored entry.
    fn of(endpoint: &NullEndpoint, api: Api, number: impl Fn(&str) -> u64) -> Self {
        Self {
            accepted: endpoint.accepted(api).iter().map(|e| number(e)).collect(),
            entries_received: endpoint.counts(api).entries,
            faults: endpoint.faults_injected(),
            lost_responses: endpoint.lost_responses(),
        }
    }
}

/// What one soak saw, checked by [`Outcome::check`].
struct Outcome {
    service: &'static str,
    records: u64,
    max_entries: usize,
    seen: Seen,
    /// Handed back: (record number, attempts, reason).
    returned: Vec<(u64, u32, UnprocessedReason)>,
    /// The ordering key of a record, where order per key must hold.
    key_of: Option<fn(u64) -> String>,
    held: usize,
    stats: Stats,
    /// Whether the service absorbs repeats (FIFO deduplication ids): no duplicates at all.
    absorbs_repeats: bool,
}

impl Outcome {
    fn check(self) {
        let Self {
            service,
            records,
            max_entries,
            ref seen,
            ..
        } = self;
        let mut times: HashMap<u64, u64> = HashMap::new();
        for n in &seen.accepted {
            *times.entry(*n).or_default() += 1;
        }
        let duplicates: u64 = times.values().map(|t| t - 1).sum();
        let returned: HashMap<u64, (u32, UnprocessedReason)> = self
            .returned
            .iter()
            .map(|&(n, attempts, reason)| (n, (attempts, reason)))
            .collect();
        assert_eq!(
            returned.len(),
            self.returned.len(),
            "{service}: a record returned twice"
        );
        let mut lost = 0;
        let mut both = 0;
        for n in 0..records {
            match (times.contains_key(&n), returned.contains_key(&n)) {
                (false, false) => lost += 1,
                (true, true) => both += 1,
                _ => {}
            }
        }
        assert_eq!(lost, 0, "{service}: records neither accepted nor returned");
        assert!(
            times.keys().all(|n| *n < records),
            "{service}: accepted a record never sent"
        );
        if seen.lost_responses == 0 || self.absorbs_repeats {
            assert_eq!(
                duplicates, 0,
                "{service}: duplicates without a lost response"
            );
        }
        if seen.lost_responses == 0 {
            // Stored yet returned: only when the answer that said so was lost, and every
            // later attempt failed.
            assert_eq!(
                both, 0,
                "{service}: accepted and returned without a lost response"
            );
        }
        assert!(
            duplicates <= seen.lost_responses * max_entries as u64,
            "{service}: {duplicates} duplicates from {} lost responses",
            seen.lost_responses
        );
        for (n, (attempts, reason)) in &returned {
            assert!(
                *attempts <= MAX_ATTEMPTS,
                "{service}: record {n} took {attempts} attempts"
            );
            if *reason == UnprocessedReason::RetriesExhausted {
                assert_eq!(
                    *attempts, MAX_ATTEMPTS,
                    "{service}: record {n} gave up early"
                );
            }
        }
        assert!(
            seen.entries_received <= records * u64::from(MAX_ATTEMPTS),
            "{service}: {} entries sent for {records} records",
            seen.entries_received
        );
        let retries = self.stats.retries;
        assert!(retries <= records * u64::from(MAX_ATTEMPTS - 1));
        assert_eq!(
            self.stats.delivered + self.stats.unprocessed,
            records,
            "{service}: the counters account for every record"
        );
        let bound = max_entries * (MAX_IN_FLIGHT + 1);
        assert!(
            self.held <= bound,
            "{service}: held {} payloads, bound {bound}",
            self.held
        );
        if let Some(key_of) = self.key_of {
            check_order(service, key_of, &seen.accepted, &returned);
        }
        assert!(
            seen.faults >= self.stats.requests_sent / 20,
            "{service}: only {} faults injected in {} requests",
            seen.faults,
            self.stats.requests_sent
        );
        eprintln!(
            "soak {service}: {records} records sent, {} faults injected ({} lost responses), \
             {} requests, {retries} retries, {duplicates} duplicates, {} unprocessed ({both} of \
             them also accepted), 0 lost, at most {} payloads held",
            seen.faults,
            seen.lost_responses,
            self.stats.requests_sent,
            self.returned.len(),
            self.held,
        );
    }
}

/// Per key: accepted numbers never go down (a repeat after a lost response stands next to
/// itself), and nothing is accepted after a record of its key that ended undelivered, until
/// the next flush.
fn check_order(
    service: &str,
    key_of: fn(u64) -> String,
    accepted: &[u64],
    returned: &HashMap<u64, (u32, UnprocessedReason)>,
) {
    let mut last: HashMap<String, u64> = HashMap::new();
    for &n in accepted {
        let key = key_of(n);
        if let Some(previous) = last.insert(key.clone(), n) {
            assert!(
                previous <= n,
                "{service}: key {key} stored {n} after {previous}"
            );
        }
    }
    // A flush hands the failures over and lets the key go on: the rule holds per key within
    // each stretch between flushes.
    let stretch_key = |n: u64| (n / FLUSH_EVERY, key_of(n));
    let accepted_set: HashSet<u64> = accepted.iter().copied().collect();
    let mut first_undelivered: HashMap<(u64, String), u64> = HashMap::new();
    for &n in returned.keys().filter(|n| !accepted_set.contains(n)) {
        let first = first_undelivered.entry(stretch_key(n)).or_insert(n);
        *first = (*first).min(n);
    }
    for &n in accepted {
        if let Some(&first) = first_undelivered.get(&stretch_key(n)) {
            assert!(
                n < first,
                "{service}: {n} stored although {first} of its key was not"
            );
        }
    }
}

fn unprocessed<P>(
    items: &[Unprocessed<P>],
    number: impl Fn(&P) -> u64,
) -> Vec<(u64, u32, UnprocessedReason)> {
    items
        .iter()
        .map(|item| {
            (
                number(&item.payload),
                item.error.attempts,
                item.error.reason,
            )
        })
        .collect()
}

fn sqs_body(message: &SqsMessage) -> u64 {
    match message.body() {
        MessageBody::Text(body) => number_in(body),
        other => panic!("body changed: {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqs_standard_soak() {
    let endpoint = NullEndpoint::start_with_faults(
        Duration::ZERO,
        Faults {
            sender_faults: 0.05,
            ..faults(1)
        },
    )
    .await
    .unwrap();
    let sqs = SqsBatchDispatcher::builder(SqsBackend::new(
        aws_batch_utils::sqs::sdk::Client::new(&sdk_config(&endpoint).await),
        "http://127.0.0.1/0/q",
    ))
    .config(config(10))
    .build()
    .unwrap();
    let records = records();
    let (returned, held) = drive(&sqs, records, |n| SqsMessage::text(format!("m{n}"))).await;
    assert!(
        returned
            .iter()
            .filter(|u| u.error.code() == "InvalidParameterValue")
            .all(|u| u.error.reason == UnprocessedReason::Rejected),
        "a sender fault is not retried"
    );
    Outcome {
        service: "SQS standard",
        records,
        max_entries: 10,
        seen: Seen::of(&endpoint, Api::SendMessageBatch, number_in),
        returned: unprocessed(&returned, sqs_body),
        key_of: None,
        held,
        stats: sqs.stats(),
        absorbs_repeats: false,
    }
    .check();
}

fn fifo_group(n: u64) -> String {
    format!("g{}", n % 40)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqs_fifo_soak() {
    let endpoint = NullEndpoint::start_with_faults(Duration::ZERO, faults(2))
        .await
        .unwrap();
    let fifo = SqsFifoBatchDispatcher::builder(SqsBackend::fifo(
        aws_batch_utils::sqs::sdk::Client::new(&sdk_config(&endpoint).await),
        "http://127.0.0.1/0/q.fifo",
    ))
    .config(config(10))
    .build()
    .unwrap();
    let records = records();
    let (returned, held) = drive(&fifo, records, |n| {
        SqsMessage::text(format!("m{n}"))
            .with_message_group_id(fifo_group(n))
            .with_deduplication_id(format!("d{n}"))
    })
    .await;
    eprintln!(
        "soak SQS FIFO: {} repeats absorbed by deduplication ids",
        endpoint.fifo_repeats_absorbed()
    );
    Outcome {
        service: "SQS FIFO",
        records,
        max_entries: 10,
        seen: Seen::of(&endpoint, Api::SendMessageBatch, number_in),
        returned: unprocessed(&returned, sqs_body),
        key_of: Some(fifo_group),
        held,
        stats: fifo.stats(),
        // Deduplication ids absorb the repeats a lost response causes.
        absorbs_repeats: true,
    }
    .check();
}

fn kinesis_key(n: u64) -> String {
    format!("k{}", n % 50)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kinesis_ordered_soak() {
    let endpoint = NullEndpoint::start_with_faults(Duration::ZERO, faults(3))
        .await
        .unwrap();
    let kinesis = KinesisBatchDispatcher::builder(
        KinesisBackend::new(
            aws_batch_utils::kinesis::sdk::Client::new(&sdk_config(&endpoint).await),
            "stream",
        )
        .with_ordered(true),
    )
    .config(config(500))
    .build()
    .unwrap();
    let records = records();
    let (returned, held) = drive(&kinesis, records, |n| {
        KinesisRecord::bytes(n.to_be_bytes().to_vec()).with_partition_key(kinesis_key(n))
    })
    .await;
    let number = |record: &KinesisRecord| match record.data() {
        RecordData::Bytes(bytes) => u64::from_be_bytes(bytes[..].try_into().unwrap()),
        other => panic!("data changed: {other:?}"),
    };
    Outcome {
        service: "Kinesis (ordered)",
        records,
        max_entries: 500,
        seen: Seen::of(&endpoint, Api::PutRecords, |data| {
            u64::from_be_bytes(base64_decode(data).try_into().unwrap())
        }),
        returned: unprocessed(&returned, number),
        key_of: Some(kinesis_key),
        held,
        stats: kinesis.stats(),
        absorbs_repeats: false,
    }
    .check();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dynamodb_soak() {
    let endpoint = NullEndpoint::start_with_faults(Duration::ZERO, faults(4))
        .await
        .unwrap();
    let table = DynamoBatchDispatcher::builder(DynamoBackend::new(
        aws_batch_utils::dynamodb::sdk::Client::new(&sdk_config(&endpoint).await),
        "table",
        "pk",
    ))
    .config(config(25))
    .build()
    .unwrap();
    let records = records();
    let (returned, held) = drive(&table, records, |n| {
        json!({"pk": format!("i{n}"), "n": n, "text": "payload"}).into()
    })
    .await;
    let number = |write: &DynamoWrite| match write {
        DynamoWrite::Put(DynamoItem::Json(item)) => item["n"].as_u64().unwrap(),
        other => panic!("write changed: {other:?}"),
    };
    let stored = |write: &str| {
        let write: Value = serde_json::from_str(write).unwrap();
        number_in(write["PutRequest"]["Item"]["pk"]["S"].as_str().unwrap())
    };
    Outcome {
        service: "DynamoDB",
        records,
        max_entries: 25,
        seen: Seen::of(&endpoint, Api::BatchWriteItem, stored),
        returned: unprocessed(&returned, number),
        key_of: None,
        held,
        stats: table.stats(),
        absorbs_repeats: false,
    }
    .check();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cloudwatch_soak() {
    // PutMetricData succeeds or fails whole: request-level faults only, and more of them.
    let endpoint = NullEndpoint::start_with_faults(
        Duration::ZERO,
        Faults {
            throttles: 0.1,
            server_errors: 0.05,
            ..faults(5)
        },
    )
    .await
    .unwrap();
    let metrics = CloudWatchBatchDispatcher::builder(CloudWatchBackend::new(
        aws_batch_utils::cloudwatch::sdk::Client::new(&sdk_config(&endpoint).await),
        "Soak",
    ))
    .config(config(20))
    .build()
    .unwrap();
    let records = records();
    let (returned, held) = drive(&metrics, records, |n| Metric::new(format!("m{n}"), 1.0)).await;
    Outcome {
        service: "CloudWatch",
        records,
        max_entries: 20,
        seen: Seen::of(&endpoint, Api::PutMetricData, number_in),
        returned: unprocessed(&returned, |metric: &Metric| number_in(metric.name())),
        key_of: None,
        held,
        stats: metrics.stats(),
        absorbs_repeats: false,
    }
    .check();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn firehose_soak() {
    let endpoint = NullEndpoint::start_with_faults(Duration::ZERO, faults(6))
        .await
        .unwrap();
    let stream = FirehoseBatchDispatcher::builder(FirehoseBackend::new(
        aws_batch_utils::firehose::sdk::Client::new(&sdk_config(&endpoint).await),
        "stream",
    ))
    // Requests of 50, not 500: enough of them to meet every kind of fault.
    .config(config(50))
    .build()
    .unwrap();
    let records = records();
    let (returned, held) = drive(&stream, records, |n| json!({ "n": n }).into()).await;
    let number = |record: &FirehoseRecord| record.as_json().unwrap()["n"].as_u64().unwrap();
    let stored = |data: &str| {
        let record: Value = serde_json::from_slice(&base64_decode(data)).unwrap();
        record["n"].as_u64().unwrap()
    };
    Outcome {
        service: "Firehose",
        records,
        max_entries: 50,
        seen: Seen::of(&endpoint, Api::PutRecordBatch, stored),
        returned: unprocessed(&returned, number),
        key_of: None,
        held,
        stats: stream.stats(),
        absorbs_repeats: false,
    }
    .check();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eventbridge_soak() {
    let endpoint = NullEndpoint::start_with_faults(
        Duration::ZERO,
        Faults {
            sender_faults: 0.05,
            ..faults(7)
        },
    )
    .await
    .unwrap();
    let events = EventBridgeBatchDispatcher::builder(EventBridgeBackend::new(
        aws_batch_utils::eventbridge::sdk::Client::new(&sdk_config(&endpoint).await),
        "bus",
    ))
    .config(config(10))
    .build()
    .unwrap();
    let records = records();
    let (returned, held) = drive(&events, records, |n| {
        Event::new("soak", "Numbered", json!({ "n": n }))
    })
    .await;
    let number = |event: &Event| event.detail()["n"].as_u64().unwrap();
    let stored = |detail: &str| {
        let detail: Value = serde_json::from_str(detail).unwrap();
        detail["n"].as_u64().unwrap()
    };
    Outcome {
        service: "EventBridge",
        records,
        max_entries: 10,
        seen: Seen::of(&endpoint, Api::PutEvents, stored),
        returned: unprocessed(&returned, number),
        key_of: None,
        held,
        stats: events.stats(),
        absorbs_repeats: false,
    }
    .check();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sns_soak() {
    let endpoint = NullEndpoint::start_with_faults(
        Duration::ZERO,
        Faults {
            sender_faults: 0.05,
            ..faults(8)
        },
    )
    .await
    .unwrap();
    let topic = SnsBatchDispatcher::builder(SnsBackend::new(
        aws_batch_utils::sns::sdk::Client::new(&sdk_config(&endpoint).await),
        "arn:aws:sns:us-east-1:000000000000:soak",
    ))
    .config(config(10))
    .build()
    .unwrap();
    let records = records();
    let (returned, held) = drive(&topic, records, |n| SnsMessage::text(format!("m{n}"))).await;
    let number = |message: &SnsMessage| match message.body() {
        MessageBody::Text(body) => number_in(body),
        other => panic!("body changed: {other:?}"),
    };
    Outcome {
        service: "SNS",
        records,
        max_entries: 10,
        seen: Seen::of(&endpoint, Api::PublishBatch, number_in),
        returned: unprocessed(&returned, number),
        key_of: None,
        held,
        stats: topic.stats(),
        absorbs_repeats: false,
    }
    .check();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_soak() {
    let endpoint = NullEndpoint::start_with_faults(Duration::ZERO, faults(9))
        .await
        .unwrap();
    // The endpoint's clock 30 minutes behind: one event in 50, 1 hour 50 minutes ahead here,
    // is too new there, and comes back with its reason.
    endpoint.set_clock_ahead(-30 * 60_000);
    let logs = LogsBatchDispatcher::builder(LogsBackend::new(
        aws_batch_utils::logs::sdk::Client::new(&sdk_config(&endpoint).await),
        "group",
        "stream",
    ))
    .config(config(50))
    .build()
    .unwrap();
    let records = records();
    let now = std::time::SystemTime::now();
    let (returned, held) = drive(&logs, records, |n| {
        let ahead = if n % 50 == 7 { 110 * 60 } else { 0 };
        LogEvent::at(format!("m{n}"), now + Duration::from_secs(ahead))
    })
    .await;
    let too_new = returned
        .iter()
        .filter(|u| u.error.code() == "TooNewLogEvent")
        .count();
    assert!(too_new > 0 && too_new as u64 <= records / 50);
    let number = |event: &LogEvent| number_in(event.message());
    Outcome {
        service: "CloudWatch Logs",
        records,
        max_entries: 50,
        seen: Seen::of(&endpoint, Api::PutLogEvents, number_in),
        returned: unprocessed(&returned, number),
        key_of: None,
        held,
        stats: logs.stats(),
        absorbs_repeats: false,
    }
    .check();
    assert_eq!(endpoint.invalid_log_calls(), 0);
}
