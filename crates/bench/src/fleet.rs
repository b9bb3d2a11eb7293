//! Fleets: many independent writers on one quota, as Lambda instances, containers or Spark
//! tasks run. Each writer is a dispatcher of its own in this process, with its own SDK
//! client (and so its own connections and retry state), started together with an equal share
//! of the records, submitting as fast as its dispatcher lets it; none knows of the others.
//! The null endpoint enforces the quota and logs when it accepted each record, and from whom.
//!
//! Figures per run: goodput (records accepted per second over the quota, while 30% to 90% of
//! them arrived, and over the whole run), entries refused per delivered one, refusals in the
//! first 2 s against one quota-second, Jain's fairness index over the writers' accepted rates
//! in windows while all of them still had records to send, the slowest writer against the
//! fastest, requests against the fewest that carry the records, and records handed back.

use std::collections::HashMap;
use std::time::Duration;

use aws_batch_utils::dynamodb::{DynamoBackend, DynamoBatchDispatcher};
use aws_batch_utils::engine::testing::InMemoryCoordinator;
use aws_batch_utils::engine::{Backend, Dispatcher, DispatcherBuilder, DispatcherConfig};
use aws_batch_utils::kinesis::{KinesisBackend, KinesisBatchDispatcher, KinesisRecord};
use aws_batch_utils::sqs::{SqsBackend, SqsFifoBatchDispatcher, SqsMessage};
use aws_config::SdkConfig;
use null_endpoint::{Api, Capacity, Faults, NullEndpoint};
use serde::{Deserialize, Serialize};
use tokio::time::Instant;

use crate::peers::kinesis::partition_keys;
use crate::plan::{Figures, ratio};
use crate::sweep::{sdk_config, steady_rate};
use crate::{Options, Result, report};

pub(crate) mod change;
mod sdk_loop;
pub(crate) mod spark;

/// The writer counts measured, and the smoke run's.
pub(crate) const WRITERS: [usize; 3] = [2, 10, 50];
const QUICK_WRITERS: [usize; 1] = [10];
/// Seconds of quota each run offers in all, and the smoke run's.
const SECONDS: f64 = 20.0;
const QUICK_SECONDS: f64 = 4.0;
/// The round trip of every answer.
const LATENCY: Duration = Duration::from_millis(10);
/// Bytes of a record: about 900, one write capacity unit of DynamoDB.
const PAD: usize = 850;
/// The FIFO queue the writers share, and the message groups of each writer.
const FIFO_QUEUE: &str = "http://127.0.0.1/000000000000/fleet.fifo";
const FIFO_GROUPS: u64 = 20;
/// The span of the windows of Jain's index, when the run is long enough for two.
const WINDOW: f64 = 10.0;
/// The span of the refusals counted at the start of a run.
const START: Duration = Duration::from_secs(2);

/// The destination every writer of a fleet shares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum Shared {
    /// A 2-shard Kinesis stream: 2,000 records and 2 MiB a second.
    Stream,
    /// A DynamoDB table of 1,000 write capacity units.
    Table,
    /// An SQS FIFO queue taking 300 requests a second.
    FifoQueue,
}

impl Shared {
    pub(crate) const ALL: [Self; 3] = [Self::Stream, Self::Table, Self::FifoQueue];

    pub(crate) fn title(self) -> &'static str {
        match self {
            Self::Stream => "2-shard stream",
            Self::Table => "1,000-WCU table",
            Self::FifoQueue => "300-requests/s FIFO queue",
        }
    }

    /// The quota, and the records per second it takes.
    fn quota(self) -> (Capacity, f64) {
        match self {
            Self::Stream => (Capacity::default().kinesis_shards(2), 2_000.0),
            Self::Table => (Capacity::default().dynamodb_wcu(1_000.0), 1_000.0),
            Self::FifoQueue => (Capacity::default().sqs_requests_per_second(300.0), 3_000.0),
        }
    }

    /// A coordinator in this process for the writers of `self`: a stream's shards document
    /// their rate; the table and the queue name their quota, `quota` records a second.
    fn coordinator(self, quota: f64) -> InMemoryCoordinator {
        match self {
            Self::Stream => InMemoryCoordinator::new(),
            Self::Table | Self::FifoQueue => InMemoryCoordinator::new().with_quota(quota),
        }
    }

    fn api(self) -> Api {
        match self {
            Self::Stream => Api::PutRecords,
            Self::Table => Api::BatchWriteItem,
            Self::FifoQueue => Api::SendMessageBatch,
        }
    }

    /// Entries in a request when each writer keeps the order of its keys: a Kinesis
    /// request holds one record of each partition key.
    fn max_entries_in_order(self) -> u64 {
        match self {
            Self::Stream => partition_keys().len() as u64,
            _ => self.max_entries(),
        }
    }

    fn max_entries(self) -> u64 {
        match self {
            Self::Stream => 500,
            Self::Table => 25,
            Self::FifoQueue => 10,
        }
    }
}

