//! Benchmarks of the dispatchers against what a user would write instead, all against one
//! local null endpoint, run by `cargo xtask bench` (release build; `--quick` for a smoke run
//! of seconds).
//!
//! The harness process runs the endpoint; every peer runs in a process of its own, so its CPU
//! time and peak memory are its alone:
//!
//! ```text
//! batch-bench [--quick] [--out DIR] [--python PATH]   run everything, write the report
//! batch-bench --from-json FILE [--out DIR]            write the report from earlier figures
//! batch-bench --capacity-only [--quick] [--out DIR]    only the capacity sweep and the
//!                                                     Kinesis aggregation runs
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
//!                                                     sqs=50,cloudwatch=5` (shards, WCU,
//!                                                     requests/s) enforces AWS-like quotas
//! ```
#![allow(clippy::print_stdout)] // a tool that reports on stdout

mod aggregation;
mod measure;
mod peers;
mod plan;
mod report;
mod sweep;
mod sweep_report;
mod workload;

use std::path::PathBuf;
use std::process::ExitCode;

type Result<T, E = Box<dyn std::error::Error>> = std::result::Result<T, E>;

const USAGE: &str =
    "usage: batch-bench [--quick] [--out DIR] [--python PATH] [--from-json FILE] [--capacity-only]
       batch-bench --aggregation-only --from-json FILE [--out DIR]
       batch-bench --services SERVICE,... [--from-json FILE] [--out DIR]
       batch-bench --python-only [--from-json FILE] [--out DIR] [--python PATH]
       batch-bench peer SPEC_JSON
       batch-bench serve [LATENCY_MS [QUOTAS]]";

/// Options of a benchmark run.
#[derive(Debug)]
pub(crate) struct Options {
    /// Small counts: a smoke run of seconds that checks every path.
    pub(crate) quick: bool,
    /// Where BENCHMARKS.md goes; the JSON and the plot go to `DIR/docs/bench/`.
    pub(crate) out: PathBuf,
    /// A Python with boto3 for the boto3 peer.
    pub(crate) python: PathBuf,
    /// Write the report from the figures of an earlier run instead of measuring.
    pub(crate) from_json: Option<PathBuf>,
    /// Run only the capacity sweep and the aggregation runs.
    pub(crate) capacity_only: bool,
    /// Run only the aggregation runs, and write their figures into the figures of an earlier
    /// run (`--from-json`) for the report.
    pub(crate) aggregation_only: bool,
    /// Run only the Python package and the boto3 loop (with `--from-json`, in place of
    /// theirs in the earlier figures).
    pub(crate) python_only: bool,
    /// Run only these services' peer runs (with `--from-json`, in place of theirs in the
    /// earlier figures; no capacity or aggregation runs).
    pub(crate) services: Option<Vec<workload::Service>>,
}

fn parse(args: &[String]) -> Option<Options> {
    let mut options = Options {
        quick: false,
        out: PathBuf::from("."),
        python: PathBuf::from("python3"),
        from_json: None,
        capacity_only: false,
        aggregation_only: false,
        services: None,
        python_only: false,
    };
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--quick" => options.quick = true,
            "--out" => options.out = PathBuf::from(args.next()?),
            "--python" => options.python = PathBuf::from(args.next()?),
            "--from-json" => options.from_json = Some(PathBuf::from(args.next()?)),
            "--capacity-only" => options.capacity_only = true,
            "--aggregation-only" => options.aggregation_only = true,
            "--python-only" => options.python_only = true,
            "--services" => {
                let names = args.next()?.split(',');
                let services = names.map(|name| serde_json::from_value(name.into()).ok());
                options.services = Some(services.collect::<Option<_>>()?);
            }
            _ => return None,
        }
    }
    Some(options)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
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
    let result = match args.as_slice() {
        [peer, spec] if peer == "peer" => runtime.block_on(run_peer(spec)),
        [peer, spec] if peer == "aggregation-peer" => runtime.block_on(aggregation::peer(spec)),
        [serve] if serve == "serve" => runtime.block_on(serve_endpoint("0", "")),
        [serve, latency] if serve == "serve" => runtime.block_on(serve_endpoint(latency, "")),
        [serve, latency, quotas] if serve == "serve" => {
            runtime.block_on(serve_endpoint(latency, quotas))
        }
        _ => match parse(&args) {
            Some(options) => runtime.block_on(plan::run_all(&options)),
            None => {
                eprintln!("{USAGE}");
                return ExitCode::from(2);
            }
        },
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

async fn serve_endpoint(latency_ms: &str, quotas: &str) -> Result<()> {
    let latency = std::time::Duration::from_millis(latency_ms.parse()?);
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
