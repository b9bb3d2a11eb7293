//! LogsBatchDispatcher against the local emulator (moto, which refuses calls out of order
//! and rejects old and new events): events read back from the stream, in order of time.
#![allow(clippy::unwrap_used)]

use std::time::{Duration, SystemTime};

use aws_sdk_cloudwatchlogs::Client;
use batch_logs::{LogEvent, LogsBackend, LogsBatchDispatcher};

fn now_ms() -> i64 {
    i64::try_from(
        SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap()
            .as_millis(),
    )
    .unwrap()
}

#[tokio::test]
async fn shuffled_events_are_stored_in_order_and_out_of_window_ones_handed_back() {
    let client = Client::new(&test_support::sdk_config("logs").await);
    let (group, stream) = test_support::create_log_stream(&client).await;
    let logs = LogsBatchDispatcher::from_client(client.clone(), (group.clone(), stream.clone()));
    let now = now_ms();
    let mut rng = fastrand::Rng::with_seed(5);
    let mut times: Vec<i64> = (0..600)
        .map(|n| now - 20 * 3_600_000 + n * 100_000)
        .collect();
    rng.shuffle(&mut times);
    for time in &times {
        let event = LogEvent::at_millis(format!("at {time} · ünïcödé"), *time);
        logs.submit_payload(event).await.unwrap();
    }
    // Refused at submit, never sent to be rejected.
    let old = LogEvent::at("old", SystemTime::now() - Duration::from_secs(15 * 86_400));
    assert_eq!(
        logs.submit_payload(old).await.unwrap_err().kind().field(),
        "timestamp"
    );
    assert!(logs.flush_payloads().await.is_empty());
    assert_eq!(logs.stats().requests_sent, 1);

    let stored = test_support::log_messages(&client, &group, &stream).await;
    times.sort_unstable();
    let expected: Vec<String> = times.iter().map(|t| format!("at {t} · ünïcödé")).collect();
    assert_eq!(stored, expected);
}

#[tokio::test]
async fn a_missing_stream_is_created_when_asked_and_handed_back_otherwise() {
    let client = Client::new(&test_support::sdk_config("logs").await);
    let group = test_support::unique_name("/batch/created");
    let stream = "made-on-first-put".to_owned();
    let plain = LogsBatchDispatcher::from_client(client.clone(), (group.clone(), stream.clone()));
    plain.submit_payload(LogEvent::new("first")).await.unwrap();
    let unprocessed = plain.flush_payloads().await;
    assert_eq!(unprocessed.len(), 1);
    assert_eq!(unprocessed[0].error.code(), "ResourceNotFoundException");

    let backend = LogsBackend::new(client.clone(), &group, &stream).with_create_stream(true);
    let creating = LogsBatchDispatcher::builder(backend).build().unwrap();
    for n in 0..5 {
        creating
            .submit_payload(LogEvent::new(format!("event {n}")))
            .await
            .unwrap();
    }
    assert!(creating.flush_payloads().await.is_empty());
    let stored = test_support::log_messages(&client, &group, &stream).await;
    assert_eq!(stored.len(), 5);
}

#[tokio::test]
async fn the_groups_retention_is_read_and_older_events_refused() {
    let client = Client::new(&test_support::sdk_config("logs").await);
    let (group, stream) = test_support::create_log_stream(&client).await;
    client
        .put_retention_policy()
        .log_group_name(&group)
        .retention_in_days(1)
        .send()
        .await
        .unwrap();
    let backend = LogsBackend::new(client.clone(), &group, &stream).with_retention_read(true);
    let logs = LogsBatchDispatcher::builder(backend).build().unwrap();
    let two_days = LogEvent::at(
        "two days",
        SystemTime::now() - Duration::from_secs(2 * 86_400),
    );
    let err = logs.submit_payload(two_days).await.unwrap_err();
    assert!(err.to_string().contains("retention"), "{err}");
    logs.submit_payload(LogEvent::new("now")).await.unwrap();
    assert!(logs.flush_payloads().await.is_empty());
    assert_eq!(
        test_support::log_messages(&client, &group, &stream).await,
        vec!["now"]
    );
}
