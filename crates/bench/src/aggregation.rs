//! Kinesis aggregation against a 2-shard quota: small records offered at 10x the stream's
//! record quota, aggregated and not. The sender runs in a process of its own (its CPU time
//! is its alone); the endpoint de-aggregates what it stored to count user records.
//!
//! Figures per run: user records delivered per shard-second (while 30% to 90% of them
//! arrived), requests and Kinesis records, entries refused for capacity, CPU per user record,
//! and what the stored records would be billed per million user records.

use std::fmt::Write as _;
use std::process::Command;
use std::time::Duration;

use aws_batch_utils::engine::DispatcherConfig;
use aws_batch_utils::kinesis::{KinesisBackend, KinesisBatchDispatcher, KinesisRecord};
use null_endpoint::{Api, Capacity, Faults, NullEndpoint};
use serde::{Deserialize, Serialize};
use tokio::time::Instant;

use crate::peers::NAME;
use crate::peers::kinesis::partition_keys;
use crate::plan::ratio;
use crate::sweep::{sdk_config, steady_rate};
use crate::{Options, Result, measure};

/// Shards of the stream, and the records a second one takes.
const SHARDS: u32 = 2;
const SHARD_RECORDS: f64 = 1_000.0;
/// Offered load, as a multiple of the stream's record quota.
const OFFERED: f64 = 10.0;
/// Seconds records are offered; the smoke run's.
const SECONDS: f64 = 10.0;
const QUICK_SECONDS: f64 = 1.0;
/// Record sizes measured (data and partition key).
const SIZES: [usize; 2] = [100, 1_000];
/// The round trip of every answer.
const LATENCY: Duration = Duration::from_millis(10);
/// Targets for 100-byte records: user records per shard-second against the unaggregated run,
/// and CPU per user record against it, at most.
const THROUGHPUT_TARGET: f64 = 8.0;
const CPU_TARGET: f64 = 1.5;

/// What the sender process is told.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct PeerSpec {
    endpoint: String,
    record_bytes: usize,
    aggregated: bool,
    seconds: f64,
}

/// What the sender process measured about itself.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
struct PeerFigures {
    submitted: u64,
    handed_back: u64,
    cpu_s: f64,
}

/// One run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct AggregationRun {
    pub(crate) record_bytes: usize,
    pub(crate) aggregated: bool,
    pub(crate) submitted: u64,
    /// Distinct user records the endpoint stored.
    pub(crate) delivered: u64,
    /// User records a second while 30% to 90% of them arrived.
    pub(crate) steady_rate: f64,
    pub(crate) requests: u64,
    pub(crate) kinesis_records: u64,
    pub(crate) refused: u64,
    pub(crate) cpu_s: f64,
    pub(crate) put_payload_units: u64,
    pub(crate) on_demand_kib: u64,
}

impl AggregationRun {
    fn per_shard_second(&self) -> f64 {
        self.steady_rate / f64::from(SHARDS)
    }

    fn cpu_us_per_record(&self) -> f64 {
        ratio(self.cpu_s * 1e6, self.delivered as f64)
    }

    fn per_million(&self, count: u64) -> f64 {
        ratio(count as f64 * 1e6, self.delivered as f64)
    }
}

/// Record `n`'s data: its number, padded so that data and key make `bytes`.
fn data(n: u64, key: &str, bytes: usize) -> Vec<u8> {
    let mut data = format!("{n} ").into_bytes();
    data.resize(bytes.saturating_sub(key.len()).max(data.len()), b'x');
    data
}

