//! Faults no emulator produces on demand, with aws-smithy-mocks clients on paused time.
#![allow(clippy::unwrap_used, clippy::cast_possible_truncation)]

use std::time::Duration;

use aws_sdk_sqs::Client;
use aws_sdk_sqs::config::retry::RetryConfig as SdkRetryConfig;
use aws_sdk_sqs::operation::send_message_batch::{SendMessageBatchError, SendMessageBatchOutput};
use aws_sdk_sqs::types::{BatchResultErrorEntry, SendMessageBatchResultEntry};
use aws_smithy_mocks::{MockResponse, Rule, RuleMode, mock, mock_client};
use aws_smithy_types::error::ErrorMetadata;
use batch_core::{DispatcherConfig, RetryPolicy, UnprocessedReason};
use batch_sqs::{MessageBody, SqsBackend, SqsBatchDispatcher, SqsFifoBatchDispatcher, SqsMessage};
use serde_json::{Value, json};
use tokio::time::Instant;

const QUEUE_URL: &str = "https://sqs.us-east-1.amazonaws.com/123456789012/q";

/// One request as the mock saw it: when, and the `n` of each message body.
#[derive(Debug, Clone)]
struct Seen {
    at: Instant,
    bodies: Vec<u64>,
}

type Log = test_support::Recorder<Seen>;

fn n_of(body: &str) -> u64 {
    serde_json::from_str::<Value>(body).unwrap()["n"]
        .as_u64()
        .unwrap()
}

/// A client whose SendMessageBatch answers with `respond(call, entries)`: `Ok(ids that fail,
/// with sender fault flag)` or `Err(error code)` for the whole request. The SDK's own retries
/// are off, so every call is one the dispatcher made.
fn client<F>(respond: F) -> (Client, Log, Rule)
where
    F: Fn(usize, &[u64]) -> Result<Vec<(u64, bool)>, &'static str> + Send + Sync + 'static,
{
    let log = Log::default();
    let seen = log.clone();
    let rule = mock!(Client::send_message_batch).then_compute_response(move |request| {
        let entries = request.entries();
        let bodies: Vec<u64> = entries.iter().map(|e| n_of(e.message_body())).collect();
        let call = seen.record(Seen {
            at: Instant::now(),
            bodies: bodies.clone(),
        });
        match respond(call, &bodies) {
            Err(code) => MockResponse::Error(SendMessageBatchError::generic(
                ErrorMetadata::builder()
                    .code(code)
                    .message("scripted")
                    .build(),
            )),
            Ok(failing) => {
                let (mut successful, mut failed) = (Vec::new(), Vec::new());
                for (entry, n) in entries.iter().zip(&bodies) {
                    if let Some((_, sender_fault)) = failing.iter().find(|(f, _)| f == n) {
                        let code = if *sender_fault {
                            "InvalidParameterValue"
                        } else {
                            "InternalError"
                        };
                        failed.push(
                            BatchResultErrorEntry::builder()
                                .id(&entry.id)
                                .code(code)
                                .message("scripted entry failure")
                                .sender_fault(*sender_fault)
                                .build()
                                .unwrap(),
                        );
                    } else {
                        successful.push(
                            SendMessageBatchResultEntry::builder()
                                .id(&entry.id)
                                .message_id(format!("m-{n}"))
                                .md5_of_message_body("x")
                                .build()
                                .unwrap(),
                        );
                    }
                }
                let output = SendMessageBatchOutput::builder()
                    .set_successful(Some(successful))
                    .set_failed(Some(failed));
                MockResponse::Output(output.build().unwrap())
            }
        }
    });
    // The dispatcher reads the queue's largest message at the first submit.
    let attributes = mock!(Client::get_queue_attributes).then_output(|| {
        aws_sdk_sqs::operation::get_queue_attributes::GetQueueAttributesOutput::builder()
            .attributes(
                aws_sdk_sqs::types::QueueAttributeName::MaximumMessageSize,
                "1048576",
            )
            .build()
    });
    let client = mock_client!(aws_sdk_sqs, RuleMode::MatchAny, [&rule, &attributes], |c| c
        .retry_config(SdkRetryConfig::disabled()));
    (client, log, rule)
}

fn body_n(message: &SqsMessage) -> u64 {
    match message.body() {
        MessageBody::Json(value) => value["n"].as_u64().unwrap(),
        other => panic!("unexpected body {other:?}"),
    }
}