/// Who writes: the dispatcher as it is, or with pacing off, in this process; or the tasks of
/// a Spark job (see [`spark`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum FleetSender {
    Paced,
    /// Paced, and told how many writers share the quota (`fleet_size`).
    PacedFleetSize,
    /// Paced, the writers sharing the quota through a coordinator (its store in this
    /// process: the pacing it gives, not a store's cost).
    Coordinated,
    Unpaced,
    /// Pacing off, each writer held to a fixed 150% of the destination's quota, throttled
    /// records resent until a 30 s time to live: what each KPL producer does.
    FixedLimit,
    /// A hand-written loop per writer over the plain SDK client in adaptive retry mode, in
    /// a retry partition of its own, refused entries sent again after a backoff.
    SdkAdaptive,
    /// The Python package in each task of a Spark job (`write_dataframe`'s partition writer).
    SparkPackage,
    /// boto3 in each task of a Spark job (`foreachPartition`): the table's `batch_writer`, or
    /// `put_records` with the failed entries sent again after a backoff.
    SparkBoto3,
}

impl FleetSender {
    pub(crate) fn title(self) -> &'static str {
        match self {
            Self::Paced => "aws-batch-utils, paced (default)",
            Self::PacedFleetSize => "aws-batch-utils, paced, told the fleet size",
            Self::Coordinated => "aws-batch-utils, paced, with a coordinator",
            Self::Unpaced => "aws-batch-utils, pacing off",
            Self::FixedLimit => "fixed limit at 150% per writer (KPL-style)",
            Self::SdkAdaptive => "SDK loop per writer, adaptive retry mode",
            Self::SparkPackage => "Python package in Spark tasks (`write_dataframe`)",
            Self::SparkBoto3 => "boto3 in Spark tasks (`foreachPartition`)",
        }
    }

    /// The configuration of an in-process writer of a destination taking `quota` records a
    /// second; `None` for the senders without a dispatcher.
    fn config(self, writers: usize, quota: f64) -> Option<DispatcherConfig> {
        match self {
            Self::FixedLimit => Some(crate::sweep::engine_config(
                crate::sweep::Sender::FixedLimit,
                aws_batch_utils::engine::DEFAULT_MAX_IN_FLIGHT,
                quota,
            )),
            Self::Paced | Self::Coordinated => Some(DispatcherConfig::default()),
            Self::PacedFleetSize => Some(DispatcherConfig::default().fleet_size(writers)),
            Self::Unpaced => Some(DispatcherConfig::default().adaptive(false)),
            Self::SdkAdaptive | Self::SparkPackage | Self::SparkBoto3 => None,
        }
    }
}

/// One fleet run's figures.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct FleetRun {
    pub(crate) shared: Shared,
    pub(crate) sender: FleetSender,
    pub(crate) writers: usize,
    pub(crate) records: u64,
    pub(crate) delivered: u64,
    pub(crate) quota: f64,
    /// Delivery rate while 30% to 90% of the records arrived, per second.
    pub(crate) steady_rate: f64,
    pub(crate) seconds: f64,
    pub(crate) refused: u64,
    /// Entries refused in the first [`START`].
    pub(crate) refused_at_start: u64,
    /// Mean of Jain's index over the windows in which every writer still had records.
    pub(crate) jain: f64,
    /// Seconds each window spans.
    pub(crate) window_s: f64,
    /// The last writer's finish over the first's.
    pub(crate) slowest_over_fastest: f64,
    pub(crate) requests: u64,
    pub(crate) lower_bound: u64,
    pub(crate) handed_back: u64,
    /// Records first accepted after a later record of their writer and key (a FIFO
    /// message group, a partition key); `None` where not measured.
    #[serde(default)]
    pub(crate) out_of_order: Option<u64>,
}

