//! Partial failures and throttling, with aws-smithy-mocks clients on paused time.
#![allow(clippy::unwrap_used)]

use aws_sdk_eventbridge::Client;
use aws_sdk_eventbridge::config::retry::RetryConfig as SdkRetryConfig;
use aws_sdk_eventbridge::operation::put_events::{PutEventsError, PutEventsOutput};
use aws_sdk_eventbridge::types::PutEventsResultEntry;
use aws_smithy_mocks::{MockResponse, RuleMode, mock, mock_client};
use aws_smithy_types::error::ErrorMetadata;
use batch_core::UnprocessedReason;
use batch_eventbridge::{Event, EventBridgeBatchDispatcher};
use serde_json::{Value, json};

/// A client whose PutEvents answers each event with `respond(call, order)` (`None` stored,
/// `Some(code)` refused) or the whole request with `Err(code)`; and the orders of each
/// request.
fn client<F>(respond: F) -> (Client, test_support::Recorder<Vec<u64>>)
where
    F: Fn(usize, u64) -> Result<Option<&'static str>, &'static str> + Send + Sync + 'static,
{
    let log = test_support::Recorder::default();
    let seen = log.clone();
    let rule = mock!(Client::put_events).then_compute_response(move |request| {
        let orders: Vec<u64> = request
            .entries()
            .iter()
            .map(|e| {
                let detail: Value = serde_json::from_str(e.detail().unwrap()).unwrap();
                detail["order"].as_u64().unwrap()
            })
            .collect();
        let call = seen.record(orders.clone());
        let mut entries = Vec::new();
        for order in orders {
            match respond(call, order) {
                Err(code) => {
                    return MockResponse::Error(PutEventsError::generic(
                        ErrorMetadata::builder()
                            .code(code)
                            .message("scripted")
                            .build(),
                    ));
                }
                Ok(None) => entries.push(PutEventsResultEntry::builder().event_id("e").build()),
                Ok(Some(code)) => entries.push(
                    PutEventsResultEntry::builder()
                        .error_code(code)
                        .error_message("scripted")
                        .build(),
                ),
            }
        }
        let failed = entries.iter().filter(|e| e.error_code().is_some()).count();
        MockResponse::Output(
            PutEventsOutput::builder()
                .failed_entry_count(i32::try_from(failed).unwrap())
                .set_entries(Some(entries))
                .build(),
        )
    });
    let client = mock_client!(aws_sdk_eventbridge, RuleMode::MatchAny, [&rule], |c| c
        .retry_config(SdkRetryConfig::disabled()));
    (client, log)
}

fn event(order: u64) -> Event {
    Event::new("test.orders", "OrderPlaced", json!({ "order": order }))
}

#[tokio::test(start_paused = true)]
async fn refused_events_are_retried_and_a_malformed_one_comes_back_with_its_code() {
    let (client, log) = client(|call, order| {
        Ok(match order {
            3 if call == 1 => Some("ThrottlingException"),
            5 if call == 1 => Some("InternalFailure"),
            7 => Some("MalformedDetail"),
            _ => None,
        })
    });
    let events = EventBridgeBatchDispatcher::from_client(client, "bus");
    for order in 0..10 {
        events.submit_payload(event(order)).await.unwrap();
    }
    let unprocessed = events.flush_payloads().await;
    assert_eq!(unprocessed.len(), 1);
    assert_eq!(unprocessed[0].payload, event(7), "as submitted");
    assert_eq!(unprocessed[0].error.code(), "MalformedDetail");
    assert_eq!(unprocessed[0].error.reason, UnprocessedReason::Rejected);
    assert_eq!(log.seen(), vec![(0..10).collect::<Vec<_>>(), vec![3, 5]]);
    let stats = events.stats();
    assert_eq!((stats.delivered, stats.throttled), (9, 1));
}

#[tokio::test(start_paused = true)]
async fn a_throttled_request_is_paced_then_delivered() {
    let (client, log) = client(|call, _| {
        if call == 1 {
            Err("ThrottlingException")
        } else {
            Ok(None)
        }
    });
    let events = EventBridgeBatchDispatcher::from_client(client, "bus");
    for order in 0..10 {
        events.submit_payload(event(order)).await.unwrap();
    }
    assert!(events.flush_payloads().await.is_empty());
    assert_eq!(log.seen().len(), 2);
}