/// The sender: offers records at 10x the quota for the given seconds (or as fast as the
/// dispatcher takes them, when that is slower), flushes, and prints its figures as one JSON
/// line.
pub(crate) async fn peer(spec: &str) -> Result<()> {
    let spec: PeerSpec = serde_json::from_str(spec)?;
    let sdk =
        aws_batch_utils::engine::without_sdk_retries(&sdk_config(&spec.endpoint, false).await);
    let backend = KinesisBackend::new(aws_batch_utils::kinesis::sdk::Client::new(&sdk), NAME)
        .with_aggregate(spec.aggregated);
    let kinesis = KinesisBatchDispatcher::builder(backend)
        .config(DispatcherConfig::default())
        .build()?;
    let keys = partition_keys();
    let interval = Duration::from_secs_f64(1.0 / (OFFERED * SHARD_RECORDS * f64::from(SHARDS)));
    let cpu = measure::cpu_time();
    let start = Instant::now();
    let until = start + Duration::from_secs_f64(spec.seconds);
    let mut n = 0_u64;
    loop {
        // Records are offered until the time is up: a sender the stream holds back offers
        // fewer.
        let due = start + interval.mul_f64(n as f64);
        if due >= until || Instant::now() >= until {
            break;
        }
        if due > Instant::now() {
            tokio::time::sleep_until(due).await;
        }
        let key = &keys[usize::try_from(n)? % keys.len()];
        let record =
            KinesisRecord::bytes(data(n, key, spec.record_bytes)).with_partition_key(key.clone());
        kinesis.submit_payload(record).await?;
        n += 1;
    }
    let handed_back = kinesis.flush_payloads().await.len() as u64;
    let figures = PeerFigures {
        submitted: n,
        handed_back,
        cpu_s: measure::cpu_time().saturating_sub(cpu).as_secs_f64(),
    };
    #[allow(clippy::print_stdout)]
    {
        println!("{}", serde_json::to_string(&figures)?);
    }
    Ok(())
}

/// The runs: each size, aggregated and not.
pub(crate) async fn run_all(options: &Options) -> Result<Vec<AggregationRun>> {
    let seconds = if options.quick {
        QUICK_SECONDS
    } else {
        SECONDS
    };
    let mut runs = Vec::new();
    for record_bytes in SIZES {
        for aggregated in [false, true] {
            let run = run(record_bytes, aggregated, seconds).await?;
            eprintln!(
                "batch-bench: aggregation {record_bytes:>5} B {:<12} {:>8.0} user records/shard-s {:>7} submitted {:>7} delivered {:>6} requests {:>7} Kinesis records {:>6} refused {:>6.2} µs CPU/record",
                if aggregated { "aggregated" } else { "plain" },
                run.per_shard_second(),
                run.submitted,
                run.delivered,
                run.requests,
                run.kinesis_records,
                run.refused,
                run.cpu_us_per_record(),
            );
            if run.delivered != run.submitted {
                return Err(format!(
                    "aggregation run ({record_bytes} B, aggregated {aggregated}): {} of {} \
                     records delivered",
                    run.delivered, run.submitted
                )
                .into());
            }
            runs.push(run);
        }
    }
    Ok(runs)
}