#[tokio::test(start_paused = true)]
async fn entries_with_a_server_fault_are_retried_once_and_delivered() {
    let (client, log, rule) = client(|call, _| {
        Ok(if call == 1 {
            vec![(2, false), (7, false)]
        } else {
            vec![]
        })
    });
    let sqs = SqsBatchDispatcher::from_client(client, QUEUE_URL);
    for n in 0..10 {
        sqs.submit_payload(json!({"n": n})).await.unwrap();
    }
    assert!(sqs.flush_payloads().await.is_empty());
    let requests: Vec<Vec<u64>> = log.seen().into_iter().map(|s| s.bodies).collect();
    assert_eq!(requests, vec![(0..10).collect(), vec![2, 7]]);
    assert_eq!(rule.num_calls(), 2);
    let stats = sqs.stats();
    assert_eq!(
        (stats.delivered, stats.retries, stats.requests_sent),
        (10, 2, 2)
    );
}

#[tokio::test(start_paused = true)]
async fn a_sender_fault_entry_is_not_retried() {
    let (client, _, rule) = client(|_, _| Ok(vec![(3, true)]));
    let sqs = SqsBatchDispatcher::from_client(client, QUEUE_URL);
    for n in 0..5 {
        sqs.submit_payload(json!({"n": n})).await.unwrap();
    }
    let unprocessed = sqs.flush_payloads().await;
    assert_eq!(rule.num_calls(), 1);
    assert_eq!(unprocessed.len(), 1);
    assert_eq!(body_n(&unprocessed[0].payload), 3);
    assert_eq!(unprocessed[0].error.code(), "InvalidParameterValue");
    assert_eq!(unprocessed[0].error.reason, UnprocessedReason::Rejected);
    assert!(!unprocessed[0].error.is_retryable());
}

#[tokio::test(start_paused = true)]
async fn a_throttled_request_is_retried_with_backoff_then_reported_whole() {
    let (client, log, rule) = client(|_, _| Err("ThrottlingException"));
    let retry = RetryPolicy::default()
        .max_attempts(4)
        .initial_backoff(Duration::from_millis(200))
        .max_backoff(Duration::from_secs(5));
    let sqs = SqsBatchDispatcher::builder(SqsBackend::new(client, QUEUE_URL))
        .config(
            DispatcherConfig::default()
                .adaptive(false)
                .retry(retry.clone()),
        )
        .build()
        .unwrap();
    for n in 0..7 {
        sqs.submit_payload(json!({"n": n})).await.unwrap();
    }
    let unprocessed = sqs.flush_payloads().await;
    assert_eq!(rule.num_calls(), 4, "bounded by max_attempts");
    let mut numbers: Vec<u64> = unprocessed.iter().map(|u| body_n(&u.payload)).collect();
    numbers.sort_unstable();
    assert_eq!(numbers, (0..7).collect::<Vec<_>>(), "nothing lost");
    for item in &unprocessed {
        assert_eq!(item.error.reason, UnprocessedReason::RetriesExhausted);
        assert_eq!(item.error.code(), "ThrottlingException");
        assert_eq!(item.error.attempts, 4);
    }
    let times: Vec<Instant> = log.seen().iter().map(|s| s.at).collect();
    for (attempt, pair) in times.windows(2).enumerate() {
        assert!(pair[1] - pair[0] <= retry.backoff_cap(attempt as u32 + 1));
    }
    assert!(times[3] > times[0], "the retries waited");
}

#[tokio::test(start_paused = true)]
async fn fifo_group_order_holds_under_a_partial_failure() {
    // The last message of the first request fails once; the second request must wait for
    // its retry, so the queue sees 0..20 in order.
    let (client, log, _) = client(|call, _| Ok(if call == 1 { vec![(9, false)] } else { vec![] }));
    let fifo = SqsFifoBatchDispatcher::builder(
        SqsBackend::fifo(client, QUEUE_URL)
            .with_default_message_group_id("g")
            .with_deduplication(batch_sqs::FifoDeduplication::ContentHash),
    )
    .config(DispatcherConfig::default().max_in_flight(4))
    .build()
    .unwrap();
    for n in 0..20 {
        fifo.submit_payload(json!({"n": n})).await.unwrap();
    }
    assert!(fifo.flush_payloads().await.is_empty());
    let requests: Vec<Vec<u64>> = log.seen().into_iter().map(|s| s.bodies).collect();
    assert_eq!(
        requests,
        vec![(0..10).collect::<Vec<_>>(), vec![9], (10..20).collect()]
    );
}

