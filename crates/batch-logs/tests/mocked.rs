//! The rules on which a PutLogEvents call fails whole, checked by a mocked client that
//! refuses as CloudWatch Logs does; the rejected ranges, a missing stream.
#![allow(clippy::unwrap_used)]

use std::time::SystemTime;

use aws_sdk_cloudwatchlogs::Client;
use aws_sdk_cloudwatchlogs::config::retry::RetryConfig as SdkRetryConfig;
use aws_sdk_cloudwatchlogs::operation::create_log_stream::CreateLogStreamOutput;
use aws_sdk_cloudwatchlogs::operation::put_log_events::{PutLogEventsError, PutLogEventsOutput};
use aws_sdk_cloudwatchlogs::types::RejectedLogEventsInfo;
use aws_smithy_mocks::{MockResponse, RuleMode, mock, mock_client};
use aws_smithy_types::error::ErrorMetadata;
use batch_core::UnprocessedReason;
use batch_logs::{EVENT_OVERHEAD_BYTES, LogEvent, LogsBackend, LogsBatchDispatcher};

/// One call as the mock received it: (timestamp, message) of each event.
type Call = Vec<(i64, String)>;

fn failure(code: &str) -> MockResponse<PutLogEventsOutput, PutLogEventsError> {
    MockResponse::Error(PutLogEventsError::generic(
        ErrorMetadata::builder()
            .code(code)
            .message("scripted")
            .build(),
    ))
}

/// A client that refuses a call whole as CloudWatch Logs would (out of order, over 24
/// hours, over 10,000 events or 1,048,576 bytes counting 26 per event) and otherwise answers
/// with `answer(call number, call)`.
fn client<F>(answer: F) -> (Client, test_support::Recorder<Call>)
where
    F: Fn(usize, &Call) -> MockResponse<PutLogEventsOutput, PutLogEventsError>
        + Send
        + Sync
        + 'static,
{
    let log = test_support::Recorder::default();
    let seen = log.clone();
    let rule = mock!(Client::put_log_events).then_compute_response(move |request| {
        let call: Call = request
            .log_events()
            .iter()
            .map(|e| (e.timestamp(), e.message().to_owned()))
            .collect();
        let number = seen.record(call.clone());
        let bytes: usize = call
            .iter()
            .map(|(_, m)| EVENT_OVERHEAD_BYTES + m.len())
            .sum();
        let ordered = call.windows(2).all(|pair| pair[0].0 <= pair[1].0);
        let span = call.last().unwrap().0 - call[0].0;
        if !ordered || span > 86_400_000 || call.len() > 10_000 || bytes > 1_048_576 {
            return failure("InvalidParameterException");
        }
        answer(number, &call)
    });
    let create =
        mock!(Client::create_log_stream).then_output(|| CreateLogStreamOutput::builder().build());
    let client = mock_client!(
        aws_sdk_cloudwatchlogs,
        RuleMode::MatchAny,
        [&rule, &create],
        |c| c.retry_config(SdkRetryConfig::disabled())
    );
    (client, log)
}

fn stored() -> MockResponse<PutLogEventsOutput, PutLogEventsError> {
    MockResponse::Output(PutLogEventsOutput::builder().build())
}

fn now_ms() -> i64 {
    i64::try_from(
        SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap()
            .as_millis(),
    )
    .unwrap()
}

#[tokio::test(start_paused = true)]
async fn shuffled_events_go_out_in_order_of_time_and_fill_calls_to_the_byte() {
    let (client, log) = client(|_, _| stored());
    let logs = LogsBatchDispatcher::from_client(client, ("g", "s"));
    // 16 events of 65,510 bytes of two-byte characters fill a call exactly:
    // 16 × (26 + 65,510) = 1,048,576.
    let message = |n: usize| format!("{n:04}{}", "é".repeat(32_753));
    assert_eq!(message(0).len(), 65_510);
    let base = now_ms() - 3_600_000;
    let mut order: Vec<usize> = (0..48).collect();
    fastrand::Rng::with_seed(29).shuffle(&mut order);
    for &n in &order {
        // Three events a millisecond: their submit order is kept among them.
        let time = base + i64::try_from(n / 3).unwrap();
        logs.submit_payload(LogEvent::at_millis(message(n), time))
            .await
            .unwrap();
    }
    assert!(logs.flush_payloads().await.is_empty());
    let calls = log.seen();
    assert_eq!(calls.len(), 3, "48 events of 1/16 of a call: 3 calls");
    for call in &calls {
        assert_eq!(call.len(), 16);
        assert!(call.windows(2).all(|pair| pair[0].0 <= pair[1].0));
    }
    // Within a millisecond, the order submitted.
    for call in &calls {
        for pair in call.windows(2).filter(|pair| pair[0].0 == pair[1].0) {
            let at = |m: &str| order.iter().position(|&n| message(n) == m).unwrap();
            assert!(at(&pair[0].1) < at(&pair[1].1));
        }
    }
}