async fn run(record_bytes: usize, aggregated: bool, seconds: f64) -> Result<AggregationRun> {
    let capacity = Capacity::default().kinesis_shards(SHARDS);
    // Faults at zero: the endpoint then logs what it accepts, and when.
    let endpoint =
        NullEndpoint::start_with_capacity(LATENCY, capacity, Some(Faults::default())).await?;
    let spec = PeerSpec {
        endpoint: endpoint.url(),
        record_bytes,
        aggregated,
        seconds,
    };
    let mut command = Command::new(std::env::current_exe()?);
    command
        .arg("aggregation-peer")
        .arg(serde_json::to_string(&spec)?);
    let output = tokio::task::spawn_blocking(move || command.output()).await??;
    if !output.status.success() {
        return Err(format!(
            "the aggregation sender failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        )
        .into());
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    let figures: PeerFigures = serde_json::from_str(stdout.lines().last().unwrap_or_default())?;
    if figures.handed_back != 0 {
        return Err(format!("{} records handed back", figures.handed_back).into());
    }
    // Each user record's first arrival.
    let mut first: std::collections::HashMap<u64, Instant> = std::collections::HashMap::new();
    for (at, entry) in endpoint.accepted_at(Api::PutRecords) {
        let bytes = aws_smithy_types::base64::decode(&entry)?;
        for user in aws_batch_utils::kinesis::deaggregate("", &bytes)? {
            let text = String::from_utf8_lossy(&user.data);
            if let Some(n) = text.split(' ').next().and_then(|n| n.parse().ok()) {
                first.entry(n).or_insert(at);
            }
        }
    }
    let mut arrivals: Vec<Instant> = first.into_values().collect();
    arrivals.sort_unstable();
    let billing = endpoint.kinesis_billing();
    Ok(AggregationRun {
        record_bytes,
        aggregated,
        submitted: figures.submitted,
        delivered: arrivals.len() as u64,
        steady_rate: steady_rate(&arrivals),
        requests: endpoint.counts(Api::PutRecords).requests,
        kinesis_records: billing.records,
        refused: endpoint.refused_for_capacity(),
        cpu_s: figures.cpu_s,
        put_payload_units: billing.put_payload_units,
        on_demand_kib: billing.on_demand_kib,
    })
}

/// The report's section.
pub(crate) fn section(md: &mut String, runs: &[AggregationRun]) {
    if runs.is_empty() {
        return;
    }
    let _ = writeln!(
        md,
        "\n## Kinesis aggregation\n\n\
         A stream of {SHARDS} provisioned shards ({SHARD_RECORDS:.0} records and 1 MiB a \
         second each), records offered for {SECONDS:.0} s at {OFFERED:.0}x the record quota \
         over 200 partition keys (a sender the stream holds back offers fewer), {LATENCY:?} \
         round trip, default settings, with and without `KinesisBackend::with_aggregate(true)`. The sender runs in its own process; the endpoint \
         de-aggregates what it stored. Delivered per shard-second: while 30% to 90% of the user \
         records arrived. Billing: provisioned PUT payload units (25 KiB each, per record) and \
         on-demand ingest (1 KiB rounding per record), per million user records.\n"
    );
    let _ = writeln!(
        md,
        "| record | sent as | user records delivered | per shard-second | requests | Kinesis \
         records | refused | CPU µs per user record | PUT payload units per M | on-demand KiB \
         per M |"
    );
    let _ = writeln!(md, "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    for run in runs {
        let _ = writeln!(
            md,
            "| {} B | {} | {} | {:.0} | {} | {} | {} | {:.2} | {:.0} | {:.0} |",
            run.record_bytes,
            if run.aggregated {
                "aggregated"
            } else {
                "plain"
            },
            run.delivered,
            run.per_shard_second(),
            run.requests,
            run.kinesis_records,
            run.refused,
            run.cpu_us_per_record(),
            run.per_million(run.put_payload_units),
            run.per_million(run.on_demand_kib),
        );
    }
    let find = |bytes, aggregated| {
        runs.iter()
            .find(|r| r.record_bytes == bytes && r.aggregated == aggregated)
    };
    if let (Some(plain), Some(aggregated)) = (find(100, false), find(100, true)) {
        let throughput = ratio(aggregated.per_shard_second(), plain.per_shard_second());
        let cpu = ratio(aggregated.cpu_us_per_record(), plain.cpu_us_per_record());
        let mark = |met: bool| if met { "met" } else { "NOT met" };
        let _ = writeln!(
            md,
            "\nTargets, 100-byte records: user records per shard-second {throughput:.1}x the \
             unaggregated run (target at least {THROUGHPUT_TARGET:.0}x: {}), nothing lost \
             ({} of {} delivered), CPU per user record {cpu:.2}x (target at most \
             {CPU_TARGET}x: {}).",
            mark(throughput >= THROUGHPUT_TARGET),
            aggregated.delivered,
            aggregated.submitted,
            mark(cpu <= CPU_TARGET),
        );
    }
}
