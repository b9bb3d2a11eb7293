//! What a benchmark run measures, in which order, and the checks that every record arrived.

use std::process::Command;
use std::time::Duration;

use null_endpoint::NullEndpoint;
use serde::{Deserialize, Serialize};

use crate::aggregation::{self, AggregationRun};
use crate::peers::{Measured, Peer, Spec};
use crate::sweep::{self, CapacityRun, Sender};
use crate::workload::{Load, Service};
use crate::{Options, Result, report, sweep_report};

/// The in-flight settings measured.
/// 32 is the default.
pub(crate) const MAX_IN_FLIGHT: [usize; 5] = [1, 4, 16, 32, 64];
/// The round trip a latency run adds to every answer, as to a real AWS region.
pub(crate) const LATENCY_MS: u64 = 20;
/// [`LATENCY_MS`] as a duration.
pub(crate) const LATENCY: Duration = Duration::from_millis(LATENCY_MS);

/// One measured run and what the endpoint saw.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Run {
    pub(crate) service: Service,
    pub(crate) load: Load,
    pub(crate) peer: Peer,
    pub(crate) latency_ms: u64,
    pub(crate) records: u64,
    pub(crate) measured: Measured,
    /// Requests the endpoint answered.
    pub(crate) requests: u64,
    /// The fewest requests that can carry the load.
    pub(crate) lower_bound: u64,
    /// The largest request body the endpoint received, bytes.
    pub(crate) max_body_bytes: u64,
}

impl Run {
    pub(crate) fn records_per_second(&self) -> f64 {
        ratio(self.records as f64, self.measured.wall_s)
    }

    /// Whether `other` measured the same thing (service, load, peer, latency).
    fn same_cell(&self, other: &Self) -> bool {
        self.service == other.service
            && self.load == other.load
            && self.peer == other.peer
            && self.latency_ms == other.latency_ms
    }

    pub(crate) fn cpu_per_100k(&self) -> f64 {
        ratio(self.measured.cpu_s * 100_000.0, self.records as f64)
    }

    /// Cores the peer kept busy on average.
    pub(crate) fn cores_busy(&self) -> f64 {
        ratio(self.measured.cpu_s, self.measured.wall_s)
    }
}

/// `a / b`, or 0 where `b` is 0.
pub(crate) fn ratio(a: f64, b: f64) -> f64 {
    if b > 0.0 { a / b } else { 0.0 }
}

/// Record counts of a run: the full one or the smoke one.
struct Counts {
    uniform: u64,
    /// The peers that send one record per request or run in Python: their per-record rate
    /// is flat, so fewer records measure it.
    slow_peers: u64,
    mixed: u64,
    stream: u64,
    /// Requests per latency run (records = this many full requests, at most `uniform`).
    latency_requests: u64,
}

impl Counts {
    fn new(quick: bool) -> Self {
        if quick {
            Self {
                uniform: 1_000,
                slow_peers: 200,
                mixed: 1_000,
                stream: 5_000,
                latency_requests: 8,
            }
        } else {
            Self {
                uniform: 100_000,
                slow_peers: 20_000,
                mixed: 100_000,
                stream: 1_000_000,
                latency_requests: 400,
            }
        }
    }

    fn latency_records(&self, service: Service) -> u64 {
        (self.latency_requests * service.limits().max_entries as u64).min(self.uniform)
    }
}

/// Every figure of a run, as `docs/bench/results.json` holds them.
#[derive(Debug, Default, Serialize, Deserialize)]
pub(crate) struct Figures {
    #[serde(default)]
    pub(crate) runs: Vec<Run>,
    #[serde(default)]
    pub(crate) capacity: Vec<CapacityRun>,
    #[serde(default)]
    pub(crate) aggregation: Vec<AggregationRun>,
    #[serde(default)]
    pub(crate) cpu: Vec<crate::cpu::CpuRun>,
    #[serde(default)]
    pub(crate) fleet: Vec<crate::fleet::FleetRun>,
    #[serde(default)]
    pub(crate) fleet_changes: Vec<crate::fleet::change::ChangeRun>,
    #[serde(default)]
    pub(crate) lambda: Vec<crate::lambda::LambdaRun>,
    #[serde(default)]
    pub(crate) bulk: Vec<crate::bulk::BulkRun>,
}

