//! End to end through the facade: the `cloudwatch` feature against LocalStack's CloudWatch.
#![allow(clippy::unwrap_used)]

use aws_batch_utils::cloudwatch::Metric;
use aws_batch_utils::prelude::*;

#[tokio::test]
async fn the_facade_sends_metrics_through_cloudwatch() {
    let config = test_support::sdk_config("cloudwatch").await;
    let namespace = test_support::unique_name("facade");
    let cloudwatch = CloudWatchBatchDispatcher::new(&config, &namespace);
    for i in 0..1_500 {
        cloudwatch
            .submit_metric(Metric::new(format!("m{}", i % 3), 1.0).with_dimension("Run", "facade"))
            .await
            .unwrap();
    }
    assert!(cloudwatch.flush_payloads().await.is_empty());
    assert_eq!(cloudwatch.stats().requests_sent, 2);
    let client = aws_sdk_cloudwatch::Client::new(&config);
    let names = test_support::metric_names(&client, &namespace).await;
    assert_eq!(names, vec!["m0", "m1", "m2"]);
}