impl FleetRun {
    /// Whether the writers were the tasks of a Spark job.
    pub(crate) fn in_spark(&self) -> bool {
        matches!(
            self.sender,
            FleetSender::SparkPackage | FleetSender::SparkBoto3
        )
    }

    pub(crate) fn goodput(&self) -> f64 {
        ratio(self.steady_rate, self.quota)
    }

    pub(crate) fn whole_run_goodput(&self) -> f64 {
        ratio(self.delivered as f64 / self.seconds, self.quota)
    }

    pub(crate) fn refused_per_delivered(&self) -> f64 {
        ratio(self.refused as f64, self.delivered as f64)
    }

    /// Refusals in the first 2 s, in quota-seconds.
    pub(crate) fn start_refusals(&self) -> f64 {
        ratio(self.refused_at_start as f64, self.quota)
    }

    pub(crate) fn requests_over_bound(&self) -> f64 {
        ratio(self.requests as f64, self.lower_bound as f64)
    }
}

/// The runs of a fleet measurement.
pub(crate) fn plan(quick: bool) -> Vec<(Shared, FleetSender, usize, f64)> {
    let mut plan = Vec::new();
    let (writers, seconds): (&[usize], f64) = if quick {
        (&QUICK_WRITERS, QUICK_SECONDS)
    } else {
        (&WRITERS, SECONDS)
    };
    for shared in Shared::ALL {
        for &n in writers {
            plan.push((shared, FleetSender::Paced, n, seconds));
            if !quick {
                plan.push((shared, FleetSender::PacedFleetSize, n, seconds));
                plan.push((shared, FleetSender::Coordinated, n, seconds));
                plan.push((shared, FleetSender::Unpaced, n, seconds));
                plan.push((shared, FleetSender::FixedLimit, n, seconds));
                plan.push((shared, FleetSender::SdkAdaptive, n, seconds));
            }
        }
    }
    plan
}

/// Runs the fleet plan (narrowed to `writers` and the paced dispatcher when asked) into the
/// figures of an earlier run (`--from-json`): each run replaces the one of its destination,
/// sender and writer count. Writes the report.
pub(crate) async fn run_into_report(
    options: &Options,
    writers: Option<Vec<usize>>,
    paced_only: bool,
    seconds: Option<f64>,
) -> Result<()> {
    let mut figures = match &options.from_json {
        Some(path) => Figures::read(path)?,
        None => Figures::default(),
    };
    let fresh = measure(options.quick, writers.as_deref(), paced_only, seconds).await?;
    // A run measured again takes its earlier figures' place; the others stay.
    for run in fresh {
        let cell = |r: &FleetRun| (r.shared, r.sender, r.writers);
        match figures
            .fleet
            .iter_mut()
            .find(|earlier| cell(earlier) == cell(&run))
        {
            Some(earlier) => *earlier = run,
            None => figures.fleet.push(run),
        }
    }
    report::write(options, &figures)
}

/// Makes the runs of the fleet plan.
pub(crate) async fn measure(
    quick: bool,
    writers: Option<&[usize]>,
    paced_only: bool,
    seconds: Option<f64>,
) -> Result<Vec<FleetRun>> {
    let mut plan = plan(quick);
    if let Some(writers) = writers {
        // The writer counts asked for, each with the plan's destinations and senders.
        let mut cells: Vec<(Shared, FleetSender, f64)> = Vec::new();
        for &(s, f, _, t) in &plan {
            if !cells.iter().any(|&(s2, f2, _)| (s2, f2) == (s, f)) {
                cells.push((s, f, t));
            }
        }
        plan = cells
            .into_iter()
            .flat_map(|(s, f, t)| writers.iter().map(move |&n| (s, f, n, t)))
            .collect();
    }
    let mut runs = Vec::new();
    for (shared, sender, n, default_seconds) in plan {
        if paced_only
            && matches!(
                sender,
                FleetSender::Unpaced | FleetSender::FixedLimit | FleetSender::SdkAdaptive
            )
        {
            continue;
        }
        let run = run(shared, sender, n, seconds.unwrap_or(default_seconds)).await?;
        eprintln!("batch-bench: fleet {}", row(&run));
        runs.push(run);
    }
    Ok(runs)
}

