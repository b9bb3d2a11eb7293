//! CloudWatchBatchDispatcher against LocalStack's CloudWatch (the one emulator that speaks
//! the SDK's CBOR protocol).
#![allow(clippy::unwrap_used, clippy::cast_precision_loss)]

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_sdk_cloudwatch::Client;
use aws_sdk_cloudwatch::primitives::DateTime;
use aws_sdk_cloudwatch::types::{Metric as SdkMetric, MetricDataQuery, MetricStat};
use batch_cloudwatch::{CloudWatchBackend, CloudWatchBatchDispatcher, Metric};

async fn client() -> Client {
    Client::new(&test_support::sdk_config("cloudwatch").await)
}

/// A minute-aligned time two minutes ago.
fn minute_ago() -> SystemTime {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    UNIX_EPOCH + Duration::from_secs(now - now % 60 - 120)
}

/// 5,000 metrics over 50 names at one timestamp, and the sum expected per name.
fn metrics(at: SystemTime) -> (Vec<Metric>, BTreeMap<String, f64>) {
    let mut sums = BTreeMap::new();
    let metrics = (0..5_000_u32)
        .map(|i| {
            let name = format!("m{}", i % 50);
            let value = f64::from(i % 7) + 1.0;
            *sums.entry(name.clone()).or_default() += value;
            Metric::new(name, value).with_timestamp(at)
        })
        .collect();
    (metrics, sums)
}

/// The Sum of each metric over the minute `at`, read back with GetMetricData.
async fn sums(
    client: &Client,
    namespace: &str,
    names: &[String],
    at: SystemTime,
) -> BTreeMap<String, f64> {
    let mut request = client
        .get_metric_data()
        .start_time(DateTime::from(at - Duration::from_secs(60)))
        .end_time(DateTime::from(at + Duration::from_secs(120)));
    for (i, name) in names.iter().enumerate() {
        let metric = SdkMetric::builder()
            .namespace(namespace)
            .metric_name(name)
            .build();
        let stat = MetricStat::builder()
            .metric(metric)
            .period(60)
            .stat("Sum")
            .build();
        request = request.metric_data_queries(
            MetricDataQuery::builder()
                .id(format!("q{i}"))
                .metric_stat(stat)
                .build(),
        );
    }
    let output = request.send().await.unwrap();
    let mut sums = BTreeMap::new();
    for result in output.metric_data_results() {
        let i: usize = result
            .id()
            .unwrap()
            .trim_start_matches('q')
            .parse()
            .unwrap();
        sums.insert(names[i].clone(), result.values().iter().sum());
    }
    sums
}

async fn send_and_read(aggregate: bool) -> (u64, BTreeMap<String, f64>, BTreeMap<String, f64>) {
    let client = client().await;
    let namespace = test_support::unique_name("batch-cloudwatch");
    let cloudwatch = CloudWatchBatchDispatcher::builder(
        CloudWatchBackend::new(client.clone(), namespace.clone()).with_aggregate(aggregate),
    )
    .build()
    .unwrap();
    let at = minute_ago();
    let (metrics, expected) = metrics(at);
    for metric in metrics {
        cloudwatch.submit_payload(metric).await.unwrap();
    }
    assert!(cloudwatch.flush_payloads().await.is_empty());
    let names: Vec<String> = expected.keys().cloned().collect();
    let got = sums(&client, &namespace, &names, at).await;
    (cloudwatch.stats().requests_sent, expected, got)
}

#[tokio::test]
async fn five_thousand_metrics_go_in_five_requests_with_the_right_sums() {
    let (requests, expected, got) = send_and_read(false).await;
    assert_eq!(requests, 5);
    assert_eq!(got, expected);
}

#[tokio::test]
async fn with_aggregation_the_same_metrics_take_one_request_and_sum_the_same() {
    let (requests, expected, got) = send_and_read(true).await;
    assert_eq!(requests, 1);
    assert_eq!(got, expected);
}
