//! FirehoseBatchDispatcher against the local emulator (moto), read back from the S3
//! objects its delivery stream writes.
#![allow(clippy::unwrap_used)]

use aws_sdk_firehose::Client;
use batch_firehose::{FirehoseBackend, FirehoseBatchDispatcher, FirehoseRecord};
use serde_json::{Value, json};

async fn client() -> Client {
    Client::new(&test_support::sdk_config("firehose").await)
}

/// Every line of every object in `bucket`, sorted.
async fn lines_in(bucket: &str) -> Vec<String> {
    test_support::lines_in_bucket(&test_support::s3_client().await, bucket).await
}

fn record(n: u64) -> Value {
    json!({"n": n, "text": "grüße 🚀", "nested": {"list": [1, 2.5, null]}})
}

#[tokio::test]
async fn a_thousand_and_one_records_reach_s3_one_a_line_in_three_requests() {
    let client = client().await;
    let s3 = test_support::s3_client().await;
    let (stream, bucket) = test_support::create_delivery_stream(&client, &s3).await;
    let firehose = FirehoseBatchDispatcher::builder(
        FirehoseBackend::new(client.clone(), stream).with_newline(true),
    )
    .build()
    .unwrap();
    for n in 0..1_000 {
        firehose.submit_payload(record(n)).await.unwrap();
    }
    // A byte record that ends with its own newline gets no second one.
    firehose
        .submit_payload(FirehoseRecord::bytes(b"raw line\n".to_vec()))
        .await
        .unwrap();
    assert!(firehose.flush_payloads().await.is_empty());
    let stats = firehose.stats();
    assert_eq!((stats.delivered, stats.requests_sent), (1_001, 3));

    let lines = lines_in(&bucket).await;
    assert_eq!(lines.len(), 1_001);
    let mut expected: Vec<String> = (0..1_000).map(|n| record(n).to_string()).collect();
    expected.push("raw line".into());
    expected.sort();
    assert_eq!(lines, expected, "every record, field for field, once");
}

#[tokio::test]
async fn packed_records_reach_s3_as_the_same_lines_in_fewer_firehose_records() {
    let client = client().await;
    let s3 = test_support::s3_client().await;
    let (stream, bucket) = test_support::create_delivery_stream(&client, &s3).await;
    let firehose = FirehoseBatchDispatcher::builder(
        FirehoseBackend::new(client.clone(), stream).with_pack(8_192),
    )
    .build()
    .unwrap();
    for n in 0..1_000 {
        firehose.submit_payload(record(n)).await.unwrap();
    }
    assert!(firehose.flush_payloads().await.is_empty());
    // About 80 KB of records in 8 KiB packed records: one request.
    assert_eq!(firehose.stats().requests_sent, 1);
    let lines = lines_in(&bucket).await;
    let mut expected: Vec<String> = (0..1_000).map(|n| record(n).to_string()).collect();
    expected.sort();
    assert_eq!(lines, expected);
}

#[tokio::test]
async fn an_unknown_delivery_stream_returns_every_record() {
    let firehose = FirehoseBatchDispatcher::from_client(client().await, "no-such-stream");
    for n in 0..7 {
        firehose.submit_payload(record(n)).await.unwrap();
    }
    let unprocessed = firehose.flush_payloads().await;
    assert_eq!(unprocessed.len(), 7);
    assert!(
        unprocessed
            .iter()
            .all(|u| u.error.code() == "ResourceNotFoundException" && u.error.attempts == 1)
    );
}
