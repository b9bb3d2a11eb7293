//! EventBridgeBatchDispatcher against the local emulator (moto): events read back from the
//! SQS queue a rule of their bus sends them to.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::time::{Duration, UNIX_EPOCH};

use aws_sdk_eventbridge::Client;
use batch_eventbridge::{Event, EventBridgeBatchDispatcher};
use serde_json::{Value, json};

#[tokio::test]
async fn events_reach_the_rules_target_field_for_field_in_the_fewest_requests() {
    let config = test_support::sdk_config("eventbridge").await;
    let (events, sqs) = (
        Client::new(&config),
        aws_sdk_sqs::Client::new(&test_support::sdk_config("sqs").await),
    );
    let (bus, url) = test_support::create_bus_to_queue(&events, &sqs, "test.orders").await;
    let dispatcher = EventBridgeBatchDispatcher::from_client(events.clone(), bus);
    let time = UNIX_EPOCH + Duration::from_secs(1_764_806_400);
    for n in 0..25_u64 {
        let event = Event::new(
            "test.orders",
            "OrderPlaced",
            json!({"order": n, "items": [{"sku": "ä-1", "qty": 2}], "note": null}),
        )
        .with_resource(format!("arn:aws:test:::order/{n}"))
        .with_time(time);
        dispatcher.submit_payload(event).await.unwrap();
    }
    // Accepted by the bus, but no rule sends it on.
    dispatcher
        .submit_payload(Event::new("test.other", "Ignored", json!({})))
        .await
        .unwrap();
    assert!(dispatcher.flush_payloads().await.is_empty());
    let stats = dispatcher.stats();
    assert_eq!((stats.delivered, stats.requests_sent), (26, 3));

    let received = test_support::receive_all(&sqs, &url, 25).await;
    assert_eq!(received.len(), 25);
    let mut seen = BTreeMap::new();
    for message in received {
        let event: Value = serde_json::from_str(message.body().unwrap()).unwrap();
        assert_eq!(event["source"], "test.orders");
        assert_eq!(event["detail-type"], "OrderPlaced");
        let n = event["detail"]["order"].as_u64().unwrap();
        assert_eq!(
            event["detail"],
            json!({"order": n, "items": [{"sku": "ä-1", "qty": 2}], "note": null})
        );
        assert_eq!(
            event["resources"],
            json!([format!("arn:aws:test:::order/{n}")])
        );
        assert_eq!(event["time"], "2025-12-04T00:00:00Z");
        assert!(seen.insert(n, ()).is_none(), "event {n} twice");
    }
    assert_eq!(seen.len(), 25);
}

#[tokio::test]
async fn an_unknown_bus_hands_back_every_event() {
    let config = test_support::sdk_config("eventbridge").await;
    let dispatcher = EventBridgeBatchDispatcher::from_client(Client::new(&config), "no-such-bus");
    for n in 0..3 {
        dispatcher
            .submit_payload(Event::new(
                "test.orders",
                "OrderPlaced",
                json!({ "order": n }),
            ))
            .await
            .unwrap();
    }
    let unprocessed = dispatcher.flush_payloads().await;
    assert_eq!(unprocessed.len(), 3);
    assert!(
        unprocessed.iter().all(|u| !u.error.is_retryable()),
        "{:?}",
        unprocessed[0].error
    );
}
