//! End to end through the facade: the `sqs` feature against the local SQS emulator.
#![allow(clippy::unwrap_used)]

use aws_batch_utils::sqs::{FifoDeduplication, MessageBody};
use aws_batch_utils::{SqsBatchDispatcher, SqsMessage, UnprocessedReason};
use serde_json::json;

#[tokio::test]
async fn the_facade_sends_and_reports_through_sqs() {
    let config = test_support::sdk_config("sqs").await;
    let client = aws_sdk_sqs::Client::new(&config);
    let url = test_support::create_queue(&client, false).await;
    let name = url.rsplit('/').next().unwrap().to_owned();

    let sqs = SqsBatchDispatcher::new(&config, &name);
    for n in 0..25 {
        sqs.submit_payload(json!({"n": n})).await.unwrap();
    }
    let too_big = SqsMessage::text("x".repeat(1_048_577));
    assert!(sqs.submit_payload(too_big).await.is_err());
    assert!(sqs.flush_payloads().await.is_empty());
    assert_eq!(sqs.stats().requests_sent, 3);

    let numbers = test_support::received_numbers(&client, &url, 25).await;
    assert_eq!(numbers, (0..25).collect::<Vec<_>>());

    // A queue that does not exist: every payload comes back, unretried.
    let missing = SqsBatchDispatcher::new(&config, test_support::unique_name("absent"));
    missing.submit_payload(json!({"n": 1})).await.unwrap();
    let unprocessed = missing.flush_payloads().await;
    assert_eq!(unprocessed.len(), 1);
    assert_eq!(unprocessed[0].error.reason, UnprocessedReason::Rejected);
}

#[test]
fn the_message_types_are_at_the_root_of_the_facade() {
    let message = SqsMessage::text("hello");
    assert!(matches!(message.body(), MessageBody::Text(text) if text == "hello"));
    assert_ne!(FifoDeduplication::ContentHash, FifoDeduplication::default());
}
