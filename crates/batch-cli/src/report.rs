//! The summary printed at the end.

use std::collections::BTreeMap;
use std::time::Duration;

use aws_batch_utils::Stats;
use serde_json::{Value, json};

use crate::shard::Shard;

/// The part of the input a sharded run read.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Part {
    pub(crate) shard: Shard,
    pub(crate) share: Share,
}

/// What a shard's part is made of.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Share {
    /// The lines of one file or object that start in `first_byte..end_byte`.
    Bytes { first_byte: u64, end_byte: u64 },
    /// Every N-th object of the `listed` ones under a prefix: `taken` of them.
    Objects { taken: u64, listed: u64 },
}

impl Part {
    /// The byte range, for a part of one file or object.
    pub(crate) fn bytes(self) -> Option<(u64, u64)> {
        match self.share {
            Share::Bytes {
                first_byte,
                end_byte,
            } => Some((first_byte, end_byte)),
            Share::Objects { .. } => None,
        }
    }
}

/// The table export a run copied.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ExportFacts {
    /// The item count of its summary manifest.
    pub(crate) items_expected: Option<u64>,
    pub(crate) data_files: u64,
}

/// What a run did.
#[derive(Debug, Default)]
pub(crate) struct Summary {
    /// The table export copied, if the run copied one.
    pub(crate) export: Option<ExportFacts>,
    /// What the input is not that it should be: manifests that disagree, data files whose
    /// item count or checksum differs from the manifest's.
    pub(crate) problems: Vec<String>,
    pub(crate) destination: String,
    /// The part of the input read, in a sharded run.
    pub(crate) part: Option<Part>,
    /// The line a resumed run started at (1 for a new run).
    pub(crate) first_line: u64,
    /// Non-empty input lines handled.
    pub(crate) read: u64,
    /// Lines that are not JSON or not UTF-8.
    pub(crate) invalid_lines: u64,
    /// Records refused before sending (too large, missing key, ...).
    pub(crate) rejected: u64,
    pub(crate) delivered: u64,
    /// What was delivered by kind of write (DynamoDB: items written, keys deleted).
    pub(crate) delivered_by_kind: Vec<(&'static str, u64)>,
    pub(crate) duplicates_dropped: u64,
    /// Writes replaced by a later write to the same key (DynamoDB).
    pub(crate) superseded: u64,
    /// Everything not delivered: invalid lines, refused records, failed deliveries.
    pub(crate) unprocessed: u64,
    /// Unprocessed records by error code.
    pub(crate) failures: BTreeMap<String, u64>,
    pub(crate) requests_sent: u64,
    /// Requests one call per record would have needed.
    pub(crate) requests_one_per_record: u64,
    pub(crate) retries: u64,
    pub(crate) throttled: u64,
    /// The rate the destination's throttling paced the run to at its end, if it did.
    pub(crate) paced_rate: Option<u64>,
    /// How long sending was held back by the pace (the destination's, or the caps given).
    pub(crate) paced_wait: Duration,
    /// Why the run stopped before the end of the input, if it did.
    pub(crate) stopped: Option<String>,
    pub(crate) elapsed: Duration,
}

impl Summary {
    pub(crate) fn new(destination: String, first_line: u64) -> Self {
        Self {
            destination,
            first_line,
            ..Self::default()
        }
    }

    pub(crate) fn finish(&mut self, stats: &Stats, elapsed: Duration) {
        self.delivered = stats.delivered;
        self.duplicates_dropped = stats.duplicates_dropped;
        self.superseded = stats.superseded;
        self.requests_sent = stats.requests_sent;
        self.requests_one_per_record = stats.submitted;
        self.retries = stats.retries;
        self.throttled = stats.throttled;
        self.paced_rate = stats.paced_rate;
        self.paced_wait = stats.paced_wait;
        self.elapsed = elapsed;
    }

    /// Whole records per second over the run.
    #[allow(clippy::cast_precision_loss)]
    fn throughput(&self) -> f64 {
        (self.read as f64 / self.elapsed.as_secs_f64().max(1e-9)).round()
    }

