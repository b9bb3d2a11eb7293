//! Sharded runs of the `aws-batch` binary: N processes, each given its part of one file, read
//! every line exactly once between them; a shard resumes from its own checkpoint only; the
//! files a run writes are its owner's alone.
#![allow(clippy::unwrap_used)]

mod support;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use serde_json::{Value, json};
use support::{command, count, read_lines, spawn, stderr, summary, temp_dir};

const LINES: u64 = 3_000;
/// The one line that is not JSON, so that exactly one shard hands it back.
const NOT_JSON: u64 = 1_234;

/// Lines of very different lengths (so the byte cuts fall inside lines), a blank line now
/// and then, and one line that is not JSON. Returns the file and the `n` of every record.
fn write_input() -> (PathBuf, Vec<u64>) {
    let path = temp_dir().join("in.ndjson");
    let mut text = String::new();
    let mut records = Vec::new();
    for n in 0..LINES {
        if n == NOT_JSON {
            text.push_str("not json\n");
            continue;
        }
        let pad = "x".repeat(usize::try_from(n * 7_919 % 600).unwrap());
        text.push_str(&json!({"id": format!("i{n}"), "n": n, "pad": pad}).to_string());
        text.push('\n');
        if n % 101 == 0 {
            text.push_str("\n  \n");
        }
        records.push(n);
    }
    std::fs::write(&path, text).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    (path, records)
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[tokio::test]
async fn four_shards_as_four_processes_read_every_line_once() {
    let client =
        aws_batch_utils::dynamodb::sdk::Client::new(&test_support::sdk_config("dynamodb").await);
    let table = test_support::create_table(&client, "id", None).await;
    let (input, records) = write_input();
    let dir = input.parent().unwrap().to_path_buf();
    let children: Vec<_> = (0..4)
        .map(|index| {
            let mut run = support::dynamodb(&table);
            if index == 3 {
                // An array job's copy finds its index in the environment.
                run.args(["--shard", "auto/4"])
                    .env("AWS_BATCH_JOB_ARRAY_INDEX", "3");
            } else {
                run.arg("--shard").arg(format!("{index}/4"));
            }
            run.arg("--input").arg(&input).arg("--unprocessed");
            run.arg(dir.join(format!("failed-{index}.ndjson")));
            spawn(&mut run)
        })
        .collect();
    let mut read = 0;
    let mut ends = Vec::new();
    let mut handed_back = Vec::new();
    for (index, child) in children.into_iter().enumerate() {
        let output = child.wait_with_output().unwrap();
        let summary = summary(&output);
        let shard = &summary["shard"];
        assert_eq!(shard["index"], index, "{summary}");
        assert_eq!(shard["count"], 4);
        ends.push((shard["first_byte"].as_u64(), shard["end_byte"].as_u64()));
        read += count(&summary, "records_read");
        assert_eq!(
            count(&summary, "delivered") + count(&summary, "unprocessed"),
            count(&summary, "records_read"),
            "{summary}"
        );
        let failed = dir.join(format!("failed-{index}.ndjson"));
        assert_eq!(mode(&failed), 0o600, "the unprocessed file is private");
        for entry in read_lines(&failed) {
            assert_eq!(entry["shard"], format!("{index}/4"), "{entry}");
            handed_back.push(entry["input"].clone());
        }
        let expected_code = i32::from(count(&summary, "unprocessed") > 0);
        assert_eq!(
            output.status.code(),
            Some(expected_code),
            "{}",
            stderr(&output)
        );
    }
    // The parts tile the file.
    let size = std::fs::metadata(&input).unwrap().len();
    assert_eq!(ends[0].0, Some(0));
    assert_eq!(ends[3].1, Some(size));
    assert_eq!(
        handed_back,
        vec![Value::from("not json")],
        "in one part only"
    );
    assert_eq!(read, LINES, "every non-blank line read once");

    // Each line read once (the counts above), and each record in the table.
    let mut stored: Vec<u64> = test_support::scan_all(&client, &table)
        .await
        .iter()
        .map(|item| item["n"].as_n().unwrap().parse().unwrap())
        .collect();
    stored.sort_unstable();
    assert_eq!(stored.len(), records.len());
    assert!(stored == records, "the table holds every record");
}

#[tokio::test]
async fn a_shard_resumes_from_its_own_checkpoint_only() {
    let client =
        aws_batch_utils::dynamodb::sdk::Client::new(&test_support::sdk_config("dynamodb").await);
    let table = test_support::create_table(&client, "id", None).await;
    let (input, _) = write_input();
    let dir = input.parent().unwrap().to_path_buf();
    let checkpoint = dir.join("progress.json");
    let failed = dir.join("failed.ndjson");
    let run = |shard: &str| {
        support::dynamodb(&table)
            .args(["--shard", shard, "--input"])
            .arg(&input)
            .arg("--unprocessed")
            .arg(&failed)
            .arg("--checkpoint")
            .arg(&checkpoint)
            .stdin(Stdio::null())
            .output()
            .unwrap()
    };
    // Part 0 of 2 holds the line that is not JSON.
    let whole = run("0/2");
    let first = summary(&whole);
    assert_eq!(whole.status.code(), Some(1), "{}", stderr(&whole));
    assert_eq!(count(&first, "unprocessed"), 1);
    let bad_line = read_lines(&failed)[0]["line"].as_u64().unwrap();
    assert_eq!(mode(&checkpoint), 0o600, "the checkpoint is private");
    let saved: Value = serde_json::from_slice(&std::fs::read(&checkpoint).unwrap()).unwrap();
    assert_eq!(saved["shard"], "0/2");
    // The part ends with the line that holds its last byte.
    let text = std::fs::read(&input).unwrap();
    let end = usize::try_from(first["shard"]["end_byte"].as_u64().unwrap()).unwrap();
    let line_end = end + text[end - 1..].iter().position(|&b| b == b'\n').unwrap();
    assert_eq!(saved["offset"], line_end);

    // Back to the line before the bad one, as if the run had stopped there.
    let part_start = usize::try_from(first["shard"]["first_byte"].as_u64().unwrap()).unwrap();
    let mut offset = part_start;
    let mut line = 1;
    while line < bad_line - 1 {
        offset += text[offset..].iter().position(|&b| b == b'\n').unwrap() + 1;
        line += 1;
    }
    let rewound = json!({
        "version": 1, "input": input, "shard": "0/2", "offset": offset,
        "next_line": line, "unprocessed_bytes": 0,
    });
    std::fs::write(&checkpoint, rewound.to_string()).unwrap();
    let again = run("0/2");
    let resumed = summary(&again);
    assert_eq!(resumed["first_line"], line, "{resumed}");
    assert_eq!(
        count(&resumed, "records_read"),
        records_starting_in(&text, offset, end),
        "{resumed}"
    );
    let entries = read_lines(&failed);
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0]["line"], bad_line, "numbered as in the first run");

    let done = run("0/2");
    assert_eq!(
        count(&summary(&done), "records_read"),
        0,
        "the part is done"
    );

    let other = run("1/2");
    assert_eq!(other.status.code(), Some(2));
    let message = stderr(&other);
    assert!(
        message.contains("saved by shard 0/2, and this is shard 1/2"),
        "{message}"
    );
}

