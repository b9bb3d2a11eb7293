//! SnsBatchDispatcher against the local emulator (moto): messages read back from an SQS
//! queue subscribed to the topic with raw delivery.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;

use aws_sdk_sns::Client;
use batch_sns::{
    FifoDeduplication, MessageAttribute, SnsBackend, SnsBatchDispatcher, SnsFifoBatchDispatcher,
    SnsMessage,
};
use serde_json::{Value, json};

async fn clients() -> (Client, aws_sdk_sqs::Client) {
    (
        Client::new(&test_support::sdk_config("sns").await),
        aws_sdk_sqs::Client::new(&test_support::sdk_config("sqs").await),
    )
}

#[tokio::test]
async fn messages_reach_a_subscribed_queue_field_for_field_in_the_fewest_requests() {
    let (sns, sqs) = clients().await;
    let (topic, url) = test_support::create_topic_to_queue(&sns, &sqs, false).await;
    let dispatcher = SnsBatchDispatcher::from_client(sns.clone(), topic);
    for n in 0..25_u64 {
        let message = SnsMessage::json(json!({"n": n, "text": "grüße 🚀"}))
            .with_attribute("n", MessageAttribute::Number(n.to_string()))
            .with_attribute("kind", MessageAttribute::String(format!("kind-{}", n % 3)));
        dispatcher.submit_payload(message).await.unwrap();
    }
    assert!(dispatcher.flush_payloads().await.is_empty());
    let stats = dispatcher.stats();
    assert_eq!((stats.delivered, stats.requests_sent), (25, 3));
    let received = test_support::receive_all(&sqs, &url, 25).await;
    let mut seen = BTreeMap::new();
    for message in &received {
        let body: Value = serde_json::from_str(message.body().unwrap()).unwrap();
        let n = body["n"].as_u64().unwrap();
        assert_eq!(body["text"], "grüße 🚀");
        let attributes = message.message_attributes().unwrap();
        assert_eq!(attributes["n"].string_value(), Some(n.to_string().as_str()));
        assert_eq!(
            attributes["kind"].string_value(),
            Some(format!("kind-{}", n % 3).as_str())
        );
        assert!(seen.insert(n, ()).is_none(), "message {n} twice");
    }
    assert_eq!(seen.len(), 25);
}

#[tokio::test]
async fn a_fifo_topic_keeps_each_groups_order() {
    let (sns, sqs) = clients().await;
    let (topic, url) = test_support::create_topic_to_queue(&sns, &sqs, true).await;
    let backend =
        SnsBackend::fifo(sns.clone(), topic).with_deduplication(FifoDeduplication::ContentHash);
    let dispatcher = SnsFifoBatchDispatcher::builder(backend).build().unwrap();
    for n in 0..60_u64 {
        let message =
            SnsMessage::json(json!({ "n": n })).with_message_group_id(format!("g{}", n % 3));
        dispatcher.submit_payload(message).await.unwrap();
    }
    assert!(dispatcher.flush_payloads().await.is_empty());
    let received = test_support::receive_all(&sqs, &url, 60).await;
    let mut per_group: BTreeMap<u64, Vec<u64>> = BTreeMap::new();
    for message in &received {
        let body: Value = serde_json::from_str(message.body().unwrap()).unwrap();
        let n = body["n"].as_u64().unwrap();
        per_group.entry(n % 3).or_default().push(n);
    }
    for (group, numbers) in per_group {
        let expected: Vec<u64> = (0..60).filter(|n| n % 3 == group).collect();
        assert_eq!(numbers, expected, "order within g{group}");
    }
}
