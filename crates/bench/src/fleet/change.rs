//! Fleets that change while they write: a writer leaving mid-run, one joining, and one that
//! asks for a tenth of a fair share among writers that ask for more than the quota. Each
//! writer submits for a span of time rather than a count, the greedy ones as fast as their
//! dispatcher takes records; the endpoint logs when it accepted each record, and from whom.
//!
//! Figures per run: the fleet's goodput in the span before the change and the two after it,
//! how long after the change the fleet took to settle (the end of the first 2-s window in
//! which the writers left took 90% of the quota; in which the one joining got 90% of a fair
//! share), Jain's index over the running writers in the second span after the change, and
//! what the small writer got of what it asked.

use std::collections::HashMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::time::Instant;

use super::{Demand, FleetSender, Setup, Shared, jain};
use crate::plan::{Figures, ratio};
use crate::sweep::sdk_config;
use crate::{Options, Result, report};

/// The span of the windows the figures are taken over, and the smoke run's.
const SPAN: f64 = 10.0;
const QUICK_SPAN: f64 = 1.0;
/// The window a fleet must hold its mark over to count as settled, and how far apart the
/// windows looked at start.
const SETTLED_OVER: f64 = 2.0;
const SETTLED_STEP: f64 = 1.0;
/// The share of the quota (or of a fair share) that counts as settled.
const SETTLED_AT: f64 = 0.9;
/// Writers of a leave or a join, and of a fleet with a small writer.
const CHANGING_FLEET: usize = 4;
const SMALL_WRITERS_FLEET: usize = 10;
/// The small writer's demand, as a share of a fair share, and how long its batches wait
/// for more records (its records fill a request in seconds).
const SMALL_DEMAND: f64 = 0.1;
const SMALL_LINGER: Duration = Duration::from_millis(200);
/// The small writer's records of the last second of a run are not counted as asked: they
/// may be on their way at its end.
const IN_FLIGHT_AT_END: f64 = 1.0;

/// What changes in the fleet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum Change {
    /// One of four writers stops two spans in; the other three write two spans more.
    Leave,
    /// A fourth writer starts two spans after three others.
    Join,
    /// One of ten writers asks for a tenth of a fair share for three spans.
    SmallWriter,
}

impl Change {
    const ALL: [Self; 3] = [Self::Leave, Self::Join, Self::SmallWriter];

    fn title(self) -> &'static str {
        match self {
            Self::Leave => "one of 4 leaves",
            Self::Join => "a 4th joins",
            Self::SmallWriter => "one of 10 asks 10% of a fair share",
        }
    }
}

/// One run's figures.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct ChangeRun {
    pub(crate) change: Change,
    pub(crate) shared: Shared,
    pub(crate) sender: FleetSender,
    pub(crate) writers: usize,
    pub(crate) quota: f64,
    /// Seconds each span of the figures lasts.
    pub(crate) span_s: f64,
    /// Records accepted per second over the quota in the span before the change.
    pub(crate) goodput_before: f64,
    /// The same in the first and the second span after it.
    pub(crate) goodput_after: [f64; 2],
    /// Seconds the writer leaving took to deliver what it held after it stopped submitting
    /// (to its last record accepted); `None` but for a leave.
    #[serde(default)]
    pub(crate) drained_after: Option<f64>,
    /// Seconds from the change (for a leave: from the leaving writer's last record) to the
    /// end of the first window in which the fleet settled; `None` when it did not within
    /// the run (and for a small writer).
    pub(crate) settled_after: Option<f64>,
    /// Jain's index over the greedy writers running in the second span after the change
    /// (with a small writer: over the greedy ones in the spans after the first).
    pub(crate) jain_after: f64,
    /// What the small writer got accepted over what it asked, after the first span.
    pub(crate) small_got: Option<f64>,
    pub(crate) refused: u64,
    pub(crate) delivered: u64,
    pub(crate) handed_back: u64,
}

