//! The `aws-batch` binary interrupted as users interrupt it: SIGINT and SIGTERM mid-load,
//! a second signal, and kill -9 followed by a rerun from the checkpoint. Every line read must
//! end in the destination or in the unprocessed file, and the summary must say so.
#![allow(clippy::unwrap_used)]
// A child process runs on the wall clock: its time is measured with it.
#![allow(clippy::disallowed_methods)]

mod support;

use std::collections::BTreeSet;
use std::io::Write;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::{command, count, read_lines, signal, spawn, spawn_piped, stderr, summary, temp_dir};

const RECORDS: u64 = 50_000;

fn record(n: u64) -> String {
    json!({"id": format!("i{n}"), "n": n, "user": format!("u{}", n % 700)}).to_string()
}

fn write_input(count: u64) -> std::path::PathBuf {
    let path = temp_dir().join("in.ndjson");
    let text: String = (0..count).map(|n| record(n) + "\n").collect();
    std::fs::write(&path, text).unwrap();
    path
}

/// `n` of every record in the unprocessed file, checking each entry's line number.
fn unprocessed_numbers(path: &std::path::Path) -> Vec<u64> {
    read_lines(path)
        .iter()
        .map(|entry| {
            let n = entry["record"]["n"].as_u64().unwrap();
            assert_eq!(
                entry["line"].as_u64(),
                Some(n + 1),
                "line number of {entry}"
            );
            n
        })
        .collect()
}

/// Asserts that what was read is exactly what was delivered plus what was handed back.
fn assert_accounted(summary: &Value, delivered: &[u64], handed_back: &[u64]) {
    let read = count(summary, "records_read");
    assert_eq!(
        count(summary, "delivered") + count(summary, "unprocessed"),
        read,
        "{summary}"
    );
    assert_eq!(count(summary, "delivered"), delivered.len() as u64);
    assert_eq!(count(summary, "unprocessed"), handed_back.len() as u64);
    let delivered: BTreeSet<u64> = delivered.iter().copied().collect();
    let handed_back: BTreeSet<u64> = handed_back.iter().copied().collect();
    assert!(delivered.is_disjoint(&handed_back));
    let all: BTreeSet<u64> = delivered.union(&handed_back).copied().collect();
    assert_eq!(
        all,
        (0..read).collect(),
        "every line read, and nothing else"
    );
}

#[tokio::test]
async fn sigint_mid_load_into_kinesis_loses_nothing() {
    let client =
        aws_batch_utils::kinesis::sdk::Client::new(&test_support::sdk_config("kinesis").await);
    let stream = test_support::create_stream(&client, 2).await;
    let input = write_input(RECORDS);
    let unprocessed = input.with_file_name("failed.ndjson");
    let child = spawn(
        command(&test_support::endpoint("kinesis"))
            .args(["--max-in-flight", "1", "kinesis", "--stream", &stream])
            .args(["--partition-key-field", "user", "--input"])
            .arg(&input)
            .arg("--unprocessed")
            .arg(&unprocessed),
    );
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    signal(&child, "INT");
    let output = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
        .await
        .unwrap();
    assert_eq!(output.status.code(), Some(130), "{}", stderr(&output));
    let summary = summary(&output);
    assert_eq!(summary["stopped"], "interrupted (SIGINT)");
    let read = count(&summary, "records_read");
    assert!(
        read > 0 && read < RECORDS,
        "interrupted mid-load: {read} read"
    );
    let delivered: Vec<u64> = test_support::read_stream(&client, &stream)
        .await
        .iter()
        .map(|(_, data)| {
            serde_json::from_slice::<Value>(data).unwrap()["n"]
                .as_u64()
                .unwrap()
        })
        .collect();
    assert_accounted(&summary, &delivered, &unprocessed_numbers(&unprocessed));
    eprintln!(
        "kinesis SIGINT: read {read}, delivered {}, unprocessed {}",
        delivered.len(),
        count(&summary, "unprocessed")
    );
}

#[tokio::test]
async fn sigterm_mid_load_from_a_pipe_into_dynamodb_loses_nothing() {
    let client =
        aws_batch_utils::dynamodb::sdk::Client::new(&test_support::sdk_config("dynamodb").await);
    let table = test_support::create_table(&client, "id", None).await;
    let unprocessed = temp_dir().join("failed.ndjson");
    let mut child = spawn_piped(
        support::dynamodb(&table)
            .arg("--unprocessed")
            .arg(&unprocessed),
    );
    // The producer writes 50,000 lines and keeps the pipe open, like `tail -f`; the signal
    // comes while they are being loaded.
    let mut stdin = child.stdin.take().unwrap();
    let producer = std::thread::spawn(move || {
        for n in 0..RECORDS {
            if stdin.write_all((record(n) + "\n").as_bytes()).is_err() {
                return;
            }
        }
        let _ = stdin.flush();
        std::thread::sleep(Duration::from_secs(60));
    });
    tokio::time::sleep(Duration::from_millis(2_000)).await;
    signal(&child, "TERM");
    let started = Instant::now();
    let output = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
        .await
        .unwrap();
    drop(producer);
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "a reader blocked on the pipe does not hold the exit up"
    );
    assert_eq!(output.status.code(), Some(143), "{}", stderr(&output));
    let summary = summary(&output);
    let read = count(&summary, "records_read");
    assert!(read > 0, "{summary}");
    let delivered: Vec<u64> = test_support::scan_all(&client, &table)
        .await
        .iter()
        .map(|item| item["n"].as_n().unwrap().parse().unwrap())
        .collect();
    assert_accounted(&summary, &delivered, &unprocessed_numbers(&unprocessed));
    eprintln!(
        "dynamodb SIGTERM: read {read}, delivered {}, unprocessed {}",
        delivered.len(),
        count(&summary, "unprocessed")
    );
}

