//! SqsBatchDispatcher and SqsFifoBatchDispatcher against the local SQS emulator (moto).
#![allow(clippy::unwrap_used, clippy::cast_possible_truncation)]

use std::collections::{BTreeMap, HashMap};

use aws_sdk_sqs::Client;
use batch_core::UnprocessedReason;
use batch_sqs::{MessageAttribute, SqsBatchDispatcher, SqsFifoBatchDispatcher, SqsMessage};
use serde_json::{Value, json};

async fn client() -> Client {
    Client::new(&test_support::sdk_config("sqs").await)
}

#[tokio::test]
async fn a_thousand_messages_go_in_a_hundred_requests_and_arrive_intact() {
    let client = client().await;
    let url = test_support::create_queue(&client, false).await;
    // By name: the dispatcher resolves the URL itself.
    let name = url.rsplit('/').next().unwrap().to_owned();
    let sqs = SqsBatchDispatcher::from_client(client.clone(), name);
    for n in 0..1_000 {
        let message = SqsMessage::json(json!({"n": n, "text": "grüße 🚀", "quote": "\"x\""}))
            .with_attribute("n", MessageAttribute::Number(n.to_string()))
            .with_attribute("kind", MessageAttribute::String(format!("kind-{}", n % 3)))
            .with_attribute("raw", MessageAttribute::Binary(vec![n as u8, 0, 255]));
        sqs.submit_payload(message).await.unwrap();
    }
    assert!(sqs.flush_payloads().await.is_empty());
    let stats = sqs.stats();
    assert_eq!(stats.requests_sent, 100);
    assert_eq!((stats.submitted, stats.delivered), (1_000, 1_000));

    let received = test_support::receive_all(&client, &url, 1_000).await;
    assert_eq!(received.len(), 1_000);
    let mut seen = BTreeMap::new();
    for message in received {
        let body: Value = serde_json::from_str(message.body().unwrap()).unwrap();
        let n = body["n"].as_u64().unwrap();
        assert_eq!(body["text"], "grüße 🚀");
        assert_eq!(body["quote"], "\"x\"");
        let attributes = message.message_attributes().unwrap();
        assert_eq!(attributes["n"].string_value(), Some(n.to_string().as_str()));
        assert_eq!(attributes["n"].data_type(), "Number");
        assert_eq!(
            attributes["kind"].string_value(),
            Some(format!("kind-{}", n % 3).as_str())
        );
        assert_eq!(
            attributes["raw"].binary_value().unwrap().as_ref(),
            &[n as u8, 0, 255]
        );
        assert!(seen.insert(n, ()).is_none(), "message {n} arrived twice");
    }
    assert_eq!(seen.len(), 1_000);
}

#[tokio::test]
async fn fifo_messages_arrive_in_submission_order_within_each_group() {
    let client = client().await;
    let url = test_support::create_queue(&client, true).await;
    let fifo = SqsFifoBatchDispatcher::from_client(client.clone(), url.clone());
    for n in 0..120 {
        let group = format!("group-{}", n % 3);
        let message = SqsMessage::json(json!({"n": n, "group": group}))
            .with_message_group_id(group)
            .with_deduplication_id(format!("dedup-{n}"));
        fifo.submit_payload(message).await.unwrap();
    }
    assert!(fifo.flush_payloads().await.is_empty());
    assert_eq!(fifo.stats().requests_sent, 12);

    let mut per_group: HashMap<String, Vec<u64>> = HashMap::new();
    for message in test_support::receive_all(&client, &url, 120).await {
        let body: Value = serde_json::from_str(message.body().unwrap()).unwrap();
        per_group
            .entry(body["group"].as_str().unwrap().to_owned())
            .or_default()
            .push(body["n"].as_u64().unwrap());
    }
    assert_eq!(per_group.len(), 3);
    for (group, numbers) in per_group {
        let g: u64 = group.trim_start_matches("group-").parse().unwrap();
        let expected: Vec<u64> = (0..120).filter(|n| n % 3 == g).collect();
        assert_eq!(numbers, expected, "order within {group}");
    }
}

#[tokio::test]
async fn duplicates_in_the_pending_batch_are_dropped_and_counted() {
    let client = client().await;
    let url = test_support::create_queue(&client, false).await;
    let sqs = SqsBatchDispatcher::from_client(client.clone(), url.clone());
    for n in 0..8 {
        // Ids a, b, c, d, a, b, c, d: the second four are duplicates.
        let id = ["a", "b", "c", "d"][n % 4];
        sqs.submit_payload(SqsMessage::json(json!({"n": n})).with_id(id))
            .await
            .unwrap();
    }
    assert!(sqs.flush_payloads().await.is_empty());
    let stats = sqs.stats();
    assert_eq!((stats.duplicates_dropped, stats.delivered), (4, 4));
    let numbers = test_support::received_numbers(&client, &url, 4).await;
    assert_eq!(numbers, vec![0, 1, 2, 3], "the first of each id is kept");
}

#[tokio::test]
async fn a_missing_queue_returns_every_payload_with_queue_does_not_exist() {
    let sqs = SqsBatchDispatcher::from_client(client().await, test_support::unique_name("missing"));
    for n in 0..25 {
        sqs.submit_payload(json!({"n": n})).await.unwrap();
    }
    let unprocessed = sqs.flush_payloads().await;
    assert_eq!(unprocessed.len(), 25);
    let mut numbers: Vec<u64> = Vec::new();
    for item in &unprocessed {
        assert!(
            item.error.code().contains("QueueDoesNotExist")
                || item.error.code().contains("NonExistentQueue"),
            "code {}",
            item.error.code()
        );
        assert_eq!(item.error.reason, UnprocessedReason::Rejected);
        assert_eq!(item.error.attempts, 1, "not retried");
        let batch_sqs::MessageBody::Json(body) = item.payload.body() else {
            panic!("payload changed")
        };
        numbers.push(body["n"].as_u64().unwrap());
    }
    numbers.sort_unstable();
    assert_eq!(numbers, (0..25).collect::<Vec<_>>());
    assert_eq!(sqs.stats().unprocessed, 25);
}