impl ChangeRun {
    fn refused_per_delivered(&self) -> f64 {
        ratio(self.refused as f64, self.delivered as f64)
    }
}

/// The runs of a measurement: every change on every destination, paced alone and with a
/// coordinator, a small writer paced alone only; the smoke run makes one.
fn plan(quick: bool) -> Vec<(Change, Shared, FleetSender)> {
    if quick {
        return vec![(Change::Leave, Shared::Table, FleetSender::Paced)];
    }
    let mut plan = Vec::new();
    for shared in Shared::ALL {
        for change in Change::ALL {
            plan.push((change, shared, FleetSender::Paced));
            if change != Change::SmallWriter {
                plan.push((change, shared, FleetSender::Coordinated));
            }
        }
    }
    plan
}

/// Makes the runs of the plan.
pub(crate) async fn measure(quick: bool) -> Result<Vec<ChangeRun>> {
    let span = if quick { QUICK_SPAN } else { SPAN };
    let mut runs = Vec::new();
    for (change, shared, sender) in plan(quick) {
        let run = run(change, shared, sender, span).await?;
        eprintln!("batch-bench: fleet change {}", row(&run));
        runs.push(run);
    }
    Ok(runs)
}

/// Measures the changing fleets into the figures of an earlier run (`--from-json`),
/// replacing its earlier ones; writes the report.
pub(crate) async fn run_into_report(options: &Options) -> Result<()> {
    let mut figures = match &options.from_json {
        Some(path) => Figures::read(path)?,
        None => Figures::default(),
    };
    figures.fleet_changes = measure(options.quick).await?;
    report::write(options, &figures)
}

/// When each writer writes, in seconds from the start, and how fast it asks to.
struct Schedule {
    writers: usize,
    /// Per writer: start, stop, records a second asked (`None`: as many as taken).
    demand: Vec<(f64, f64, Option<f64>)>,
    /// When the change happens.
    at: f64,
}

impl Schedule {
    fn of(change: Change, span: f64, quota: f64) -> Self {
        let (writers, at) = match change {
            Change::Leave | Change::Join => (CHANGING_FLEET, 2.0 * span),
            Change::SmallWriter => (SMALL_WRITERS_FLEET, span),
        };
        let end = match change {
            Change::Leave | Change::Join => 4.0 * span,
            Change::SmallWriter => 3.0 * span,
        };
        let mut demand = vec![(0.0, end, None); writers];
        match change {
            Change::Leave => demand[writers - 1].1 = at,
            Change::Join => demand[writers - 1].0 = at,
            Change::SmallWriter => {
                demand[0].2 = Some(quota / writers as f64 * SMALL_DEMAND);
            }
        }
        Self {
            writers,
            demand,
            at,
        }
    }
}

/// One run against a fresh endpoint.
async fn run(change: Change, shared: Shared, sender: FleetSender, span: f64) -> Result<ChangeRun> {
    let (endpoint, quota, _) = super::endpoint(shared, 1, 0.0).await?;
    let schedule = Schedule::of(change, span, quota);
    let Some(config) = sender.config(schedule.writers, quota) else {
        return Err(format!("{} has no dispatcher", sender.title()).into());
    };
    let url = endpoint.url();
    let fleet = shared.coordinator(quota);
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(schedule.writers);
    for (writer, &(start, stop, rate)) in schedule.demand.iter().enumerate() {
        let sdk = aws_batch_utils::without_sdk_retries(&sdk_config(&url, false).await);
        let config = match rate {
            Some(_) => config.clone().linger(SMALL_LINGER),
            None => config.clone(),
        };
        let setup = Setup {
            config,
            coordinator: (sender == FleetSender::Coordinated).then(|| fleet.writer()),
            read_capacity: false,
        };
        let demand = Demand::During {
            start: started + Duration::from_secs_f64(start),
            stop: started + Duration::from_secs_f64(stop),
            rate,
        };
        tasks.push(tokio::spawn(async move {
            super::write(shared, &sdk, setup, writer, demand)
                .await
                .map_err(|e| e.to_string())
        }));
    }
    let mut handed_back = 0;
    for task in tasks {
        handed_back += task.await??;
    }
    let first = super::first_acceptances(shared, &endpoint);
    let accepted = Accepted::from(&first, started);
    let small = first
        .iter()
        .filter(|((writer, _), _)| *writer == 0)
        .map(|(&(_, n), at)| (n, at.duration_since(started).as_secs_f64()))
        .collect();
    Ok(figures(
        change,
        shared,
        sender,
        &schedule,
        Measured {
            accepted,
            small,
            quota,
            span,
            refused: endpoint.refused_for_capacity(),
            handed_back,
        },
    ))
}

