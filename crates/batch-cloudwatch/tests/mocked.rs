//! Throttling and refused requests, with aws-smithy-mocks clients on paused time.
#![allow(clippy::unwrap_used)]

use aws_sdk_cloudwatch::Client;
use aws_sdk_cloudwatch::config::retry::RetryConfig as SdkRetryConfig;
use aws_sdk_cloudwatch::operation::put_metric_data::{PutMetricDataError, PutMetricDataOutput};
use aws_sdk_cloudwatch::types::error::InvalidParameterValueException;
use aws_smithy_mocks::{RuleMode, mock, mock_client};
use aws_smithy_types::error::ErrorMetadata;
use batch_cloudwatch::{CloudWatchBatchDispatcher, Metric};
use batch_core::UnprocessedReason;

#[tokio::test(start_paused = true)]
async fn a_throttled_request_is_retried_and_then_accepted() {
    let rule = mock!(Client::put_metric_data)
        .sequence()
        .error(|| {
            PutMetricDataError::generic(
                ErrorMetadata::builder()
                    .code("Throttling")
                    .message("Rate exceeded")
                    .build(),
            )
        })
        .output(|| PutMetricDataOutput::builder().build())
        .build();
    let client = mock_client!(aws_sdk_cloudwatch, RuleMode::Sequential, [&rule], |c| c
        .retry_config(SdkRetryConfig::disabled()));
    let cloudwatch = CloudWatchBatchDispatcher::from_client(client, "ns");
    for i in 0..20 {
        cloudwatch
            .submit_payload(Metric::new("m", f64::from(i)))
            .await
            .unwrap();
    }
    assert!(cloudwatch.flush_payloads().await.is_empty());
    assert_eq!(rule.num_calls(), 2);
    let stats = cloudwatch.stats();
    assert_eq!(
        (stats.delivered, stats.retries, stats.requests_sent),
        (20, 20, 2)
    );
}

#[tokio::test(start_paused = true)]
async fn a_refused_request_returns_every_metric_of_its_batch() {
    let rule = mock!(Client::put_metric_data).then_error(|| {
        PutMetricDataError::InvalidParameterValueException(
            InvalidParameterValueException::builder()
                .message("bad value")
                .build(),
        )
    });
    let client = mock_client!(aws_sdk_cloudwatch, RuleMode::MatchAny, [&rule], |c| c
        .retry_config(SdkRetryConfig::disabled()));
    let cloudwatch = CloudWatchBatchDispatcher::from_client(client, "ns");
    for i in 0..30 {
        cloudwatch
            .submit_payload(Metric::new(format!("m{i}"), 1.0))
            .await
            .unwrap();
    }
    let unprocessed = cloudwatch.flush_payloads().await;
    // Refused whole as invalid: sent again in halves down to single metrics (2n - 1
    // requests), each refused, none retried.
    assert_eq!(rule.num_calls(), 2 * 30 - 1, "halved, not retried");
    assert_eq!(unprocessed.len(), 30, "nothing dropped");
    let mut names: Vec<String> = unprocessed
        .iter()
        .map(|u| u.payload.name().to_owned())
        .collect();
    names.sort();
    let mut expected: Vec<String> = (0..30).map(|i| format!("m{i}")).collect();
    expected.sort();
    assert_eq!(names, expected);
    for item in &unprocessed {
        assert_eq!(
            item.error.code(),
            "InvalidParameterValueException",
            "{:?}",
            item.error
        );
        assert_eq!(item.error.reason, UnprocessedReason::Rejected);
    }
}
