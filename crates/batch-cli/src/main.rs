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
mod output;
mod progress;
mod report;
mod s3;
mod setup;
mod shard;
mod sink;
mod sources;
mod stop;

use std::io::{BufRead, BufReader, Seek};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Instant;

use clap::Parser;

use crate::cli::{Cli, Common};
use crate::input::{Content, Event, Line, Piece, Start};
use crate::output::{Checkpoint, Problem, Record, Unprocessed, Unwrapped};
use crate::progress::Counts;
use crate::report::{Part, Share, Summary};
use crate::shard::Shard;
use crate::sink::{Failed, INVALID_JSON, INVALID_UTF8, Sink};
use crate::sources::Source;
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
    /// What to read, in order: the file, or the S3 objects.
    pieces: Vec<Piece>,
    /// The names of the pieces, when they are named (S3 objects).
    names: Vec<String>,
    /// The bytes to read, when they are known (its part's, in a sharded run).
    bytes: Option<u64>,
    /// The input's bytes read so far, when they are not the lines' offsets (compressed or
    /// S3 input).
    read: Option<Arc<std::sync::atomic::AtomicU64>>,
    /// Where the first piece starts.
    start: Start,
    /// The offset progress counts from: the part's first byte in a sharded run.
    base: u64,
    /// The part of the input read, in a sharded run.
    part: Option<Part>,
    checkpoint: Option<Checkpoint>,
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
    let local_input = match (&s3_input, &export_location) {
        (None, None) => Some(open_input(common, shard)?),
        _ => None,
    };
    let bar = progress::bar(common);
    progress::init_logging(common, &bar);
    let sdk = setup::sdk_config(common).await?;
    let mut from_export = None;
    let mut manifest_problems = Vec::new();
    let input = match (local_input, s3_input, export_location) {
        (Some(input), _, _) => input,
        (None, Some(location), _) => open_s3_input(common, shard, &sdk, &location).await?,
        (None, None, Some(location)) => {
            let export = export::open(common, &sdk, &location).await?;
            from_export = Some(report::ExportFacts {
                items_expected: export.items_expected,
                data_files: export.sources.len() as u64,
            });
            for problem in &export.problems {
                tracing::error!(%problem, "the export's manifests disagree");
            }
            manifest_problems = export.problems;
            pieces_input(
                common,
                shard,
                None,
                export.sources,
                std::path::Path::new(&location),
            )?
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
    let base = input.base;
    let counts = Arc::new(Counts::default());
    counts
        .offset
        .store(input.start.offset.saturating_sub(base), Relaxed);
    let stats_sink = Arc::clone(&sink);
    progress::follow(bar.clone(), Arc::clone(&counts), input.read, move || {
        stats_sink.stats()
    });

    let started = Instant::now();
    let mut summary = Summary::new(cli.service.destination().describe(), input.start.line);
    summary.part = input.part;
    summary.export = from_export;
    summary.problems = manifest_problems;
    let mut checkpoint = input.checkpoint;
    log_resume(checkpoint.as_ref());
    let names = input.names;
    let mut lines = input::spawn(input.pieces);
    let mut at = input.start;
    let mut piece = 0_u32;
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
                let object = names.get(piece as usize);
                save_checkpoint(common, checkpoint.as_mut(), (object, at), &mut unprocessed)?;
                continue;
            }
            event = lines.recv() => event,
        };
        match event {
            Some(Event::Piece { index, start }) => {
                piece = index;
                at = start;
            }
            Some(Event::Line(mut line)) => {
                at = Start {
                    line: line.number + 1,
                    offset: line.end,
                };
                summary.read += 1;
                counts.read.fetch_add(1, Relaxed);
                counts.offset.store(line.end.saturating_sub(base), Relaxed);
                // The sink carries the line's tag, which names its piece too.
                line.number = output::line_tag(piece, line.number);
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
            // The end of a piece: the reader goes on with the next, or closes.
            Some(Event::End(offset)) => at.offset = offset,
            Some(Event::Problem(problem)) => {
                tracing::error!(%problem, "not what the manifest says");
                summary.problems.push(problem);
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
    let object = names.get(piece as usize);
    save_checkpoint(common, checkpoint.as_mut(), (object, at), &mut unprocessed)?;
    bar.finish_and_clear();

    summary.unprocessed = unprocessed.count();
    summary.failures = unprocessed.by_code().clone();
    summary.stopped = stop.reason().map(|r| r.to_string());
    summary.finish(&sink.stats(), started.elapsed());
    summary.delivered_by_kind = sink.delivered_by_kind();
    let place = match names.get(piece as usize) {
        Some(object) => format!("line {} of {object}", at.line),
        None => format!("line {}", at.line),
    };
    report(
        common,
        &summary,
        stop.reason(),
        read_error.map(|e| (place, e)),
    )
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

/// Opens the input (the shard's part of it, in a sharded run), and the checkpoint to
/// continue from.
fn open_input(common: &Common, shard: Option<Shard>) -> Result<Input, Error> {
    let path = common.input.as_ref().filter(|p| p.as_os_str() != "-");
    let Some(path) = path else {
        if let Some(shard) = shard {
            return Err(format!(
                "--shard {shard} needs --input FILE: standard input cannot be split"
            )
            .into());
        }
        let (reader, compression) = compression::decompressed(BufReader::new(std::io::stdin()))
            .map_err(|e| format!("standard input: {e}"))?;
        log_compression(compression);
        return Ok(Input {
            pieces: vec![Piece::whole(reader, Start::BEGINNING, u64::MAX)],
            names: Vec::new(),
            bytes: None,
            read: None,
            start: Start::BEGINNING,
            base: 0,
            part: None,
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
    let part = match shard {
        None => None,
        Some(shard) => Some(find_part(&mut file, path, shard, bytes, compression)?),
    };
    let (first_byte, end_byte) = part.and_then(Part::bytes).unwrap_or((0, u64::MAX));
    let checkpoint = match &common.checkpoint {
        Some(checkpoint_path) => Some((checkpoint_path, resumable(checkpoint_path, path, part)?)),
        None => None,
    };
    let offset = checkpoint.as_ref().map_or(first_byte, |(_, c)| c.offset);
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
    let start = match &checkpoint {
        Some((_, checkpoint)) => Start {
            line: checkpoint.next_line,
            offset: checkpoint.offset,
        },
        None => Start {
            line: 1,
            offset: first_byte,
        },
    };
    Ok(Input {
        pieces: vec![Piece::whole(reader, start, end_byte)],
        names: Vec::new(),
        bytes: part.map_or(bytes, |_| Some(end_byte - first_byte)),
        read,
        start,
        base: first_byte,
        part,
        checkpoint: checkpoint.map(|(_, c)| c),
    })
}

/// The part of `file` that `shard` reads: from the first line that starts in its byte range.
fn find_part(
    file: &mut std::fs::File,
    path: &std::path::Path,
    shard: Shard,
    size: Option<u64>,
    compression: Option<compression::Compression>,
) -> Result<Part, Error> {
    let shown = path.display();
    let Some(size) = size else {
        return Err(format!("--shard {shard}: {shown} is not a regular file").into());
    };
    if let Some(compression) = compression {
        return Err(format!(
            "--shard {shard}: {shown} is {}-compressed, and a compressed file cannot be cut \
             into parts by bytes: decompress it, or split it into files",
            compression.name()
        )
        .into());
    }
    let (cut, end_byte) = shard.bounds(size);
    file.seek(std::io::SeekFrom::Start(cut.saturating_sub(1)))
        .map_err(|e| format!("--input {shown}: {e}"))?;
    let first_byte = shard::to_first_line(&mut BufReader::new(&mut *file), cut)
        .map_err(|e| format!("--input {shown}: {e}"))?;
    Ok(Part {
        shard,
        share: Share::Bytes {
            // A part no line starts in is empty.
            first_byte: first_byte.min(end_byte),
            end_byte,
        },
    })
}

/// Lists the objects of an S3 input (this shard's), and the checkpoint to continue from.
/// The objects are read on the reader thread, each opened when it comes.
async fn open_s3_input(
    common: &Common,
    shard: Option<Shard>,
    sdk: &aws_config::SdkConfig,
    location: &s3::Location,
) -> Result<Input, Error> {
    let client = s3::client(sdk, common.s3_endpoint_url.as_deref());
    let objects = s3::objects(&client, location).await?;
    let byte_part = match (shard, objects.as_slice()) {
        (Some(shard), [object]) => {
            let compression = compression::Compression::of(&object.head_bytes().await?);
            if let Some(compression) = compression {
                return Err(format!(
                    "--shard {shard}: {} is {}-compressed, and a compressed object cannot be \
                     cut into parts by bytes: give a prefix of several objects",
                    object.url(),
                    compression.name()
                )
                .into());
            }
            let (cut, end_byte) = shard.bounds(object.size);
            let first_byte = object.first_line_at(cut).await?.min(end_byte);
            Some(Part {
                shard,
                share: Share::Bytes {
                    first_byte,
                    end_byte,
                },
            })
        }
        _ => None,
    };
    let sources = objects
        .into_iter()
        .map(|object| (Source::Object(object), None))
        .collect();
    let shown = common.input.as_deref().unwrap_or(std::path::Path::new("-"));
    pieces_input(common, shard, byte_part, sources, shown)
}

/// What a piece must hold when it is read to its end: the data file of an export.
pub(crate) struct Expected {
    pub(crate) items: u64,
    /// The base64 MD5 of its bytes.
    pub(crate) md5: String,
}

/// The input made of `sources` read in turn: this shard's share of them (every N-th, or
/// `byte_part` of a single one), from the checkpoint on; each checked against what it is
/// `Expected` to hold when that is given.
fn pieces_input(
    common: &Common,
    shard: Option<Shard>,
    byte_part: Option<Part>,
    mut sources: Vec<(Source, Option<Expected>)>,
    shown: &std::path::Path,
) -> Result<Input, Error> {
    if sources.len() > output::MAX_PIECES {
        return Err(format!(
            "{}: {} pieces, more than the {} a run reads: give a longer prefix or --shard",
            shown.display(),
            sources.len(),
            output::MAX_PIECES
        )
        .into());
    }
    let part = match (shard, byte_part) {
        (_, Some(part)) => Some(part),
        (None, None) => None,
        (Some(shard), None) => {
            let listed = sources.len() as u64;
            sources = (0_u64..)
                .zip(sources)
                .filter(|(i, _)| i % shard.count == shard.index)
                .map(|(_, source)| source)
                .collect();
            Some(Part {
                shard,
                share: Share::Objects {
                    taken: sources.len() as u64,
                    listed,
                },
            })
        }
    };
    let checkpoint = match &common.checkpoint {
        Some(path) => Some(resumable(path, shown, part)?),
        None => None,
    };
    // Resuming: the pieces before the checkpoint's are done.
    let mut resume = None;
    if let Some(Checkpoint {
        object: Some(name),
        next_line,
        offset,
        ..
    }) = &checkpoint
    {
        let Some(at) = sources.iter().position(|(s, _)| &s.name() == name) else {
            return Err(format!(
                "--checkpoint: it is in {name}, which is not among the pieces of {}: not this \
                 input",
                shown.display()
            )
            .into());
        };
        sources.drain(..at);
        resume = Some(Start {
            line: *next_line,
            offset: *offset,
        });
    }
    let (first_byte, end_byte) = part.and_then(Part::bytes).unwrap_or((0, u64::MAX));
    let begin = Start {
        line: 1,
        offset: first_byte,
    };
    let read = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let runtime = tokio::runtime::Handle::current();
    let bytes = match part.and_then(Part::bytes) {
        Some((first, end)) => end - first,
        None => sources.iter().map(|(s, _)| s.size()).sum(),
    };
    let names = sources.iter().map(|(s, _)| s.name()).collect();
    let pieces = (0..)
        .zip(sources)
        .map(|(i, (source, expected))| {
            let start = if i == 0 {
                resume.unwrap_or(begin)
            } else {
                begin
            };
            let runtime = runtime.clone();
            let read = Arc::clone(&read);
            let md5 = expected.as_ref().map(|_| sources::md5_state());
            let verify = expected.map(|expected| {
                let md5 = md5.clone();
                let name = source.name();
                Box::new(move |items: u64| check_piece(&name, &expected, items, md5.as_ref()))
                    as input::Verify
            });
            Piece {
                announced: true,
                open: Box::new(move || {
                    sources::open_lines(&runtime, &source, start.offset, &read, md5)
                }),
                start,
                until: end_byte,
                verify,
            }
        })
        .collect::<Vec<_>>();
    let start = pieces.first().map_or(begin, |p| p.start);
    Ok(Input {
        pieces,
        names,
        bytes: Some(bytes),
        read: Some(read),
        start,
        base: first_byte,
        part,
        checkpoint,
    })
}

/// What is wrong with a piece read to its end, holding `items` lines, against what it is
/// expected to hold.
fn check_piece(
    name: &str,
    expected: &Expected,
    items: u64,
    md5: Option<&sources::Md5State>,
) -> Option<String> {
    let mut wrong = Vec::new();
    if items != expected.items {
        wrong.push(format!(
            "{items} items, the manifest says {}",
            expected.items
        ));
    }
    if let Some(md5) = md5.and_then(sources::md5_base64)
        && md5 != expected.md5
    {
        wrong.push(format!("MD5 {md5}, the manifest says {}", expected.md5));
    }
    (!wrong.is_empty()).then(|| format!("{name}: {}", wrong.join("; ")))
}

/// The checkpoint at `checkpoint_path` when it is one of this run's, or a new one.
fn resumable(
    checkpoint_path: &std::path::Path,
    input: &std::path::Path,
    part: Option<Part>,
) -> Result<Checkpoint, Error> {
    let shard = part.map(|p| p.shard.to_string());
    let first_byte = part.and_then(Part::bytes).map_or(0, |(first, _)| first);
    let Some(checkpoint) = Checkpoint::load(checkpoint_path)? else {
        return Ok(Checkpoint::new(input, shard, first_byte));
    };
    if checkpoint.shard != shard {
        let of = |shard: &Option<String>| {
            shard.as_ref().map_or_else(
                || "a run without --shard".to_owned(),
                |s| format!("shard {s}"),
            )
        };
        return Err(format!(
            "--checkpoint {} was saved by {}, and this is {}: give the same --shard",
            checkpoint_path.display(),
            of(&checkpoint.shard),
            of(&shard)
        )
        .into());
    }
    if let Some(part) = part
        && part.bytes().is_some()
        && checkpoint.offset < first_byte
    {
        // Past the end is done: the part's last line ends after its last byte.
        return Err(format!(
            "--checkpoint {}: byte {} is before part {} of {}, which starts at byte {}: \
             not this input",
            checkpoint_path.display(),
            checkpoint.offset,
            part.shard,
            input.display(),
            first_byte
        )
        .into());
    }
    Ok(checkpoint)
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
