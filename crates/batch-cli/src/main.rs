//! `aws-batch`: bulk-load NDJSON into SQS, Kinesis, DynamoDB or CloudWatch with batched
//! writes, and report what was delivered, what was not, and why.
//!
//! Every line read ends delivered or in the unprocessed file (and the summary), also when the
//! run is interrupted: see `aws-batch --help`.
// A command-line tool: it prints, and measures wall-clock time.
#![allow(clippy::print_stdout, clippy::print_stderr, clippy::disallowed_methods)]

mod cli;
mod compression;
mod export;
mod input;
mod open;
mod output;
mod progress;
mod report;
mod s3;
mod setup;
mod shard;
mod sink;
mod sources;
mod stop;

use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Instant;

use clap::Parser;

use crate::cli::{Cli, Common};
use crate::input::{Content, Event, Line, Start};
use crate::output::{Checkpoint, Problem, Record, Unprocessed, Unwrapped};
use crate::progress::Counts;
use crate::report::Summary;
use crate::shard::Shard;
use crate::sink::{Failed, INVALID_JSON, INVALID_UTF8, Sink};
use crate::stop::{Reason, Stop};

type Error = Box<dyn std::error::Error + Send + Sync>;

/// Exit codes; `--help` lists them.
mod exit {
    pub(crate) const SOME_UNDELIVERED: u8 = 1;
    pub(crate) const USAGE: u8 = 2;
    pub(crate) const DESTINATION_FAILING: u8 = 3;
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("aws-batch: cannot start the async runtime: {e}");
            return ExitCode::from(exit::USAGE);
        }
    };
    let code = runtime.block_on(async {
        match run(cli).await {
            Ok(code) => code,
            Err(err) => {
                eprintln!("aws-batch: {err}");
                exit::USAGE
            }
        }
    });
    // A reader blocked on a pipe that stays open must not hold the exit up.
    runtime.shutdown_background();
    ExitCode::from(code)
}

async fn run(mut cli: Cli) -> Result<u8, Error> {
    let shard = cli
        .common
        .shard
        .map(|arg| arg.resolve(|name| std::env::var(name).ok()))
        .transpose()?;
    if let Some(shard) = shard {
        // The copies of a sharded run share the destination.
        cli.common.fleet_size.get_or_insert(shard.count);
    }
    let common = &cli.common;
    let export_location = cli.service.destination().export().map(str::to_owned);
    setup::check_paths(common, export_location.is_some())?;
    let s3_input = match export_location {
        Some(_) => None,
        None => common
            .input
            .as_ref()
            .and_then(|path| s3::Location::parse(&path.to_string_lossy()))
            .transpose()?,
    };
    // A local input is opened first: what is wrong with it shows before anything else.
    let local_input = match (&s3_input, &export_location) {
        (None, None) => Some(open::open_input(common, shard)?),
        _ => None,
    };
    let bar = progress::bar(common);
    progress::init_logging(common, &bar);
    let sdk = setup::sdk_config(common).await?;
    let mut summary = Summary::new(cli.service.destination().describe(), 1);
    let input = match (local_input, s3_input, export_location) {
        (Some(input), _, _) => input,
        (None, Some(location), _) => open::open_s3_input(common, shard, &sdk, &location).await?,
        (None, None, Some(location)) => {
            open_export(common, shard, &sdk, &location, &mut summary).await?
        }
        (None, None, None) => return Err("no input".into()),
    };
    progress::measure(&bar, input.bytes);
    let sink: Arc<dyn Sink> = Arc::from(sink::open(&cli.service, common, &sdk)?);
    let resume_at = input.checkpoint.as_ref().map(|c| c.unprocessed_bytes);
    let mut unprocessed = Unprocessed::open(
        common.unprocessed.as_deref(),
        resume_at,
        shard.map(|s| s.to_string()),
        input.names.clone(),
    )?;
    let stop = Stop::listen(common.grace)?;

    // Progress counts the part's bytes.
    let counts = Arc::new(Counts::default());
    counts
        .offset
        .store(input.start.offset.saturating_sub(input.base), Relaxed);
    let stats_sink = Arc::clone(&sink);
    progress::follow(bar.clone(), Arc::clone(&counts), input.read, move || {
        stats_sink.stats()
    });

    let started = Instant::now();
    summary.first_line = input.start.line;
    summary.part = input.part;
    log_resume(input.checkpoint.as_ref());
    let mut reading = Reading {
        common,
        sink: &*sink,
        stop: &stop,
        counts: &counts,
        summary: &mut summary,
        unprocessed: &mut unprocessed,
        checkpoint: input.checkpoint,
        names: input.names,
        base: input.base,
        piece: 0,
        at: input.start,
    };
    let read_error = reading.read_all(input::spawn(input.pieces)).await?;
    counts.flushing.store(true, Relaxed);
    reading.flush_and_save().await?;
    // Before the process exits: a lease ended on the dispatcher's drop might never be.
    sink.leave_fleet().await;
    let place = reading.place();
    bar.finish_and_clear();

    summary.unprocessed = unprocessed.count();
    summary.failures = unprocessed.by_code().clone();
    summary.stopped = stop.reason().map(|r| r.to_string());
    summary.finish(&sink.stats(), started.elapsed());
    summary.delivered_by_kind = sink.delivered_by_kind();
    report(
        common,
        &summary,
        stop.reason(),
        read_error.map(|e| (place, e)),
    )
}