/// The records (lines not blank) of `text` whose first byte is in `from..until`, `from`
/// being a line's start.
fn records_starting_in(text: &[u8], from: usize, until: usize) -> u64 {
    let mut at = from;
    let mut records = 0;
    while at < until && at < text.len() {
        let length = text[at..]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(text.len() - at, |n| n + 1);
        if !text[at..at + length].iter().all(u8::is_ascii_whitespace) {
            records += 1;
        }
        at += length;
    }
    records
}

/// Arguments, environment variables, and what the message must say.
type RefusedCase<'a> = (Vec<&'a str>, &'a [(&'a str, &'a str)], &'a str);

#[test]
fn inputs_that_cannot_be_cut_are_refused_before_reading() {
    let dir = temp_dir();
    let gzipped = dir.join("in.ndjson.gz");
    // The gzip magic bytes are enough for the input to be taken as gzip.
    std::fs::write(&gzipped, [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3]).unwrap();
    let cases: [RefusedCase<'_>; 4] = [
        (
            vec!["--shard", "0/2", "--input", gzipped.to_str().unwrap()],
            &[],
            "gzip-compressed",
        ),
        (
            vec!["--shard", "1/2"],
            &[],
            "standard input cannot be split",
        ),
        (
            vec!["--shard", "auto/2"],
            &[],
            "neither AWS_BATCH_JOB_ARRAY_INDEX",
        ),
        (
            vec!["--shard", "auto/2"],
            &[("JOB_COMPLETION_INDEX", "2")],
            "part 2 of 2 does not exist",
        ),
    ];
    for (args, env, expected) in cases {
        let mut run = command("http://127.0.0.1:9");
        run.args(["sqs", "--queue", "q"]).args(&args);
        run.env_remove("AWS_BATCH_JOB_ARRAY_INDEX")
            .env_remove("JOB_COMPLETION_INDEX");
        for (name, value) in env {
            run.env(name, value);
        }
        let output = run.stdin(Stdio::null()).output().unwrap();
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        assert!(output.stdout.is_empty(), "nothing read");
        let message = stderr(&output);
        assert!(message.contains(expected), "{args:?}: {message}");
    }
}
