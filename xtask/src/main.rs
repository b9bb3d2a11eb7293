//! Project automation, run as `cargo xtask <command>`.
//!
//! - `emulator start|stop|status`: the local AWS emulators for SQS, Kinesis and DynamoDB on
//!   127.0.0.1, for running tests by hand.
//! - `test`: formatting, lints, docs and every test. The tests run inside a private network
//!   namespace (loopback only) with all the emulators, CloudWatch's LocalStack among them,
//!   started and stopped there.
//! - `ci`: what `.ci/run` runs; the same as `test`.
//! - `bench [--quick]`: the benchmarks against the peers (release build), writing
//!   BENCHMARKS.md, `docs/bench/results.json` and `docs/bench/throughput.svg`; `--quick` is
//!   a smoke run of seconds (debug build) into `target/bench-quick/`.
//! - `soak`: the long soak, 100,000 records per service through the null endpoint's faults
//!   (the tests run 5,000), then the capacity soak with 20 s of quota per service (the tests
//!   run 3 s), the fleet soak, and the Lambda function through 1,000 invocations (the tests
//!   run 250).
#![allow(clippy::print_stdout, clippy::disallowed_methods)] // a tool: wall-clock time and blocking sleeps are right here

mod emulator;
mod python;

use emulator::Set;

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::Instant;

type Result<T, E = Box<dyn std::error::Error>> = std::result::Result<T, E>;

const USAGE: &str = "usage: cargo xtask <command>

commands:
  demo                    start the emulators and load 10,000 sample records into each service
  test                    fmt check, clippy -D warnings, every test against the emulators, docs
  ci                      what .ci/run runs (the same as test)
  bench [--quick]         benchmarks against the SDK and boto3 peers; writes BENCHMARKS.md
  soak                    100,000 records per service against injected faults, then 20 s
                          of quota per service, 10 writers on one quota, and 1,000 Lambda
                          invocations; nothing may be lost
  emulator start|stop|status
                          the local AWS emulators (moto, dynalite) on 127.0.0.1";

