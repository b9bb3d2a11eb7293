//! The capacity sweep: each service against the null endpoint enforcing an AWS-like quota,
//! offered 1x to 30x what the quota takes, by the dispatcher and by the peers a user would
//! otherwise pick. Every run offers the same number of records (a few seconds of quota) at
//! the offered rate, so a run at 30x is a burst the sender must spread out.
//!
//! Figures per run: records delivered, goodput (the delivery rate while 30% to 90% of the
//! records arrived, as a share of the quota: the burst a full bucket allows at the start and
//! the tail do not count), entries the endpoint refused for capacity per delivered one,
//! requests against the fewest that carry the records, and the time from offering a record
//! to the endpoint accepting it (p50, p99).

use std::collections::HashMap;
use std::time::Duration;

use aws_batch_utils::engine::{
    Backend, DEFAULT_MAX_IN_FLIGHT, Dispatcher, DispatcherConfig, RetryPolicy,
};
use aws_config::retry::RetryConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::Credentials;
use null_endpoint::{Faults, NullEndpoint};
use serde::{Deserialize, Serialize};
use tokio::time::Instant;

use crate::Result;
use crate::plan::ratio;
use crate::workload::Service;

/// Offered loads, as multiples of the quota.
pub(crate) const OFFERED: [u32; 4] = [1, 3, 10, 30];
/// The in-flight settings of the sweep at 10x.
pub(crate) const SWEEP_IN_FLIGHT: [usize; 4] = [1, 4, 16, 64];
/// The offered load of the in-flight sweep and of the targets.
pub(crate) const TARGET_OFFERED: u32 = 10;
/// Seconds of quota each sweep run offers; the smoke run's.
const SWEEP_SECONDS: f64 = 6.0;
const QUICK_SECONDS: f64 = 1.5;
/// Seconds of quota of the target runs: sustained, so that learning the quota (at most one
/// window of requests refused when it is first met) weighs as in a long job.
pub(crate) const TARGET_SECONDS: f64 = 20.0;
/// The round trip of every answer in the sweep.
const LATENCY: Duration = Duration::from_millis(10);
/// In-flight requests of the dispatcher before pacing: the default it had.
const UNPACED_IN_FLIGHT: usize = 4;
/// The KPL's default record time to live (`RecordTtl`, 30,000 ms) and its rate limit
/// (`RateLimit`, 150% of a shard's quota). Source: amazon-kinesis-producer,
/// default_config.properties; checked 2026-11-29.
const KPL_RECORD_TTL: Duration = Duration::from_secs(30);
const KPL_RATE_LIMIT: f64 = 1.5;
/// A hand-written loop's patience: rounds of resending failed entries, with exponential
/// backoff from 50 ms up to 5 s (about 21 s in all).
const SDK_ROUNDS: u32 = 10;

/// Who sends the load.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum Sender {
    /// The dispatcher with default settings: paced by what the service answers.
    Paced,
    /// The dispatcher with pacing off (`adaptive(false)`), as it was before pacing.
    Unpaced,
    /// The dispatcher unpaced, held to a fixed 150% of the quota, throttled records resent
    /// until a 30 s time to live: what the KPL does.
    FixedLimit,
    /// A hand-written loop with the plain SDK client in aws-config's adaptive retry mode:
    /// full batches one request at a time, failed entries resent with exponential backoff.
    SdkAdaptive,
}

impl Sender {
    pub(crate) const ALL: [Self; 4] = [
        Self::Paced,
        Self::Unpaced,
        Self::FixedLimit,
        Self::SdkAdaptive,
    ];

    pub(crate) fn title(self) -> &'static str {
        match self {
            Self::Paced => "aws-batch-utils, paced (default)",
            Self::Unpaced => "aws-batch-utils, pacing off",
            Self::FixedLimit => "fixed limit at 150% (KPL-style)",
            Self::SdkAdaptive => "SDK loop, adaptive retry mode",
        }
    }

    /// The in-flight setting of the load sweep.
    pub(crate) fn default_in_flight(self) -> usize {
        match self {
            Self::Paced | Self::FixedLimit => DEFAULT_MAX_IN_FLIGHT,
            Self::Unpaced => UNPACED_IN_FLIGHT,
            Self::SdkAdaptive => 1,
        }
    }
}

