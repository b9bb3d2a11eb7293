//! The Rust peers of CloudWatch: PutMetricData one datum at a time and in batches, CloudWatchBatchDispatcher.

use aws_config::SdkConfig;
use batch_core::DispatcherConfig;
use null_endpoint::Capacity;
use tokio::time::Instant;

use crate::sweep::{Offer, hand_loop, offer_to};
use crate::workload::Service;
use std::time::SystemTime;

use aws_sdk_cloudwatch::types::{Dimension, MetricDatum, StandardUnit};
use aws_smithy_types::DateTime;
use batch_cloudwatch::{CloudWatchBackend, CloudWatchBatchDispatcher, Metric};

use super::{NAME, Peer, Records, Result, batch_loop, config, submit_all, unsupported};
use crate::workload;

fn metric(values: usize, n: u64) -> Metric {
    let (name, dimensions, list) = workload::metric(values, n);
    let mut metric = if let [value] = list[..] {
        Metric::new(name, value)
    } else {
        let counts = vec![1.0; list.len()];
        Metric::values(name, list, counts)
    };
    metric = metric.with_unit(StandardUnit::Milliseconds);
    for (name, value) in dimensions {
        metric = metric.with_dimension(name, value);
    }
    metric
}

fn datum(n: u64, values: usize) -> Result<MetricDatum> {
    let (name, dimensions, list) = workload::metric(values, n);
    let mut datum = MetricDatum::builder()
        .metric_name(name)
        .unit(StandardUnit::Milliseconds)
        .timestamp(DateTime::from(SystemTime::now()));
    for (name, value) in dimensions {
        datum = datum.dimensions(Dimension::builder().name(name).value(value).build());
    }
    datum = if let [value] = list[..] {
        datum.value(value)
    } else {
        let counts = vec![1.0; list.len()];
        datum.set_values(Some(list)).set_counts(Some(counts))
    };
    Ok(datum.build())
}

pub(super) async fn run(
    client: &aws_sdk_cloudwatch::Client,
    peer: Peer,
    records: Records,
) -> Result<u64> {
    match peer {
        Peer::SdkSingle => {
            for (n, values) in records.sizes() {
                client
                    .put_metric_data()
                    .namespace(NAME)
                    .metric_data(datum(n, values)?)
                    .send()
                    .await?;
            }
        }
        Peer::SdkBatchLoop => {
            // Sizes here are value counts, far below the byte limit: batches go by count, as
            // a hand-written loop does (it cannot know the encoded size).
            batch_loop(records, datum, |batch| async move {
                client
                    .put_metric_data()
                    .namespace(NAME)
                    .set_metric_data(Some(batch))
                    .send()
                    .await?;
                Ok(0)
            })
            .await?;
        }
        Peer::Ours { max_in_flight } => {
            let metrics =
                CloudWatchBatchDispatcher::builder(CloudWatchBackend::new(client.clone(), NAME))
                    .config(config(max_in_flight))
                    .build()?;
            return submit_all(&metrics, records, |n, values| metric(values, n)).await;
        }
        Peer::Boto3BatchLoop | Peer::PythonPackage => return Err(unsupported(peer)),
    }
    Ok(0)
}

// The capacity sweep's pieces (driven by `crate::sweep`).

/// 50 requests a second of 1,000 metrics: a tenth of the account's 500 PutMetricData
/// requests a second (source: CloudWatch service quotas; checked 2026-11-29), so that the
/// run measures pacing, not this machine's CPU.
pub(crate) fn capacity_quota() -> (Capacity, f64) {
    (
        Capacity::default().cloudwatch_requests_per_second(50.0),
        50_000.0,
    )
}

/// The record number of a metric name the endpoint accepted.
pub(crate) fn record_number(name: &str) -> Option<u64> {
    name.strip_prefix('m')?.parse().ok()
}

pub(crate) async fn capacity_engine(
    sdk: &SdkConfig,
    config: DispatcherConfig,
    offer: Offer,
) -> Result<Vec<Instant>> {
    let backend = CloudWatchBackend::new(aws_sdk_cloudwatch::Client::new(sdk), NAME);
    let metrics = CloudWatchBatchDispatcher::builder(backend)
        .config(config)
        .build()?;
    offer_to(&metrics, offer, |n| Metric::new(format!("m{n}"), 1.0)).await
}

pub(crate) async fn capacity_hand_loop(sdk: &SdkConfig, offer: Offer) -> Result<Vec<Instant>> {
    let client = aws_sdk_cloudwatch::Client::new(sdk);
    let client = &client;
    hand_loop(Service::Cloudwatch, offer, |ns| async move {
        capacity_send(client, &ns).await.map_or(ns, |()| Vec::new())
    })
    .await
}

/// Sends records `ns` in one request.
async fn capacity_send(client: &aws_sdk_cloudwatch::Client, ns: &[u64]) -> Result<()> {
    let data = ns
        .iter()
        .map(|n| {
            MetricDatum::builder()
                .metric_name(format!("m{n}"))
                .value(1.0)
                .build()
        })
        .collect();
    client
        .put_metric_data()
        .namespace(NAME)
        .set_metric_data(Some(data))
        .send()
        .await?;
    Ok(())
}