/// When each writer's records were first accepted, in seconds from the start.
struct Accepted(HashMap<usize, Vec<f64>>);

impl Accepted {
    fn from(first: &HashMap<(usize, u64), Instant>, started: Instant) -> Self {
        let mut by_writer: HashMap<usize, Vec<f64>> = HashMap::new();
        for (&(writer, _), at) in first {
            by_writer
                .entry(writer)
                .or_default()
                .push(at.duration_since(started).as_secs_f64());
        }
        Self(by_writer)
    }

    /// Records of `writers` first accepted in `[from, to)`.
    fn between(&self, writers: &[usize], from: f64, to: f64) -> u64 {
        writers
            .iter()
            .filter_map(|w| self.0.get(w))
            .map(|times| times.iter().filter(|&&t| t >= from && t < to).count() as u64)
            .sum()
    }

    /// When `writer`'s last record was first accepted.
    fn last(&self, writer: usize) -> Option<f64> {
        self.0
            .get(&writer)
            .and_then(|times| times.iter().copied().reduce(f64::max))
    }

    fn total(&self) -> u64 {
        self.0.values().map(|times| times.len() as u64).sum()
    }
}

/// What a run left to compute its figures from.
struct Measured {
    accepted: Accepted,
    /// The first writer's records by number, with when each was first accepted.
    small: Vec<(u64, f64)>,
    quota: f64,
    span: f64,
    refused: u64,
    handed_back: u64,
}

fn figures(
    change: Change,
    shared: Shared,
    sender: FleetSender,
    schedule: &Schedule,
    measured: Measured,
) -> ChangeRun {
    let Measured {
        accepted,
        small,
        quota,
        span,
        refused,
        handed_back,
    } = measured;
    let at = schedule.at;
    let all: Vec<usize> = (0..schedule.writers).collect();
    // The greedy writers running after the change.
    let after: Vec<usize> = match change {
        Change::Leave => all[..schedule.writers - 1].to_vec(),
        Change::Join => all.clone(),
        Change::SmallWriter => all[1..].to_vec(),
    };
    let goodput = |writers: &[usize], from: f64| {
        ratio(
            accepted.between(writers, from, from + span) as f64 / span,
            quota,
        )
    };
    let fair = quota / schedule.writers as f64;
    // A writer that stops submitting still delivers what it holds: it has left once its
    // last record is in.
    let left_at = match change {
        Change::Leave => accepted
            .last(schedule.writers - 1)
            .map_or(at, |last| last.max(at)),
        Change::Join | Change::SmallWriter => at,
    };
    let settled_after = match change {
        Change::Leave => settled(
            &accepted,
            &after,
            SETTLED_AT * quota,
            left_at,
            at + 2.0 * span,
        ),
        Change::Join => settled(
            &accepted,
            &[schedule.writers - 1],
            SETTLED_AT * fair,
            left_at,
            at + 2.0 * span,
        ),
        Change::SmallWriter => None,
    };
    let jain_from = match change {
        Change::Leave | Change::Join => at + span,
        Change::SmallWriter => at,
    };
    let jain_span = match change {
        Change::Leave | Change::Join => span,
        Change::SmallWriter => 2.0 * span,
    };
    let counts: Vec<u64> = after
        .iter()
        .map(|&w| accepted.between(&[w], jain_from, jain_from + jain_span))
        .collect();
    let small_got = (change == Change::SmallWriter).then(|| {
        let (rate, end) = (schedule.demand[0].2.unwrap_or(fair), schedule.demand[0].1);
        small_writer_got(&small, rate, at, end)
    });
    let (before_from, after_from) = match change {
        Change::Leave | Change::Join => (at - span, at),
        Change::SmallWriter => (0.0, at),
    };
    ChangeRun {
        change,
        shared,
        sender,
        writers: schedule.writers,
        quota,
        span_s: span,
        goodput_before: goodput(&all, before_from),
        goodput_after: [goodput(&all, after_from), goodput(&all, after_from + span)],
        drained_after: (change == Change::Leave).then_some(left_at - at),
        settled_after,
        jain_after: jain(&counts),
        small_got,
        refused,
        delivered: accepted.total(),
        handed_back,
    }
}

