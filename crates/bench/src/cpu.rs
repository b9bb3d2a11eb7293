//! CPU per record of the dispatcher at `max_in_flight` 1 against the hand-written SDK loop:
//! the same records, each peer in a process of its own with a fresh endpoint, the two
//! alternating so that the machine's drift touches both; the median of each counts.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::Options;
use crate::peers::Peer;
use crate::plan::{Cores, Figures, measure};
use crate::report;
use crate::workload::{Load, Service};

/// One service's CPU per record, both peers.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct CpuRun {
    pub(crate) service: Service,
    pub(crate) records: u64,
    pub(crate) rounds: u32,
    /// Median CPU seconds per 100,000 records of the hand-written SDK loop.
    pub(crate) hand_loop: f64,
    /// The same of the dispatcher at `max_in_flight` 1.
    pub(crate) ours: f64,
    /// The two again, each peer's process on one core; `None` in figures from before they
    /// were measured.
    #[serde(default)]
    pub(crate) one_core: Option<(f64, f64)>,
}

type Result<T, E = Box<dyn std::error::Error>> = std::result::Result<T, E>;

/// Measures every service (or those given), puts the figures in place of their earlier ones
/// (`--from-json`), and writes the report.
pub(crate) async fn run(
    options: &Options,
    rounds: u32,
    records: u64,
    services: Option<Vec<Service>>,
) -> Result<()> {
    let mut figures = match &options.from_json {
        Some(path) => Figures::read(path)?,
        None => Figures::default(),
    };
    let services = services.unwrap_or_else(|| Service::ALL.to_vec());
    for service in services {
        let [hand_loop, ours] = medians(options, service, rounds, records, Cores::All).await?;
        let one_core = medians(options, service, rounds, records, Cores::One).await?;
        eprintln!(
            "batch-bench: {}: hand loop {hand_loop:.3}, ours {ours:.3} CPU s per 100k: {:.2}x; \
             on one core {:.3}, {:.3}: {:.2}x",
            service.title(),
            ours / hand_loop,
            one_core[0],
            one_core[1],
            one_core[1] / one_core[0]
        );
        figures.cpu.retain(|run| run.service != service);
        figures.cpu.push(CpuRun {
            service,
            records,
            rounds,
            hand_loop,
            ours,
            one_core: Some((one_core[0], one_core[1])),
        });
    }
    report::write(options, &figures)
}

/// The report's section.
pub(crate) fn section(markdown: &mut String, runs: &[CpuRun]) {
    use std::fmt::Write as _;
    if runs.is_empty() {
        return;
    }
    let rounds = runs.iter().map(|run| run.rounds).max().unwrap_or_default();
    let records = runs.iter().map(|run| run.records).max().unwrap_or_default();
    let _ = write!(
        markdown,
        "\n## CPU per record against the hand-written loop\n\n\
         `batch-bench cpu`: records of about 1 KB, no latency, the hand-written SDK batch loop \
         and the dispatcher at `max_in_flight` 1, each in a process of its own with a fresh \
         endpoint, alternating, {rounds} runs of {records} records each; the medians. Then the \
         same with each process on one core (`taskset -c 0`; its runtime has one worker \
         thread), where nothing moves between cores' caches. The loop \
         builds a request, sends it and waits, all in one task; the dispatcher checks and \
         keeps every payload, and sends each request from a task of its own while the \
         caller fills the next batch. On several cores a batch sealed while no other is out \
         has its request built by the caller that sealed it, where its entries were made, \
         and its answer read by that caller while it waits for the next slot; on one core \
         the task does both.\n\n\
         | service | hand loop CPU s per 100k | aws-batch-utils CPU s per 100k | ratio | on one core: hand loop | on one core: aws-batch-utils | ratio |\n\
         |---|---:|---:|---:|---:|---:|---:|\n"
    );
    for run in runs {
        let one_core = run.one_core.map_or_else(
            || "– | – | –".to_owned(),
            |(hand_loop, ours)| format!("{hand_loop:.3} | {ours:.3} | {:.2}x", ours / hand_loop),
        );
        let _ = writeln!(
            markdown,
            "| {} | {:.3} | {:.3} | {:.2}x | {one_core} |",
            run.service.title(),
            run.hand_loop,
            run.ours,
            run.ours / run.hand_loop
        );
    }
}

/// The median CPU seconds per 100,000 records of the hand loop and of the dispatcher, their
/// runs alternating, each process on `cores`.
async fn medians(
    options: &Options,
    service: Service,
    rounds: u32,
    records: u64,
    cores: Cores,
) -> Result<[f64; 2]> {
    let peers = [Peer::SdkBatchLoop, Peer::Ours { max_in_flight: 1 }];
    let mut cpu: [Vec<f64>; 2] = [Vec::new(), Vec::new()];
    for _ in 0..rounds {
        for (i, peer) in peers.into_iter().enumerate() {
            let run = measure(
                options,
                service,
                Load::Uniform,
                peer,
                Duration::ZERO,
                records,
                cores,
            )
            .await?;
            #[allow(clippy::cast_precision_loss)]
            cpu[i].push(run.measured.cpu_s * 100_000.0 / records as f64);
        }
    }
    Ok(cpu.map(median))
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(f64::NAN)
}