/// Opens the data files of the table export at `location`, noting in `summary` what its
/// manifests say and where they disagree.
async fn open_export(
    common: &Common,
    shard: Option<Shard>,
    sdk: &aws_config::SdkConfig,
    location: &str,
    summary: &mut Summary,
) -> Result<open::Input, Error> {
    let export = export::open(common, sdk, location).await?;
    summary.export = Some(report::ExportFacts {
        items_expected: export.items_expected,
        data_files: export.sources.len() as u64,
    });
    for problem in &export.problems {
        tracing::error!(%problem, "the export's manifests disagree");
    }
    summary.problems = export.problems;
    open::pieces_input(
        common,
        shard,
        None,
        export.sources,
        std::path::Path::new(location),
    )
}

/// A run while it reads: what it feeds, where it is in the input, and what it must keep.
struct Reading<'a> {
    common: &'a Common,
    sink: &'a dyn Sink,
    stop: &'a Stop,
    counts: &'a Counts,
    summary: &'a mut Summary,
    unprocessed: &'a mut Unprocessed,
    checkpoint: Option<Checkpoint>,
    /// The names of the pieces, when they are named (S3 objects).
    names: Vec<String>,
    /// The offset progress counts from.
    base: u64,
    /// The piece being read, and the place after the last line read.
    piece: u32,
    at: Start,
}

impl Reading<'_> {
    /// Reads every line the reader sends, until its end, a stop or a read error (returned),
    /// saving the checkpoint as it goes.
    async fn read_all(
        &mut self,
        mut lines: tokio::sync::mpsc::Receiver<Event>,
    ) -> Result<Option<std::io::Error>, Error> {
        let mut tick = tokio::time::interval(self.common.checkpoint_every);
        tick.reset();
        loop {
            if self.stop.reason().is_some() {
                return Ok(None);
            }
            let event = tokio::select! {
                biased;
                () = self.stop.requested() => return Ok(None),
                _ = tick.tick(), if self.checkpoint.is_some() => {
                    self.flush_and_save().await?;
                    continue;
                }
                event = lines.recv() => event,
            };
            match event {
                Some(Event::Piece { index, start }) => {
                    self.piece = index;
                    self.at = start;
                }
                Some(Event::Line(line)) => self.line(line).await?,
                // The end of a piece: the reader goes on with the next, or closes.
                Some(Event::End(offset)) => self.at.offset = offset,
                Some(Event::Problem(problem)) => {
                    tracing::error!(%problem, "not what the manifest says");
                    self.summary.problems.push(problem);
                }
                Some(Event::Failed(e)) => return Ok(Some(e)),
                None => return Ok(None),
            }
        }
    }

    /// Submits one line, and stops the run when the destination fails every request.
    async fn line(&mut self, mut line: Line) -> Result<(), Error> {
        self.at = Start {
            line: line.number + 1,
            offset: line.end,
        };
        self.summary.read += 1;
        self.counts.read.fetch_add(1, Relaxed);
        self.counts
            .offset
            .store(line.end.saturating_sub(self.base), Relaxed);
        // The sink carries the line's tag, which names its piece too.
        line.number = output::line_tag(self.piece, line.number);
        if let Err(failed) = self.stop.guard(self.sink, submit(self.sink, line)).await {
            self.counts.refused.fetch_add(1, Relaxed);
            if failed.problem.code == INVALID_JSON || failed.problem.code == INVALID_UTF8 {
                self.summary.invalid_lines += 1;
            } else {
                self.summary.rejected += 1;
            }
            record_failures(self.unprocessed, vec![failed])?;
        }
        let failing = self.sink.stats().requests_failed_in_a_row;
        let limit = self.common.max_failed_requests;
        if limit > 0 && failing >= limit {
            tracing::error!(failing, "the destination failed every request; stopping");
            self.stop.request(Reason::DestinationFailing(failing));
        }
        Ok(())
    }

    /// Flushes, writes what failed, and brings the checkpoint to where the run is.
    async fn flush_and_save(&mut self) -> Result<(), Error> {
        let failed = self.stop.guard(self.sink, self.sink.flush()).await;
        record_failures(self.unprocessed, failed)?;
        let object = self.names.get(self.piece as usize);
        save_checkpoint(
            self.common,
            self.checkpoint.as_mut(),
            (object, self.at),
            self.unprocessed,
        )
    }

    /// Where the run is, in words: `line 12 of s3://b/k`.
    fn place(&self) -> String {
        match self.names.get(self.piece as usize) {
            Some(object) => format!("line {} of {object}", self.at.line),
            None => format!("line {}", self.at.line),
        }
    }
}

