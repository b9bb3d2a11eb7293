//! The capacity sweep's part of BENCHMARKS.md, and its plot.

use std::fmt::Write as _;

use crate::sweep::{CapacityRun, OFFERED, Sender, TARGET_OFFERED, TARGET_SECONDS};
use crate::workload::Service;
use crate::{Result, report};

pub(crate) const PLOT: &str = "docs/bench/capacity.svg";

/// Targets at 10x with default settings.
const DELIVERED_TARGET: f64 = 1.0;
const GOODPUT_TARGET: f64 = 0.95;
const REFUSED_TARGET: f64 = 0.05;

/// The load sweep's run of `sender` (its default in-flight setting) at `offered`.
fn find(
    runs: &[CapacityRun],
    service: Service,
    sender: Sender,
    offered: u32,
) -> Option<&CapacityRun> {
    runs.iter().find(|r| {
        r.service == service
            && r.sender == sender
            && r.offered == offered
            && r.max_in_flight == sender.default_in_flight()
            && r.seconds_of_quota < TARGET_SECONDS
    })
}

/// The sustained target run of a service, or the load sweep's (a smoke run has no other).
fn target(runs: &[CapacityRun], service: Service) -> Option<&CapacityRun> {
    runs.iter()
        .find(|r| r.service == service && r.seconds_of_quota >= TARGET_SECONDS)
        .or_else(|| find(runs, service, Sender::Paced, TARGET_OFFERED))
}

/// A run's figures as the cells of [`HEADER`].
pub(crate) fn cells(run: &CapacityRun) -> String {
    format!(
        "{:.1}% | {:.0}% | {:.3} | {} ({}) | {:.0} | {:.0}",
        run.delivered_share() * 100.0,
        run.goodput() * 100.0,
        run.refused_per_delivered(),
        run.requests,
        run.lower_bound,
        run.p50_ms,
        run.p99_ms,
    )
}

fn row(md: &mut String, first: &str, run: &CapacityRun) {
    let _ = writeln!(md, "| {first} | {} |", cells(run));
}

pub(crate) const HEADER: &str = "| delivered | goodput (share of quota) | refused per delivered | requests (lower bound) | p50 ms | p99 ms |";
const RULE: &str = "|---:|---:|---:|---:|---:|---:|";

/// The section: targets, then per service the load sweep and the in-flight sweep.
pub(crate) fn section(md: &mut String, runs: &[CapacityRun]) {
    if runs.is_empty() {
        return;
    }
    let _ = writeln!(
        md,
        "## Under a quota: offered load against provisioned capacity\n"
    );
    let _ = writeln!(
        md,
        "The null endpoint enforces AWS-like quotas: a 2-shard Kinesis stream (1,000 records \
         a second per shard, the shard chosen by the MD5 of the partition key; records of \
         500 bytes over 200 keys, 100 on each shard), a 1,000 WCU DynamoDB table (items of about 900 bytes, one \
         unit each), 300 SendMessageBatch requests a second (a FIFO queue's quota; 3,000 \
         messages) and 50 PutMetricData requests a second (50,000 metrics; a tenth of the \
         account quota, so that the runs measure pacing rather than this machine's CPU). Each quota is a token bucket holding one second, so \
         a run starts with a burst. Every run offers the same records (a few seconds of quota) \
         at 1x to 30x the quota's rate, 10 ms per answer. Goodput is the delivery rate while \
         30% to 90% of the records arrived, as a share of the quota (so neither the initial \
         burst nor the tail counts); refused entries are those the endpoint refused for \
         capacity (SDK retries included); the times are from the sender taking a record (its \
         `submit` called, or the loop reaching it) to the endpoint accepting it: a sender with a \
         larger buffer holds records longer inside, and makes its caller wait less. Senders: the dispatcher with default settings (paced; its clients have \
         the SDK's retries off, as `Dispatcher::new` builds them); the dispatcher with pacing \
         off at `max_in_flight` 4 and the SDK's standard retries, as it was before pacing; the \
         dispatcher unpaced, held to 150% of the quota and resending throttled records until \
         a 30 s time to live, as the KPL does (a limit on the whole stream: the keys spread \
         evenly over the shards); and a \
         hand-written loop with the plain SDK in aws-config's adaptive retry mode, sending \
         full batches one at a time and resending failed entries with exponential backoff \
         for 10 rounds. Plot: [`{PLOT}`]({PLOT}).\n"
    );
    targets(md, runs);
    for service in Service::FULL_SUITE {
        let _ = writeln!(md, "### {}\n", service.title());
        let _ = writeln!(md, "| offered | sender {HEADER}");
        let _ = writeln!(md, "|---:|---{RULE}");
        for offered in OFFERED {
            for sender in Sender::ALL {
                if let Some(run) = find(runs, service, sender, offered) {
                    row(md, &format!("{offered}x | {}", sender.title()), run);
                }
            }
        }
        let _ = writeln!(md);
        let mut sweep: Vec<&CapacityRun> = runs
            .iter()
            .filter(|r| {
                r.service == service
                    && r.offered == TARGET_OFFERED
                    && r.seconds_of_quota < TARGET_SECONDS
                    && matches!(r.sender, Sender::Paced | Sender::Unpaced)
            })
            .collect();
        sweep.sort_by_key(|r| (r.sender == Sender::Unpaced, r.max_in_flight));
        if sweep.len() > 2 {
            let _ = writeln!(md, "At {TARGET_OFFERED}x, by `max_in_flight`:\n");
            let _ = writeln!(md, "| max_in_flight | sender {HEADER}");
            let _ = writeln!(md, "|---:|---{RULE}");
            for run in sweep {
                row(
                    md,
                    &format!("{} | {}", run.max_in_flight, run.sender.title()),
                    run,
                );
            }
            let _ = writeln!(md);
        }
    }
}

