//! Fleets in a Spark job: the tasks of one PySpark job in local mode (one task per partition,
//! all running at once) write a DataFrame to one destination under its quota, with the Python
//! package's partition writer or with boto3 in `foreachPartition` (`peers/spark_fleet.py`).
//! The figures are a fleet run's: the endpoint logs what it accepted and from which task, the
//! job reports when each task started and ended and what it handed back.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use tokio::time::Instant;

use super::{FleetRun, FleetSender, Outcome, PAD, QUICK_SECONDS, SECONDS, START, Shared};
use crate::plan::Figures;
use crate::{Options, Result, report};

/// Tasks of the job, each a writer.
pub(crate) const TASKS: usize = 4;
const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/peers/spark_fleet.py");
/// How often the refusals are read while the job runs.
const SAMPLE: Duration = Duration::from_millis(50);

/// What the job is told.
#[derive(Debug, Serialize)]
struct Spec {
    shared: Shared,
    sender: FleetSender,
    tasks: usize,
    share: u64,
    pad: String,
    endpoint: String,
}

/// What the job reports.
#[derive(Debug, Deserialize)]
struct Report {
    tasks: Vec<TaskReport>,
}

#[derive(Debug, Deserialize)]
struct TaskReport {
    partition: usize,
    /// Unix seconds.
    started: f64,
    finished: f64,
    /// Records the task handed back; negative when it raised (boto3), its records then those
    /// the endpoint did not accept.
    handed_back: i64,
}

/// The Spark runs: the package and boto3 on the stream and the table; the smoke run's, the
/// package on the stream.
pub(crate) fn plan(quick: bool) -> Vec<(Shared, FleetSender, f64)> {
    if quick {
        return vec![(Shared::Stream, FleetSender::SparkPackage, QUICK_SECONDS)];
    }
    let mut plan = Vec::new();
    for shared in [Shared::Stream, Shared::Table] {
        for sender in [FleetSender::SparkPackage, FleetSender::SparkBoto3] {
            plan.push((shared, sender, SECONDS));
        }
    }
    plan
}

/// Runs the Spark plan into the figures of an earlier run (`--from-json`), in place of its
/// Spark runs, and writes the report.
pub(crate) async fn run_into_report(options: &Options) -> Result<()> {
    let mut figures = match &options.from_json {
        Some(path) => Figures::read(path)?,
        None => Figures::default(),
    };
    let fresh = measure(&options.python, options.quick).await?;
    figures.fleet.retain(|run| !run.in_spark());
    figures.fleet.extend(fresh);
    report::write(options, &figures)
}

/// Makes the Spark runs with `python` (which has PySpark, boto3 and the package).
pub(crate) async fn measure(python: &Path, quick: bool) -> Result<Vec<FleetRun>> {
    let mut runs = Vec::new();
    for (shared, sender, seconds) in plan(quick) {
        let run = run(python, shared, sender, seconds).await?;
        eprintln!("batch-bench: spark {}", super::row(&run));
        if sender == FleetSender::SparkPackage && run.delivered + run.handed_back != run.records {
            return Err(format!(
                "{} on the {}: {} records, {} delivered, {} handed back",
                sender.title(),
                shared.title(),
                run.records,
                run.delivered,
                run.handed_back
            )
            .into());
        }
        runs.push(run);
    }
    Ok(runs)
}

/// One Spark job against a fresh endpoint.
async fn run(
    python: &Path,
    shared: Shared,
    sender: FleetSender,
    seconds_of_quota: f64,
) -> Result<FleetRun> {
    let (endpoint, quota, share) = super::endpoint(shared, TASKS, seconds_of_quota).await?;
    let spec = Spec {
        shared,
        sender,
        tasks: TASKS,
        share,
        pad: "x".repeat(PAD),
        endpoint: endpoint.url(),
    };
    let mut command = Command::new(python);
    command.arg(SCRIPT).arg(serde_json::to_string(&spec)?);
    let mut job = tokio::task::spawn_blocking(move || command.output());
    // The refusals so far, read while the job runs: the job's start is known only after it.
    let mut samples: Vec<(Instant, u64)> = Vec::new();
    let output = loop {
        tokio::select! {
            output = &mut job => break output??,
            () = tokio::time::sleep(SAMPLE) => {
                samples.push((Instant::now(), endpoint.refused_for_capacity()));
            }
        }
    };
    if !output.status.success() {
        return Err(format!(
            "the Spark job ({}) failed ({}): {}",
            sender.title(),
            output.status,
            String::from_utf8_lossy(&output.stderr)
        )
        .into());
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    let last = stdout.lines().last().unwrap_or_default();
    let report: Report = serde_json::from_str(last)
        .map_err(|e| format!("the Spark job: unreadable report {last:?}: {e}"))?;
    if report.tasks.len() != TASKS {
        return Err(format!(
            "the Spark job ran {} tasks, not {TASKS}",
            report.tasks.len()
        )
        .into());
    }
    // Unix seconds as instants of this process.
    let (now, unix_now) = (
        Instant::now(),
        SystemTime::now().duration_since(UNIX_EPOCH)?,
    );
    let instant =
        |unix: f64| now - Duration::from_secs_f64((unix_now.as_secs_f64() - unix).max(0.0));
    let first_start = report
        .tasks
        .iter()
        .map(|t| t.started)
        .fold(f64::INFINITY, f64::min);
    let started = instant(first_start);
    let refused_at_start = samples
        .iter()
        .take_while(|(at, _)| *at <= started + START)
        .last()
        .map_or(0, |&(_, refused)| refused);
    let first = super::first_acceptances(shared, &endpoint);
    let mut handed_back = 0;
    for task in &report.tasks {
        handed_back += u64::try_from(task.handed_back).unwrap_or_else(|_| {
            let delivered = first
                .keys()
                .filter(|(writer, _)| *writer == task.partition)
                .count();
            share.saturating_sub(delivered as u64)
        });
    }
    let finished: Vec<f64> = report
        .tasks
        .iter()
        .map(|t| t.finished - first_start)
        .collect();
    let outcome = Outcome {
        writers: TASKS,
        share,
        started,
        seconds: finished.iter().copied().fold(0.0, f64::max),
        refused_at_start,
        finished,
        handed_back,
    };
    Ok(super::figures(shared, sender, quota, &endpoint, outcome))
}
