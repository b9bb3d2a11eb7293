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

#[tokio::test]
async fn under_a_one_shard_quota_every_record_is_delivered_at_the_shards_pace() {
    // One shard takes 1,000 records a second (and a second's burst): 5,000 records offered
    // at once must all get through, paced, with few refused.
    let capacity = null_endpoint::Capacity::default().kinesis_shards(1);
    let endpoint = NullEndpoint::start_with_capacity(Duration::from_millis(5), capacity, None)
        .await
        .unwrap();
    let lines: Vec<String> = (0..5_000)
        .map(|n| json!({"user": n % 50, "n": n}).to_string())
        .collect();
    let input = temp_file("quota.ndjson", &lines);
    let url = endpoint.url();
    let output = tokio::task::spawn_blocking(move || {
        Command::new(support::binary())
            .args(["--region", "us-east-1", "--endpoint-url", &url, "kinesis"])
            .args(["--stream", "s", "--partition-key-field", "user", "--json"])
            .arg("--input")
            .arg(&input)
            .env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let summary = support::summary_of_success(&output);
    assert_eq!(summary["delivered"], 5_000, "{summary}");
    assert_eq!(summary["unprocessed"], 0, "{summary}");
    // The shard's pace was the limit: 1,000 records a second after its one-second burst.
    let rate = summary["records_per_second"].as_f64().unwrap();
    assert!(rate < 1_300.0, "faster than the quota: {summary}");
    let throttled = summary["throttled"].as_u64().unwrap();
    assert_eq!(throttled, endpoint.refused_for_capacity());
    // Pacing keeps refusals to a share of what was delivered (without it: several times).
    assert!(throttled < 2_500, "{throttled} refused: {summary}");
    let paced = summary["paced_records_per_second"].as_u64().unwrap();
    assert!((500..=1_500).contains(&paced), "paced to {paced}/s");
    // Most of the run went waiting for the shard's pace, and never more than the run.
    let waited = summary["waited_for_pace_seconds"].as_f64().unwrap();
    let elapsed = summary["elapsed_seconds"].as_f64().unwrap();
    assert!(
        waited > 0.5 * elapsed && waited <= elapsed,
        "{waited} s of {elapsed} s: {summary}"
    );
}
