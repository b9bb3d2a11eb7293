//! Project automation, run as `cargo xtask <command>`.
//!
//! - `emulator start|stop|status`: the local AWS emulators on 127.0.0.1.
//! - `test`: formatting, lints, every test (with the emulators, started and stopped here), docs.
//! - `ci`: what `.ci/run` runs; the same as `test`.
#![allow(clippy::print_stdout, clippy::disallowed_methods)] // a tool: wall-clock time and blocking sleeps are right here

mod emulator;

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::Instant;

type Result<T, E = Box<dyn std::error::Error>> = std::result::Result<T, E>;

const USAGE: &str = "usage: cargo xtask <command>

commands:
  test                    fmt check, clippy -D warnings, every test against the emulators, docs
  ci                      what .ci/run runs (the same as test)
  emulator start|stop|status
                          the local AWS emulators (moto, dynalite) on 127.0.0.1";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let result = match args.as_slice() {
        ["test"] | ["ci"] => test(),
        ["emulator", "start"] => emulator::start().map(drop),
        ["emulator", "stop"] => emulator::stop(),
        ["emulator", "status"] => emulator::status(),
        ["emulator", "install"] => emulator::install(),
        _ => {
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("xtask: error: {err}");
            ExitCode::FAILURE
        }
    }
}

/// The workspace root (the parent of `xtask/`).
pub(crate) fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}

/// Runs a command to completion; a non-zero exit is an error naming the command.
pub(crate) fn run(command: &mut Command) -> Result<()> {
    let shown = format!("{command:?}");
    let status = command.status().map_err(|e| format!("{shown}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{shown} failed with {status}").into())
    }
}

fn cargo(args: &[&str]) -> Command {
    let mut command = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    command.args(args).current_dir(workspace_root());
    command
}

fn step(name: &str, command: &mut Command) -> Result<()> {
    let started = Instant::now();
    eprintln!("xtask: == {name}");
    run(command)?;
    eprintln!(
        "xtask: == {name}: ok in {:.1}s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

fn test() -> Result<()> {
    let started = Instant::now();
    step("fmt", &mut cargo(&["fmt", "--all", "--", "--check"]))?;
    step(
        "clippy",
        &mut cargo(&[
            "clippy",
            "--workspace",
            "--all-targets",
            "--all-features",
            "--",
            "-D",
            "warnings",
        ]),
    )?;
    for features in ["", "sqs", "kinesis", "dynamodb"] {
        step(
            &format!("facade with features [{features}]"),
            &mut cargo(&[
                "check",
                "--package",
                "aws-batch-utils",
                "--no-default-features",
                "--features",
                features,
            ]),
        )?;
    }
    let started_emulators = emulator::start()?;
    let tests = run_tests();
    if started_emulators {
        emulator::stop()?;
    }
    tests?;
    let mut doc = cargo(&["doc", "--workspace", "--all-features", "--no-deps"]);
    doc.env("RUSTDOCFLAGS", "-D warnings");
    step("doc", &mut doc)?;
    eprintln!(
        "xtask: all checks passed in {:.0}s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

fn run_tests() -> Result<()> {
    // Doctests first, so the test runner's summary is the last one printed.
    step(
        "doctests",
        &mut cargo(&["test", "--workspace", "--all-features", "--doc"]),
    )?;
    let nextest = Command::new("cargo-nextest")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    let mut tests = if nextest {
        cargo(&[
            "nextest",
            "run",
            "--workspace",
            "--all-features",
            "--no-fail-fast",
        ])
    } else {
        cargo(&[
            "test",
            "--workspace",
            "--all-features",
            "--lib",
            "--tests",
            "--no-fail-fast",
        ])
    };
    step("tests", &mut tests)
}
