//! The progress line on standard error, and the log events printed around it.

use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::time::Duration;

use aws_batch_utils::Stats;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;

use crate::cli::Common;

/// The progress bar (hidden with `--quiet` or when standard error is not a terminal), its
/// length unknown until [`measure`].
pub(crate) fn bar(common: &Common) -> ProgressBar {
    if common.quiet {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
    measure(&bar, None);
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}

/// Sets the bytes the input holds, when they are known: the bar then shows the share read.
pub(crate) fn measure(bar: &ProgressBar, input_bytes: Option<u64>) {
    let template = match input_bytes {
        Some(bytes) => {
            bar.set_length(bytes);
            "{spinner} {percent:>3}% [{bar:24}] eta {eta}  {msg}"
        }
        None => "{spinner} {msg}",
    };
    if let Ok(style) = ProgressStyle::with_template(template) {
        bar.set_style(style.progress_chars("=> "));
    }
}

/// Counts the reading side keeps for the progress line.
#[derive(Debug, Default)]
pub(crate) struct Counts {
    pub(crate) read: AtomicU64,
    /// Refused before sending (invalid lines, invalid records).
    pub(crate) refused: AtomicU64,
    /// Input bytes read.
    pub(crate) offset: AtomicU64,
    /// Reading is over and what was accepted is being sent.
    pub(crate) flushing: AtomicBool,
}

/// The progress message: what was read and delivered, what failed or was throttled, and the
/// rate in whole records per second.
#[allow(clippy::cast_precision_loss, clippy::cast_possible_truncation)]
pub(crate) fn message(
    read: u64,
    refused: u64,
    flushing: bool,
    stats: &Stats,
    elapsed: Duration,
) -> String {
    let rate = (stats.delivered as f64 / elapsed.as_secs_f64().max(1e-3)).round() as u64;
    let mut text = String::new();
    if flushing {
        let settled =
            stats.delivered + stats.duplicates_dropped + stats.superseded + stats.unprocessed;
        let left = stats.submitted.saturating_sub(settled);
        text.push_str(&format!("flushing {left} records  "));
    }
    text.push_str(&format!(
        "read {read}  delivered {}  failed {}  {rate} records/s",
        stats.delivered,
        refused + stats.unprocessed
    ));
    if stats.throttled > 0 {
        text.push_str(&format!("  throttled {}", stats.throttled));
    }
    if let Some(paced) = stats.paced_rate {
        text.push_str(&format!("  paced at {paced}/s"));
    }
    if stats.requests_failed_in_a_row > 0 {
        text.push_str(&format!(
            "  {} requests failed in a row",
            stats.requests_failed_in_a_row
        ));
    }
    text
}

/// Keeps the bar up to date from the counts and the dispatcher's stats until it finishes.
pub(crate) fn follow(
    bar: ProgressBar,
    counts: Arc<Counts>,
    file_read: Option<Arc<AtomicU64>>,
    stats: impl Fn() -> Stats + Send + 'static,
) {
    if bar.is_hidden() {
        return;
    }
    let started = tokio::time::Instant::now();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_millis(250));
        while !bar.is_finished() {
            tick.tick().await;
            let position = file_read.as_deref().unwrap_or(&counts.offset);
            bar.set_position(position.load(Relaxed));
            bar.set_message(message(
                counts.read.load(Relaxed),
                counts.refused.load(Relaxed),
                counts.flushing.load(Relaxed),
                &stats(),
                started.elapsed(),
            ));
        }
    });
}

/// Sends `tracing` events to standard error, above the progress bar: WARN by default, more
/// with `-v`, errors only with `-q`, or what `RUST_LOG` says.
pub(crate) fn init_logging(common: &Common, bar: &ProgressBar) {
    let level = match (common.quiet, common.verbose) {
        (true, _) => "error",
        (false, 0) => "warn",
        (false, 1) => "info",
        (false, 2) => "debug",
        (false, _) => "trace",
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(level));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(AboveBar(bar.clone()))
        .with_target(false)
        .try_init();
}

/// Writes log lines with the progress bar out of the way.
#[derive(Debug, Clone)]
struct AboveBar(ProgressBar);

impl<'a> MakeWriter<'a> for AboveBar {
    type Writer = LogLine;

    fn make_writer(&'a self) -> Self::Writer {
        LogLine {
            bar: self.0.clone(),
            buf: Vec::new(),
        }
    }
}

/// One log event, written when it is complete.
#[derive(Debug)]
struct LogLine {
    bar: ProgressBar,
    buf: Vec<u8>,
}

impl Write for LogLine {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(data);
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for LogLine {
    fn drop(&mut self) {
        let buf = std::mem::take(&mut self.buf);
        self.bar.suspend(|| {
            let _ = std::io::stderr().write_all(&buf);
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_message_shows_failures_throttling_and_whole_rates() {
        let mut stats = Stats::default();
        stats.delivered = 1_000;
        stats.unprocessed = 2;
        stats.throttled = 40;
        let text = message(1_100, 3, false, &stats, Duration::from_millis(3_000));
        assert_eq!(
            text,
            "read 1100  delivered 1000  failed 5  333 records/s  throttled 40"
        );
        stats.paced_rate = Some(950);
        let text = message(1_100, 3, false, &stats, Duration::from_millis(3_000));
        assert!(text.ends_with("throttled 40  paced at 950/s"), "{text}");
        stats.submitted = 1_090;
        let text = message(1_100, 3, true, &stats, Duration::from_millis(3_000));
        assert!(text.starts_with("flushing 88 records  read 1100"), "{text}");
    }
}