/// Seconds from `from` to the end of the first window of [`SETTLED_OVER`], ending by
/// `until`, in which `writers` took `rate` a second.
fn settled(
    accepted: &Accepted,
    writers: &[usize],
    rate: f64,
    from: f64,
    until: f64,
) -> Option<f64> {
    let mut end = from + SETTLED_OVER;
    while end <= until + 1e-9 {
        let took = accepted.between(writers, end - SETTLED_OVER, end) as f64 / SETTLED_OVER;
        if took >= rate {
            return Some(end - from);
        }
        end += SETTLED_STEP;
    }
    None
}

/// Of the records the small writer asked for from `from` (numbered by when it asked: `rate`
/// a second from the start) until a second before `end`, the share in by `end`.
fn small_writer_got(small: &[(u64, f64)], rate: f64, from: f64, end: f64) -> f64 {
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let asked = (rate * from).ceil() as u64..(rate * (end - IN_FLIGHT_AT_END)).floor() as u64;
    let got = small
        .iter()
        .filter(|(n, t)| asked.contains(n) && *t <= end)
        .count();
    ratio(got as f64, (asked.end - asked.start) as f64)
}

/// The report's section.
pub(crate) fn section(markdown: &mut String, runs: &[ChangeRun]) {
    if runs.is_empty() {
        return;
    }
    let span = runs.iter().map(|run| run.span_s).fold(0.0, f64::max);
    markdown.push_str(&format!(
        "\n### Fleets that change: a writer leaving, one joining, one asking little\n\n\
         `batch-bench fleet --changes`: writers as above, each submitting for a span of \
         time. Four writers, one of them stopping {at:.0} s in, the others {more:.0} s more; four \
         writers, one of them starting {at:.0} s after the others; ten writers, one of them \
         asking for a tenth of a fair share (the others as many as they are let; its \
         batches wait at most 200 ms for more records) for {small:.0} s; what it got is the \
         share of the records it asked for after the first span (but in the last second) \
         that were in by the end. Goodput is the fleet's accepted records per second over the quota in \
         the {span:.0} s before the change and the two spans of {span:.0} s after it (for the \
         small writer: the first span, and the two after it). The writer leaving stops \
         submitting and delivers what it holds (its batches sealed, up to 10 s of its rate): \
         drained is how long that took. Settled is the end of the first 2-s window after the \
         change (after the leaving writer's last record) in which the three left took 90% of \
         the quota, or the one joining 90% of a fair share (–: not within the run). Jain's index is over \
         the greedy writers running in the second span after the change (with a small \
         writer: the last two spans).\n\n\
         | change | destination | sender | goodput before | goodput, first span after | \
         goodput, second span after | drained | settled after | Jain after | small writer \
         got of what it asked | refused per delivered | handed back |\n\
         |---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n",
        at = 2.0 * span,
        more = 2.0 * span,
        small = 3.0 * span,
    ));
    for run in runs {
        markdown.push_str(&row(run));
        markdown.push('\n');
    }
}

