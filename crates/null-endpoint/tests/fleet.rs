//! Fleet soak: many independent dispatchers, each with its own SDK client, started together
//! on one quota (a 2-shard stream with ordered keys, a 1,000 WCU table, a FIFO queue), with
//! random faults on top (server errors, lost and slow answers). Every record of every writer
//! must be delivered: none handed back, none lost, order kept per key and per FIFO group.
//! The figures (refused per delivered, goodput) are printed; `batch-bench fleet` measures
//! them for 2, 10 and 50 writers against peers.
//!
//! `AWS_BATCH_FLEET_SECONDS` sets the seconds of quota each run offers (default 3; `cargo
//! xtask soak` runs 20).
#![allow(
    clippy::unwrap_used,
    clippy::cast_precision_loss,
    clippy::cast_possible_truncation
)]

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::time::Duration;

use aws_batch_utils::dynamodb::{DynamoBackend, DynamoBatchDispatcher};
use aws_batch_utils::engine::{Backend, Dispatcher, DispatcherConfig, RetryPolicy};
use aws_batch_utils::kinesis::{KinesisBackend, KinesisBatchDispatcher, KinesisRecord};
use aws_batch_utils::sqs::{SqsBackend, SqsFifoBatchDispatcher, SqsMessage};
use null_endpoint::{Api, Capacity, Faults, NullEndpoint};
use serde_json::json;
use tokio::time::Instant;

mod common;
use common::{base64_decode, sdk_config};

/// Writers in each fleet.
const WRITERS: u64 = 10;

