//! UnprocessedItems and whole-batch failures, with aws-smithy-mocks clients on paused time.
#![allow(clippy::unwrap_used)]

use std::collections::HashMap;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::retry::RetryConfig as SdkRetryConfig;
use aws_sdk_dynamodb::operation::batch_write_item::{BatchWriteItemError, BatchWriteItemOutput};
use aws_sdk_dynamodb::types::{AttributeValue, WriteRequest};
use aws_smithy_mocks::{MockResponse, Rule, RuleMode, mock, mock_client};
use aws_smithy_types::error::ErrorMetadata;
use batch_core::{DispatcherConfig, RetryPolicy, UnprocessedReason};
use batch_dynamodb::{DynamoBackend, DynamoBatchDispatcher, DynamoItem, DynamoWrite};
use serde_json::json;

type Log = test_support::Recorder<Vec<String>>;

fn pk_of(request: &WriteRequest) -> String {
    let item = request
        .put_request()
        .map(|p| p.item())
        .or_else(|| request.delete_request().map(|d| d.key()))
        .unwrap();
    item["pk"].as_s().unwrap().clone()
}

/// A client whose BatchWriteItem answers with `respond(call, keys)`: `Ok(keys left
/// unprocessed)` or `Err(code)` for the whole request. The SDK's own retries are off.
fn client<F>(respond: F) -> (Client, Log, Rule)
where
    F: Fn(usize, &[String]) -> Result<Vec<String>, &'static str> + Send + Sync + 'static,
{
    let log = Log::default();
    let seen = log.clone();
    let rule = mock!(Client::batch_write_item).then_compute_response(move |request| {
        let requests: Vec<WriteRequest> = request.request_items().unwrap()["t"].clone();
        let keys: Vec<String> = requests.iter().map(pk_of).collect();
        let call = seen.record(keys.clone());
        match respond(call, &keys) {
            Err(code) => MockResponse::Error(BatchWriteItemError::generic(
                ErrorMetadata::builder()
                    .code(code)
                    .message("scripted")
                    .build(),
            )),
            Ok(unprocessed) => {
                let left: Vec<WriteRequest> = requests
                    .into_iter()
                    .filter(|r| unprocessed.contains(&pk_of(r)))
                    .collect();
                let mut output = BatchWriteItemOutput::builder();
                if !left.is_empty() {
                    output = output.unprocessed_items("t", left);
                }
                MockResponse::Output(output.build())
            }
        }
    });
    let client = mock_client!(aws_sdk_dynamodb, RuleMode::MatchAny, [&rule], |c| c
        .retry_config(SdkRetryConfig::disabled()));
    (client, log, rule)
}

fn pk(write: &DynamoWrite) -> String {
    match write {
        DynamoWrite::Put(DynamoItem::Json(value))
        | DynamoWrite::Delete(DynamoItem::Json(value)) => value["pk"].as_str().unwrap().to_owned(),
        other => panic!("unexpected write {other:?}"),
    }
}

#[tokio::test(start_paused = true)]
async fn unprocessed_items_are_matched_by_key_and_retried() {
    let (client, log, _) = client(|call, _| {
        Ok(if call == 1 {
            vec!["k3".into(), "k8".into()]
        } else {
            vec![]
        })
    });
    let dynamo = DynamoBatchDispatcher::from_client(client, ("t", "pk"));
    for n in 0..10 {
        dynamo
            .submit_payload(json!({"pk": format!("k{n}"), "v": n}))
            .await
            .unwrap();
    }
    dynamo
        .submit_payload(DynamoWrite::delete(json!({"pk": "k10"})))
        .await
        .unwrap();
    assert!(dynamo.flush_payloads().await.is_empty());
    let requests = log.seen();
    assert_eq!(requests.len(), 2);
    assert_eq!(requests[1], vec!["k3".to_owned(), "k8".to_owned()]);
    assert_eq!(dynamo.stats().delivered, 11);
}