/// The plot of the fleet runs: goodput and refusals against the writers, per destination.
pub(crate) const PLOT: &str = "docs/bench/fleet.svg";

/// Every sender, in the plot's order (and colours).
const SENDERS: [FleetSender; 8] = [
    FleetSender::Paced,
    FleetSender::PacedFleetSize,
    FleetSender::Coordinated,
    FleetSender::Unpaced,
    FleetSender::FixedLimit,
    FleetSender::SdkAdaptive,
    FleetSender::SparkPackage,
    FleetSender::SparkBoto3,
];

/// Draws the fleet plot to `path`.
pub(crate) fn plot(path: &std::path::Path, runs: &[FleetRun]) -> Result<()> {
    let grid = report::Grid {
        size: (1000, 900),
        rows: Shared::ALL.iter().map(|s| s.title()).collect(),
        columns: &[
            ("goodput, % of quota", 120.0),
            ("refused per delivered", 4.0),
        ],
        x: 1.0..60.0,
        x_desc: "writers",
    };
    report::grid_plot(path, &grid, |row, column| {
        let shared = Shared::ALL[row];
        SENDERS
            .iter()
            .map(|&sender| {
                let mut points: Vec<(f64, f64)> = runs
                    .iter()
                    .filter(|r| r.shared == shared && r.sender == sender)
                    .map(|r| {
                        let y = if column == 0 {
                            r.goodput() * 100.0
                        } else {
                            r.refused_per_delivered()
                        };
                        (r.writers as f64, y)
                    })
                    .collect();
                points.sort_by(|a, b| a.0.total_cmp(&b.0));
                (sender.title(), points)
            })
            .collect()
    })
}

/// The report's section.
pub(crate) fn section(markdown: &mut String, runs: &[FleetRun]) {
    if runs.is_empty() {
        return;
    }
    markdown.push_str(
        "\n## Fleets: many writers on one quota\n\n\
         `batch-bench fleet`: N independent dispatchers in one process, each with its own SDK \
         client, started together with an equal share of the records (about 900 bytes each) \
         and submitting as fast as their dispatcher lets them, against the null endpoint \
         enforcing the quota (10 ms a request). Goodput is records accepted per second over \
         the quota while 30% to 90% of them arrived (steady) and over the whole run; Jain's \
         index is over the writers' accepted counts in 10-s windows (halves of the fastest \
         writer's time when that is shorter) while every writer still had records; the \
         refusals of the first 2 s are in seconds of quota. The stream's dispatchers keep \
         the order of each partition key (`with_ordered(true)`: a request holds one record \
         of each of the 200 keys, which sets the lower bound of requests), and each FIFO \
         writer's 20 message groups keep theirs; \"out of order\" counts the records first \
         accepted after a later record of their writer and key. Plot: \
         [`docs/bench/fleet.svg`](docs/bench/fleet.svg). Told the fleet size, each writer \
         starts at its share of the destination's documented rate: a shard's 1,000 records \
         a second, the table's write capacity (read with DescribeTable, as the command and \
         the Python package read it when given a fleet size).\n\n",
    );
    if runs
        .iter()
        .any(|run| run.sender == FleetSender::Coordinated)
    {
        markdown.push_str(
            "The coordinated rows give each writer a `Coordinator` whose store is in the \
             process (`InMemoryCoordinator`): the pacing a fleet gets from one, without a \
             store's round trips (the DynamoDB store is tested on the emulator). The stream's \
             shards document their rate; the table and the queue name their quota to it.\n\n",
        );
    }
    if runs
        .iter()
        .any(|run| run.sender == FleetSender::SdkAdaptive)
    {
        markdown.push_str(
            "The SDK rows are a hand-written loop per writer over the plain client in \
             aws-config's adaptive retry mode, each client in a retry partition of its own (so \
             the writers do not share one client-side limiter, as separate processes would \
             not): full requests one at a time, the refused entries sent again after a \
             jittered exponential backoff (100 ms doubling to 5 s), up to 10 times; \
             \"handed back\" is what it gave up on.\n\n",
        );
    }
    if runs.iter().any(FleetRun::in_spark) {
        markdown.push_str(
            "The Spark rows (`batch-bench spark`) are the 4 tasks of one PySpark job in local \
             mode, each writing its partition (the same records) with the Python package's \
             partition writer or with boto3 in `foreachPartition` (the table's \
             `batch_writer`; for the stream, `put_records` with the failed entries sent again \
             after a jittered backoff, up to 10 times); their clock starts with the first \
             task.\n\n",
        );
    }
    markdown.push_str(&table(runs));
}

