//! Every event EventBridge would refuse is refused at submit, named, and handed back, and the
//! dispatcher goes on; each limit is accepted at its value. One test per case.
#![allow(clippy::unwrap_used)]

use std::time::SystemTime;

use aws_sdk_eventbridge::Client;
use aws_sdk_eventbridge::config::{BehaviorVersion, Region};
use batch_core::{SubmitError, SubmitErrorKind};
use batch_eventbridge::{EVENTBRIDGE_LIMITS, Event, EventBridgeBatchDispatcher};
use serde_json::{Value, json};
use test_support::{accepted, refused_then_accepted};

/// A dispatcher whose client is never asked to send anything.
fn dispatcher() -> EventBridgeBatchDispatcher {
    let config = aws_sdk_eventbridge::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .build();
    EventBridgeBatchDispatcher::from_client(Client::from_conf(config), "bus")
}

async fn refused(event: Event) -> SubmitError<Event> {
    refused_then_accepted(&dispatcher(), event, Event::new("s", "t", json!({}))).await
}

async fn refused_detail(detail: Value) {
    let err = refused(Event::new("s", "t", detail)).await;
    assert_eq!(err.kind().field(), "Detail");
    assert!(err.to_string().contains("JSON object"), "{err}");
}

#[tokio::test]
async fn a_detail_that_is_an_array() {
    refused_detail(json!([1, 2])).await;
}

#[tokio::test]
async fn a_detail_that_is_a_string() {
    refused_detail(json!("text")).await;
}

#[tokio::test]
async fn a_detail_that_is_a_number() {
    refused_detail(json!(7)).await;
}

#[tokio::test]
async fn a_detail_that_is_null() {
    refused_detail(json!(null)).await;
}

#[tokio::test]
async fn an_empty_source() {
    let err = refused(Event::new("", "t", json!({}))).await;
    assert_eq!(err.kind().field(), "Source");
    assert!(matches!(err.kind(), SubmitErrorKind::Missing { .. }));
}

#[tokio::test]
async fn an_empty_detail_type() {
    let err = refused(Event::new("s", "", json!({}))).await;
    assert_eq!(err.kind().field(), "DetailType");
}

#[tokio::test]
async fn an_empty_resource() {
    let err = refused(Event::new("s", "t", json!({})).with_resource("")).await;
    assert_eq!(err.kind().field(), "Resources");
}

const LIMIT: usize = EVENTBRIDGE_LIMITS.max_entry_bytes;
/// By EventBridge's rule: 14 for the time, source "s", detail type "t", the detail's JSON,
/// the resource.
const FIXED: usize = 14 + 1 + 1 + r#"{"pad":""}"#.len() + "arn".len();

fn sized(pad: usize) -> Event {
    Event::new("s", "t", json!({ "pad": "x".repeat(pad) }))
        .with_resource("arn")
        .with_time(SystemTime::now())
}

#[tokio::test]
async fn an_event_at_1_mib_by_eventbridges_rule_is_accepted() {
    accepted(&dispatcher(), sized(LIMIT - FIXED)).await;
}

#[tokio::test]
async fn an_event_one_byte_over_1_mib() {
    let err = refused(sized(LIMIT - FIXED + 1)).await;
    assert_eq!(err.kind().field(), "event");
    assert!(
        matches!(err.kind(), SubmitErrorKind::TooLarge { size, limit, .. } if *size == LIMIT + 1 && *limit == LIMIT),
        "{err}"
    );
}