#[tokio::test(start_paused = true)]
async fn persistent_unprocessed_items_end_unprocessed_after_the_bounded_attempts() {
    let (client, log, _) =
        client(|_, keys| Ok(keys.iter().filter(|k| *k == "k1").cloned().collect()));
    let dynamo = DynamoBatchDispatcher::builder(DynamoBackend::new(client, "t", "pk"))
        .config(
            DispatcherConfig::default()
                .adaptive(false)
                .retry(RetryPolicy::default().max_attempts(4)),
        )
        .build()
        .unwrap();
    for n in 0..5 {
        dynamo
            .submit_payload(json!({"pk": format!("k{n}")}))
            .await
            .unwrap();
    }
    let unprocessed = dynamo.flush_payloads().await;
    assert_eq!(unprocessed.len(), 1);
    assert_eq!(pk(&unprocessed[0].payload), "k1");
    assert_eq!(
        unprocessed[0].error.reason,
        UnprocessedReason::RetriesExhausted
    );
    assert_eq!(unprocessed[0].error.attempts, 4);
    assert_eq!(unprocessed[0].error.code(), "UnprocessedItems");
    assert_eq!(log.seen().len(), 4);
}

#[tokio::test(start_paused = true)]
async fn a_validation_exception_fails_the_whole_batch_unretried() {
    let (client, _, rule) = client(|_, _| Err("ValidationException"));
    let dynamo = DynamoBatchDispatcher::from_client(client, ("t", "pk"));
    for n in 0..6 {
        dynamo
            .submit_payload(json!({"pk": format!("k{n}")}))
            .await
            .unwrap();
    }
    let unprocessed = dynamo.flush_payloads().await;
    // Halved down to single items (2n - 1 requests), each refused, none retried.
    assert_eq!(rule.num_calls(), 2 * 6 - 1);
    let mut keys: Vec<String> = unprocessed.iter().map(|u| pk(&u.payload)).collect();
    keys.sort();
    assert_eq!(keys, (0..6).map(|n| format!("k{n}")).collect::<Vec<_>>());
    assert!(
        unprocessed
            .iter()
            .all(|u| u.error.code() == "ValidationException" && !u.error.is_retryable())
    );
}

#[tokio::test(start_paused = true)]
async fn two_writes_to_one_key_never_share_a_request() {
    let (client, log, _) = client(|_, _| Ok(vec![]));
    let dynamo = DynamoBatchDispatcher::from_client(client, ("t", "pk"));
    dynamo
        .submit_payload(json!({"pk": "a", "v": 1}))
        .await
        .unwrap();
    dynamo
        .submit_payload(json!({"pk": "b", "v": 1}))
        .await
        .unwrap();
    dynamo
        .submit_payload(json!({"pk": "a", "v": 2}))
        .await
        .unwrap();
    let mut attributes = HashMap::new();
    attributes.insert("pk".to_owned(), AttributeValue::S("c".into()));
    attributes.insert(
        "bin".to_owned(),
        AttributeValue::B(aws_smithy_types::Blob::new(vec![1, 2])),
    );
    attributes.insert(
        "set".to_owned(),
        AttributeValue::Ss(vec!["x".into(), "y".into()]),
    );
    dynamo.submit_payload(attributes).await.unwrap();
    assert!(dynamo.flush_payloads().await.is_empty());
    assert_eq!(
        log.seen(),
        vec![vec!["a".to_owned(), "b".into(), "c".into()]]
    );
    assert_eq!(dynamo.stats().superseded, 1);
}