/// The fleet table, in Markdown.
fn table(runs: &[FleetRun]) -> String {
    let mut md = String::from(
        "| destination | sender | writers | goodput, steady | goodput, whole run | \
         refused per delivered | refused in first 2 s (quota-s) | Jain | slowest / fastest | \
         requests / bound | handed back | out of order | wall |\n\
         |---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    for run in runs {
        md.push_str(&row(run));
        md.push('\n');
    }
    md
}

fn row(run: &FleetRun) -> String {
    format!(
        "| {} | {} | {} | {:.2} | {:.2} | {:.3} | {:.2} | {:.3} | {:.1} | {:.2} | {} | {} | {:.1} s |",
        run.shared.title(),
        run.sender.title(),
        run.writers,
        run.goodput(),
        run.whole_run_goodput(),
        run.refused_per_delivered(),
        run.start_refusals(),
        run.jain,
        run.slowest_over_fastest,
        run.requests_over_bound(),
        run.handed_back,
        run.out_of_order
            .map_or_else(|| "–".to_owned(), |n| n.to_string()),
        run.seconds,
    )
}

/// A fresh endpoint enforcing the quota of `shared` (logging what it accepts, and when), the
/// records per second the quota takes, and the records of a run: `writers` equal shares of
/// `seconds_of_quota` of it.
pub(crate) async fn endpoint(
    shared: Shared,
    writers: usize,
    seconds_of_quota: f64,
) -> Result<(NullEndpoint, f64, u64)> {
    let (capacity, quota) = shared.quota();
    // Faults at zero: the endpoint then logs what it accepts, and when.
    let endpoint =
        NullEndpoint::start_with_capacity(LATENCY, capacity, Some(Faults::default())).await?;
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let records = (quota * seconds_of_quota) as u64;
    Ok((endpoint, quota, records / writers as u64))
}

/// What the writers of a run did, however they ran.
pub(crate) struct Outcome {
    pub(crate) writers: usize,
    pub(crate) share: u64,
    /// When the first writer started.
    pub(crate) started: Instant,
    /// From the start to the last writer's end.
    pub(crate) seconds: f64,
    /// Entries refused for the quota in the first [`START`].
    pub(crate) refused_at_start: u64,
    /// Each writer's end, in seconds from the start.
    pub(crate) finished: Vec<f64>,
    pub(crate) handed_back: u64,
}

