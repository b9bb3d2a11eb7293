//! Benchmarks of the dispatchers against what a user would write instead, all against one
//! local null endpoint, run by `cargo xtask bench` (release build; `--quick` for a smoke run
//! of seconds).
//!
//! The harness process runs the endpoint; every peer runs in a process of its own, so its CPU
//! time and peak memory are its alone:
//!
//! ```text
//! batch-bench fleet [--writers 2,10] [--paced-only] [--seconds S] [--from-json FILE]
//!                                                     many writers on one quota, into
//!                                                     FILE's figures
//! batch-bench fleet --changes [--quick] [--from-json FILE]
//!                                                     fleets with a writer leaving, one
//!                                                     joining, one asking little
//! batch-bench spark [--quick] [--python PATH] [--from-json FILE]
//!                                                     4 Spark tasks on one quota: the
//!                                                     package and boto3, into FILE's figures
//! batch-bench lambda [--quick] [--from-json FILE]     the end-of-invocation flush, into
//!                                                     FILE's figures
//! batch-bench bulk [--quick] [--from-json FILE]       the `aws-batch` command: an export
//!                                                     copied under a quota, alone and
//!                                                     sharded; plain, gzip, zstd input
//! batch-bench cpu [--rounds N] [--records N] [--services S,...]
//!                                                     CPU per record against the hand loop
//! batch-bench [--quick] [--out DIR] [--python PATH]   run everything, write the report
//! batch-bench --from-json FILE [--out DIR]            write the report from earlier figures
//! batch-bench --capacity-only [--quick] [--from-json FILE]  only the capacity sweep and
//!                                                     the Kinesis aggregation runs, the
//!                                                     rest from FILE's figures
//! batch-bench --aggregation-only --from-json FILE     only the aggregation runs, the rest of
//!                                                     the report from FILE's figures
//! batch-bench --services sns,firehose [--from-json FILE]  only these services' peer runs,
//!                                                     the rest of the report from FILE's
//!                                                     figures
//! batch-bench --python-only [--from-json FILE]      only the Python package and the boto3
//!                                                     loop, the rest from FILE's figures
//! batch-bench peer SPEC_JSON                          (internal) run one peer, print its figures
//! batch-bench aggregation-peer SPEC_JSON              (internal) the Kinesis aggregation sender
//! batch-bench serve [LATENCY_MS [QUOTAS]]             serve a null endpoint until stopped,
//!                                                     to run or profile one peer by hand;
//!                                                     QUOTAS like `kinesis=2,dynamodb=1000,
//!                                                     sqs=50,cloudwatch=5,logs=20` (shards, WCU,
//!                                                     requests/s) enforces AWS-like quotas
//! ```
#![allow(clippy::print_stdout)] // a tool that reports on stdout

mod aggregation;
mod bulk;
mod cpu;
mod fleet;
mod lambda;
mod measure;
mod peers;
mod plan;
mod report;
mod sweep;
mod sweep_report;
mod workload;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

type Result<T, E = Box<dyn std::error::Error>> = std::result::Result<T, E>;

/// Benchmarks of the dispatchers against what a user would write instead, against a local
/// null endpoint. With no subcommand: run everything and write the report.
#[derive(Debug, Parser)]
#[command(name = "batch-bench")]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    options: Options,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// (internal) Run one peer, print its figures.
    Peer {
        /// The run, as JSON.
        spec: String,
    },
    /// (internal) The Kinesis aggregation sender.
    AggregationPeer {
        /// The run, as JSON.
        spec: String,
    },
    /// Serve a null endpoint until stopped, to run or profile one peer by hand.
    Serve {
        /// Latency of every answer, in milliseconds.
        #[arg(default_value_t = 0)]
        latency_ms: u64,
        /// AWS-like quotas to enforce, like `kinesis=2,dynamodb=1000,sqs=50,cloudwatch=5,logs=20`
        /// (shards, WCU, requests a second).
        #[arg(default_value = "")]
        quotas: String,
    },
    /// Fleets: N independent writers on one quota (a stream, a table, a FIFO queue), equal
    /// demand, into the figures of `--from-json`; writes the report.
    Fleet {
        /// Only these writer counts.
        #[arg(long, value_delimiter = ',')]
        writers: Option<Vec<usize>>,
        /// Only the paced dispatcher (alone, told the fleet size, and with a coordinator).
        #[arg(long)]
        paced_only: bool,
        /// Seconds of quota each run offers.
        #[arg(long)]
        seconds: Option<f64>,
        /// Only the fleets that change: a writer leaving, one joining, one asking little.
        #[arg(long, conflicts_with_all = ["writers", "paced_only", "seconds"])]
        changes: bool,
    },
    /// Spark: the 4 tasks of a PySpark job in local mode on one quota (a stream, a table),
    /// with the Python package and with boto3 in `foreachPartition` (`--python` has
    /// PySpark); into the figures of `--from-json`.
    Spark,
    /// Lambda: the end-of-invocation flush's time, shared requests of concurrent
    /// invocations, a flush's overshoot of its budget; into the figures of `--from-json`.
    Lambda,
    /// Bulk loads with the `aws-batch` binary (built beside this one): a DynamoDB export
    /// copied into a 1,000-WCU table by one process and by four shards, and one input read
    /// plain, gzip and zstd; into the figures of `--from-json`.
    Bulk {
        /// Items of the export (1,000,000 by default; 4,000 with --quick).
        #[arg(long)]
        items: Option<u64>,
    },
    /// CPU per record of the dispatcher at max_in_flight 1 against the hand-written SDK
    /// loop, each peer in a process of its own, alternating, for every service.
    Cpu {
        /// Runs of each peer per service; the median counts.
        #[arg(long, default_value_t = 3)]
        rounds: u32,
        /// Records per run.
        #[arg(long, default_value_t = 100_000)]
        records: u64,
        /// Only these services.
        #[arg(long, value_delimiter = ',', value_parser = parse_service)]
        services: Option<Vec<workload::Service>>,
    },
}

