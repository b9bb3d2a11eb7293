//! `aws-batch`: bulk-load NDJSON into SQS, Kinesis, DynamoDB or CloudWatch with batched
//! writes, and report what was delivered, what was not, and why.
// A command-line tool: it prints, and measures wall-clock time.
#![allow(clippy::print_stdout, clippy::disallowed_methods)]

mod cli;
mod report;
mod sink;

use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use aws_config::{BehaviorVersion, Region};
use clap::Parser;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::{Value, json};

use crate::cli::Cli;
use crate::report::Summary;
use crate::sink::Sink;

type Error = Box<dyn std::error::Error>;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli).await {
        Ok(summary) if summary.unprocessed == 0 => ExitCode::SUCCESS,
        Ok(_) => ExitCode::from(1),
        Err(err) => {
            eprintln!("aws-batch: {err}");
            ExitCode::from(2)
        }
    }
}

async fn run(cli: Cli) -> Result<Summary, Error> {
    let common = &cli.common;
    let mut loader = aws_config::defaults(BehaviorVersion::latest());
    if let Some(region) = &common.region {
        loader = loader.region(Region::new(region.clone()));
    }
    if let Some(profile) = &common.profile {
        loader = loader.profile_name(profile);
    }
    if let Some(endpoint) = &common.endpoint_url {
        loader = loader.endpoint_url(endpoint);
    }
    let sdk = loader.load().await;
    let sink = Sink::new(&cli.service, common, &sdk)?;

    let input: Box<dyn BufRead> = match &common.input {
        Some(path) if path.as_os_str() != "-" => Box::new(BufReader::new(
            File::open(path).map_err(|e| format!("{}: {e}", path.display()))?,
        )),
        _ => Box::new(std::io::stdin().lock()),
    };
    let mut unprocessed_file = match &common.unprocessed {
        Some(path) => Some(BufWriter::new(
            File::create(path).map_err(|e| format!("{}: {e}", path.display()))?,
        )),
        None => None,
    };
    let mut write_unprocessed = |line: Value| -> Result<(), Error> {
        if let Some(file) = unprocessed_file.as_mut() {
            serde_json::to_writer(&mut *file, &line)?;
            file.write_all(b"\n")?;
        }
        Ok(())
    };

    let progress = if common.quiet {
        ProgressBar::hidden()
    } else {
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
        bar.set_style(ProgressStyle::with_template(
            "{spinner} {human_pos} records  {per_sec}  {elapsed}",
        )?);
        bar.enable_steady_tick(Duration::from_millis(200));
        bar
    };

    let started = Instant::now();
    let mut summary = Summary::new(cli.service.describe());
    for (index, line) in input.lines().enumerate() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        let number = index + 1;
        summary.read += 1;
        progress.inc(1);
        let record: Value = match serde_json::from_str(&line) {
            Ok(record) => record,
            Err(err) => {
                summary.unprocessed += 1;
                summary.invalid_lines += 1;
                write_unprocessed(json!({
                    "line": number,
                    "input": line,
                    "error": {"code": "InvalidJson", "message": err.to_string()},
                }))?;
                continue;
            }
        };
        if let Err(message) = sink.submit(record).await {
            summary.unprocessed += 1;
            summary.rejected += 1;
            write_unprocessed(json!({
                "line": number,
                "input": line,
                "error": {"code": "InvalidRecord", "message": message},
            }))?;
        }
    }
    progress.set_message("flushing");
    let failed = sink.flush().await;
    progress.finish_and_clear();
    for item in &failed {
        write_unprocessed(json!({"record": item.record, "error": item.error}))?;
    }
    summary.unprocessed += failed.len() as u64;
    summary.finish(&sink.stats(), started.elapsed());
    if let Some(mut file) = unprocessed_file {
        file.flush()?;
    }
    if common.json {
        println!("{}", serde_json::to_string_pretty(&summary.to_json())?);
    } else {
        print!("{}", summary.table());
    }
    Ok(summary)
}
