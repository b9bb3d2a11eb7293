//! The `aws-batch` binary at the edges a user meets: its own input named as the unprocessed
//! file, bad bytes, numbers DynamoDB refuses, configuration errors, a destination that is
//! down, bodies that must go out as they came, and the unprocessed file read back.
#![allow(clippy::unwrap_used)]
// A child process runs on the wall clock: its time is measured with it.
#![allow(clippy::disallowed_methods)]

mod support;

use std::collections::BTreeSet;
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::{aws_batch, command, count, read_lines, stderr, summary, temp_dir, temp_file};

fn numbered(count: usize) -> Vec<String> {
    (0..count).map(|n| json!({"n": n}).to_string()).collect()
}

#[test]
fn a_fleet_size_of_zero_is_refused_naming_the_option() {
    let input = temp_file("in.ndjson", &numbered(5));
    let output = command("http://127.0.0.1:9")
        .args(["kinesis", "--stream", "s", "--fleet-size", "0", "--input"])
        .arg(&input)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("--fleet-size"),
        "{}",
        stderr(&output)
    );
    assert!(output.stdout.is_empty(), "nothing was read");
}

#[test]
fn the_input_file_is_never_the_unprocessed_file() {
    let input = temp_file("in.ndjson", &numbered(5));
    let before = std::fs::read(&input).unwrap();
    // Also through another spelling of the same path.
    let other = input.parent().unwrap().join(".").join("in.ndjson");
    let output = command("http://127.0.0.1:9")
        .args(["sqs", "--queue", "q", "--input"])
        .arg(&input)
        .arg("--unprocessed")
        .arg(&other)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("is the input file"),
        "{}",
        stderr(&output)
    );
    assert!(output.stdout.is_empty(), "nothing was read");
    assert_eq!(
        std::fs::read(&input).unwrap(),
        before,
        "the input is untouched"
    );
}

#[tokio::test]
async fn a_line_of_invalid_utf8_is_an_unprocessed_entry_and_the_run_goes_on() {
    let client = aws_batch_utils::sqs::sdk::Client::new(&test_support::sdk_config("sqs").await);
    let url = test_support::create_queue(&client, false).await;
    let dir = temp_dir();
    let input = dir.join("in.ndjson");
    let mut bytes = Vec::new();
    for n in 0..10 {
        bytes.extend_from_slice(json!({"n": n}).to_string().as_bytes());
        bytes.push(b'\n');
        if n == 4 {
            bytes.extend_from_slice(b"{\"name\": \"caf\xE9\"}\n"); // Latin-1, line 6
        }
    }
    std::fs::write(&input, &bytes).unwrap();
    let unprocessed = dir.join("failed.ndjson");
    let output = aws_batch("sqs", &["sqs", "--queue", &url], &input, &unprocessed);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let summary = summary(&output);
    assert_eq!(
        (
            count(&summary, "records_read"),
            count(&summary, "delivered")
        ),
        (11, 10)
    );
    assert_eq!(summary["failures"], json!({"InvalidUtf8": 1}));
    let bad = read_lines(&unprocessed);
    assert_eq!(bad.len(), 1);
    assert_eq!(bad[0]["line"], 6);
    assert_eq!(bad[0]["error"]["code"], "InvalidUtf8");
    let kept = aws_smithy_base64(&bad[0]["input_base64"]);
    assert_eq!(kept, b"{\"name\": \"caf\xE9\"}", "the raw bytes are kept");
    let got = test_support::received_numbers(&client, &url, 10).await;
    assert_eq!(got, (0..10).collect::<Vec<_>>());
}

fn aws_smithy_base64(value: &Value) -> Vec<u8> {
    aws_smithy_types::base64::decode(value.as_str().unwrap()).unwrap()
}

#[tokio::test]
async fn sqs_and_kinesis_send_each_line_byte_for_byte_and_skip_a_bom() {
    let lines = [
        r#"{"b":1,"a":1E2,"a":3}"#,
        r#"{ "spaced" : [1.50, 2e-0] }"#,
        r#"{"big":12345678901234567890.5}"#,
    ];
    let text = format!("\u{feff}{}\r\n{}\n{}\n", lines[0], lines[1], lines[2]);
    let dir = temp_dir();
    let input = dir.join("in.ndjson");
    std::fs::write(&input, text).unwrap();
    let unprocessed = dir.join("failed.ndjson");

    let sqs = aws_batch_utils::sqs::sdk::Client::new(&test_support::sdk_config("sqs").await);
    let url = test_support::create_queue(&sqs, false).await;
    let output = aws_batch("sqs", &["sqs", "--queue", &url], &input, &unprocessed);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let bodies: BTreeSet<String> = test_support::receive_all(&sqs, &url, 3)
        .await
        .iter()
        .map(|m| m.body().unwrap().to_owned())
        .collect();
    assert_eq!(bodies, lines.iter().map(|l| (*l).to_owned()).collect());

    let kinesis =
        aws_batch_utils::kinesis::sdk::Client::new(&test_support::sdk_config("kinesis").await);
    let stream = test_support::create_stream(&kinesis, 1).await;
    let output = aws_batch(
        "kinesis",
        &["kinesis", "--stream", &stream],
        &input,
        &unprocessed,
    );
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let data: BTreeSet<String> = test_support::read_stream(&kinesis, &stream)
        .await
        .into_iter()
        .map(|(_, data)| String::from_utf8(data).unwrap())
        .collect();
    assert_eq!(data, lines.iter().map(|l| (*l).to_owned()).collect());
}