/// Options of a benchmark run.
#[derive(Debug, Args)]
pub(crate) struct Options {
    /// Small counts: a smoke run of seconds that checks every path.
    #[arg(long)]
    pub(crate) quick: bool,
    /// Where BENCHMARKS.md goes; the JSON and the plot go to `DIR/docs/bench/`.
    #[arg(long, value_name = "DIR", default_value = ".")]
    pub(crate) out: PathBuf,
    /// A Python with boto3 for the boto3 peer.
    #[arg(long, value_name = "PATH", default_value = "python3")]
    pub(crate) python: PathBuf,
    /// Write the report from the figures of an earlier run (with the options below, in
    /// place of what they measure again).
    #[arg(long, value_name = "FILE")]
    pub(crate) from_json: Option<PathBuf>,
    /// Run only the capacity sweep and the aggregation runs (into the figures of
    /// `--from-json`, if given).
    #[arg(long)]
    pub(crate) capacity_only: bool,
    /// Run only the aggregation runs, into the figures of `--from-json`.
    #[arg(long, requires = "from_json")]
    pub(crate) aggregation_only: bool,
    /// Run only the Python package and the boto3 loop.
    #[arg(long)]
    pub(crate) python_only: bool,
    /// Run only these services' peer runs (no capacity or aggregation runs).
    #[arg(long, value_delimiter = ',', value_parser = parse_service)]
    pub(crate) services: Option<Vec<workload::Service>>,
}

/// A service by its lowercase name (`sqs`, `kinesis`, ...).
fn parse_service(name: &str) -> Result<workload::Service, String> {
    serde_json::from_value(name.into()).map_err(|_| format!("no service named `{name}`"))
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // The engine's own log, on stderr, when `RUST_LOG` asks for it.
    if std::env::var_os("RUST_LOG").is_some() {
        tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_writer(std::io::stderr)
            .init();
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("batch-bench: no runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    let result = match cli.command {
        Some(Command::Peer { spec }) => runtime.block_on(run_peer(&spec)),
        Some(Command::AggregationPeer { spec }) => runtime.block_on(aggregation::peer(&spec)),
        Some(Command::Serve { latency_ms, quotas }) => {
            runtime.block_on(serve_endpoint(latency_ms, &quotas))
        }
        Some(Command::Cpu {
            rounds,
            records,
            services,
        }) => runtime.block_on(cpu::run(&cli.options, rounds, records, services)),
        Some(Command::Fleet { changes: true, .. }) => {
            runtime.block_on(fleet::change::run_into_report(&cli.options))
        }
        Some(Command::Fleet {
            writers,
            paced_only,
            seconds,
            changes: false,
        }) => runtime.block_on(fleet::run_into_report(
            &cli.options,
            writers,
            paced_only,
            seconds,
        )),
        Some(Command::Spark) => runtime.block_on(fleet::spark::run_into_report(&cli.options)),
        Some(Command::Lambda) => runtime.block_on(lambda::run_into_report(&cli.options)),
        Some(Command::Bulk { items }) => {
            runtime.block_on(bulk::run_into_report(&cli.options, items))
        }
        None => runtime.block_on(plan::run_all(&cli.options)),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("batch-bench: error: {err}");
            ExitCode::FAILURE
        }
    }
}

async fn run_peer(spec: &str) -> Result<()> {
    let spec: peers::Spec = serde_json::from_str(spec)?;
    let measured = peers::run(&spec).await?;
    println!("{}", serde_json::to_string(&measured)?);
    Ok(())
}

async fn serve_endpoint(latency_ms: u64, quotas: &str) -> Result<()> {
    let latency = std::time::Duration::from_millis(latency_ms);
    let mut capacity = null_endpoint::Capacity::default();
    for quota in quotas.split(',').filter(|q| !q.is_empty()) {
        let (service, value) = quota
            .split_once('=')
            .ok_or_else(|| format!("quota `{quota}` is not SERVICE=NUMBER"))?;
        let value: f64 = value.parse()?;
        capacity = match service {
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            "kinesis" => capacity.kinesis_shards(value as u32),
            "dynamodb" => capacity.dynamodb_wcu(value),
            "sqs" => capacity.sqs_requests_per_second(value),
            "cloudwatch" => capacity.cloudwatch_requests_per_second(value),
            "logs" => capacity.logs_requests_per_second(value),
            other => return Err(format!("unknown service `{other}` in the quotas").into()),
        };
    }
    let endpoint =
        null_endpoint::NullEndpoint::start_with_capacity(latency, capacity, None).await?;
    println!("{}", endpoint.url());
    // Every few seconds, the entries refused for the quotas so far (on stderr).
    let mut last = 0;
    loop {
        tokio::time::sleep(std::time::Duration::from_secs(5)).await;
        let refused = endpoint.refused_for_capacity();
        if refused != last {
            eprintln!("refused for capacity: {refused}");
            last = refused;
        }
    }
}