/// The environment variable that names the endpoints file tests read.
const EMULATOR_FILE_VAR: &str = "AWS_BATCH_EMULATOR_FILE";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let result = match args.as_slice() {
        ["test"] | ["ci"] => test(),
        ["demo"] => demo(),
        ["soak"] => soak(),
        ["bench"] => bench(false),
        ["bench", "--quick"] => bench(true),
        // Internal: the part of `demo` that runs inside the private network namespace.
        ["demo-with-emulators"] => demo_with_emulators(),
        // Internal: the part of `test` that runs inside the private network namespace.
        ["test-with-emulators"] => test_with_emulators(),
        ["emulator", "start"] => emulator::start(Set::Host).map(drop),
        ["emulator", "stop"] => emulator::stop(Set::Host),
        ["emulator", "status"] => emulator::status(),
        ["emulator", "install"] => emulator::install(Set::All),
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

/// The services of the facade's `full` feature, as the root manifest lists them.
fn full_features() -> Result<Vec<String>> {
    let manifest = std::fs::read_to_string(workspace_root().join("Cargo.toml"))?;
    let list = manifest
        .lines()
        .find_map(|line| line.trim().strip_prefix("full = ["))
        .and_then(|rest| rest.strip_suffix(']'))
        .ok_or("the root Cargo.toml has no one-line `full = [...]` feature")?;
    Ok(list
        .split(',')
        .map(|name| name.trim().trim_matches('"').to_owned())
        .filter(|name| !name.is_empty())
        .collect())
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
    // The facade alone, and with each service of its `full` feature, and Lambda.
    let mut facades = vec![String::new()];
    facades.extend(full_features()?);
    facades.push("lambda".into());
    for features in &facades {
        step(
            &format!("facade with features [{features}]"),
            &mut cargo(&[
                "check",
                "--package",
                "aws-batch-utils",
                "--no-default-features",
                "--features",
                features.as_str(),
            ]),
        )?;
    }
    step(
        "doctests",
        &mut cargo(&["test", "--workspace", "--all-features", "--doc"]),
    )?;
    for (name, features) in [("doc", "--all-features"), ("doc, default features", "")] {
        let mut doc = cargo(&["doc", "--workspace", "--no-deps"]);
        if !features.is_empty() {
            doc.arg(features);
        }
        doc.env("RUSTDOCFLAGS", "-D warnings");
        step(name, &mut doc)?;
    }
    // Everything that needs the network happens out here: installs and the test build.
    emulator::install(Set::All)?;
    python::install_package(false)?;
    step("build tests", &mut test_command(true))?;
    in_private_network(&["test-with-emulators"])?;
    bench(true)?;
    eprintln!(
        "xtask: all checks passed in {:.0}s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// The test runner's command (nextest when installed), or only its build.
fn test_command(build_only: bool) -> Command {
    let nextest = Command::new("cargo-nextest")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    let mut command = if nextest {
        cargo(&["nextest", "run", "--workspace", "--all-features"])
    } else {
        cargo(&["test", "--workspace", "--all-features", "--lib", "--tests"])
    };
    command.arg(if build_only {
        "--no-run"
    } else {
        "--no-fail-fast"
    });
    command
}

/// Runs this program again with `args` in a new network namespace that has only a loopback
/// device, so that no emulator can listen beyond this machine and none is reachable from
/// outside it.
fn in_private_network(args: &[&str]) -> Result<()> {
    let exe = std::env::current_exe()?;
    run(Command::new("unshare")
        .args([
            "--net",
            "--",
            "sh",
            "-c",
            "ip link set lo up && exec \"$0\" \"$@\"",
        ])
        .arg(exe)
        .args(args))
    .map_err(|e| {
        format!("{e}\n(the tests run in a private network namespace: that needs unshare and root)")
            .into()
    })
}

/// Inside the private network namespace: all emulators up, every test, emulators down.
fn test_with_emulators() -> Result<()> {
    start_or_clean_up()?;
    let mut tests = test_command(false);
    tests
        .env(EMULATOR_FILE_VAR, emulator::endpoints_file(Set::All))
        .env("CARGO_NET_OFFLINE", "true");
    let rust = step("tests", &mut tests);
    let python = step(
        "Python package tests",
        &mut python::pytest(&emulator::endpoints_file(Set::All)),
    );
    emulator::stop(Set::All)?;
    rust.and(python)
}

/// The benchmarks: a release build and the full run, or a debug build and a smoke run.
fn bench(quick: bool) -> Result<()> {
    // The Python package's runs use the wheel this installs (a release build for figures).
    let python = python::install_package(!quick)?;
    let profile = if quick { "debug" } else { "release" };
    // The bulk-load runs start the `aws-batch` binary built beside the benchmarks.
    let mut build = cargo(&[
        "build",
        "--package",
        "batch-bench",
        "--package",
        "batch-cli",
    ]);
    if !quick {
        build.arg("--release");
    }
    step(&format!("build the benchmarks ({profile})"), &mut build)?;
    let root = workspace_root();
    let out = if quick {
        root.join("target/bench-quick")
    } else {
        root.clone()
    };
    let mut bench = Command::new(root.join("target").join(profile).join("batch-bench"));
    bench.arg("--out").arg(&out).arg("--python").arg(python);
    if quick {
        bench.arg("--quick");
    }
    step(
        if quick {
            "benchmark smoke run"
        } else {
            "benchmarks"
        },
        &mut bench,
    )
}

/// The soak tests with 100,000 records per service, one service at a time, printing what
/// each saw (faults, retries, duplicates, nothing lost); then the capacity soak with 20
/// seconds of quota per service, the fleet soak (10 writers on one quota), and the Lambda
/// function through 1,000 invocations.
fn soak() -> Result<()> {
    let runs = [
        (
            "soak, 100,000 records per service",
            "null-endpoint",
            "soak",
            ("AWS_BATCH_SOAK_RECORDS", "100000"),
        ),
        (
            "capacity soak, 20 seconds of quota per service",
            "null-endpoint",
            "capacity",
            ("AWS_BATCH_CAPACITY_SECONDS", "20"),
        ),
        (
            "fleet soak, 10 writers on one quota, 20 seconds of quota",
            "null-endpoint",
            "fleet",
            ("AWS_BATCH_FLEET_SECONDS", "20"),
        ),
        (
            "Lambda soak, 1,000 invocations through freezes and SIGTERMs",
            "batch-lambda",
            "lifecycle",
            ("AWS_BATCH_LAMBDA_INVOCATIONS", "1000"),
        ),
    ];
    for (name, package, test, (variable, value)) in runs {
        let mut run = cargo(&[
            "test",
            "--package",
            package,
            "--all-features",
            "--test",
            test,
            "--",
            "--nocapture",
            "--test-threads",
            "1",
        ]);
        run.env(variable, value);
        step(name, &mut run)?;
    }
    Ok(())
}

/// Builds the CLI and the demo, then runs the demo with every emulator in a private network.
fn demo() -> Result<()> {
    emulator::install(Set::All)?;
    step(
        "build the CLI and the demo",
        &mut cargo(&[
            "build",
            "--package",
            "batch-cli",
            "--bin",
            "aws-batch",
            "--example",
            "demo",
        ]),
    )?;
    in_private_network(&["demo-with-emulators"])
}

/// Inside the private network namespace: emulators up, the demo, emulators down.
fn demo_with_emulators() -> Result<()> {
    start_or_clean_up()?;
    let demo = workspace_root().join("target/debug/examples/demo");
    let result = run(Command::new(demo).env(EMULATOR_FILE_VAR, emulator::endpoints_file(Set::All)));
    emulator::stop(Set::All)?;
    result
}

/// Starts every emulator; if one fails to come up, stops those that did.
fn start_or_clean_up() -> Result<()> {
    if let Err(err) = emulator::start(Set::All) {
        emulator::stop(Set::All)?;
        return Err(err);
    }
    Ok(())
}