impl Figures {
    pub(crate) fn read(path: &std::path::Path) -> Result<Self> {
        Ok(serde_json::from_str(&std::fs::read_to_string(path)?)?)
    }

    /// The runs measured again replace their earlier figures.
    fn replace_runs(&mut self, fresh: Vec<Run>) {
        self.runs
            .retain(|old| !fresh.iter().any(|new| new.same_cell(old)));
        self.runs.extend(fresh);
    }
}

/// Runs every measurement (or those the options name, into the figures of `--from-json`),
/// checks that nothing was lost, and writes the report.
pub(crate) async fn run_all(options: &Options) -> Result<()> {
    let mut figures = match &options.from_json {
        Some(path) => Figures::read(path)?,
        None => Figures::default(),
    };
    if options.services.is_some() || options.python_only {
        figures.replace_runs(measure_all(options).await?);
    } else if options.capacity_only {
        figures.capacity = sweep(options).await?;
        figures.aggregation = aggregation::run_all(options).await?;
    } else if options.from_json.is_none() {
        figures.runs = measure_all(options).await?;
        figures.capacity = sweep(options).await?;
        figures.aggregation = aggregation::run_all(options).await?;
        figures.fleet = crate::fleet::measure(options.quick, None, false, None).await?;
        let spark = crate::fleet::spark::measure(&options.python, options.quick).await?;
        figures.fleet.extend(spark);
        figures.fleet_changes = crate::fleet::change::measure(options.quick).await?;
        figures.lambda = crate::lambda::measure(options.quick).await?;
        figures.bulk = crate::bulk::measure(options.quick, None).await?;
    } else if options.aggregation_only {
        figures.aggregation = aggregation::run_all(options).await?;
    }
    report::write(options, &figures)
}

/// The peer runs of the plan (of `options.services` only, where given).
async fn measure_all(options: &Options) -> Result<Vec<Run>> {
    let plan = peer_plan(options);
    let mut runs = Vec::with_capacity(plan.len());
    for (i, (service, load, peer, latency, records)) in plan.into_iter().enumerate() {
        let run = measure(options, service, load, peer, latency, records, Cores::All).await?;
        eprintln!(
            "batch-bench: [{:>2}] {:<10} {:<15} {:<40} {:>2} ms {:>8} records {:>10.0}/s {:>6.2} CPU s/100k {:>6.1} MB {:>7} requests (bound {})",
            i + 1,
            service.title(),
            load.title(),
            peer.title(),
            run.latency_ms,
            run.records,
            run.records_per_second(),
            run.cpu_per_100k(),
            run.measured.peak_rss_kib as f64 / 1024.0,
            run.requests,
            run.lower_bound,
        );
        runs.push(run);
    }
    Ok(runs)
}

/// The peer runs to make: service, load, peer, latency, records.
fn peer_plan(options: &Options) -> Vec<(Service, Load, Peer, Duration, u64)> {
    use Load::{Mixed, Stream, Uniform};
    let counts = Counts::new(options.quick);
    let zero = Duration::ZERO;
    let ours = |max_in_flight| Peer::Ours { max_in_flight };
    let mut plan: Vec<(Service, Load, Peer, Duration, u64)> = Vec::new();
    for service in Service::ALL {
        plan.push((service, Uniform, Peer::SdkSingle, zero, counts.slow_peers));
        plan.push((service, Uniform, Peer::SdkBatchLoop, zero, counts.uniform));
        plan.push((
            service,
            Uniform,
            Peer::Boto3BatchLoop,
            zero,
            counts.slow_peers,
        ));
        for max_in_flight in MAX_IN_FLIGHT {
            plan.push((service, Uniform, ours(max_in_flight), zero, counts.uniform));
        }
    }
    for service in Service::FULL_SUITE {
        plan.push((service, Mixed, Peer::SdkBatchLoop, zero, counts.mixed));
        plan.push((service, Mixed, ours(16), zero, counts.mixed));
        plan.push((service, Stream, ours(16), zero, counts.stream));
    }
    for service in Service::ALL {
        let records = counts.latency_records(service);
        plan.push((service, Uniform, Peer::SdkBatchLoop, LATENCY, records));
        plan.push((service, Uniform, Peer::Boto3BatchLoop, LATENCY, records));
        for max_in_flight in MAX_IN_FLIGHT {
            plan.push((service, Uniform, ours(max_in_flight), LATENCY, records));
        }
    }
    // The Python package against the boto3 loop (measured above, with the same records).
    for service in Service::FULL_SUITE {
        let records = counts.latency_records(service);
        plan.push((
            service,
            Uniform,
            Peer::PythonPackage,
            zero,
            counts.slow_peers,
        ));
        plan.push((service, Uniform, Peer::PythonPackage, LATENCY, records));
    }
    if options.python_only {
        plan.retain(|(_, _, peer, ..)| matches!(peer, Peer::PythonPackage | Peer::Boto3BatchLoop));
        plan.retain(|(service, ..)| Service::FULL_SUITE.contains(service));
    }
    if let Some(services) = &options.services {
        plan.retain(|(service, ..)| services.contains(service));
    }
    plan
}