    pub(crate) fn to_json(&self) -> Value {
        let shard = self.part.map(|p| {
            let mut shard = json!({"index": p.shard.index, "count": p.shard.count});
            match p.share {
                Share::Bytes {
                    first_byte,
                    end_byte,
                } => {
                    shard["first_byte"] = first_byte.into();
                    shard["end_byte"] = end_byte.into();
                }
                Share::Objects { taken, listed } => {
                    shard["objects"] = taken.into();
                    shard["objects_listed"] = listed.into();
                }
            }
            shard
        });
        let export = self
            .export
            .map(|e| json!({"items_expected": e.items_expected, "data_files": e.data_files}));
        let mut summary = json!({
            "destination": self.destination,
            "shard": shard,
            "export": export,
            "problems": self.problems,
            "first_line": self.first_line,
            "records_read": self.read,
            "delivered": self.delivered,
            "duplicates_dropped": self.duplicates_dropped,
            "superseded": self.superseded,
            "unprocessed": self.unprocessed,
            "invalid_lines": self.invalid_lines,
            "rejected": self.rejected,
            "failures": self.failures,
            "requests_sent": self.requests_sent,
            "requests_one_per_record": self.requests_one_per_record,
            "retries": self.retries,
            "throttled": self.throttled,
            "paced_records_per_second": self.paced_rate,
            "waited_for_pace_seconds": self.paced_wait.as_secs_f64(),
            "stopped": self.stopped,
            "elapsed_seconds": self.elapsed.as_secs_f64(),
            "records_per_second": self.throughput(),
        });
        for (kind, count) in &self.delivered_by_kind {
            summary[*kind] = (*count).into();
        }
        summary
    }

    /// The time held back by the pace, and its share of the run: `12.30 s (41% of the run)`.
    fn waited_in_words(&self) -> String {
        let waited = self.paced_wait.as_secs_f64();
        let share = 100.0 * waited / self.elapsed.as_secs_f64().max(1e-9);
        format!("{waited:.2} s ({:.0}% of the run)", share.min(100.0))
    }

    /// The delivered count, with its kinds when there are kinds: `10 (7 written, 3 deleted)`.
    fn delivered_in_words(&self) -> String {
        if self.delivered_by_kind.is_empty() {
            return self.delivered.to_string();
        }
        let kinds: Vec<String> = self
            .delivered_by_kind
            .iter()
            .map(|(kind, count)| format!("{count} {kind}"))
            .collect();
        format!("{} ({})", self.delivered, kinds.join(", "))
    }

    pub(crate) fn table(&self) -> String {
        let failed = self
            .unprocessed
            .saturating_sub(self.invalid_lines + self.rejected);
        let mut rows = vec![
            ("destination", self.destination.clone()),
            ("records read", self.read.to_string()),
            ("delivered", self.delivered_in_words()),
            ("duplicates dropped", self.duplicates_dropped.to_string()),
            ("superseded", self.superseded.to_string()),
            (
                "unprocessed",
                format!(
                    "{} ({} invalid lines, {} refused, {failed} failed)",
                    self.unprocessed, self.invalid_lines, self.rejected
                ),
            ),
        ];
        for (code, count) in &self.failures {
            rows.push(("  because", format!("{code}: {count}")));
        }
        if let Some(export) = self.export {
            let expected = export
                .items_expected
                .map_or_else(|| "unknown".to_owned(), |n| n.to_string());
            rows.push((
                "export",
                format!(
                    "{} data files, {expected} items in the manifest",
                    export.data_files
                ),
            ));
        }
        for problem in &self.problems {
            rows.push(("PROBLEM", problem.clone()));
        }
        rows.extend([
            ("requests sent", self.requests_sent.to_string()),
            ("one per record", self.requests_one_per_record.to_string()),
            ("retried entries", self.retries.to_string()),
            ("throttled entries", self.throttled.to_string()),
            (
                "paced to",
                self.paced_rate.map_or_else(
                    || "not needed".to_owned(),
                    |rate| format!("{rate} records/s"),
                ),
            ),
            ("waited for the pace", self.waited_in_words()),
            ("elapsed", format!("{:.2} s", self.elapsed.as_secs_f64())),
            ("throughput", format!("{} records/s", self.throughput())),
        ]);
        if self.first_line > 1 {
            rows.insert(1, ("resumed at line", self.first_line.to_string()));
        }
        if let Some(part) = self.part {
            let what = match part.share {
                Share::Bytes {
                    first_byte,
                    end_byte,
                } => format!("bytes {first_byte} to {end_byte}; lines counted from its first"),
                Share::Objects { taken, listed } => format!("{taken} of {listed} objects"),
            };
            rows.insert(1, ("shard", format!("{} ({what})", part.shard)));
        }
        if let Some(why) = &self.stopped {
            rows.insert(1, ("stopped early", why.clone()));
        }
        rows.iter()
            .map(|(name, value)| format!("  {name:<20} {value}\n"))
            .collect()
    }
}