#[tokio::test(start_paused = true)]
async fn one_more_byte_takes_one_more_call() {
    let (client, log) = client(|_, _| stored());
    let logs = LogsBatchDispatcher::from_client(client, ("g", "s"));
    let now = now_ms();
    for n in 0..32 {
        let extra = if n == 31 { "!" } else { "" };
        let message = format!("{}{extra}", "x".repeat(65_510));
        logs.submit_payload(LogEvent::at_millis(message, now))
            .await
            .unwrap();
    }
    assert!(logs.flush_payloads().await.is_empty());
    assert_eq!(log.seen().len(), 3);
}

#[tokio::test(start_paused = true)]
async fn events_spanning_26_hours_go_in_calls_of_at_most_24() {
    let (client, log) = client(|_, _| stored());
    let logs = LogsBatchDispatcher::from_client(client, ("g", "s"));
    let now = now_ms();
    // From 26 hours ago to now, every 10 minutes, newest first.
    for n in 0..=156_i64 {
        let event = LogEvent::at_millis(format!("event {n}"), now - n * 600_000);
        logs.submit_payload(event).await.unwrap();
    }
    assert!(logs.flush_payloads().await.is_empty());
    let calls = log.seen();
    assert_eq!(
        calls.len(),
        2,
        "one call could hold them all but for the span"
    );
    assert_eq!(calls.iter().map(Vec::len).sum::<usize>(), 157);
    for call in calls {
        assert!(call.last().unwrap().0 - call[0].0 <= 86_400_000);
    }
}

#[tokio::test(start_paused = true)]
async fn the_events_an_answer_rejects_are_handed_back_and_the_rest_stored() {
    // CloudWatch's clock is off from ours: it rejects the two oldest and the newest.
    let (client, log) = client(|_, call| {
        let info = RejectedLogEventsInfo::builder()
            .too_old_log_event_end_index(2)
            .too_new_log_event_start_index(i32::try_from(call.len() - 1).unwrap())
            .build();
        MockResponse::Output(
            PutLogEventsOutput::builder()
                .rejected_log_events_info(info)
                .build(),
        )
    });
    let logs = LogsBatchDispatcher::from_client(client, ("g", "s"));
    let now = now_ms();
    for n in [5_i64, 1, 4, 0, 3, 2] {
        logs.submit_payload(LogEvent::at_millis(format!("event {n}"), now + n))
            .await
            .unwrap();
    }
    let mut handed_back: Vec<(String, String)> = logs
        .flush_payloads()
        .await
        .into_iter()
        .map(|u| {
            assert_eq!(u.error.reason, UnprocessedReason::Rejected);
            (u.payload.message().to_owned(), u.error.code().to_owned())
        })
        .collect();
    handed_back.sort();
    let pair = |m: &str, c: &str| (m.to_owned(), c.to_owned());
    assert_eq!(
        handed_back,
        vec![
            pair("event 0", "TooOldLogEvent"),
            pair("event 1", "TooOldLogEvent"),
            pair("event 5", "TooNewLogEvent")
        ]
    );
    assert_eq!(log.seen().len(), 1, "rejected events are not sent again");
    assert_eq!(logs.stats().delivered, 3);
}

#[tokio::test(start_paused = true)]
async fn a_missing_stream_is_handed_back_or_created_when_asked() {
    let (missing, log) = client(|_, _| failure("ResourceNotFoundException"));
    let logs = LogsBatchDispatcher::from_client(missing, ("g", "s"));
    for n in 0..3 {
        logs.submit_payload(LogEvent::new(format!("event {n}")))
            .await
            .unwrap();
    }
    let unprocessed = logs.flush_payloads().await;
    assert_eq!(unprocessed.len(), 3);
    assert!(
        unprocessed
            .iter()
            .all(|u| u.error.code() == "ResourceNotFoundException")
    );
    assert_eq!(log.seen().len(), 1, "not retried");

    let (creating, log) = client(|call, _| {
        if call == 1 {
            failure("ResourceNotFoundException")
        } else {
            stored()
        }
    });
    let backend = LogsBackend::new(creating, "g", "s").with_create_stream(true);
    let logs = LogsBatchDispatcher::builder(backend).build().unwrap();
    for n in 0..3 {
        logs.submit_payload(LogEvent::new(format!("event {n}")))
            .await
            .unwrap();
    }
    assert!(logs.flush_payloads().await.is_empty());
    assert_eq!(
        log.seen().len(),
        2,
        "the put, the stream created, the put again"
    );
}
