//! The Rust peers, each run in a process of its own: one request per record with the plain
//! SDK, a hand-written loop sending full batches one after another with the plain SDK, and
//! the library's dispatchers; one module a service, over the shared drivers here (next-fit
//! packing, the hand loop, submit-and-flush). (The boto3 loop is
//! `peers/boto3_batch_loop.py`.)

pub(crate) mod cloudwatch;
pub(crate) mod dynamodb;
pub(crate) mod eventbridge;
pub(crate) mod firehose;
pub(crate) mod kinesis;
pub(crate) mod logs;
pub(crate) mod sns;
pub(crate) mod sqs;

use std::error::Error;
use std::pin::Pin;

use aws_batch_utils::engine::{Backend, Dispatcher, DispatcherConfig, Limits};
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::Credentials;
use null_endpoint::{Api, Capacity};
use serde::{Deserialize, Serialize};
use tokio::time::Instant;

use crate::measure;
use crate::sweep::Offer;
use crate::workload::{self, Load};

type Result<T, E = Box<dyn Error>> = std::result::Result<T, E>;

/// The queue, stream, table and namespace the peers write to (the endpoint accepts any).
pub(crate) const QUEUE_URL: &str = "http://127.0.0.1/000000000000/bench";
pub(crate) const NAME: &str = "bench";
/// The SNS topic the peers publish to.
pub(crate) const TOPIC_ARN: &str = "arn:aws:sns:us-east-1:000000000000:bench";

/// A destination.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Service {
    Sqs,
    Kinesis,
    Dynamodb,
    Cloudwatch,
    Firehose,
    Eventbridge,
    Sns,
    Logs,
}

impl Service {
    pub(crate) const ALL: [Self; 8] = [
        Self::Sqs,
        Self::Kinesis,
        Self::Dynamodb,
        Self::Cloudwatch,
        Self::Firehose,
        Self::Eventbridge,
        Self::Sns,
        Self::Logs,
    ];
    /// The services measured under the mixed and streamed loads and in the capacity sweep
    /// too (the others take the uniform load, at both latencies).
    pub(crate) const FULL_SUITE: [Self; 4] =
        [Self::Sqs, Self::Kinesis, Self::Dynamodb, Self::Cloudwatch];

    /// What the bench knows of the service: its peers and its records.
    pub(crate) fn peers(self) -> &'static dyn ServicePeers {
        match self {
            Self::Sqs => &sqs::Sqs,
            Self::Kinesis => &kinesis::Kinesis,
            Self::Dynamodb => &dynamodb::Dynamodb,
            Self::Cloudwatch => &cloudwatch::Cloudwatch,
            Self::Firehose => &firehose::Firehose,
            Self::Eventbridge => &eventbridge::Eventbridge,
            Self::Sns => &sns::Sns,
            Self::Logs => &logs::Logs,
        }
    }

    pub(crate) fn title(self) -> &'static str {
        self.peers().title()
    }

    /// The null endpoint's counter of the service's batch operation.
    pub(crate) fn batch_api(self) -> null_endpoint::Api {
        self.peers().batch_api()
    }

    /// The service's own limits, as the library states them.
    pub(crate) fn limits(self) -> Limits {
        self.peers().limits()
    }
}

/// Who sends the load.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub(crate) enum Peer {
    /// One request per record, sequentially, with the plain SDK client.
    SdkSingle,
    /// Full batches, one request after another, with the plain SDK client.
    SdkBatchLoop,
    /// The same loop in Python with boto3.
    Boto3BatchLoop,
    /// The library's Python package, used as the original's API is.
    PythonPackage,
    /// The library's dispatcher.
    Ours {
        /// Requests in flight at once.
        max_in_flight: usize,
    },
}

impl Peer {
    pub(crate) fn title(self) -> String {
        match self {
            Self::SdkSingle => "SDK, one request per record".into(),
            Self::SdkBatchLoop => "SDK, hand-written batch loop".into(),
            Self::Boto3BatchLoop => "boto3, batch loop (Python)".into(),
            Self::PythonPackage => "aws-batch-utils Python package".into(),
            Self::Ours { max_in_flight } => {
                format!("aws-batch-utils, max_in_flight {max_in_flight}")
            }
        }
    }
}

/// One run: a peer sends `records` records of a load to a service at `endpoint`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Spec {
    pub(crate) service: Service,
    pub(crate) load: Load,
    pub(crate) peer: Peer,
    pub(crate) records: u64,
    pub(crate) endpoint: String,
}

/// What a peer measured about itself, printed as one JSON line.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub(crate) struct Measured {
    /// Seconds from the first record to the last answer.
    pub(crate) wall_s: f64,
    /// CPU seconds over the same span, all threads.
    pub(crate) cpu_s: f64,
    /// Peak resident memory of the process, KiB.
    pub(crate) peak_rss_kib: u64,
    /// Records the peer could not deliver.
    pub(crate) failed: u64,
}