fn row(run: &ChangeRun) -> String {
    format!(
        "| {} | {} | {} | {:.2} | {:.2} | {:.2} | {} | {} | {:.3} | {} | {:.3} | {} |",
        run.change.title(),
        run.shared.title(),
        run.sender.title(),
        run.goodput_before,
        run.goodput_after[0],
        run.goodput_after[1],
        run.drained_after
            .map_or_else(|| "–".to_owned(), |s| format!("{s:.1} s")),
        run.settled_after
            .map_or_else(|| "–".to_owned(), |s| format!("{s:.1} s")),
        run.jain_after,
        run.small_got
            .map_or_else(|| "–".to_owned(), |got| format!("{got:.2}")),
        run.refused_per_delivered(),
        run.handed_back,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accepted(times: &[(usize, &[f64])]) -> Accepted {
        Accepted(times.iter().map(|(w, t)| (*w, t.to_vec())).collect())
    }

    /// `rate` records a second of writer `writer`, spread evenly, in `[from, to)`.
    fn steady(times: &mut Vec<f64>, rate: u32, from: u32, to: u32) {
        for second in from..to {
            for i in 0..rate {
                times.push(f64::from(second) + f64::from(i) / f64::from(rate));
            }
        }
    }

    #[test]
    fn a_leave_settles_at_the_first_window_the_writers_left_fill() {
        // Quota 9 a second; one of four writers leaves at 20 s. The three left take 2 a
        // second each until 24 s, 3 from then on: 90% of the quota from the window at 24 s.
        let mut per_writer: Vec<Vec<f64>> = vec![Vec::new(); 4];
        for times in per_writer.iter_mut().take(3) {
            steady(times, 2, 0, 24);
            steady(times, 3, 24, 40);
        }
        steady(&mut per_writer[3], 2, 0, 20);
        let measured = Measured {
            accepted: Accepted(per_writer.into_iter().enumerate().collect()),
            small: Vec::new(),
            quota: 9.0,
            span: 10.0,
            refused: 0,
            handed_back: 0,
        };
        let schedule = Schedule::of(Change::Leave, 10.0, 9.0);
        let run = figures(
            Change::Leave,
            Shared::Table,
            FleetSender::Paced,
            &schedule,
            measured,
        );
        let settled = run.settled_after.expect("settled within the run");
        assert!((settled - 6.0).abs() < 1e-6, "{settled}");
        assert_eq!(run.drained_after, Some(0.0));
        assert!((run.goodput_before - 8.0 / 9.0).abs() < 1e-9, "{run:?}");
        assert!(run.goodput_after[1] > run.goodput_after[0], "{run:?}");
        assert!((run.jain_after - 1.0).abs() < 1e-9, "{run:?}");
    }

    #[test]
    fn a_small_writer_is_measured_against_what_it_asked() {
        // Ten writers on a quota of 100: a fair share of 10, the small writer asks 1 a
        // second, 30 s long; of the records it asked from 10 s to 29 s (the last second
        // does not count), every other one is in.
        let small: Vec<(u64, f64)> = (0..30)
            .filter(|n| n % 2 == 0)
            .map(|n| (n, n as f64 + 0.5))
            .collect();
        let times: Vec<f64> = small.iter().map(|(_, t)| *t).collect();
        let measured = Measured {
            accepted: accepted(&[(0, &times), (1, &[11.0, 12.0]), (2, &[11.0, 12.0])]),
            small,
            quota: 100.0,
            span: 10.0,
            refused: 0,
            handed_back: 0,
        };
        let schedule = Schedule::of(Change::SmallWriter, 10.0, 100.0);
        let run = figures(
            Change::SmallWriter,
            Shared::Table,
            FleetSender::Paced,
            &schedule,
            measured,
        );
        assert_eq!(run.small_got, Some(10.0 / 19.0));
        assert_eq!(run.settled_after, None);
    }
}
