//! CloudWatch metrics in the emulator.

/// The distinct metric names of a namespace, sorted.
pub async fn metric_names(client: &aws_sdk_cloudwatch::Client, namespace: &str) -> Vec<String> {
    let listed = client
        .list_metrics()
        .namespace(namespace)
        .send()
        .await
        .expect("ListMetrics");
    let mut names: Vec<String> = listed
        .metrics()
        .iter()
        .filter_map(|m| m.metric_name().map(str::to_owned))
        .collect();
    names.sort_unstable();
    names.dedup();
    names
}