/// What the bench knows of one service: its names, limits and records, its peers for the
/// throughput runs and, when the sweep measures it, its capacity pieces. One implementation a
/// service, in `peers/<service>.rs`; [`Service::peers`] names it.
pub(crate) trait ServicePeers: Sync {
    /// The service's name in tables.
    fn title(&self) -> &'static str;
    /// The service's own limits, as the library states them.
    fn limits(&self) -> Limits;
    /// The null endpoint's counter of the service's batch operation.
    fn batch_api(&self) -> Api;
    /// The counter of its one-record operation (what [`Peer::SdkSingle`] calls).
    fn single_api(&self) -> Api {
        self.batch_api()
    }
    /// Records per second of the Python original against the null endpoint at 20 ms, when
    /// it has a dispatcher for the service.
    fn python_original(&self) -> Option<f64> {
        None
    }
    /// The size of record `n`: bytes as the service counts them.
    fn size(&self, load: Load, n: u64) -> usize {
        workload::byte_size(self.limits(), load, n)
    }
    /// The fewest requests any client could send: by count and bytes.
    fn lower_bound(&self, load: Load, records: u64) -> u64 {
        let limits = self.limits();
        let by_count = records.div_ceil(limits.max_entries as u64);
        let bytes: u64 = (0..records).map(|n| self.size(load, n) as u64).sum();
        by_count.max(bytes.div_ceil(limits.max_request_bytes as u64))
    }
    /// Sends `records` as `peer` does; returns how many failed.
    fn run<'a>(&'a self, sdk: &'a SdkConfig, peer: Peer, records: Records) -> Boxed<'a, u64>;
    /// The capacity sweep's pieces, for the services it measures.
    fn capacity(&self) -> Option<&dyn CapacityPeers> {
        None
    }
}

/// A service's pieces of the capacity sweep (driven by `crate::sweep`).
pub(crate) trait CapacityPeers: Sync {
    /// The quota the endpoint enforces, and the records per second it takes.
    fn quota(&self) -> (Capacity, f64);
    /// The record number of an entry the endpoint accepted.
    fn record_number(&self, entry: &str) -> Option<u64>;
    /// Offers the records to the service's dispatcher ([`offer_to`](crate::sweep::offer_to)),
    /// flushes, and returns when each was offered.
    fn engine<'a>(
        &'a self,
        sdk: &'a SdkConfig,
        config: DispatcherConfig,
        offer: Offer,
    ) -> Boxed<'a, Vec<Instant>>;
    /// The service's hand-written loop ([`hand_loop`](crate::sweep::hand_loop)).
    fn hand_loop<'a>(&'a self, sdk: &'a SdkConfig, offer: Offer) -> Boxed<'a, Vec<Instant>>;
}

/// A peer's run, boxed so that the services sit behind one trait.
pub(crate) type Boxed<'a, T> = Pin<Box<dyn Future<Output = Result<T>> + 'a>>;

/// Runs `spec` in this process and measures it.
pub(crate) async fn run(spec: &Spec) -> Result<Measured> {
    let config = aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(&spec.endpoint)
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("bench", "bench", None, None, "bench"))
        .http_client(aws_smithy_http_client::Builder::new().build_http())
        .load()
        .await;
    let cpu = measure::cpu_time();
    let started = tokio::time::Instant::now();
    let records = Records {
        service: spec.service,
        load: spec.load,
        count: spec.records,
    };
    let failed = spec
        .service
        .peers()
        .run(&config, spec.peer, records)
        .await?;
    Ok(Measured {
        wall_s: started.elapsed().as_secs_f64(),
        cpu_s: measure::cpu_time().saturating_sub(cpu).as_secs_f64(),
        peak_rss_kib: measure::peak_rss_kib(),
        failed,
    })
}

#[derive(Clone, Copy)]
pub(crate) struct Records {
    service: Service,
    load: Load,
    count: u64,
}

impl Records {
    fn sizes(self) -> impl Iterator<Item = (u64, usize)> {
        let peers = self.service.peers();
        (0..self.count).map(move |n| (n, peers.size(self.load, n)))
    }
}

/// Next-fit packing by count and bytes.
struct NextFit {
    limits: Limits,
    entries: usize,
    bytes: usize,
}

impl NextFit {
    fn new(limits: Limits) -> Self {
        Self {
            limits,
            entries: 0,
            bytes: 0,
        }
    }

    /// Whether the batch must be sent before an entry of `size` bytes joins it.
    fn full_before(&self, size: usize) -> bool {
        self.entries > 0
            && (self.entries + 1 > self.limits.max_entries
                || self.bytes + size > self.limits.max_request_bytes)
    }

    fn add(&mut self, size: usize) {
        self.entries += 1;
        self.bytes += size;
    }

    fn clear(&mut self) {
        self.entries = 0;
        self.bytes = 0;
    }
}

/// What a hand-written loop does: builds next-fit batches of `records` (by count and bytes)
/// with `entry`, and sends each with `send` (which returns how many failed) before building
/// the next.
async fn batch_loop<E, F>(
    records: Records,
    mut entry: impl FnMut(u64, usize) -> Result<E>,
    send: impl Fn(Vec<E>) -> F,
) -> Result<u64>
where
    F: Future<Output = Result<u64>>,
{
    let mut fit = NextFit::new(records.service.peers().limits());
    let mut batch = Vec::new();
    let mut failed = 0;
    for (n, size) in records.sizes() {
        if fit.full_before(size) {
            failed += send(std::mem::take(&mut batch)).await?;
            fit.clear();
        }
        fit.add(size);
        batch.push(entry(n, size)?);
    }
    if !batch.is_empty() {
        failed += send(batch).await?;
    }
    Ok(failed)
}

/// What a user of the library writes: submit every record, flush, count what came back.
async fn submit_all<B: Backend>(
    dispatcher: &Dispatcher<B>,
    records: Records,
    record: impl Fn(u64, usize) -> B::Payload,
) -> Result<u64>
where
    B::Payload: std::fmt::Debug,
{
    for (n, size) in records.sizes() {
        dispatcher.submit_payload(record(n, size)).await?;
    }
    Ok(dispatcher.flush_payloads().await.len() as u64)
}

fn config(max_in_flight: usize) -> DispatcherConfig {
    DispatcherConfig::default().max_in_flight(max_in_flight)
}

fn unsupported(peer: Peer) -> Box<dyn Error> {
    format!("{peer:?} does not run in this process").into()
}
