//! CPU per record of the dispatcher at `max_in_flight` 1 against the hand-written SDK loop:
//! the same records, each peer in a process of its own with a fresh endpoint, the two run
//! back to back in each round. The ratio is the median of the rounds' ratios: a drift of the
//! shared machine between rounds touches both runs of a pair, and a round disturbed by
//! another program is outvoted.

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
    /// Each round's CPU seconds per 100,000 records, hand loop then dispatcher; empty in
    /// figures from before they were kept.
    #[serde(default)]
    pub(crate) pairs: Vec<(f64, f64)>,
    /// The same on one core.
    #[serde(default)]
    pub(crate) one_core_pairs: Vec<(f64, f64)>,
}

impl CpuRun {
    /// The dispatcher's CPU per record over the loop's: the median of the rounds' ratios,
    /// or (figures from before the rounds were kept) the ratio of the medians.
    pub(crate) fn ratio(&self) -> f64 {
        paired_ratio(&self.pairs).unwrap_or(self.ours / self.hand_loop)
    }

    /// The same on one core, if measured.
    pub(crate) fn one_core_ratio(&self) -> Option<f64> {
        paired_ratio(&self.one_core_pairs)
            .or_else(|| self.one_core.map(|(hand_loop, ours)| ours / hand_loop))
    }
}

/// The median of the pairs' ratios (dispatcher over loop), if there are any.
fn paired_ratio(pairs: &[(f64, f64)]) -> Option<f64> {
    (!pairs.is_empty()).then(|| {
        median(
            pairs
                .iter()
                .map(|(hand_loop, ours)| ours / hand_loop)
                .collect(),
        )
    })
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
        let pairs = rounds_of(options, service, rounds, records, Cores::All).await?;
        let one_core_pairs = rounds_of(options, service, rounds, records, Cores::One).await?;
        let [hand_loop, ours] = medians(&pairs);
        let one_core = medians(&one_core_pairs);
        let run = CpuRun {
            service,
            records,
            rounds,
            hand_loop,
            ours,
            one_core: Some((one_core[0], one_core[1])),
            pairs,
            one_core_pairs,
        };
        eprintln!(
            "batch-bench: {}: hand loop {hand_loop:.3}, ours {ours:.3} CPU s per 100k: {:.2}x; \
             on one core {:.3}, {:.3}: {:.2}x (rounds: {:?})",
            service.title(),
            run.ratio(),
            one_core[0],
            one_core[1],
            run.one_core_ratio().unwrap_or(f64::NAN),
            run.pairs
        );
        figures.cpu.retain(|run| run.service != service);
        figures.cpu.push(run);
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
         endpoint, back to back, {rounds} rounds of {records} records each; the CPU columns \
         are the medians, the ratio the median of the rounds' ratios (a drift of the shared \
         machine between rounds touches both runs of a round). Then the \
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
        let one_core = match (run.one_core, run.one_core_ratio()) {
            (Some((hand_loop, ours)), Some(ratio)) => {
                format!("{hand_loop:.3} | {ours:.3} | {ratio:.2}x")
            }
            _ => "– | – | –".to_owned(),
        };
        let _ = writeln!(
            markdown,
            "| {} | {:.3} | {:.3} | {:.2}x | {one_core} |",
            run.service.title(),
            run.hand_loop,
            run.ours,
            run.ratio()
        );
    }
}

/// Each round's CPU seconds per 100,000 records of the hand loop and of the dispatcher, run
/// one after the other, each process on `cores`.
async fn rounds_of(
    options: &Options,
    service: Service,
    rounds: u32,
    records: u64,
    cores: Cores,
) -> Result<Vec<(f64, f64)>> {
    let peers = [Peer::SdkBatchLoop, Peer::Ours { max_in_flight: 1 }];
    let mut pairs = Vec::new();
    for _ in 0..rounds {
        let mut cpu = [0.0; 2];
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
            let per_100k = run.measured.cpu_s * 100_000.0 / records as f64;
            cpu[i] = per_100k;
        }
        pairs.push((cpu[0], cpu[1]));
    }
    Ok(pairs)
}

/// The median of each peer's rounds.
fn medians(pairs: &[(f64, f64)]) -> [f64; 2] {
    [
        median(pairs.iter().map(|pair| pair.0).collect()),
        median(pairs.iter().map(|pair| pair.1).collect()),
    ]
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(f64::NAN)
}