/// Prints the summary and says the exit code: a read error, a signal, a failing
/// destination, records not delivered, or success.
fn report(
    common: &Common,
    summary: &Summary,
    stopped: Option<Reason>,
    read_error: Option<(String, std::io::Error)>,
) -> Result<u8, Error> {
    if common.json {
        println!("{}", serde_json::to_string_pretty(&summary.to_json())?);
    } else {
        print!("{}", summary.table());
    }
    if let Some((place, e)) = read_error {
        eprintln!("aws-batch: reading the input stopped at {place}: {e}");
        return Ok(exit::USAGE);
    }
    Ok(match stopped {
        Some(Reason::Signal(signal)) => signal.exit_code(),
        Some(Reason::DestinationFailing(_)) => exit::DESTINATION_FAILING,
        None if summary.unprocessed > 0 || !summary.problems.is_empty() => exit::SOME_UNDELIVERED,
        None => 0,
    })
}

/// Logs where a resumed run continues.
fn log_resume(checkpoint: Option<&Checkpoint>) {
    if let Some(c) = checkpoint {
        tracing::info!(
            line = c.next_line,
            offset = c.offset,
            "resuming from the checkpoint"
        );
    }
}

/// Submits one line's record; `Err` is a record refused before sending.
async fn submit(sink: &dyn Sink, line: Line) -> Result<(), Failed> {
    let refused = |code: &str, message: String, record: Record| Failed {
        line: Some(line.number),
        record,
        problem: Box::new(Problem::refused(code, message)),
    };
    let text = match line.content {
        Content::Text(text) => text,
        Content::NotUtf8 { bytes, valid_up_to } => {
            return Err(refused(
                INVALID_UTF8,
                format!("the line is not UTF-8 (invalid byte at offset {valid_up_to} of the line)"),
                Record::Bytes(bytes),
            ));
        }
    };
    let text = match output::unwrap(&text) {
        None => text,
        Some(Ok(Unwrapped::Record(record) | Unwrapped::Text(record))) => record,
        Some(Ok(Unwrapped::Bytes(bytes))) => {
            let line = Line {
                content: Content::NotUtf8 {
                    valid_up_to: std::str::from_utf8(&bytes)
                        .err()
                        .map_or(0, |e| e.valid_up_to()),
                    bytes,
                },
                ..line
            };
            return Box::pin(submit(sink, line)).await;
        }
        Some(Err(message)) => return Err(refused(INVALID_JSON, message, Record::Text(text))),
    };
    sink.submit(line.number, text).await
}

/// Writes failures to the unprocessed file.
fn record_failures(unprocessed: &mut Unprocessed, failed: Vec<Failed>) -> Result<(), Error> {
    for item in failed {
        unprocessed
            .write(item.line, &item.problem, &item.record)
            .map_err(|e| format!("writing the unprocessed file: {e}"))?;
    }
    Ok(())
}

/// Brings the checkpoint to `at`: everything before it has been flushed and its failures
/// are on disk.
fn save_checkpoint(
    common: &Common,
    checkpoint: Option<&mut Checkpoint>,
    (object, at): (Option<&String>, Start),
    unprocessed: &mut Unprocessed,
) -> Result<(), Error> {
    let (Some(checkpoint), Some(path)) = (checkpoint, &common.checkpoint) else {
        return Ok(());
    };
    checkpoint.unprocessed_bytes = unprocessed
        .sync()
        .map_err(|e| format!("writing the unprocessed file: {e}"))?;
    checkpoint.object = object.cloned();
    checkpoint.offset = at.offset;
    checkpoint.next_line = at.line;
    checkpoint
        .save(path)
        .map_err(|e| format!("--checkpoint {}: {e}", path.display()))?;
    tracing::debug!(line = at.line, offset = at.offset, "checkpoint saved");
    Ok(())
}
