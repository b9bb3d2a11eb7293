//! Every event EventBridge would refuse is refused at submit, named, and handed back; each
//! limit is accepted at its value.
#![allow(clippy::unwrap_used)]

use std::time::SystemTime;

use aws_sdk_eventbridge::Client;
use aws_sdk_eventbridge::config::{BehaviorVersion, Region};
use batch_core::SubmitErrorKind;
use batch_eventbridge::{EVENTBRIDGE_LIMITS, Event, EventBridgeBatchDispatcher};
use serde_json::json;

/// A client that is never asked to send anything.
fn dispatcher() -> EventBridgeBatchDispatcher {
    let config = aws_sdk_eventbridge::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .build();
    EventBridgeBatchDispatcher::from_client(Client::from_conf(config), "bus")
}

async fn refused(event: Event) -> SubmitErrorKind {
    let events = dispatcher();
    let err = events.submit_payload(event.clone()).await.unwrap_err();
    assert_eq!(err.payload(), &event, "handed back as submitted");
    err.kind().clone()
}

#[tokio::test]
async fn the_detail_must_be_a_json_object() {
    for detail in [json!([1, 2]), json!("text"), json!(7), json!(null)] {
        let kind = refused(Event::new("s", "t", detail)).await;
        assert_eq!(kind.field(), "Detail");
    }
}

#[tokio::test]
async fn source_and_detail_type_are_required() {
    assert_eq!(
        refused(Event::new("", "t", json!({}))).await.field(),
        "Source"
    );
    assert_eq!(
        refused(Event::new("s", "", json!({}))).await.field(),
        "DetailType"
    );
    let empty_resource = Event::new("s", "t", json!({})).with_resource("");
    assert_eq!(refused(empty_resource).await.field(), "Resources");
}

#[tokio::test]
async fn an_event_at_the_size_limit_is_accepted_and_one_byte_more_refused() {
    let limit = EVENTBRIDGE_LIMITS.max_entry_bytes;
    // Size: 14 for the time, source "s", detail type "t", the detail's JSON, the resource.
    let fixed = 14 + 1 + 1 + r#"{"pad":""}"#.len() + "arn".len();
    let sized = |pad: usize| {
        Event::new("s", "t", json!({ "pad": "x".repeat(pad) }))
            .with_resource("arn")
            .with_time(SystemTime::now())
    };
    let events = dispatcher();
    events.submit_payload(sized(limit - fixed)).await.unwrap();
    let err = events
        .submit_payload(sized(limit - fixed + 1))
        .await
        .unwrap_err();
    assert!(
        matches!(err.kind(), SubmitErrorKind::TooLarge { size, limit: l, .. } if *size == limit + 1 && *l == limit),
        "{err}"
    );
    assert_eq!(err.kind().field(), "event");
    events.abandon();
    let _ = events.flush_payloads().await;
}