#[tokio::test]
async fn a_bom_inside_the_input_is_named_in_the_error() {
    let dir = temp_dir();
    let input = dir.join("in.ndjson");
    std::fs::write(&input, "{\"n\":1}\n\u{feff}{\"n\":2}\n").unwrap();
    let unprocessed = dir.join("failed.ndjson");
    let client = aws_batch_utils::sqs::sdk::Client::new(&test_support::sdk_config("sqs").await);
    let url = test_support::create_queue(&client, false).await;
    let output = aws_batch("sqs", &["sqs", "--queue", &url], &input, &unprocessed);
    assert_eq!(output.status.code(), Some(1));
    let bad = read_lines(&unprocessed);
    assert_eq!(bad[0]["line"], 2);
    let message = bad[0]["error"]["message"].as_str().unwrap();
    assert!(message.contains("byte order mark"), "{message}");
}

#[tokio::test]
async fn a_dynamodb_number_out_of_range_is_refused_alone() {
    let client =
        aws_batch_utils::dynamodb::sdk::Client::new(&test_support::sdk_config("dynamodb").await);
    let table = test_support::create_table(&client, "id", None).await;
    let mut lines: Vec<String> = (0..24)
        .map(|n| json!({"id": format!("i{n}"), "n": n}).to_string())
        .collect();
    lines.insert(7, r#"{"id": "huge", "n": 1e400}"#.into()); // line 8
    let input = temp_file("in.ndjson", &lines);
    let unprocessed = input.with_file_name("failed.ndjson");
    let args = ["dynamodb", "--table", &table, "--partition-key", "id"];
    let output = aws_batch("dynamodb", &args, &input, &unprocessed);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let summary = summary(&output);
    assert_eq!(
        (count(&summary, "delivered"), count(&summary, "rejected")),
        (24, 1)
    );
    let bad = read_lines(&unprocessed);
    assert_eq!(bad.len(), 1);
    assert_eq!(bad[0]["line"], 8);
    assert_eq!(bad[0]["record"]["id"], "huge");
    let message = bad[0]["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("n is 1e") && message.contains("E+125"),
        "{message}"
    );
    assert_eq!(test_support::scan_all(&client, &table).await.len(), 24);
}

/// Runs the binary with `env` and `args` on a 3-line input; it must stop before reading.
fn configuration_error(args: &[&str], env: &[(&str, &str)]) -> String {
    let dir = temp_dir();
    let input = temp_file("in.ndjson", &numbered(3));
    let mut run = std::process::Command::new(support::binary());
    run.args(["--json", "--input"])
        .arg(&input)
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", &dir)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .stdin(Stdio::null());
    for (name, value) in env {
        run.env(name, value);
    }
    let started = Instant::now();
    let output = run.output().unwrap();
    assert!(started.elapsed() < Duration::from_secs(10), "found at once");
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert!(output.stdout.is_empty(), "no summary: nothing was read");
    let message = stderr(&output);
    assert_eq!(
        message.matches("aws-batch:").count(),
        1,
        "one message: {message}"
    );
    message
}

/// Extra arguments, environment variables, and what the message must say.
type ConfigCase<'a> = (&'a [&'a str], &'a [(&'a str, &'a str)], &'a str);

#[test]
fn configuration_errors_are_found_before_reading() {
    let keys = [("AWS_ACCESS_KEY_ID", "a"), ("AWS_SECRET_ACCESS_KEY", "b")];
    let sqs = ["sqs", "--queue", "q"];
    let no_region = configuration_error(&sqs, &keys);
    assert!(no_region.contains("no AWS region"), "{no_region}");

    let region = ["--region", "us-east-1"];
    let cases: [ConfigCase<'_>; 3] = [
        (&[], &[], "aws-batch: no AWS credentials"),
        (
            &["--profile", "nope"],
            &keys,
            "profile `nope` is not defined",
        ),
        (
            &["--endpoint-url", "localhost:4566"],
            &keys,
            "--endpoint-url `localhost:4566`",
        ),
    ];
    for (extra, env, expected) in cases {
        let args: Vec<&str> = extra.iter().chain(&region).chain(&sqs).copied().collect();
        let message = configuration_error(&args, env);
        assert!(message.contains(expected), "{message}");
    }
}

#[test]
fn a_destination_that_is_down_ends_the_run_early() {
    let lines = numbered(20_000);
    let input = temp_file("in.ndjson", &lines);
    let unprocessed = input.with_file_name("failed.ndjson");
    // Nothing listens on port 9 of loopback: every request fails to connect.
    let output = command("http://127.0.0.1:9")
        .args([
            "--max-attempts",
            "2",
            "sqs",
            "--queue",
            "https://sqs.us-east-1.amazonaws.com/1/q",
            "--input",
        ])
        .arg(&input)
        .arg("--unprocessed")
        .arg(&unprocessed)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(3), "{}", stderr(&output));
    let summary = summary(&output);
    let read = count(&summary, "records_read");
    assert!(read < 1_000, "stopped early, after {read} records");
    assert_eq!(count(&summary, "unprocessed"), read);
    assert_eq!(summary["failures"], json!({"DispatchFailure": read}));
    assert!(summary["stopped"].as_str().unwrap().contains("in a row"));
    let failed = read_lines(&unprocessed);
    let numbers: BTreeSet<u64> = failed.iter().map(|f| f["line"].as_u64().unwrap()).collect();
    assert_eq!(
        numbers,
        (1..=read).collect(),
        "every line read is handed back"
    );
}

#[tokio::test]
async fn failure_reasons_are_in_the_summary_and_warnings_on_stderr() {
    let client =
        aws_batch_utils::dynamodb::sdk::Client::new(&test_support::sdk_config("dynamodb").await);
    let table = test_support::create_table(&client, "id", None).await;
    let lines = vec![
        json!({"id": "a", "v": 1}).to_string(),
        json!({"id": "a", "v": 2}).to_string(), // replaces the first: a WARN
        "oops".to_owned(),
        json!({"v": 3}).to_string(), // no key
    ];
    let input = temp_file("in.ndjson", &lines);
    let output = support::dynamodb(&table)
        .arg("--input")
        .arg(&input)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let summary = summary(&output);
    assert_eq!(
        summary["failures"],
        json!({"InvalidJson": 1, "InvalidRecord": 1})
    );
    assert_eq!(count(&summary, "superseded"), 1);
    let log = stderr(&output);
    assert!(log.contains("WARN") && log.contains("same key"), "{log}");

    let table_view = support::dynamodb(&table)
        .arg("--input")
        .arg(&input)
        .arg("-q")
        .env("RUST_LOG", "off")
        .output()
        .unwrap();
    assert!(stderr(&table_view).is_empty(), "{}", stderr(&table_view));
}

#[tokio::test]
async fn the_unprocessed_file_is_read_back_as_the_records_it_holds() {
    let client = aws_batch_utils::sqs::sdk::Client::new(&test_support::sdk_config("sqs").await);
    let dir = temp_dir();
    let input = dir.join("in.ndjson");
    std::fs::write(&input, "{\"n\":0}\n{\"n\":1, \"x\":1E2}\nnot json\n").unwrap();
    let failed = dir.join("failed.ndjson");
    let missing = format!(
        "{}/123456789012/no-such-queue",
        test_support::endpoint("sqs")
    );
    let first = aws_batch("sqs", &["sqs", "--queue", &missing], &input, &failed);
    assert_eq!(first.status.code(), Some(1), "{}", stderr(&first));
    let failed_lines = read_lines(&failed);
    assert_eq!(failed_lines.len(), 3);
    let lines: BTreeSet<u64> = failed_lines
        .iter()
        .map(|f| f["line"].as_u64().unwrap())
        .collect();
    assert_eq!(
        lines,
        BTreeSet::from([1, 2, 3]),
        "delivery failures carry lines too"
    );

    let url = test_support::create_queue(&client, false).await;
    let again = dir.join("failed-again.ndjson");
    let second = aws_batch("sqs", &["sqs", "--queue", &url, "--raw"], &failed, &again);
    assert_eq!(second.status.code(), Some(0), "{}", stderr(&second));
    let bodies: BTreeSet<String> = test_support::receive_all(&client, &url, 3)
        .await
        .iter()
        .map(|m| m.body().unwrap().to_owned())
        .collect();
    let expected = ["{\"n\":0}", "{\"n\":1, \"x\":1E2}", "not json"];
    assert_eq!(bodies, expected.iter().map(|s| (*s).to_owned()).collect());
}