/// A client whose first BatchWriteItem is refused whole with `ProvisionedThroughputExceeded`
/// naming `reason`, and whose later ones are accepted.
fn refused_once_for(reason: &'static str) -> (Client, Rule) {
    use aws_sdk_dynamodb::types::ThrottlingReason;
    use aws_sdk_dynamodb::types::error::ProvisionedThroughputExceededException;
    let calls = std::sync::atomic::AtomicUsize::new(0);
    let rule = mock!(Client::batch_write_item).then_compute_response(move |_| {
        if calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 0 {
            let refusal = ProvisionedThroughputExceededException::builder()
                .message("scripted")
                .throttling_reasons(
                    ThrottlingReason::builder()
                        .reason(reason)
                        .resource("arn:aws:dynamodb:us-east-1:123456789012:table/t")
                        .build(),
                )
                .meta(
                    ErrorMetadata::builder()
                        .code("ProvisionedThroughputExceededException")
                        .build(),
                )
                .build();
            MockResponse::Error(BatchWriteItemError::ProvisionedThroughputExceededException(
                refusal,
            ))
        } else {
            MockResponse::Output(BatchWriteItemOutput::builder().build())
        }
    });
    let client = mock_client!(aws_sdk_dynamodb, RuleMode::MatchAny, [&rule], |c| c
        .retry_config(SdkRetryConfig::disabled()));
    (client, rule)
}

#[tokio::test(start_paused = true)]
async fn a_throttle_of_hot_keys_backs_off_without_slowing_the_table() {
    for (reason, slows_the_table) in [
        ("TableWriteKeyRangeThroughputExceeded", false),
        ("TableWriteProvisionedThroughputExceeded", true),
    ] {
        let (client, rule) = refused_once_for(reason);
        let dynamo = DynamoBatchDispatcher::from_client(client, ("t", "pk"));
        for n in 0..5 {
            dynamo
                .submit_payload(json!({"pk": format!("k{n}")}))
                .await
                .unwrap();
        }
        assert!(dynamo.flush_payloads().await.is_empty(), "{reason}");
        assert_eq!(rule.num_calls(), 2, "{reason}");
        let stats = dynamo.stats();
        assert_eq!(stats.delivered, 5, "{reason}");
        assert_eq!(stats.throttled > 0, slows_the_table, "{reason}: {stats:?}");
    }
}

#[tokio::test(start_paused = true)]
async fn a_write_converted_from_json_goes_again_exactly_as_it_went_first() {
    // Every request as sent; the first leaves `k1` and the delete of `k9` unprocessed.
    let sent = test_support::Recorder::<Vec<WriteRequest>>::default();
    let seen = sent.clone();
    let rule = mock!(Client::batch_write_item).then_compute_response(move |request| {
        let requests: Vec<WriteRequest> = request.request_items().unwrap()["t"].clone();
        let call = seen.record(requests.clone());
        let left: Vec<WriteRequest> = requests
            .into_iter()
            .filter(|r| call == 1 && ["k1", "k9"].contains(&pk_of(r).as_str()))
            .collect();
        let mut output = BatchWriteItemOutput::builder();
        if !left.is_empty() {
            output = output.unprocessed_items("t", left);
        }
        MockResponse::Output(output.build())
    });
    let client = mock_client!(aws_sdk_dynamodb, RuleMode::MatchAny, [&rule], |c| c
        .retry_config(SdkRetryConfig::disabled()));
    let dynamo = DynamoBatchDispatcher::from_client(client, ("t", "pk"));
    for n in 0..3 {
        let item = json!({"pk": format!("k{n}"), "v": n, "tags": ["a", "b"], "m": {"x": 1.5}});
        dynamo.submit_payload(item).await.unwrap();
    }
    dynamo
        .submit_payload(DynamoWrite::delete(json!({"pk": "k9"})))
        .await
        .unwrap();
    assert!(dynamo.flush_payloads().await.is_empty());
    let calls = sent.seen();
    assert_eq!(calls.len(), 2);
    let first_of = |key: &str| calls[0].iter().find(|r| pk_of(r) == key).unwrap().clone();
    assert_eq!(calls[1], vec![first_of("k1"), first_of("k9")]);
    assert_eq!(
        calls[1][0].put_request().unwrap().item()["v"],
        AttributeValue::N("1".into())
    );
}
