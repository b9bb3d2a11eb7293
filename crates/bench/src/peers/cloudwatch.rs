//! The Rust peers of CloudWatch: PutMetricData one datum at a time and in batches, CloudWatchBatchDispatcher.

use aws_batch_utils::engine::{DispatcherConfig, Limits};
use aws_config::SdkConfig;
use null_endpoint::{Api, Capacity};
use tokio::time::Instant;

use crate::sweep::{Offer, hand_loop, offer_to};
use crate::workload::Service;
use std::time::SystemTime;

use aws_batch_utils::cloudwatch::sdk::types::{Dimension, MetricDatum, StandardUnit};
use aws_batch_utils::cloudwatch::{CloudWatchBackend, CloudWatchBatchDispatcher, Metric};
use aws_smithy_types::DateTime;

use super::{
    Boxed, CapacityPeers, NAME, Peer, Records, Result, ServicePeers, batch_loop, config,
    submit_all, unsupported,
};
use crate::workload::{self, Load};

/// Values in a CloudWatch metric of the uniform load (with their counts, about 1 KB).
const UNIFORM_METRIC_VALUES: usize = 40;
/// CloudWatch's most values in one metric. Source: CloudWatch API reference, MetricDatum
/// (Values: up to 150 items); checked 2026-11-23.
const MAX_METRIC_VALUES: usize = 150;

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

/// CloudWatch in the bench.
pub(crate) struct Cloudwatch;

impl ServicePeers for Cloudwatch {
    fn title(&self) -> &'static str {
        "CloudWatch"
    }

    fn limits(&self) -> Limits {
        aws_batch_utils::cloudwatch::CLOUDWATCH_LIMITS
    }

    fn batch_api(&self) -> Api {
        Api::PutMetricData
    }

    fn python_original(&self) -> Option<f64> {
        Some(647.0)
    }

    /// The number of values in the metric, not bytes.
    fn size(&self, load: Load, n: u64) -> usize {
        match load {
            Load::Uniform => UNIFORM_METRIC_VALUES,
            Load::Stream => 1,
            Load::Mixed => workload::pareto(n, 1, MAX_METRIC_VALUES, workload::PARETO_SCALE),
        }
    }

    /// CloudWatch's bytes are counted on the encoded request, so the bound is by count alone.
    fn lower_bound(&self, _load: Load, records: u64) -> u64 {
        records.div_ceil(self.limits().max_entries as u64)
    }

    fn run<'a>(&'a self, sdk: &'a SdkConfig, peer: Peer, records: Records) -> Boxed<'a, u64> {
        Box::pin(async move {
            run(
                &aws_batch_utils::cloudwatch::sdk::Client::new(sdk),
                peer,
                records,
            )
            .await
        })
    }

    fn capacity(&self) -> Option<&dyn CapacityPeers> {
        Some(self)
    }
}

impl CapacityPeers for Cloudwatch {
    fn quota(&self) -> (Capacity, f64) {
        capacity_quota()
    }

    fn record_number(&self, entry: &str) -> Option<u64> {
        record_number(entry)
    }

    fn engine<'a>(
        &'a self,
        sdk: &'a SdkConfig,
        config: DispatcherConfig,
        offer: Offer,
    ) -> Boxed<'a, Vec<Instant>> {
        Box::pin(capacity_engine(sdk, config, offer))
    }

    fn hand_loop<'a>(&'a self, sdk: &'a SdkConfig, offer: Offer) -> Boxed<'a, Vec<Instant>> {
        Box::pin(capacity_hand_loop(sdk, offer))
    }
}

async fn run(
    client: &aws_batch_utils::cloudwatch::sdk::Client,
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
fn capacity_quota() -> (Capacity, f64) {
    (
        Capacity::default().cloudwatch_requests_per_second(50.0),
        50_000.0,
    )
}

/// The record number of a metric name the endpoint accepted.
fn record_number(name: &str) -> Option<u64> {
    name.strip_prefix('m')?.parse().ok()
}

async fn capacity_engine(
    sdk: &SdkConfig,
    config: DispatcherConfig,
    offer: Offer,
) -> Result<Vec<Instant>> {
    let backend = CloudWatchBackend::new(aws_batch_utils::cloudwatch::sdk::Client::new(sdk), NAME);
    let metrics = CloudWatchBatchDispatcher::builder(backend)
        .config(config)
        .build()?;
    offer_to(&metrics, offer, |n| Metric::new(format!("m{n}"), 1.0)).await
}

async fn capacity_hand_loop(sdk: &SdkConfig, offer: Offer) -> Result<Vec<Instant>> {
    let client = aws_batch_utils::cloudwatch::sdk::Client::new(sdk);
    let client = &client;
    hand_loop(Service::Cloudwatch, offer, |ns| async move {
        capacity_send(client, &ns).await.map_or(ns, |()| Vec::new())
    })
    .await
}

/// Sends records `ns` in one request.
async fn capacity_send(
    client: &aws_batch_utils::cloudwatch::sdk::Client,
    ns: &[u64],
) -> Result<()> {
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