fn targets(md: &mut String, runs: &[CapacityRun]) {
    let _ = writeln!(
        md,
        "Targets at {TARGET_OFFERED}x with default settings, over {TARGET_SECONDS:.0} seconds of \
         quota: everything delivered, goodput at least {:.0}% of the quota, at most {:.2} \
         refused entries per delivered one. (In the shorter sweep runs below, most refusals \
         are those of the round trip that first meets the quota: the requests in flight then, \
         at most 16 while the window starts, once per dispatcher.)\n",
        GOODPUT_TARGET * 100.0,
        REFUSED_TARGET
    );
    let _ = writeln!(
        md,
        "| service | delivered | goodput | refused per delivered | requests (lower bound) | verdict | pacing off, max_in_flight 4 (sweep run): delivered, refused per delivered |"
    );
    let _ = writeln!(md, "|---|---:|---:|---:|---:|---|---|");
    for service in Service::FULL_SUITE {
        let Some(run) = target(runs, service) else {
            continue;
        };
        let met = run.delivered_share() >= DELIVERED_TARGET
            && run.goodput() >= GOODPUT_TARGET
            && run.refused_per_delivered() <= REFUSED_TARGET;
        let before =
            find(runs, service, Sender::Unpaced, TARGET_OFFERED).map_or_else(String::new, |r| {
                format!(
                    "{:.1}%, {:.2}",
                    r.delivered_share() * 100.0,
                    r.refused_per_delivered()
                )
            });
        let _ = writeln!(
            md,
            "| {} | {:.1}% | {:.0}% | {:.3} | {} ({}) | {} | {before} |",
            service.title(),
            run.delivered_share() * 100.0,
            run.goodput() * 100.0,
            run.refused_per_delivered(),
            run.requests,
            run.lower_bound,
            if met { "met" } else { "**not met**" },
        );
    }
    let _ = writeln!(md);
}

/// Goodput and refusals against offered load: a row per service, a line per sender.
pub(crate) fn plot(path: &std::path::Path, runs: &[CapacityRun]) -> Result<()> {
    let grid = report::Grid {
        size: (1000, 1200),
        rows: Service::FULL_SUITE.iter().map(|s| s.title()).collect(),
        columns: &[
            ("goodput, % of quota", 120.0),
            ("refused per delivered", 4.0),
        ],
        x: 0.8..40.0,
        x_desc: "offered load, x quota",
    };
    report::grid_plot(path, &grid, |row, column| {
        let service = Service::FULL_SUITE[row];
        Sender::ALL
            .iter()
            .map(|&sender| {
                let points = OFFERED
                    .iter()
                    .filter_map(|&offered| {
                        let run = find(runs, service, sender, offered)?;
                        let y = if column == 0 {
                            run.goodput() * 100.0
                        } else {
                            run.refused_per_delivered()
                        };
                        Some((f64::from(offered), y))
                    })
                    .collect();
                (sender.title(), points)
            })
            .collect()
    })
}