/// The capacity sweep. The smoke run checks that the paced dispatcher delivered everything.
async fn sweep(options: &Options) -> Result<Vec<CapacityRun>> {
    let plan = sweep::plan(options.quick);
    let mut runs = Vec::with_capacity(plan.len());
    for (i, cell) in plan.into_iter().enumerate() {
        let run = sweep::run(cell).await?;
        eprintln!(
            "batch-bench: capacity [{:>2}] {:<10} {:<34} {:>2}x {:>2} in flight {:>2} s {}: {}",
            i + 1,
            run.service.title(),
            run.sender.title(),
            run.offered,
            run.max_in_flight,
            run.seconds_of_quota,
            sweep_report::HEADER,
            sweep_report::cells(&run),
        );
        if options.quick && run.sender == Sender::Paced && run.delivered != run.records {
            return Err(format!(
                "{} under a quota: {} of {} records delivered",
                run.service.title(),
                run.delivered,
                run.records
            )
            .into());
        }
        runs.push(run);
    }
    Ok(runs)
}

/// The cores a peer's process may run on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Cores {
    /// The machine's.
    All,
    /// One (`taskset -c 0`): its runtime one worker thread, and no work moving between
    /// cores.
    One,
}

/// Runs one peer in its own process, on `cores`, against a fresh endpoint, and checks the
/// endpoint got every record.
pub(crate) async fn measure(
    options: &Options,
    service: Service,
    load: Load,
    peer: Peer,
    latency: Duration,
    records: u64,
    cores: Cores,
) -> Result<Run> {
    let endpoint = NullEndpoint::start(latency).await?;
    let spec = Spec {
        service,
        load,
        peer,
        records,
        endpoint: endpoint.url(),
    };
    let spec_json = serde_json::to_string(&spec)?;
    let script = match peer {
        Peer::Boto3BatchLoop => Some(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/peers/boto3_batch_loop.py"
        )),
        Peer::PythonPackage => Some(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/peers/python_package.py"
        )),
        _ => None,
    };
    let (program, first) = match script {
        Some(script) => (options.python.clone(), std::ffi::OsString::from(script)),
        None => (std::env::current_exe()?, std::ffi::OsString::from("peer")),
    };
    let mut command = match cores {
        Cores::All => Command::new(program),
        Cores::One => {
            let mut command = Command::new("taskset");
            command.args(["-c", "0"]).arg(program);
            command
        }
    };
    command.arg(first);
    command.arg(&spec_json);
    let output = tokio::task::spawn_blocking(move || command.output()).await??;
    if !output.status.success() {
        return Err(format!(
            "{} on {} failed ({}): {}",
            peer.title(),
            service.title(),
            output.status,
            String::from_utf8_lossy(&output.stderr)
        )
        .into());
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    let last = stdout.lines().last().unwrap_or_default();
    let measured: Measured = serde_json::from_str(last)
        .map_err(|e| format!("{}: unreadable figures {last:?}: {e}", peer.title()))?;
    let api = if peer == Peer::SdkSingle {
        service.peers().single_api()
    } else {
        service.batch_api()
    };
    let seen = endpoint.counts(api);
    if seen.entries != records || measured.failed != 0 {
        return Err(format!(
            "{} on {}: {records} records sent, the endpoint received {}, {} reported failed",
            peer.title(),
            service.title(),
            seen.entries,
            measured.failed
        )
        .into());
    }
    Ok(Run {
        service,
        load,
        peer,
        latency_ms: u64::try_from(latency.as_millis())?,
        records,
        measured,
        requests: seen.requests,
        lower_bound: service.peers().lower_bound(load, records),
        max_body_bytes: seen.max_body_bytes,
    })
}
