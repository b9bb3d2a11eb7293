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

/// Sends `count` messages `{"n": n}` and receives them all (hidden for 10 minutes),
/// without deleting them: their receipt handles, by number.
async fn received(client: &Client, url: &str, count: u64) -> BTreeMap<u64, String> {
    let sqs = SqsBatchDispatcher::from_client(client.clone(), url);
    for n in 0..count {
        sqs.submit_payload(json!({ "n": n })).await.unwrap();
    }
    assert!(sqs.flush_payloads().await.is_empty());
    let mut handles = BTreeMap::new();
    let mut empty_polls = 0;
    while (handles.len() as u64) < count && empty_polls < 3 {
        let output = client
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(10)
            .visibility_timeout(600)
            .send()
            .await
            .unwrap();
        if output.messages().is_empty() {
            empty_polls += 1;
        }
        for message in output.messages() {
            let body: Value = serde_json::from_str(message.body().unwrap()).unwrap();
            let handle = message.receipt_handle().unwrap().to_owned();
            handles.insert(body["n"].as_u64().unwrap(), handle);
        }
    }
    assert_eq!(handles.len() as u64, count);
    handles
}

/// Messages in the queue, visible or in flight.
async fn messages_left(client: &Client, url: &str) -> u64 {
    use aws_sdk_sqs::types::QueueAttributeName::{
        ApproximateNumberOfMessages, ApproximateNumberOfMessagesNotVisible,
    };
    let output = client
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(ApproximateNumberOfMessages)
        .attribute_names(ApproximateNumberOfMessagesNotVisible)
        .send()
        .await
        .unwrap();
    let attributes = output.attributes().unwrap();
    [
        ApproximateNumberOfMessages,
        ApproximateNumberOfMessagesNotVisible,
    ]
    .iter()
    .map(|name| attributes[name].parse::<u64>().unwrap())
    .sum()
}

#[tokio::test]
async fn a_consumer_deletes_25_received_messages_in_3_requests_and_the_queue_is_empty() {
    let client = client().await;
    let url = test_support::create_queue(&client, false).await;
    let handles = received(&client, &url, 25).await;
    assert_eq!(messages_left(&client, &url).await, 25);
    let name = url.rsplit('/').next().unwrap().to_owned();
    let deletes = batch_sqs::SqsDeleteDispatcher::from_client(client.clone(), name);
    for handle in handles.values() {
        deletes.submit_payload(handle.as_str()).await.unwrap();
    }
    // A second delete of one message is the same delete.
    deletes.submit_payload(handles[&24].as_str()).await.unwrap();
    assert!(deletes.flush_payloads().await.is_empty());
    let stats = deletes.stats();
    assert_eq!((stats.delivered, stats.duplicates_dropped), (25, 1));
    assert_eq!(stats.requests_sent, 3);
    assert_eq!(messages_left(&client, &url).await, 0);
}

#[tokio::test]
async fn an_invalid_receipt_handle_comes_back_unretried_and_the_rest_are_deleted() {
    let client = client().await;
    let url = test_support::create_queue(&client, false).await;
    let handles = received(&client, &url, 3).await;
    let deletes = batch_sqs::SqsDeleteDispatcher::from_client(client.clone(), url.clone());
    deletes
        .submit_payload("not-a-receipt-handle")
        .await
        .unwrap();
    for handle in handles.values() {
        deletes.submit_payload(handle.as_str()).await.unwrap();
    }
    let unprocessed = deletes.flush_payloads().await;
    assert_eq!(unprocessed.len(), 1);
    assert_eq!(unprocessed[0].payload, "not-a-receipt-handle");
    assert_eq!(unprocessed[0].error.code(), "ReceiptHandleIsInvalid");
    assert_eq!(unprocessed[0].error.attempts, 1, "not retried");
    assert_eq!(deletes.stats().requests_sent, 1);
    assert_eq!(messages_left(&client, &url).await, 0);
}

#[tokio::test]
async fn released_messages_are_visible_again_at_once() {
    let client = client().await;
    let url = test_support::create_queue(&client, false).await;
    let handles = received(&client, &url, 12).await;
    // Hidden for ten minutes: nothing to receive.
    let again = client
        .receive_message()
        .queue_url(&url)
        .send()
        .await
        .unwrap();
    assert!(again.messages().is_empty());
    let visibility = batch_sqs::SqsVisibilityDispatcher::from_client(client.clone(), url.clone());
    // Of two changes to message 0, the later one (release) is sent.
    visibility
        .submit_payload(batch_sqs::VisibilityChange::new(&handles[&0], 900))
        .await
        .unwrap();
    for (n, handle) in &handles {
        // Even messages are released, odd ones stay hidden longer.
        let timeout = if n % 2 == 0 { 0 } else { 1_200 };
        visibility
            .submit_payload(batch_sqs::VisibilityChange::new(handle, timeout))
            .await
            .unwrap();
    }
    assert!(visibility.flush_payloads().await.is_empty());
    assert_eq!(visibility.stats().superseded, 1);
    assert_eq!(visibility.stats().requests_sent, 2);
    let visible = test_support::receive_all(&client, &url, 6).await;
    let mut numbers: Vec<u64> = visible
        .iter()
        .map(|m| {
            serde_json::from_str::<Value>(m.body().unwrap()).unwrap()["n"]
                .as_u64()
                .unwrap()
        })
        .collect();
    numbers.sort_unstable();
    assert_eq!(numbers, vec![0, 2, 4, 6, 8, 10]);
}

#[tokio::test]
async fn the_queues_maximum_message_size_is_read_and_a_larger_message_refused_at_submit() {
    use aws_sdk_sqs::types::QueueAttributeName;
    let client = client().await;
    let name = test_support::unique_name("small");
    let url = client
        .create_queue()
        .queue_name(&name)
        .attributes(QueueAttributeName::MaximumMessageSize, "1024")
        .send()
        .await
        .unwrap()
        .queue_url()
        .unwrap()
        .to_owned();
    let sqs = SqsBatchDispatcher::from_client(client.clone(), name);
    // At the limit: accepted. One byte past it: refused, naming the limit, handed back.
    sqs.submit_payload(SqsMessage::text("x".repeat(1_024)))
        .await
        .unwrap();
    let refused = sqs
        .submit_payload(SqsMessage::text("y".repeat(1_025)))
        .await
        .unwrap_err();
    assert_eq!(refused.kind().field(), "message");
    assert!(refused.to_string().contains("1024"), "{refused}");
    assert_eq!(sqs.backend().maximum_message_size(), Some(1_024));
    assert!(sqs.flush_payloads().await.is_empty());
    let received = test_support::receive_all(&client, &url, 1).await;
    assert_eq!(received[0].body().unwrap().len(), 1_024);
    // Set by the user, the queue is not asked.
    let set = batch_sqs::SqsBackend::new(client.clone(), url.clone()).with_maximum_message_size(10);
    let sqs = SqsBatchDispatcher::builder(set).build().unwrap();
    assert!(
        sqs.submit_payload(SqsMessage::text("eleven char"))
            .await
            .is_err()
    );
}