/// One sweep run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct CapacityRun {
    pub(crate) service: Service,
    pub(crate) sender: Sender,
    /// Offered load, as a multiple of the quota.
    pub(crate) offered: u32,
    pub(crate) max_in_flight: usize,
    /// Seconds of quota offered.
    pub(crate) seconds_of_quota: f64,
    pub(crate) records: u64,
    /// Distinct records the endpoint accepted.
    pub(crate) delivered: u64,
    /// Records per second the quota takes.
    pub(crate) quota: f64,
    /// Delivery rate while 30% to 90% of the delivered records arrived, per second.
    pub(crate) steady_rate: f64,
    pub(crate) refused: u64,
    pub(crate) requests: u64,
    pub(crate) lower_bound: u64,
    pub(crate) p50_ms: f64,
    pub(crate) p99_ms: f64,
    pub(crate) seconds: f64,
}

impl CapacityRun {
    pub(crate) fn delivered_share(&self) -> f64 {
        ratio(self.delivered as f64, self.records as f64)
    }

    pub(crate) fn goodput(&self) -> f64 {
        ratio(self.steady_rate, self.quota)
    }

    pub(crate) fn refused_per_delivered(&self) -> f64 {
        ratio(self.refused as f64, self.delivered as f64)
    }
}

/// One sweep run to make.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Cell {
    pub(crate) service: Service,
    pub(crate) sender: Sender,
    pub(crate) offered: u32,
    pub(crate) max_in_flight: usize,
    pub(crate) seconds_of_quota: f64,
}

/// The runs of a sweep: every sender at every offered load with its default in-flight
/// setting, the dispatcher paced and unpaced at 10x over in-flight settings, and the target
/// runs (paced, 10x, sustained). The smoke run has the dispatcher paced and unpaced at 10x.
pub(crate) fn plan(quick: bool) -> Vec<Cell> {
    let mut plan = Vec::new();
    let mut push = |service, sender: Sender, offered, max_in_flight, seconds_of_quota| {
        plan.push(Cell {
            service,
            sender,
            offered,
            max_in_flight,
            seconds_of_quota,
        });
    };
    for service in Service::FULL_SUITE {
        if quick {
            for sender in [Sender::Paced, Sender::Unpaced] {
                let mif = sender.default_in_flight();
                push(service, sender, TARGET_OFFERED, mif, QUICK_SECONDS);
            }
            continue;
        }
        for offered in OFFERED {
            for sender in Sender::ALL {
                let mif = sender.default_in_flight();
                push(service, sender, offered, mif, SWEEP_SECONDS);
            }
        }
        for max_in_flight in SWEEP_IN_FLIGHT {
            for sender in [Sender::Paced, Sender::Unpaced] {
                if max_in_flight != sender.default_in_flight() {
                    push(
                        service,
                        sender,
                        TARGET_OFFERED,
                        max_in_flight,
                        SWEEP_SECONDS,
                    );
                }
            }
        }
        let paced = Sender::Paced;
        push(
            service,
            paced,
            TARGET_OFFERED,
            paced.default_in_flight(),
            TARGET_SECONDS,
        );
    }
    plan
}

