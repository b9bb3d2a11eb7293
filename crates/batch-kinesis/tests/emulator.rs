//! KinesisBatchDispatcher against the local Kinesis emulator (moto).
#![allow(clippy::unwrap_used)]

use std::collections::HashMap;

use aws_sdk_kinesis::Client;
use batch_core::UnprocessedReason;
use batch_kinesis::{KinesisBackend, KinesisBatchDispatcher};
use serde_json::{Value, json};

async fn client() -> Client {
    Client::new(&test_support::sdk_config("kinesis").await)
}

#[tokio::test]
async fn two_thousand_records_over_500_keys_go_in_four_requests_in_order_per_key() {
    let client = client().await;
    let stream = test_support::create_stream(&client, 2).await;
    let kinesis = KinesisBatchDispatcher::builder(
        KinesisBackend::new(client.clone(), stream.clone())
            .with_partition_key_field("key")
            .with_ordered(true),
    )
    .build()
    .unwrap();
    for n in 0..2_000_u64 {
        // Ordered requests hold one record per key: 500 keys fill each request.
        let record = json!({"key": format!("key-{}", n % 500), "n": n, "text": "ünïcödé"});
        kinesis.submit_payload(record).await.unwrap();
    }
    assert!(kinesis.flush_payloads().await.is_empty());
    let stats = kinesis.stats();
    assert_eq!(stats.requests_sent, 4);
    assert_eq!(stats.delivered, 2_000);

    let records = test_support::read_stream(&client, &stream).await;
    assert_eq!(records.len(), 2_000);
    let mut per_key: HashMap<String, Vec<u64>> = HashMap::new();
    for (key, data) in records {
        let value: Value = serde_json::from_slice(&data).unwrap();
        assert_eq!(
            value["key"],
            key.as_str(),
            "the partition key came from the field"
        );
        assert_eq!(value["text"], "ünïcödé");
        per_key
            .entry(key)
            .or_default()
            .push(value["n"].as_u64().unwrap());
    }
    assert_eq!(per_key.len(), 500);
    for (key, numbers) in per_key {
        let k: u64 = key.trim_start_matches("key-").parse().unwrap();
        let expected: Vec<u64> = (0..2_000).filter(|n| n % 500 == k).collect();
        assert_eq!(numbers, expected, "order within {key}");
    }
}

#[tokio::test]
async fn an_unknown_stream_returns_every_record_with_resource_not_found() {
    let kinesis =
        KinesisBatchDispatcher::from_client(client().await, test_support::unique_name("absent"));
    for n in 0..30 {
        kinesis.submit_payload(json!({"n": n})).await.unwrap();
    }
    let unprocessed = kinesis.flush_payloads().await;
    assert_eq!(unprocessed.len(), 30);
    for item in &unprocessed {
        assert_eq!(item.error.code(), "ResourceNotFoundException");
        assert_eq!(item.error.reason, UnprocessedReason::Rejected);
        assert_eq!(item.error.attempts, 1);
    }
}

/// The shard a user record hashes to must be the one its aggregate was stored in.
fn hash_of(record: &batch_kinesis::UserRecord) -> u128 {
    use md5::{Digest, Md5};
    match &record.explicit_hash_key {
        Some(key) => key.parse().unwrap(),
        None => u128::from_be_bytes(Md5::digest(record.partition_key.as_bytes()).into()),
    }
}

/// Submits 10,000 small records over 300 keys to a 4-shard stream, aggregated (the keys
/// whose number is a multiple of 10 have an explicit hash key on every record, `n << 110`,
/// which puts them all in the first shard, apart from their key's hash); reads every shard back, de-aggregated; returns the stats,
/// the Kinesis records stored and the user records per key, in stream order.
async fn aggregate_ten_thousand(
    ordered: bool,
) -> (batch_core::Stats, usize, HashMap<String, Vec<u64>>) {
    let client = client().await;
    let stream = test_support::create_stream(&client, 4).await;
    let kinesis = KinesisBatchDispatcher::builder(
        KinesisBackend::new(client.clone(), stream.clone())
            .with_partition_key_field("key")
            .with_ordered(ordered)
            .with_aggregate(true),
    )
    .build()
    .unwrap();
    for n in 0..10_000_u64 {
        let key = format!("key-{}", n % 300);
        let value = json!({"key": key, "n": n, "pad": "x".repeat(40)});
        let record = if n.is_multiple_of(10) {
            batch_kinesis::KinesisRecord::json(value)
                .with_partition_key(key)
                .with_explicit_hash_key(((n as u128) << 110).to_string())
        } else {
            value.into()
        };
        kinesis.submit_payload(record).await.unwrap();
    }
    assert!(kinesis.flush_payloads().await.is_empty());
    let stats = kinesis.stats();

    let shards = test_support::read_shards(&client, &stream).await;
    assert_eq!(shards.len(), 4);
    let mut stored = 0;
    let mut per_key: HashMap<String, Vec<u64>> = HashMap::new();
    for shard in shards {
        stored += shard.records.len();
        for (key, data) in &shard.records {
            for user in batch_kinesis::deaggregate(key, data).unwrap() {
                assert!(
                    shard.hash_keys.contains(&hash_of(&user)),
                    "a user record is in the shard its key hashes to"
                );
                let value: Value = serde_json::from_slice(&user.data).unwrap();
                assert_eq!(value["key"], user.partition_key.as_str());
                assert_eq!(value["pad"], "x".repeat(40));
                let n = value["n"].as_u64().unwrap();
                assert_eq!(user.explicit_hash_key.is_some(), n.is_multiple_of(10));
                per_key.entry(user.partition_key).or_default().push(n);
            }
        }
    }
    (stats, stored, per_key)
}

#[tokio::test]
async fn ten_thousand_aggregated_records_come_back_whole_in_the_shards_they_hash_to() {
    let (stats, stored, per_key) = aggregate_ten_thousand(false).await;
    let mut all: Vec<u64> = per_key.into_values().flatten().collect();
    all.sort_unstable();
    assert_eq!(all, (0..10_000).collect::<Vec<_>>(), "every record once");
    assert_eq!(stats.delivered, 10_000);
    // About 850 KB of user records in aggregates of up to 64 KiB: each request goes when
    // one of them is full, with the others of its shards as they are.
    assert!(stored <= 30, "{stored} Kinesis records for 10,000");
    assert!(
        stats.requests_sent <= 15,
        "{} requests",
        stats.requests_sent
    );
}

#[tokio::test]
async fn aggregated_in_ordered_mode_each_key_keeps_its_order() {
    let (stats, stored, per_key) = aggregate_ten_thousand(true).await;
    assert_eq!(per_key.len(), 300);
    for (key, numbers) in per_key {
        let k: u64 = key.trim_start_matches("key-").parse().unwrap();
        let expected: Vec<u64> = (0..10_000).filter(|n| n % 300 == k).collect();
        assert_eq!(numbers, expected, "order within {key}");
    }
    assert_eq!(stats.delivered, 10_000);
    assert!(stored <= 30, "{stored} Kinesis records for 10,000");
}
