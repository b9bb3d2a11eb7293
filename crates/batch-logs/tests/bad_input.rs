//! Every event CloudWatch Logs would refuse, or reject while storing the rest, is refused at
//! submit, named, and handed back, and the dispatcher goes on; each limit is accepted at its
//! value. One test per case.
#![allow(clippy::unwrap_used)]

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_sdk_cloudwatchlogs::Client;
use aws_sdk_cloudwatchlogs::config::{BehaviorVersion, Region};
use batch_core::{SubmitError, SubmitErrorKind};
use batch_logs::{
    CLOCK_MARGIN, EVENT_OVERHEAD_BYTES, LOGS_LIMITS, LogEvent, LogsBackend, LogsBatchDispatcher,
    MAX_AGE, MAX_AHEAD,
};
use test_support::{accepted, refused_then_accepted};

fn client() -> Client {
    let config = aws_sdk_cloudwatchlogs::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .build();
    Client::from_conf(config)
}

/// A dispatcher whose client is never asked to send anything.
fn dispatcher() -> LogsBatchDispatcher {
    LogsBatchDispatcher::from_client(client(), ("group", "stream"))
}

async fn refused(event: LogEvent) -> SubmitError<LogEvent> {
    refused_then_accepted(&dispatcher(), event, LogEvent::new("fine")).await
}

#[tokio::test]
async fn an_empty_message() {
    let err = refused(LogEvent::new("")).await;
    assert_eq!(err.kind().field(), "message");
    assert!(matches!(err.kind(), SubmitErrorKind::Missing { .. }));
}

/// The largest message: one event fills a call, its 26 bytes counted.
const LARGEST: usize = LOGS_LIMITS.max_entry_bytes - EVENT_OVERHEAD_BYTES;

#[tokio::test]
async fn a_message_a_byte_over_the_event_limit() {
    let err = refused(LogEvent::new("x".repeat(LARGEST + 1))).await;
    assert_eq!(err.kind().field(), "message");
    assert!(
        matches!(err.kind(), SubmitErrorKind::TooLarge { size, limit, .. }
            if *size == LOGS_LIMITS.max_entry_bytes + 1 && *limit == LOGS_LIMITS.max_entry_bytes),
        "{err}"
    );
}

#[tokio::test]
async fn a_multibyte_message_over_the_limit_in_bytes_not_characters() {
    // 349,517 characters of 3 bytes each: under the limit in characters, over it in bytes.
    let err = refused(LogEvent::new("€".repeat(LARGEST / 3 + 1))).await;
    assert_eq!(err.kind().field(), "message");
    assert!(
        matches!(err.kind(), SubmitErrorKind::TooLarge { .. }),
        "{err}"
    );
}

#[tokio::test]
async fn a_message_at_the_event_limit_is_accepted() {
    accepted(&dispatcher(), LogEvent::new("x".repeat(LARGEST))).await;
}

fn timed(ago: Duration) -> LogEvent {
    LogEvent::at("event", SystemTime::now() - ago)
}

fn ahead(by: Duration) -> LogEvent {
    LogEvent::at("event", SystemTime::now() + by)
}

#[tokio::test]
async fn an_event_three_hours_ahead() {
    let err = refused(ahead(Duration::from_secs(3 * 3600))).await;
    assert_eq!(err.kind().field(), "timestamp");
    assert!(err.to_string().contains("2 hours ahead"), "{err}");
}

#[tokio::test]
async fn an_event_fifteen_days_old() {
    let err = refused(timed(Duration::from_secs(15 * 86_400))).await;
    assert_eq!(err.kind().field(), "timestamp");
    assert!(err.to_string().contains("14 days old"), "{err}");
}

#[tokio::test]
async fn an_event_at_the_epoch_and_one_at_the_end_of_time() {
    for event in [
        LogEvent::at_millis("x", 0),
        LogEvent::at_millis("x", i64::MAX),
    ] {
        let err = refused(event).await;
        assert_eq!(err.kind().field(), "timestamp");
    }
    let err = refused(LogEvent::at("x", UNIX_EPOCH - Duration::from_secs(86_400))).await;
    assert_eq!(err.kind().field(), "timestamp");
}

#[tokio::test]
async fn an_event_older_than_the_retention_given() {
    let backend =
        LogsBackend::new(client(), "group", "stream").with_retention(Duration::from_secs(86_400));
    let dispatcher = LogsBatchDispatcher::builder(backend).build().unwrap();
    let err = refused_then_accepted(
        &dispatcher,
        timed(Duration::from_secs(2 * 86_400)),
        timed(Duration::from_secs(3_600)),
    )
    .await;
    assert_eq!(err.kind().field(), "timestamp");
    assert!(err.to_string().contains("retention"), "{err}");
}

#[tokio::test]
async fn events_just_inside_the_window_are_accepted() {
    let margin = CLOCK_MARGIN + Duration::from_secs(5);
    accepted(&dispatcher(), ahead(MAX_AHEAD - margin)).await;
    accepted(&dispatcher(), timed(MAX_AGE - margin)).await;
}
