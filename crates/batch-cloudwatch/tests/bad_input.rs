//! Every metric CloudWatch would refuse is refused at submit, named, and handed back.
#![allow(clippy::unwrap_used)]

use std::time::{Duration, SystemTime};

use aws_sdk_cloudwatch::Client;
use aws_sdk_cloudwatch::config::{BehaviorVersion, Region};
use batch_cloudwatch::{CloudWatchBackend, CloudWatchBatchDispatcher, Metric, StatisticSet, Unit};
use batch_core::SubmitErrorKind;

fn dispatcher() -> CloudWatchBatchDispatcher {
    let config = aws_sdk_cloudwatch::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .build();
    CloudWatchBatchDispatcher::from_client(Client::from_conf(config), "ns")
}

/// Submits `metric`, expects a refusal naming `field`, and checks the dispatcher goes on.
async fn refused(metric: Metric, field: &str) -> SubmitErrorKind {
    let cloudwatch = dispatcher();
    let err = cloudwatch.submit_payload(metric.clone()).await.unwrap_err();
    // Compared through Debug: NaN is not equal to itself.
    assert_eq!(
        format!("{:?}", err.payload()),
        format!("{metric:?}"),
        "handed back as submitted"
    );
    assert_eq!(err.kind().field(), field, "{err}");
    cloudwatch
        .submit_payload(Metric::new("ok", 1.0))
        .await
        .unwrap();
    assert_eq!(cloudwatch.pending(), 1);
    let _ = cloudwatch.flush_payloads_timeout(Duration::ZERO).await;
    err.into_parts().1
}

#[tokio::test]
async fn nan_and_infinities() {
    for value in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
        refused(Metric::new("m", value), "Value").await;
    }
}

#[tokio::test]
async fn values_beyond_two_to_the_360() {
    let kind = refused(Metric::new("m", 1e109), "Value").await;
    assert!(kind.to_string().contains("2^360"), "{kind}");
    refused(Metric::new("m", 1e-109), "Value").await;
    let cloudwatch = dispatcher();
    cloudwatch
        .submit_payload(Metric::new("m", 2.0_f64.powi(360)))
        .await
        .unwrap();
    cloudwatch
        .submit_payload(Metric::new("m", 0.0))
        .await
        .unwrap();
    let _ = cloudwatch.flush_payloads_timeout(Duration::ZERO).await;
}

#[tokio::test]
async fn thirty_one_dimensions() {
    let metric = (0..31).fold(Metric::new("m", 1.0), |m, i| {
        m.with_dimension(format!("d{i}"), "v")
    });
    let kind = refused(metric, "Dimensions").await;
    assert!(kind.to_string().contains("0 to 30"), "{kind}");
}

#[tokio::test]
async fn dimension_names_and_values_out_of_range() {
    refused(
        Metric::new("m", 1.0).with_dimension("n".repeat(256), "v"),
        "Dimensions.Name",
    )
    .await;
    refused(
        Metric::new("m", 1.0).with_dimension("", "v"),
        "Dimensions.Name",
    )
    .await;
    refused(
        Metric::new("m", 1.0).with_dimension("d", "v".repeat(1025)),
        "Dimensions.d",
    )
    .await;
    refused(
        Metric::new("m", 1.0).with_dimension("d", ""),
        "Dimensions.d",
    )
    .await;
}

#[tokio::test]
async fn one_hundred_fifty_one_values() {
    refused(Metric::values("m", vec![1.0; 151], vec![]), "Values").await;
}

#[tokio::test]
async fn a_bad_value_or_count_anywhere_in_a_list_is_named() {
    for bad in [f64::NAN, f64::INFINITY, -1e109, 1e-109] {
        let mut values = vec![1.0; 100];
        values[57] = bad;
        let kind = refused(Metric::values("m", values, vec![]), "Values").await;
        assert!(kind.to_string().contains(&bad.to_string()), "{kind}");
    }
    for bad in [f64::NAN, f64::INFINITY, -0.5] {
        let mut counts = vec![1.0; 100];
        counts[99] = bad;
        let kind = refused(Metric::values("m", vec![1.0; 100], counts), "Counts").await;
        assert!(kind.to_string().contains(&bad.to_string()), "{kind}");
    }
    // Zero and the smallest and largest magnitudes pass, as do zero counts.
    let cloudwatch = dispatcher();
    let edges = vec![0.0, -0.0, 2.0_f64.powi(-360), -(2.0_f64.powi(360))];
    cloudwatch
        .submit_payload(Metric::values("m", edges, vec![0.0, -0.0, 1.0, 2.0]))
        .await
        .unwrap();
    let _ = cloudwatch.flush_payloads_timeout(Duration::ZERO).await;
}

