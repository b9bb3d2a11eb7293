//! End to end through the facade: the `kinesis` feature against the local Kinesis emulator.
#![allow(clippy::unwrap_used)]

use aws_batch_utils::{KinesisBatchDispatcher, KinesisRecord};
use serde_json::json;

#[tokio::test]
async fn the_facade_sends_records_through_kinesis() {
    let config = test_support::sdk_config("kinesis").await;
    let client = aws_sdk_kinesis::Client::new(&config);
    let stream = test_support::create_stream(&client, 1).await;
    // One request at a time: moto numbers a shard's records without a lock, so concurrent
    // PutRecords to one shard can overwrite each other there (not on AWS).
    let kinesis = KinesisBatchDispatcher::builder(client.clone(), &stream)
        .config(aws_batch_utils::DispatcherConfig::default().max_in_flight(1))
        .build()
        .unwrap();
    for n in 0..1_200 {
        kinesis.submit_payload(json!({"n": n})).await.unwrap();
    }
    kinesis
        .submit_payload(KinesisRecord::bytes(b"raw bytes".to_vec()).partition_key("raw"))
        .await
        .unwrap();
    assert!(kinesis.flush_payloads().await.is_empty());
    let stats = kinesis.stats();
    assert_eq!((stats.requests_sent, stats.delivered), (3, 1_201));

    let records = test_support::read_stream(&client, &stream).await;
    assert_eq!(records.len(), 1_201);
    assert!(
        records
            .iter()
            .any(|(key, data)| key == "raw" && data == b"raw bytes")
    );
}