/// Makes one fleet run of in-process writers against a fresh endpoint.
pub(crate) async fn run(
    shared: Shared,
    sender: FleetSender,
    writers: usize,
    seconds_of_quota: f64,
) -> Result<FleetRun> {
    let (endpoint, quota, share) = self::endpoint(shared, writers, seconds_of_quota).await?;
    let config = sender.config(writers, quota);
    if config.is_none() && sender != FleetSender::SdkAdaptive {
        return Err(format!("{} runs in a Spark job, not in process", sender.title()).into());
    }
    let url = endpoint.url();
    let fleet = shared.coordinator(quota);
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(writers);
    for writer in 0..writers {
        // Each writer's own SDK configuration: its own connections and retry state.
        let Some(config) = config.clone() else {
            let sdk = sdk_config(&url, true).await;
            tasks.push(tokio::spawn(async move {
                let given_up = sdk_loop::write(shared, &sdk, writer, share)
                    .await
                    .map_err(|e| e.to_string());
                (given_up, Instant::now())
            }));
            continue;
        };
        let sdk = aws_batch_utils::without_sdk_retries(&sdk_config(&url, false).await);
        let setup = Setup {
            config,
            coordinator: (sender == FleetSender::Coordinated).then(|| fleet.writer()),
            // Told the fleet size, a writer reads the table's capacity to take its share.
            read_capacity: sender == FleetSender::PacedFleetSize,
        };
        tasks.push(tokio::spawn(async move {
            let handed_back = write(shared, &sdk, setup, writer, Demand::Records(share))
                .await
                .map_err(|e| e.to_string());
            (handed_back, Instant::now())
        }));
    }
    tokio::time::sleep_until(started + START).await;
    let refused_at_start = endpoint.refused_for_capacity();
    let mut handed_back = 0;
    let mut finished = Vec::with_capacity(writers);
    for task in tasks {
        let (back, at) = task.await?;
        handed_back += back?;
        finished.push(at.duration_since(started).as_secs_f64());
    }
    let outcome = Outcome {
        writers,
        share,
        started,
        seconds: started.elapsed().as_secs_f64(),
        refused_at_start,
        finished,
        handed_back,
    };
    Ok(figures(shared, sender, quota, &endpoint, outcome))
}

/// The first acceptance of each record the endpoint logged, by writer and record number.
pub(crate) fn first_acceptances(
    shared: Shared,
    endpoint: &NullEndpoint,
) -> HashMap<(usize, u64), Instant> {
    let mut first: HashMap<(usize, u64), Instant> = HashMap::new();
    for (at, entry) in endpoint.accepted_at(shared.api()) {
        if let Some(id) = record_id(shared, &entry) {
            first.entry(id).or_insert(at);
        }
    }
    first
}

/// A run's figures, from what its writers did and what the endpoint logged.
pub(crate) fn figures(
    shared: Shared,
    sender: FleetSender,
    quota: f64,
    endpoint: &NullEndpoint,
    outcome: Outcome,
) -> FleetRun {
    let Outcome {
        writers,
        share,
        started,
        seconds,
        refused_at_start,
        finished,
        handed_back,
    } = outcome;
    let records = share * writers as u64;
    let first = first_acceptances(shared, endpoint);
    let mut arrivals: Vec<Instant> = first.values().copied().collect();
    arrivals.sort_unstable();
    let fastest = finished.iter().copied().fold(f64::INFINITY, f64::min);
    let slowest = finished.iter().copied().fold(0.0, f64::max);
    // Windows of 10 s when the fastest writer took 20 s or more; else halves of its time.
    let window = if fastest >= 2.0 * WINDOW {
        WINDOW
    } else {
        fastest / 2.0
    };
    FleetRun {
        shared,
        sender,
        writers,
        records,
        delivered: first.len() as u64,
        quota,
        steady_rate: steady_rate(&arrivals),
        seconds,
        refused: endpoint.refused_for_capacity(),
        refused_at_start: refused_at_start.min(endpoint.refused_for_capacity()),
        jain: jain_while_all_active(&first, writers, started, fastest, window),
        window_s: window,
        slowest_over_fastest: ratio(slowest, fastest),
        requests: endpoint.counts(shared.api()).requests,
        lower_bound: records.div_ceil(if sender == FleetSender::SdkAdaptive {
            shared.max_entries()
        } else {
            shared.max_entries_in_order()
        }),
        handed_back,
        out_of_order: out_of_order(shared, endpoint),
    }
}

/// How a writer's dispatcher is built.
struct Setup {
    config: DispatcherConfig,
    coordinator: Option<InMemoryCoordinator>,
    read_capacity: bool,
}

impl Setup {
    fn build<B: Backend>(self, builder: DispatcherBuilder<B>) -> Result<Dispatcher<B>> {
        let builder = builder.config(self.config);
        let builder = match self.coordinator {
            Some(coordinator) => builder.coordinator(coordinator),
            None => builder,
        };
        Ok(builder.build()?)
    }
}