#[tokio::test]
async fn values_and_counts_of_different_lengths() {
    let kind = refused(Metric::values("m", vec![1.0, 2.0], vec![1.0]), "Counts").await;
    assert!(kind.to_string().contains("1 counts for 2 values"), "{kind}");
    refused(Metric::values("m", vec![1.0], vec![-1.0]), "Counts").await;
}

#[tokio::test]
async fn a_bad_statistic_set() {
    let set = StatisticSet {
        sample_count: 2.0,
        sum: 3.0,
        minimum: 5.0,
        maximum: 1.0,
    };
    refused(Metric::statistics("m", set), "StatisticValues.Minimum").await;
    let set = StatisticSet {
        sample_count: 0.0,
        sum: 3.0,
        minimum: 1.0,
        maximum: 1.0,
    };
    refused(Metric::statistics("m", set), "StatisticValues.SampleCount").await;
    let set = StatisticSet {
        sample_count: 2.0,
        sum: f64::NAN,
        minimum: 1.0,
        maximum: 1.0,
    };
    refused(Metric::statistics("m", set), "StatisticValues.Sum").await;
}

#[tokio::test]
async fn a_metric_name_out_of_range() {
    refused(Metric::new("", 1.0), "MetricName").await;
    refused(Metric::new("n".repeat(256), 1.0), "MetricName").await;
}

#[tokio::test]
async fn a_storage_resolution_other_than_1_or_60() {
    refused(
        Metric::new("m", 1.0).with_storage_resolution(30),
        "StorageResolution",
    )
    .await;
}

#[tokio::test]
async fn an_unknown_unit() {
    refused(
        Metric::new("m", 1.0).with_unit(Unit::from("Furlongs")),
        "Unit",
    )
    .await;
}

#[tokio::test]
async fn a_timestamp_too_old_or_too_far_ahead() {
    let now = SystemTime::now();
    refused(
        Metric::new("m", 1.0).with_timestamp(now - Duration::from_secs(15 * 24 * 3600)),
        "Timestamp",
    )
    .await;
    refused(
        Metric::new("m", 1.0).with_timestamp(now + Duration::from_secs(3 * 3600)),
        "Timestamp",
    )
    .await;
}

#[test]
fn an_empty_namespace_is_a_config_error() {
    let config = aws_sdk_cloudwatch::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .build();
    let err =
        CloudWatchBatchDispatcher::builder(CloudWatchBackend::new(Client::from_conf(config), ""))
            .build()
            .unwrap_err();
    assert!(matches!(
        err,
        batch_core::ConfigError::Invalid {
            field: "namespace",
            ..
        }
    ));
}

#[tokio::test]
async fn a_namespace_too_long_given_to_from_client_refuses_every_metric() {
    let config = aws_sdk_cloudwatch::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .build();
    let long = "n".repeat(256);
    let cloudwatch = CloudWatchBatchDispatcher::from_client(Client::from_conf(config), long);
    let err = cloudwatch
        .submit_payload(Metric::new("ok", 1.0))
        .await
        .unwrap_err();
    assert_eq!(err.kind().field(), "Namespace", "{err}");
    assert!(err.to_string().contains("1 to 255 characters"), "{err}");
    assert_eq!(
        cloudwatch.pending(),
        0,
        "nothing is sent to a namespace CloudWatch refuses"
    );
}

/// Metrics exactly at CloudWatch's limits are accepted.
#[tokio::test]
async fn metrics_exactly_at_the_limits_are_fine() {
    let cloudwatch = dispatcher();
    let at_limits = [
        (0..30).fold(Metric::new("m", 1.0), |m, i| {
            m.with_dimension(format!("d{i}"), "v")
        }),
        Metric::values("m", vec![1.0; 150], vec![2.0; 150]),
        Metric::new("n".repeat(255), 1.0),
        Metric::new("m", 1.0).with_dimension("n".repeat(255), "v".repeat(1_024)),
    ];
    for metric in at_limits {
        cloudwatch.submit_payload(metric).await.unwrap();
    }
    assert_eq!(cloudwatch.pending(), 4);
    let _ = cloudwatch.flush_payloads_timeout(Duration::ZERO).await;
}