/// Makes one sweep run against a fresh endpoint.
pub(crate) async fn run(cell: Cell) -> Result<CapacityRun> {
    let Cell {
        service,
        sender,
        offered,
        max_in_flight,
        seconds_of_quota,
    } = cell;
    let peers = service
        .peers()
        .capacity()
        .ok_or_else(|| format!("no capacity run for {}", service.title()))?;
    let (capacity, quota) = peers.quota();
    // Faults at zero: the endpoint then logs what it accepts, and when.
    let endpoint =
        NullEndpoint::start_with_capacity(LATENCY, capacity, Some(Faults::default())).await?;
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let records = (quota * seconds_of_quota) as u64;
    let interval = Duration::from_secs_f64(1.0 / (quota * f64::from(offered)));
    let offer = Offer { records, interval };
    let config = sdk_config(&endpoint.url(), sender == Sender::SdkAdaptive).await;
    // As `Dispatcher::new` builds its clients: the dispatcher is the one retry layer. The
    // dispatcher as it was before pacing kept the SDK's retries.
    let config = match sender {
        Sender::Paced | Sender::FixedLimit => aws_batch_utils::engine::without_sdk_retries(&config),
        Sender::Unpaced | Sender::SdkAdaptive => config,
    };
    let started = Instant::now();
    let offered_at = match sender {
        Sender::SdkAdaptive => peers.hand_loop(&config, offer).await?,
        _ => {
            let engine = engine_config(sender, max_in_flight, quota);
            peers.engine(&config, engine, offer).await?
        }
    };
    let seconds = started.elapsed().as_secs_f64();
    // The first acceptance of each record.
    let mut first: HashMap<u64, Instant> = HashMap::new();
    for (at, entry) in endpoint.accepted_at(service.batch_api()) {
        if let Some(n) = peers.record_number(&entry) {
            first.entry(n).or_insert(at);
        }
    }
    let mut delays: Vec<f64> = first
        .iter()
        .filter_map(|(&n, &at)| {
            let offered = offered_at.get(usize::try_from(n).ok()?)?;
            Some(at.saturating_duration_since(*offered).as_secs_f64() * 1_000.0)
        })
        .collect();
    delays.sort_by(f64::total_cmp);
    let mut arrivals: Vec<Instant> = first.values().copied().collect();
    arrivals.sort_unstable();
    let delivered = arrivals.len() as u64;
    let max_entries = service.limits().max_entries as u64;
    Ok(CapacityRun {
        service,
        sender,
        offered,
        max_in_flight,
        seconds_of_quota,
        records,
        delivered,
        quota,
        steady_rate: steady_rate(&arrivals),
        refused: endpoint.refused_for_capacity(),
        requests: endpoint.counts(service.batch_api()).requests,
        lower_bound: records.div_ceil(max_entries),
        p50_ms: percentile(&delays, 0.5),
        p99_ms: percentile(&delays, 0.99),
        seconds,
    })
}

/// Records per second between the arrival of 30% and of 90% of the records that arrived.
pub(crate) fn steady_rate(arrivals: &[Instant]) -> f64 {
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let (low, high) = (
        (arrivals.len() as f64 * 0.3) as usize,
        (arrivals.len() as f64 * 0.9) as usize,
    );
    match (arrivals.get(low), arrivals.get(high)) {
        (Some(from), Some(to)) if to > from => {
            (high - low) as f64 / to.duration_since(*from).as_secs_f64()
        }
        _ => 0.0,
    }
}

pub(crate) fn percentile(sorted: &[f64], share: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let index = ((sorted.len() - 1) as f64 * share).round() as usize;
    sorted[index]
}

pub(crate) async fn sdk_config(endpoint: &str, adaptive_retry: bool) -> SdkConfig {
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("bench", "bench", None, None, "bench"))
        .http_client(aws_smithy_http_client::Builder::new().build_http());
    if adaptive_retry {
        loader = loader.retry_config(RetryConfig::adaptive());
    }
    loader.load().await
}

pub(crate) fn engine_config(sender: Sender, max_in_flight: usize, quota: f64) -> DispatcherConfig {
    let config = DispatcherConfig::default().max_in_flight(max_in_flight);
    match sender {
        Sender::Paced | Sender::SdkAdaptive => config,
        Sender::Unpaced => config.adaptive(false),
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        Sender::FixedLimit => config
            .adaptive(false)
            .max_records_per_second((quota * KPL_RATE_LIMIT) as u64)
            .retry(
                RetryPolicy::default()
                    .max_attempts(u32::MAX)
                    .max_backoff(Duration::from_millis(500))
                    .deadline(KPL_RECORD_TTL),
            ),
    }
}

/// How records are offered: `records` of them, one every `interval`.
#[derive(Clone, Copy)]
pub(crate) struct Offer {
    pub(crate) records: u64,
    interval: Duration,
}

impl Offer {
    /// When record `n` is offered, from `start`.
    pub(crate) fn due(self, start: Instant, n: u64) -> Instant {
        start + self.interval.mul_f64(n as f64)
    }
}

