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
            .partition_key_field("key")
            .ordered(true),
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