/// What a writer submits.
#[derive(Debug, Clone, Copy)]
enum Demand {
    /// This many records, as fast as its dispatcher takes them.
    Records(u64),
    /// Records from `start` (its dispatcher built then) until `stop`, `rate` a second or,
    /// without one, as fast as its dispatcher takes them.
    During {
        start: Instant,
        stop: Instant,
        rate: Option<f64>,
    },
}

/// Writes `demand` to `shared` as writer `writer`; returns the records handed back.
async fn write(
    shared: Shared,
    sdk: &SdkConfig,
    setup: Setup,
    writer: usize,
    demand: Demand,
) -> Result<u64> {
    if let Demand::During { start, .. } = demand {
        tokio::time::sleep_until(start).await;
    }
    let pad = "x".repeat(PAD);
    match shared {
        Shared::Stream => {
            let client = aws_batch_utils::kinesis::sdk::Client::new(sdk);
            let kinesis = setup.build(KinesisBatchDispatcher::builder(
                KinesisBackend::new(client, "fleet").with_ordered(true),
            ))?;
            let keys = partition_keys();
            #[allow(clippy::cast_possible_truncation)]
            submit(&kinesis, demand, |n| {
                let key = &keys[(n * 7 + writer as u64) as usize % keys.len()];
                KinesisRecord::bytes(format!("w{writer}-{n}-{pad}").into_bytes())
                    .with_partition_key(key.clone())
            })
            .await
        }
        Shared::Table => {
            let client = aws_batch_utils::dynamodb::sdk::Client::new(sdk);
            let backend =
                DynamoBackend::new(client, "fleet", "pk").with_capacity_read(setup.read_capacity);
            let table = setup.build(DynamoBatchDispatcher::builder(backend))?;
            submit(&table, demand, |n| {
                serde_json::json!({"pk": format!("w{writer}-{n}"), "pad": pad}).into()
            })
            .await
        }
        Shared::FifoQueue => {
            let client = aws_batch_utils::sqs::sdk::Client::new(sdk);
            let fifo = setup.build(SqsFifoBatchDispatcher::builder(SqsBackend::fifo(
                client, FIFO_QUEUE,
            )))?;
            submit(&fifo, demand, |n| {
                SqsMessage::text(format!("w{writer}-{n}"))
                    .with_message_group_id(format!("w{writer}-g{}", n % FIFO_GROUPS))
                    .with_deduplication_id(format!("w{writer}-{n}"))
            })
            .await
        }
    }
}

async fn submit<B: Backend>(
    dispatcher: &Dispatcher<B>,
    demand: Demand,
    payload: impl Fn(u64) -> B::Payload,
) -> Result<u64>
where
    B::Payload: std::fmt::Debug,
{
    match demand {
        Demand::Records(count) => {
            for n in 0..count {
                dispatcher.submit_payload(payload(n)).await?;
            }
        }
        Demand::During { start, stop, rate } => {
            let mut n = 0;
            while Instant::now() < stop {
                if let Some(rate) = rate {
                    #[allow(clippy::cast_precision_loss)]
                    let due = start + Duration::from_secs_f64(n as f64 / rate);
                    tokio::time::sleep_until(due.min(stop)).await;
                }
                // A submit still waiting for room at the stop was not accepted: nothing of
                // it is held.
                tokio::select! {
                    accepted = dispatcher.submit_payload(payload(n)) => accepted?,
                    () = tokio::time::sleep_until(stop) => break,
                }
                n += 1;
            }
        }
    }
    Ok(dispatcher.flush_payloads().await.len() as u64)
}

/// The text from the first JSON string that starts with `w`.
fn after_quote(json: &str) -> Option<String> {
    let at = json.find("\"w")?;
    Some(json[at + 1..].to_owned())
}