pub(crate) async fn offer_to<B: Backend>(
    dispatcher: &Dispatcher<B>,
    offer: Offer,
    payload: impl Fn(u64) -> B::Payload,
) -> Result<Vec<Instant>>
where
    B::Payload: std::fmt::Debug,
{
    let start = Instant::now();
    let mut offered_at = Vec::with_capacity(usize::try_from(offer.records)?);
    for n in 0..offer.records {
        let due = offer.due(start, n);
        if due > Instant::now() {
            tokio::time::sleep_until(due).await;
        }
        offered_at.push(Instant::now());
        dispatcher.submit_payload(payload(n)).await?;
    }
    // What is handed back counts as not delivered.
    let _handed_back = dispatcher.flush_payloads().await;
    Ok(offered_at)
}

/// The hand-written loop: a full batch is sent (with `send`, which returns the records not
/// delivered) once its last record was offered; its failed entries (or all of them, on an
/// error the SDK's retries did not get past) are resent after an exponential backoff, for
/// [`SDK_ROUNDS`] rounds. Returns when each record was offered.
pub(crate) async fn hand_loop<F, Fut>(
    service: Service,
    offer: Offer,
    send: F,
) -> Result<Vec<Instant>>
where
    F: Fn(Vec<u64>) -> Fut,
    Fut: std::future::Future<Output = Vec<u64>>,
{
    let max_entries = service.limits().max_entries as u64;
    let start = Instant::now();
    let mut offered_at = Vec::with_capacity(usize::try_from(offer.records)?);
    let mut next = 0;
    while next < offer.records {
        let end = (next + max_entries).min(offer.records);
        let due = offer.due(start, end - 1);
        if due > Instant::now() {
            tokio::time::sleep_until(due).await;
        }
        let now = Instant::now();
        for n in next..end {
            offered_at.push(offer.due(start, n).min(now));
        }
        let mut todo: Vec<u64> = (next..end).collect();
        for round in 0..SDK_ROUNDS {
            if round > 0 {
                let backoff = Duration::from_millis(50 << (round - 1).min(7));
                tokio::time::sleep(backoff.min(Duration::from_secs(5))).await;
            }
            todo = send(todo).await;
            if todo.is_empty() {
                break;
            }
        }
        next = end;
    }
    Ok(offered_at)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::peers::kinesis;

    fn record_number(service: Service, entry: &str) -> Option<u64> {
        service.peers().capacity()?.record_number(entry)
    }

    #[test]
    fn record_numbers_are_read_back_from_what_the_endpoint_logs() {
        assert_eq!(record_number(Service::Sqs, "42"), Some(42));
        assert_eq!(record_number(Service::Cloudwatch, "m7"), Some(7));
        let data = aws_smithy_types::base64::encode(kinesis::capacity_data(9));
        assert_eq!(record_number(Service::Kinesis, &data), Some(9));
        let write = r#"{"PutRequest":{"Item":{"pk":{"S":"k5"}}}}"#;
        assert_eq!(record_number(Service::Dynamodb, write), Some(5));
        assert_eq!(record_number(Service::Sqs, "x"), None);
    }

    #[test]
    fn partition_keys_split_evenly_over_two_shards() {
        let keys = kinesis::partition_keys();
        let low = keys
            .iter()
            .filter(|key| null_endpoint::shard_of(null_endpoint::hash_key(key), 2) == 0)
            .count();
        assert_eq!((keys.len(), low), (200, 100));
    }

    #[test]
    fn the_steady_rate_leaves_out_the_start_and_the_tail() {
        let start = Instant::now();
        // 100 records: 50 at once, then one every 10 ms.
        let arrivals: Vec<Instant> = (0..100_u64)
            .map(|i| start + Duration::from_millis(i.saturating_sub(50) * 10))
            .collect();
        // From the 30th (at 0 ms) to the 90th (at 400 ms): 60 records in 0.4 s.
        let rate = steady_rate(&arrivals);
        assert!((rate - 150.0).abs() < 1e-6, "{rate}");
        assert!(steady_rate(&arrivals[..10]) < f64::EPSILON);
    }
}
