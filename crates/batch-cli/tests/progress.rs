//! The progress line as a user sees it on a terminal (`script` gives the command one): the
//! share of the file read, an ETA, what was read and delivered, failures, whole records per
//! second, and "flushing" once reading is over.
#![allow(clippy::unwrap_used)]

mod support;

use std::process::Command;
use std::time::Duration;

use null_endpoint::NullEndpoint;
use serde_json::json;
use support::temp_file;

#[tokio::test]
async fn a_terminal_sees_progress_by_bytes_with_an_eta_then_flushing() {
    // Every answer takes 300 ms, so the run lasts seconds and the flush is seen.
    let endpoint = NullEndpoint::start(Duration::from_millis(300))
        .await
        .unwrap();
    let lines: Vec<String> = (0..20_000).map(|n| json!({"n": n}).to_string()).collect();
    let input = temp_file("in.ndjson", &lines);
    let command = format!(
        "{} --region us-east-1 --endpoint-url {} kinesis --stream s --input {}",
        support::binary().display(),
        endpoint.url(),
        input.display()
    );
    let output = tokio::task::spawn_blocking(move || {
        Command::new("script")
            .args(["-qec", &command, "/dev/null"])
            .env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("COLUMNS", "200")
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let screen = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{screen}");
    let progress: Vec<&str> = screen
        .split(['\r', '\n'])
        .filter(|line| line.contains("records/s") && line.contains("delivered"))
        .collect();
    assert!(!progress.is_empty(), "no progress line: {screen}");
    let reading = progress
        .iter()
        .find(|line| line.contains('%') && line.contains("eta"))
        .unwrap_or_else(|| panic!("no share or ETA: {progress:?}"));
    assert!(
        reading.contains("read ") && reading.contains("failed 0"),
        "{reading}"
    );
    assert!(
        progress.iter().any(|line| line.contains("flushing")),
        "never showed flushing: {progress:?}"
    );
    // Whole records per second: no decimals.
    let rate = reading
        .split("records/s")
        .next()
        .and_then(|before| before.split_whitespace().last())
        .unwrap();
    assert!(rate.parse::<u64>().is_ok(), "rate {rate} in {reading}");
    // The summary follows the cleared bar.
    assert!(
        screen.contains("records read") && screen.contains("20000"),
        "{screen}"
    );
}