/// The writer and record number of an entry the endpoint accepted: `w<writer>-<n>` in
/// the message body, the item's key, or the record's data (as base64: the text itself, or
/// JSON holding it).
fn record_id(shared: Shared, entry: &str) -> Option<(usize, u64)> {
    let text = match shared {
        Shared::Stream => {
            let bytes = aws_smithy_types::base64::decode(entry).ok()?;
            let head = String::from_utf8_lossy(&bytes[..bytes.len().min(48)]).into_owned();
            if head.starts_with('w') {
                head
            } else {
                after_quote(&head)?
            }
        }
        Shared::Table => after_quote(entry)?,
        Shared::FifoQueue => entry.to_owned(),
    };
    let rest = text.strip_prefix('w')?;
    let (writer, rest) = rest.split_once('-')?;
    let n: String = rest.chars().take_while(char::is_ascii_digit).collect();
    Some((writer.parse().ok()?, n.parse().ok()?))
}

/// Records first accepted after a later record of their writer and key, in the order the
/// endpoint accepted them; `None` for a table, whose writes have no order.
fn out_of_order(shared: Shared, endpoint: &NullEndpoint) -> Option<u64> {
    let keys = match shared {
        Shared::Stream => partition_keys().len() as u64,
        Shared::FifoQueue => FIFO_GROUPS,
        Shared::Table => return None,
    };
    let mut seen: std::collections::HashSet<(usize, u64)> = std::collections::HashSet::new();
    let mut latest: HashMap<(usize, u64), u64> = HashMap::new();
    let mut breaks = 0;
    for (_, entry) in endpoint.accepted_at(shared.api()) {
        let Some((writer, n)) = record_id(shared, &entry) else {
            continue;
        };
        if !seen.insert((writer, n)) {
            continue;
        }
        let key = match shared {
            Shared::Stream => (n * 7 + writer as u64) % keys,
            _ => n % keys,
        };
        let last = latest.entry((writer, key)).or_insert(n);
        if n < *last {
            breaks += 1;
        }
        *last = (*last).max(n);
    }
    Some(breaks)
}

/// Jain's index of the writers' accepted counts per `window` seconds, averaged over the
/// whole windows before `until` (when the first writer finished: all still had records).
fn jain_while_all_active(
    first: &HashMap<(usize, u64), Instant>,
    writers: usize,
    started: Instant,
    until: f64,
    window: f64,
) -> f64 {
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let windows = (until / window).floor() as usize;
    if windows == 0 {
        return f64::NAN;
    }
    let mut counts = vec![vec![0_u64; writers]; windows];
    for (&(writer, _), at) in first {
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let w = (at.duration_since(started).as_secs_f64() / window) as usize;
        if w < windows && writer < writers {
            counts[w][writer] += 1;
        }
    }
    let indexes: Vec<f64> = counts.iter().map(|c| jain(c)).collect();
    indexes.iter().sum::<f64>() / indexes.len() as f64
}

/// Jain's fairness index: (sum x)^2 / (n sum x^2), 1 when all are equal, 1/n when one has all.
fn jain(rates: &[u64]) -> f64 {
    let sum: f64 = rates.iter().map(|&r| r as f64).sum();
    let squares: f64 = rates.iter().map(|&r| (r as f64).powi(2)).sum();
    ratio(sum * sum, rates.len() as f64 * squares)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jain_is_one_when_equal_and_one_over_n_when_one_has_all() {
        assert!((jain(&[5, 5, 5, 5]) - 1.0).abs() < 1e-9);
        assert!((jain(&[8, 0, 0, 0]) - 0.25).abs() < 1e-9);
    }

    #[test]
    fn record_ids_are_read_back_from_what_the_endpoint_logs() {
        assert_eq!(record_id(Shared::FifoQueue, "w3-17"), Some((3, 17)));
        let write = r#"{"PutRequest":{"Item":{"pad":{"S":"xx"},"pk":{"S":"w12-5"}}}}"#;
        assert_eq!(record_id(Shared::Table, write), Some((12, 5)));
        let data = aws_smithy_types::base64::encode(b"w4-99-xxxxxxxx");
        assert_eq!(record_id(Shared::Stream, &data), Some((4, 99)));
        let json = aws_smithy_types::base64::encode(br#"{"pk": "w2-31", "key": "k1"}"#);
        assert_eq!(record_id(Shared::Stream, &json), Some((2, 31)));
        assert_eq!(record_id(Shared::FifoQueue, "x"), None);
    }
}