#[tokio::test(start_paused = true)]
async fn fifo_messages_behind_an_undelivered_one_are_held_back() {
    let (client, log, _) = client(|_, bodies| {
        Ok(bodies
            .iter()
            .filter(|&&n| n == 1)
            .map(|&n| (n, true))
            .collect())
    });
    let fifo = SqsFifoBatchDispatcher::builder(
        SqsBackend::fifo(client, QUEUE_URL)
            .with_deduplication(batch_sqs::FifoDeduplication::ContentHash),
    )
    .config(DispatcherConfig::default().max_entries(2))
    .build()
    .unwrap();
    for (n, group) in [(0, "a"), (1, "a"), (2, "b"), (3, "a"), (4, "b")] {
        let message = SqsMessage::json(json!({"n": n})).with_message_group_id(group);
        fifo.submit_payload(message).await.unwrap();
    }
    let unprocessed = fifo.flush_payloads().await;
    let reasons: Vec<(u64, UnprocessedReason)> = unprocessed
        .iter()
        .map(|u| (body_n(&u.payload), u.error.reason))
        .collect();
    assert_eq!(
        reasons,
        vec![
            (1, UnprocessedReason::Rejected),
            (3, UnprocessedReason::HeldBack)
        ]
    );
    let sent: Vec<u64> = log.seen().into_iter().flat_map(|s| s.bodies).collect();
    assert!(!sent.contains(&3), "message 3 was never sent: {sent:?}");
}

/// A SendMessageBatch rule that accepts every message.
fn accept_all() -> Rule {
    mock!(Client::send_message_batch).then_compute_output(|request| {
        let successful = request.entries().iter().map(|entry| {
            SendMessageBatchResultEntry::builder()
                .id(&entry.id)
                .message_id("m")
                .md5_of_message_body("x")
                .build()
                .unwrap()
        });
        SendMessageBatchOutput::builder()
            .set_successful(Some(successful.collect()))
            .set_failed(Some(Vec::new()))
            .build()
            .unwrap()
    })
}

#[tokio::test(start_paused = true)]
async fn a_strict_mock_of_send_message_batch_alone_is_enough_with_a_url_and_a_size() {
    // The default mode: any call without a rule panics (GetQueueUrl, GetQueueAttributes).
    let send = accept_all();
    let client = mock_client!(aws_sdk_sqs, RuleMode::Sequential, [&send], |c| c
        .retry_config(SdkRetryConfig::disabled()));
    let backend = SqsBackend::new(client, QUEUE_URL).with_maximum_message_size(262_144);
    let sqs = SqsBatchDispatcher::builder(backend).build().unwrap();
    for n in 0..10 {
        sqs.submit_payload(json!({"n": n})).await.unwrap();
    }
    assert!(sqs.flush_payloads().await.is_empty());
    assert_eq!(send.num_calls(), 1);
}

#[tokio::test(start_paused = true)]
async fn a_get_queue_attributes_call_that_panics_leaves_the_api_limit() {
    let panic_on = test_support::PanicOn::<
        aws_sdk_sqs::operation::get_queue_attributes::GetQueueAttributesInput,
    >::new();
    let send = accept_all();
    let interceptor = panic_on.clone();
    let client = mock_client!(aws_sdk_sqs, RuleMode::MatchAny, [&send], |c| c
        .retry_config(SdkRetryConfig::disabled())
        .interceptor(interceptor.clone()));
    let sqs = SqsBatchDispatcher::from_client(client, QUEUE_URL);
    for n in 0..25 {
        sqs.submit_payload(json!({"n": n})).await.unwrap();
    }
    assert!(sqs.flush_payloads().await.is_empty());
    assert_eq!(panic_on.panics(), 1, "read once, not again");
    assert_eq!(sqs.backend().maximum_message_size(), None);
    assert_eq!(send.num_calls(), 3);
    // The API's limit holds: a message over 1 MiB is refused at submit.
    let too_large = "x".repeat(1_048_577);
    let refused = sqs
        .submit_payload(SqsMessage::text(too_large))
        .await
        .unwrap_err();
    assert_eq!(refused.kind().field(), "message");
}
