//! Random metrics never panic the checks; and the request size accounting is never below
//! the bytes the SDK really sends, measured by the null endpoint.
#![allow(clippy::unwrap_used, clippy::cast_precision_loss)]

use std::time::Duration;

use aws_sdk_cloudwatch::Client;
use aws_sdk_cloudwatch::config::{BehaviorVersion, Region};
use batch_cloudwatch::{CloudWatchBatchDispatcher, Metric};
use batch_core::Backend;
use null_endpoint::{Api, NullEndpoint};
use proptest::prelude::*;

fn offline() -> CloudWatchBatchDispatcher {
    let config = aws_sdk_cloudwatch::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .build();
    CloudWatchBatchDispatcher::from_client(Client::from_conf(config), "ns")
}

proptest! {
    #[test]
    fn any_metric_is_checked_without_panicking(
        name in any::<String>(),
        value in any::<f64>(),
        values in proptest::collection::vec(any::<f64>(), 0..200),
        counts in proptest::collection::vec(any::<f64>(), 0..200),
        dimensions in proptest::collection::vec((any::<String>(), any::<String>()), 0..40),
        resolution in any::<i32>(),
    ) {
        let cloudwatch = offline();
        let single = dimensions.iter().fold(Metric::new(name.clone(), value), |m, (k, v)| m.with_dimension(k, v));
        if cloudwatch.backend().prepare(&single).is_ok() {
            prop_assert!(value.is_finite());
            prop_assert!(dimensions.len() <= 30);
        }
        let many = Metric::values(name, values, counts).with_storage_resolution(resolution);
        if cloudwatch.backend().prepare(&many).is_ok() {
            prop_assert!(resolution == 1 || resolution == 60);
        }
    }
}

#[tokio::test]
async fn requests_packed_to_the_limit_stay_within_one_megabyte_on_the_wire() {
    let endpoint = NullEndpoint::start(Duration::ZERO).await.unwrap();
    let config = test_support::sdk_config_at(&endpoint.url()).await;
    let cloudwatch = CloudWatchBatchDispatcher::new(&config, "ns");
    // Heavy metrics: long names, 30 long dimensions, 150 values each.
    for i in 0..400_u32 {
        let mut metric = Metric::values(
            format!("{i}-{}", "n".repeat(200)),
            (0..150).map(|v| f64::from(v) + 0.5).collect(),
            vec![1.0; 150],
        );
        for d in 0..30 {
            metric = metric.with_dimension(format!("d{d}"), format!("{i}-{}", "v".repeat(100)));
        }
        cloudwatch.submit_payload(metric).await.unwrap();
    }
    assert!(cloudwatch.flush_payloads().await.is_empty());
    let received = endpoint.counts(Api::PutMetricData);
    assert_eq!(received.entries, 400);
    assert!(
        received.max_body_bytes <= 1_000_000,
        "a request of {} bytes",
        received.max_body_bytes
    );
    // The accounting is conservative, not wasteful: requests are at least half full.
    assert!(
        received.max_body_bytes > 500_000,
        "requests of only {} bytes",
        received.max_body_bytes
    );
    eprintln!(
        "{} requests, largest {} bytes",
        received.requests, received.max_body_bytes
    );
}

#[tokio::test]
async fn a_thousand_one_kilobyte_metrics_fill_one_request() {
    let endpoint = NullEndpoint::start(Duration::ZERO).await.unwrap();
    let config = test_support::sdk_config_at(&endpoint.url()).await;
    let cloudwatch = CloudWatchBatchDispatcher::new(&config, "ns");
    for i in 0..1_000_u32 {
        let values: Vec<f64> = (0..40).map(|v| f64::from(i + v) + 0.5).collect();
        let metric = Metric::values(format!("metric-{}", i % 100), values, vec![1.0; 40])
            .with_unit(batch_cloudwatch::Unit::Milliseconds)
            .with_dimension("host", format!("host-{}", i % 16))
            .with_dimension("region", "eu-west-1")
            .with_dimension("service", "checkout");
        cloudwatch.submit_payload(metric).await.unwrap();
    }
    assert!(cloudwatch.flush_payloads().await.is_empty());
    let received = endpoint.counts(Api::PutMetricData);
    assert_eq!(received.entries, 1_000);
    // About 900 KB on the wire: the size bound is tight enough to fill the request.
    assert_eq!(received.requests, 1, "{} bytes", received.max_body_bytes);
    assert!(received.max_body_bytes <= 1_000_000);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    /// The bytes the SDK sends for a request are never more than the sizes the dispatcher
    /// counted for its metrics plus the 1 KiB it keeps for the envelope.
    #[test]
    fn counted_sizes_are_never_below_the_encoded_request(
        metrics in proptest::collection::vec(
            (
                "[a-zA-Z0-9_ üé-]{1,255}",
                proptest::collection::vec(-1e9_f64..1e9, 1..150),
                proptest::collection::vec(("[a-z]{1,255}", "[a-zA-Z0-9 ]{1,255}"), 0..30),
                any::<bool>(),
            ),
            1..20,
        ),
    ) {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(async {
            let endpoint = NullEndpoint::start(Duration::ZERO).await.unwrap();
            let config = test_support::sdk_config_at(&endpoint.url()).await;
            let cloudwatch = CloudWatchBatchDispatcher::new(&config, "ns");
            let mut counted = 0;
            for (name, values, dimensions, single) in &metrics {
                let metric = if *single {
                    Metric::new(name.clone(), values[0])
                } else {
                    Metric::values(name.clone(), values.clone(), vec![2.0; values.len()])
                };
                let metric = dimensions.iter().fold(metric, |m, (k, v)| m.with_dimension(k, v));
                let entry = cloudwatch.backend().prepare(&metric).unwrap();
                counted += entry.size;
                cloudwatch.submit_payload(metric).await.unwrap();
            }
            assert!(cloudwatch.flush_payloads().await.is_empty());
            let received = endpoint.counts(Api::PutMetricData);
            assert_eq!(received.requests, 1);
            assert!(
                received.max_body_bytes <= counted as u64 + 1_024,
                "{} bytes sent, {counted} counted",
                received.max_body_bytes
            );
        });
    }
}
