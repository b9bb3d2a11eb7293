//! `aws-batch`: bulk-load NDJSON into SQS, Kinesis, DynamoDB or CloudWatch with batched
//! writes, and report what was delivered, what was not, and why.
//!
//! Every line read ends delivered or in the unprocessed file (and the summary), also when the
//! run is interrupted: see `aws-batch --help`.
// A command-line tool: it prints, and measures wall-clock time.
#![allow(clippy::print_stdout, clippy::print_stderr, clippy::disallowed_methods)]

mod cli;
mod compression;
mod input;
mod output;
mod progress;
mod report;
mod setup;
mod sink;
mod stop;

use std::io::{BufRead, BufReader, Seek};
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

/// The input, where to start in it, and the checkpoint to keep.
struct Input {
    reader: Box<dyn BufRead + Send>,
    /// Its size, when it is a file.
    bytes: Option<u64>,
    /// The file's bytes read so far, when they are not the lines' (compressed input).
    read: Option<Arc<std::sync::atomic::AtomicU64>>,
    start: Start,
    checkpoint: Option<Checkpoint>,
}

async fn run(cli: Cli) -> Result<u8, Error> {
    let common = &cli.common;
    setup::check_paths(common)?;
    let input = open_input(common)?;
    let bar = progress::bar(common, input.bytes);
    progress::init_logging(common, &bar);
    let sdk = setup::sdk_config(common).await?;
    let sink: Arc<dyn Sink> = Arc::from(sink::open(&cli.service, common, &sdk)?);
    let resume_at = input.checkpoint.as_ref().map(|c| c.unprocessed_bytes);
    let mut unprocessed = Unprocessed::open(common.unprocessed.as_deref(), resume_at)?;
    let stop = Stop::listen(common.grace)?;

    let counts = Arc::new(Counts::default());
    counts.offset.store(input.start.offset, Relaxed);
    let stats_sink = Arc::clone(&sink);
    progress::follow(bar.clone(), Arc::clone(&counts), input.read, move || {
        stats_sink.stats()
    });

    let started = Instant::now();
    let mut summary = Summary::new(cli.service.destination().describe(), input.start.line);
    let mut checkpoint = input.checkpoint;
    log_resume(checkpoint.as_ref());
    let mut lines = input::spawn(input.reader, input.start);
    let mut at = input.start;
    let mut tick = tokio::time::interval(common.checkpoint_every);
    tick.reset();
    let mut read_error = None;
    loop {
        if stop.reason().is_some() {
            break;
        }
        let event = tokio::select! {
            biased;
            () = stop.requested() => break,
            _ = tick.tick(), if checkpoint.is_some() => {
                let failed = stop.guard(&*sink, sink.flush()).await;
                record_failures(&mut unprocessed, failed)?;
                save_checkpoint(common, checkpoint.as_mut(), at, &mut unprocessed)?;
                continue;
            }
            event = lines.recv() => event,
        };
        match event {
            Some(Event::Line(line)) => {
                at = Start {
                    line: line.number + 1,
                    offset: line.end,
                };
                summary.read += 1;
                counts.read.fetch_add(1, Relaxed);
                counts.offset.store(line.end, Relaxed);
                if let Err(failed) = stop.guard(&*sink, submit(&*sink, line)).await {
                    counts.refused.fetch_add(1, Relaxed);
                    if failed.problem.code == INVALID_JSON || failed.problem.code == INVALID_UTF8 {
                        summary.invalid_lines += 1;
                    } else {
                        summary.rejected += 1;
                    }
                    record_failures(&mut unprocessed, vec![failed])?;
                }
                let failing = sink.stats().requests_failed_in_a_row;
                if common.max_failed_requests > 0 && failing >= common.max_failed_requests {
                    tracing::error!(failing, "the destination failed every request; stopping");
                    stop.request(Reason::DestinationFailing(failing));
                }
            }
            Some(Event::End(offset)) => {
                at.offset = offset;
                break;
            }
            Some(Event::Failed(e)) => {
                read_error = Some(e);
                break;
            }
            None => break,
        }
    }
    drop(lines);

    counts.flushing.store(true, Relaxed);
    let failed = stop.guard(&*sink, sink.flush()).await;
    record_failures(&mut unprocessed, failed)?;
    save_checkpoint(common, checkpoint.as_mut(), at, &mut unprocessed)?;
    bar.finish_and_clear();

    summary.unprocessed = unprocessed.count();
    summary.failures = unprocessed.by_code().clone();
    summary.stopped = stop.reason().map(|r| r.to_string());
    summary.finish(&sink.stats(), started.elapsed());
    report(
        common,
        &summary,
        stop.reason(),
        read_error.map(|e| (at.line, e)),
    )
}

