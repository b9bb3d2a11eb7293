//! End to end through the facade: the `kinesis` feature against the local Kinesis emulator.
#![allow(clippy::unwrap_used)]

use aws_batch_utils::{KinesisBackend, KinesisBatchDispatcher, KinesisRecord};
use serde_json::json;

#[tokio::test]
async fn the_facade_sends_records_through_kinesis() {
    let config = test_support::sdk_config("kinesis").await;
    let client = aws_sdk_kinesis::Client::new(&config);
    let stream = test_support::create_stream(&client, 1).await;
    // One request at a time: moto numbers a shard's records without a lock, so concurrent
    // PutRecords to one shard can overwrite each other there (not on AWS).
    let kinesis = KinesisBatchDispatcher::builder(KinesisBackend::new(client.clone(), &stream))
        .config(aws_batch_utils::DispatcherConfig::default().max_in_flight(1))
        .build()
        .unwrap();
    for n in 0..1_200 {
        kinesis.submit_payload(json!({"n": n})).await.unwrap();
    }
    kinesis
        .submit_payload(KinesisRecord::bytes(b"raw bytes".to_vec()).with_partition_key("raw"))
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

#[test]
fn a_partition_key_from_a_number_field_keeps_its_text() {
    // The same in every build: batch-core keeps serde_json's numbers as their text.
    let record: serde_json::Value =
        serde_json::from_str(r#"{"k": 1.50, "n": 12345678901234567890.5}"#).unwrap();
    let key = aws_batch_utils::kinesis::PartitionKey::Field("k".into())
        .key_of_json(&record)
        .unwrap();
    assert_eq!(key.as_deref(), Some("1.50"));
    assert_eq!(
        record.to_string(),
        r#"{"k":1.50,"n":12345678901234567890.5}"#
    );
}

#[test]
fn record_data_is_at_the_root_of_the_facade() {
    let record = KinesisRecord::bytes(b"raw".to_vec());
    assert!(
        matches!(record.data(), aws_batch_utils::kinesis::RecordData::Bytes(b) if b[..] == b"raw"[..])
    );
}