fn seconds() -> u64 {
    std::env::var("AWS_BATCH_FLEET_SECONDS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(3)
}

/// An endpoint enforcing `capacity`, answering in 5 ms, with random faults besides the
/// quota: server errors, lost answers, slow answers.
async fn start(capacity: Capacity, seed: u64) -> NullEndpoint {
    let faults = Faults {
        seed,
        server_errors: 0.01,
        dropped: 0.005,
        slow: 0.01,
        slow_by: Duration::from_millis(10),
        ..Faults::default()
    };
    NullEndpoint::start_with_capacity(Duration::from_millis(5), capacity, Some(faults))
        .await
        .unwrap()
}

/// Default settings, but for the attempts: random server errors count against them.
fn config() -> DispatcherConfig {
    DispatcherConfig::default().retry(RetryPolicy::default().max_attempts(10))
}

/// Runs `WRITERS` writers together, each made by `writer` from its number and its own SDK
/// configuration, and returns what they handed back and how long they took.
async fn fleet<F, Fut>(endpoint: &NullEndpoint, writer: F) -> (Vec<String>, Duration)
where
    F: Fn(u64, aws_config::SdkConfig) -> Fut,
    Fut: Future<Output = Vec<String>> + Send + 'static,
{
    let started = Instant::now();
    let mut tasks = Vec::new();
    for w in 0..WRITERS {
        // Each writer's own SDK configuration: its own connections and retry state.
        tasks.push(tokio::spawn(writer(w, sdk_config(endpoint).await)));
    }
    let mut handed_back = Vec::new();
    for task in tasks {
        handed_back.extend(task.await.unwrap());
    }
    (handed_back, started.elapsed())
}

/// Submits `records` payloads, flushes, and describes what came back.
async fn write<B: Backend>(
    dispatcher: Dispatcher<B>,
    records: u64,
    payload: impl Fn(u64) -> B::Payload,
) -> Vec<String>
where
    B::Payload: std::fmt::Debug,
{
    for n in 0..records {
        dispatcher.submit_payload(payload(n)).await.unwrap();
    }
    dispatcher
        .flush_payloads()
        .await
        .iter()
        .map(|item| format!("{} ({})", item.error, item.error.reason))
        .collect()
}

fn report(service: &str, endpoint: &NullEndpoint, records: u64, quota: f64, took: Duration) {
    let refused = endpoint.refused_for_capacity();
    eprintln!(
        "fleet {service}: {WRITERS} writers, {records} records, {refused} refused ({:.3} per \
         delivered), {:.1} s, goodput {:.0}% of the quota",
        refused as f64 / records as f64,
        took.as_secs_f64(),
        records as f64 / took.as_secs_f64() / quota * 100.0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fleet_on_a_two_shard_stream_delivers_everything_in_order_per_key() {
    let endpoint = start(Capacity::default().kinesis_shards(2), 31).await;
    let quota = 2_000.0;
    let share = quota as u64 * seconds() / WRITERS;
    let (handed_back, took) = fleet(&endpoint, |w, sdk| async move {
        let client = aws_batch_utils::kinesis::sdk::Client::new(&sdk);
        let backend = KinesisBackend::new(client, "stream")
            .with_partition_key_field("user")
            .with_ordered(true);
        let kinesis = KinesisBatchDispatcher::builder(backend)
            .config(config())
            .build()
            .unwrap();
        let pad = "x".repeat(850);
        write(kinesis, share, |n| {
            KinesisRecord::json(
                json!({"user": format!("w{w}u{}", n % 20), "w": w, "n": n, "pad": pad}),
            )
        })
        .await
    })
    .await;
    assert!(handed_back.is_empty(), "handed back: {handed_back:?}");
    // Every record of every writer stored, and per key the numbers only go up.
    let mut last: HashMap<(u64, u64), u64> = HashMap::new();
    let mut stored = HashSet::new();
    for data in endpoint.accepted(Api::PutRecords) {
        let value: serde_json::Value = serde_json::from_slice(&base64_decode(&data)).unwrap();
        let (w, n) = (value["w"].as_u64().unwrap(), value["n"].as_u64().unwrap());
        if let Some(previous) = last.insert((w, n % 20), n) {
            assert!(
                previous <= n,
                "writer {w} key {} stored {n} after {previous}",
                n % 20
            );
        }
        stored.insert((w, n));
    }
    assert_eq!(stored.len() as u64, share * WRITERS);
    report("kinesis", &endpoint, share * WRITERS, quota, took);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fleet_on_a_thousand_wcu_table_delivers_everything() {
    let endpoint = start(Capacity::default().dynamodb_wcu(1_000.0), 37).await;
    let quota = 1_000.0;
    let share = quota as u64 * seconds() / WRITERS;
    let (handed_back, took) = fleet(&endpoint, |w, sdk| async move {
        let client = aws_batch_utils::dynamodb::sdk::Client::new(&sdk);
        let table = DynamoBatchDispatcher::builder(DynamoBackend::new(client, "t", "pk"))
            .config(config())
            .build()
            .unwrap();
        let pad = "x".repeat(850);
        write(table, share, |n| {
            json!({"pk": format!("w{w}-{n}"), "pad": pad}).into()
        })
        .await
    })
    .await;
    assert!(handed_back.is_empty(), "handed back: {handed_back:?}");
    let stored: HashSet<String> = endpoint
        .accepted(Api::BatchWriteItem)
        .into_iter()
        .map(|write| {
            let value: serde_json::Value = serde_json::from_str(&write).unwrap();
            value["PutRequest"]["Item"]["pk"]["S"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(stored.len() as u64, share * WRITERS);
    report("dynamodb", &endpoint, share * WRITERS, quota, took);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fleet_on_a_fifo_queue_delivers_everything_in_order_per_group() {
    let endpoint = start(Capacity::default().sqs_requests_per_second(50.0), 41).await;
    let quota = 500.0;
    let share = quota as u64 * seconds() / WRITERS;
    let (handed_back, took) = fleet(&endpoint, |w, sdk| async move {
        let client = aws_batch_utils::sqs::sdk::Client::new(&sdk);
        let backend = SqsBackend::fifo(client, "http://127.0.0.1/0/q.fifo");
        let fifo = SqsFifoBatchDispatcher::builder(backend)
            .config(config())
            .build()
            .unwrap();
        write(fifo, share, |n| {
            SqsMessage::text(format!("{w}:{}:{n}", n % 5))
                .with_message_group_id(format!("w{w}g{}", n % 5))
                .with_deduplication_id(format!("w{w}d{n}"))
        })
        .await
    })
    .await;
    assert!(handed_back.is_empty(), "handed back: {handed_back:?}");
    let mut last: HashMap<(u64, u64), u64> = HashMap::new();
    let mut stored = 0;
    for body in endpoint.accepted(Api::SendMessageBatch) {
        let parts: Vec<u64> = body.split(':').map(|p| p.parse().unwrap()).collect();
        let (w, group, n) = (parts[0], parts[1], parts[2]);
        if let Some(previous) = last.insert((w, group), n) {
            assert!(
                previous < n,
                "writer {w} group {group} stored {n} after {previous}"
            );
        }
        stored += 1;
    }
    assert_eq!(stored, share * WRITERS);
    report("sqs fifo", &endpoint, share * WRITERS, quota, took);
}