/// Prints the summary and says the exit code: a read error, a signal, a failing
/// destination, records not delivered, or success.
fn report(
    common: &Common,
    summary: &Summary,
    stopped: Option<Reason>,
    read_error: Option<(u64, std::io::Error)>,
) -> Result<u8, Error> {
    if common.json {
        println!("{}", serde_json::to_string_pretty(&summary.to_json())?);
    } else {
        print!("{}", summary.table());
    }
    if let Some((line, e)) = read_error {
        eprintln!("aws-batch: reading the input stopped at line {line}: {e}");
        return Ok(exit::USAGE);
    }
    Ok(match stopped {
        Some(Reason::Signal(signal)) => signal.exit_code(),
        Some(Reason::DestinationFailing(_)) => exit::DESTINATION_FAILING,
        None if summary.unprocessed > 0 => exit::SOME_UNDELIVERED,
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

/// Opens the input, and the checkpoint to continue from.
fn open_input(common: &Common) -> Result<Input, Error> {
    let path = common.input.as_ref().filter(|p| p.as_os_str() != "-");
    let Some(path) = path else {
        let (reader, compression) = compression::decompressed(BufReader::new(std::io::stdin()))
            .map_err(|e| format!("standard input: {e}"))?;
        log_compression(compression);
        return Ok(Input {
            reader,
            bytes: None,
            read: None,
            start: Start::BEGINNING,
            checkpoint: None,
        });
    };
    let shown = path.display();
    let mut file = std::fs::File::open(path).map_err(|e| format!("--input {shown}: {e}"))?;
    let bytes = file
        .metadata()
        .ok()
        .filter(|m| m.is_file())
        .map(|m| m.len());
    let compression = if bytes.is_some() {
        compression::sniff(&mut file).map_err(|e| format!("--input {shown}: {e}"))?
    } else {
        None
    };
    log_compression(compression);
    let checkpoint = match &common.checkpoint {
        Some(checkpoint_path) => Some((
            checkpoint_path,
            Checkpoint::load(checkpoint_path)?.unwrap_or_else(|| Checkpoint::new(path)),
        )),
        None => None,
    };
    let offset = checkpoint.as_ref().map_or(0, |(_, c)| c.offset);
    let (mut reader, read): (Box<dyn BufRead + Send>, _) = match compression {
        None => {
            if let (Some(size), Some((checkpoint_path, _))) = (bytes, &checkpoint)
                && offset > size
            {
                return Err(format!(
                    "--checkpoint {}: it is at byte {offset} of {shown}, which has {size}: not \
                     this input",
                    checkpoint_path.display()
                )
                .into());
            }
            file.seek(std::io::SeekFrom::Start(offset))
                .map_err(|e| format!("--input {shown}: {e}"))?;
            let reader = Box::new(BufReader::with_capacity(1 << 16, file));
            (reader, None)
        }
        Some(compression) => {
            // Progress follows the compressed bytes, which the file's size counts.
            let (counted, read) = compression::Counting::new(file);
            let reader = BufReader::with_capacity(1 << 16, counted);
            let reader = compression::decoder(compression, reader)
                .map_err(|e| format!("--input {shown}: {e}"))?;
            (reader, Some(read))
        }
    };
    if read.is_some() && offset > 0 {
        // A compressed stream cannot be sought: read up to the checkpoint's place.
        let reached =
            compression::skip(&mut reader, offset).map_err(|e| format!("--input {shown}: {e}"))?;
        if !reached {
            let checkpoint_path = checkpoint.as_ref().map(|(p, _)| p.display());
            return Err(format!(
                "--checkpoint {}: it is at byte {offset} of what {shown} holds, which ends \
                 before: not this input",
                checkpoint_path.map(|p| p.to_string()).unwrap_or_default()
            )
            .into());
        }
    }
    let (start, checkpoint) = match checkpoint {
        Some((_, checkpoint)) => (
            Start {
                line: checkpoint.next_line,
                offset: checkpoint.offset,
            },
            Some(checkpoint),
        ),
        None => (Start::BEGINNING, None),
    };
    Ok(Input {
        reader,
        bytes,
        read,
        start,
        checkpoint,
    })
}

fn log_compression(compression: Option<compression::Compression>) {
    if let Some(compression) = compression {
        tracing::info!(compression = compression.name(), "the input is compressed");
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
    at: Start,
    unprocessed: &mut Unprocessed,
) -> Result<(), Error> {
    let (Some(checkpoint), Some(path)) = (checkpoint, &common.checkpoint) else {
        return Ok(());
    };
    checkpoint.unprocessed_bytes = unprocessed
        .sync()
        .map_err(|e| format!("writing the unprocessed file: {e}"))?;
    checkpoint.offset = at.offset;
    checkpoint.next_line = at.line;
    checkpoint
        .save(path)
        .map_err(|e| format!("--checkpoint {}: {e}", path.display()))?;
    tracing::debug!(line = at.line, offset = at.offset, "checkpoint saved");
    Ok(())
}
