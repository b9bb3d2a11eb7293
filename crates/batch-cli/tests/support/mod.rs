//! What the end-to-end tests of the `aws-batch` binary share: files, runs, summaries.
#![allow(dead_code, clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

use serde_json::Value;

/// The binary under test.
pub(crate) fn binary() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_aws-batch"))
}

/// A new directory for one test's files.
pub(crate) fn temp_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(test_support::unique_name("aws-batch-cli"));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Writes `lines`, each ended by a newline, to a new file called `name`.
pub(crate) fn temp_file(name: &str, lines: &[String]) -> PathBuf {
    let path = temp_dir().join(name);
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    path
}

/// `aws-batch` pointed at `endpoint`, with test credentials and no `RUST_LOG` of the caller.
pub(crate) fn command(endpoint: &str) -> Command {
    let mut command = test_support::aws_batch_at(binary(), endpoint);
    command.env_remove("RUST_LOG");
    command
}

/// `aws-batch dynamodb` into `table` (partition key `id`) on the emulator.
pub(crate) fn dynamodb(table: &str) -> Command {
    let mut command = command(&test_support::endpoint("dynamodb"));
    command.args(["dynamodb", "--table", table, "--partition-key", "id"]);
    command
}

/// Starts `command` reading from a pipe the caller writes to.
pub(crate) fn spawn_piped(command: &mut Command) -> Child {
    command.stdin(Stdio::piped());
    spawn(command)
}

/// Runs `aws-batch <args> --input <input> --unprocessed <unprocessed>` against the emulator
/// of `service`.
pub(crate) fn aws_batch(service: &str, args: &[&str], input: &Path, unprocessed: &Path) -> Output {
    test_support::aws_batch(binary(), service)
        .args(args)
        .arg("--input")
        .arg(input)
        .arg("--unprocessed")
        .arg(unprocessed)
        .output()
        .unwrap()
}

/// Starts `command` with its output captured.
pub(crate) fn spawn(command: &mut Command) -> Child {
    command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Sends `signal` (`INT`, `TERM`) to a running child, as a shell's `kill` would.
pub(crate) fn signal(child: &Child, signal: &str) {
    let status = Command::new("kill")
        .arg(format!("-{signal}"))
        .arg(child.id().to_string())
        .status()
        .unwrap();
    assert!(status.success(), "kill -{signal} failed");
}

/// The `--json` summary of a run.
pub(crate) fn summary(output: &Output) -> Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "--json output does not parse ({e}): {}\nstderr: {}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
    })
}

/// The `--json` summary of a run that exited 0 (else a panic with what it printed).
pub(crate) fn summary_of_success(output: &Output) -> Value {
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    summary(output)
}

/// The lines of an NDJSON file, parsed.
pub(crate) fn read_lines(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

/// The summary field `name` as a number.
pub(crate) fn count(summary: &Value, name: &str) -> u64 {
    summary[name]
        .as_u64()
        .unwrap_or_else(|| panic!("no {name} in {summary}"))
}

/// The standard error of a run, for assertion messages.
pub(crate) fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}
