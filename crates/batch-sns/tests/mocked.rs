//! Partial failures, FIFO order and the topic's size, with aws-smithy-mocks clients on
//! paused time.
#![allow(clippy::unwrap_used)]

use aws_sdk_sns::Client;
use aws_sdk_sns::config::retry::RetryConfig as SdkRetryConfig;
use aws_sdk_sns::operation::get_topic_attributes::GetTopicAttributesOutput;
use aws_sdk_sns::operation::publish_batch::PublishBatchOutput;
use aws_sdk_sns::types::{BatchResultErrorEntry, PublishBatchResultEntry};
use aws_smithy_mocks::{MockResponse, RuleMode, mock, mock_client};
use batch_core::{SubmitErrorKind, UnprocessedReason};
use batch_sns::MessageBody;
use batch_sns::{SnsBackend, SnsBatchDispatcher, SnsFifoBatchDispatcher, SnsMessage};
use serde_json::{Value, json};

const FIFO_TOPIC: &str = "arn:aws:sns:us-east-1:1:orders.fifo";
const TOPIC: &str = "arn:aws:sns:us-east-1:1:orders";

/// A client whose PublishBatch answers each message with `respond(call, n)`: `None`
/// published, `Some((code, sender_fault))` failed; whose topic's largest message is
/// `maximum`; and the numbers of each request.
fn client<F>(respond: F, maximum: &'static str) -> (Client, test_support::Recorder<Vec<u64>>)
where
    F: Fn(usize, u64) -> Option<(&'static str, bool)> + Send + Sync + 'static,
{
    let log = test_support::Recorder::default();
    let seen = log.clone();
    let rule = mock!(Client::publish_batch).then_compute_response(move |request| {
        let entries = request.publish_batch_request_entries();
        let numbers: Vec<u64> = entries
            .iter()
            .map(|e| {
                serde_json::from_str::<Value>(e.message()).unwrap()["n"]
                    .as_u64()
                    .unwrap()
            })
            .collect();
        let call = seen.record(numbers.clone());
        let (mut successful, mut failed) = (Vec::new(), Vec::new());
        for (entry, n) in entries.iter().zip(numbers) {
            match respond(call, n) {
                None => successful.push(PublishBatchResultEntry::builder().id(entry.id()).build()),
                Some((code, sender_fault)) => failed.push(
                    BatchResultErrorEntry::builder()
                        .id(entry.id())
                        .code(code)
                        .sender_fault(sender_fault)
                        .build()
                        .unwrap(),
                ),
            }
        }
        MockResponse::Output(
            PublishBatchOutput::builder()
                .set_successful(Some(successful))
                .set_failed(Some(failed))
                .build(),
        )
    });
    let attributes = mock!(Client::get_topic_attributes).then_output(move || {
        GetTopicAttributesOutput::builder()
            .attributes("MaximumMessageSize", maximum)
            .build()
    });
    let client = mock_client!(aws_sdk_sns, RuleMode::MatchAny, [&rule, &attributes], |c| c
        .retry_config(SdkRetryConfig::disabled()));
    (client, log)
}

fn number(message: &SnsMessage) -> u64 {
    match message.body() {
        MessageBody::Json(value) => value["n"].as_u64().unwrap(),
        other => panic!("body changed: {other:?}"),
    }
}

#[tokio::test(start_paused = true)]
async fn failed_entries_are_retried_and_a_sender_fault_comes_back() {
    let (client, log) = client(
        |call, n| match n {
            3 if call == 1 => Some(("InternalError", false)),
            7 => Some(("InvalidParameter", true)),
            _ => None,
        },
        "262144",
    );
    let sns = SnsBatchDispatcher::from_client(client, TOPIC);
    for n in 0..10 {
        sns.submit_payload(json!({ "n": n })).await.unwrap();
    }
    let unprocessed = sns.flush_payloads().await;
    assert_eq!(unprocessed.len(), 1);
    assert_eq!(number(&unprocessed[0].payload), 7);
    assert_eq!(unprocessed[0].error.reason, UnprocessedReason::Rejected);
    assert_eq!(log.seen(), vec![(0..10).collect::<Vec<_>>(), vec![3]]);
}

#[tokio::test(start_paused = true)]
async fn a_fifo_groups_order_holds_under_a_partial_failure() {
    // Message 1 (group g1) fails twice: the later messages of g1 wait for it.
    let (client, log) = client(
        |call, n| (n == 1 && call <= 2).then_some(("InternalError", false)),
        "262144",
    );
    let topic = SnsBackend::fifo(client, FIFO_TOPIC)
        .with_deduplication(batch_sns::FifoDeduplication::ContentHash);
    let sns = SnsFifoBatchDispatcher::builder(topic).build().unwrap();
    for n in 0..12_u64 {
        let message =
            SnsMessage::json(json!({ "n": n })).with_message_group_id(format!("g{}", n % 2));
        sns.submit_payload(message).await.unwrap();
    }
    assert!(sns.flush_payloads().await.is_empty());
    // The order in which each group's messages were published (accepted) is their order.
    let mut published: Vec<u64> = Vec::new();
    for (call, request) in log.seen().into_iter().enumerate() {
        for n in request {
            if !(n == 1 && call < 2) {
                published.push(n);
            }
        }
    }
    let g1: Vec<u64> = published.iter().copied().filter(|n| n % 2 == 1).collect();
    assert_eq!(g1, vec![1, 3, 5, 7, 9, 11]);
}

#[tokio::test(start_paused = true)]
async fn the_topics_largest_message_is_read_and_holds_entries_and_requests() {
    let (client, log) = client(|_, _| None, "1000");
    let sns = SnsBatchDispatcher::from_client(client, TOPIC);
    // 400-byte messages: two fit a request of 1,000 bytes, not three.
    for n in 0..6_u64 {
        let message = SnsMessage::json(json!({ "n": n, "pad": "x".repeat(380) }));
        sns.submit_payload(message).await.unwrap();
    }
    let err = sns
        .submit_payload(json!({ "n": 6, "pad": "x".repeat(1_000) }))
        .await
        .unwrap_err();
    assert!(
        matches!(err.kind(), SubmitErrorKind::TooLarge { limit: 1_000, .. }),
        "{err}"
    );
    assert!(sns.flush_payloads().await.is_empty());
    assert!(
        log.seen().iter().all(|request| request.len() <= 2),
        "{:?}",
        log.seen()
    );
    assert_eq!(sns.backend().maximum_message_size(), 1_000);
}