#[tokio::test]
async fn a_second_signal_hands_back_what_is_in_flight_at_once() {
    // Every answer takes a minute: the first signal's grace time would wait for it.
    let endpoint = null_endpoint::NullEndpoint::start(Duration::from_secs(60))
        .await
        .unwrap();
    let input = write_input(3_000);
    let unprocessed = input.with_file_name("failed.ndjson");
    let child = spawn(
        command(&endpoint.url())
            .args(["--grace", "60s", "kinesis", "--stream", "s", "--input"])
            .arg(&input)
            .arg("--unprocessed")
            .arg(&unprocessed),
    );
    tokio::time::sleep(Duration::from_millis(1_000)).await;
    signal(&child, "INT");
    tokio::time::sleep(Duration::from_millis(300)).await;
    let second = Instant::now();
    signal(&child, "INT");
    let output = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
        .await
        .unwrap();
    assert!(
        second.elapsed() < Duration::from_secs(5),
        "stopped {:?} after the second signal",
        second.elapsed()
    );
    assert_eq!(output.status.code(), Some(130), "{}", stderr(&output));
    let summary = summary(&output);
    let handed_back = unprocessed_numbers(&unprocessed);
    assert_accounted(&summary, &[], &handed_back);
    assert!(
        read_lines(&unprocessed)
            .iter()
            .all(|entry| entry["error"]["code"] == "Abandoned"),
        "{}",
        stderr(&output)
    );
}

#[tokio::test]
async fn kill_9_then_a_rerun_from_the_checkpoint_delivers_every_line() {
    let client =
        aws_batch_utils::dynamodb::sdk::Client::new(&test_support::sdk_config("dynamodb").await);
    let table = test_support::create_table(&client, "id", None).await;
    let input = write_input(RECORDS);
    let dir = input.parent().unwrap().to_path_buf();
    let unprocessed = dir.join("failed.ndjson");
    let checkpoint = dir.join("load.checkpoint");
    let run = || {
        let mut run = support::dynamodb(&table);
        run.args([
            "--max-in-flight",
            "2",
            "--checkpoint-every",
            "200ms",
            "--input",
        ])
        .arg(&input)
        .arg("--unprocessed")
        .arg(&unprocessed)
        .arg("--checkpoint")
        .arg(&checkpoint);
        run
    };
    let mut child = spawn(&mut run());
    let size = std::fs::metadata(&input).unwrap().len();
    let mut at = 0;
    for _ in 0..600 {
        tokio::time::sleep(Duration::from_millis(50)).await;
        at = std::fs::read_to_string(&checkpoint)
            .ok()
            .and_then(|text| serde_json::from_str::<Value>(&text).ok())
            .and_then(|c| c["offset"].as_u64())
            .unwrap_or(0);
        if at > size / 5 {
            break;
        }
    }
    child.kill().unwrap(); // SIGKILL: no flush, no summary
    let killed = child.wait().unwrap();
    assert_eq!(killed.code(), None, "killed by the signal");
    let saved: Value =
        serde_json::from_str(&std::fs::read_to_string(&checkpoint).unwrap()).unwrap();
    let resume_line = saved["next_line"].as_u64().unwrap();
    assert!(
        at > 0 && resume_line <= RECORDS,
        "killed mid-load at line {resume_line}"
    );
    let stored_at_kill = test_support::scan_all(&client, &table).await.len() as u64;
    assert!(
        stored_at_kill >= resume_line - 1,
        "everything before the checkpoint is stored: {stored_at_kill} < {}",
        resume_line - 1
    );

    let output = run().output().unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let summary = summary(&output);
    assert_eq!(summary["first_line"].as_u64(), Some(resume_line));
    assert_eq!(count(&summary, "records_read"), RECORDS - (resume_line - 1));
    let stored: BTreeSet<u64> = test_support::scan_all(&client, &table)
        .await
        .iter()
        .map(|item| item["n"].as_n().unwrap().parse().unwrap())
        .collect();
    assert_eq!(
        stored,
        (0..RECORDS).collect(),
        "every line delivered, none skipped"
    );
    assert!(read_lines(&unprocessed).is_empty());
    eprintln!(
        "kill -9: checkpoint at line {resume_line}, {stored_at_kill} stored at the kill, \
         {} sent again by the rerun (at least once)",
        stored_at_kill.saturating_sub(resume_line - 1)
    );
}

#[tokio::test]
async fn piped_lines_that_pause_are_sent_within_the_linger_time() {
    let client =
        aws_batch_utils::dynamodb::sdk::Client::new(&test_support::sdk_config("dynamodb").await);
    let table = test_support::create_table(&client, "id", None).await;
    let mut child = spawn_piped(&mut support::dynamodb(&table));
    let mut stdin = child.stdin.take().unwrap();
    for n in 0..10 {
        stdin.write_all((record(n) + "\n").as_bytes()).unwrap();
    }
    stdin.flush().unwrap();
    // The pipe stays open: only the default linger (1 s) can send a partial batch.
    let mut stored = 0;
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        stored = test_support::scan_all(&client, &table).await.len();
        if stored == 10 {
            break;
        }
    }
    assert_eq!(
        stored, 10,
        "a pause in the input does not hold records back"
    );
    drop(stdin);
    let output = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
        .await
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
}
