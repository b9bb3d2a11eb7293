//! The demo behind `cargo xtask demo`: creates a queue, a FIFO queue, a 2-shard stream, a
//! table and a namespace on the local emulators, writes sample records for each (10,000; 500
//! for the queues, since the SQS emulator slows down with every message a queue holds), loads
//! them with the `aws-batch` command, and prints what it did.
//!
//! It expects the emulators that `cargo xtask demo` starts (their endpoints file is named by
//! `AWS_BATCH_EMULATOR_FILE`).
#![allow(clippy::print_stdout, clippy::unwrap_used, clippy::cast_precision_loss)]

use std::path::{Path, PathBuf};
use std::process::Stdio;

use serde_json::{Value, json};

const RECORDS: usize = 10_000;
const QUEUE_RECORDS: usize = 500;

struct Run {
    label: &'static str,
    summary: Value,
}

fn write(dir: &Path, name: &str, lines: impl Iterator<Item = Value>) -> PathBuf {
    let path = dir.join(name);
    let text: String = lines.map(|line| line.to_string() + "\n").collect();
    std::fs::write(&path, text).unwrap();
    path
}

/// Runs the CLI (progress on the terminal, summary as JSON) and returns the summary.
fn load(label: &'static str, service: &str, args: &[&str], input: &Path) -> Run {
    let cli = std::env::current_exe()
        .unwrap()
        .parent()
        .unwrap()
        .parent()
        .unwrap()
        .join("aws-batch");
    println!("\n== {label}: aws-batch {}", args.join(" "));
    let output = test_support::aws_batch(&cli, service)
        .args(args)
        .arg("--input")
        .arg(input)
        .stderr(Stdio::inherit())
        .output()
        .unwrap();
    let summary: Value = serde_json::from_slice(&output.stdout).unwrap();
    println!(
        "   {} records, {} delivered, {} requests ({} with one call per record), {:.1} s",
        summary["records_read"],
        summary["delivered"],
        summary["requests_sent"],
        summary["requests_one_per_record"],
        summary["elapsed_seconds"].as_f64().unwrap_or_default()
    );
    Run { label, summary }
}

#[tokio::main]
async fn main() {
    let dir = std::env::temp_dir().join(test_support::unique_name("aws-batch-demo"));
    std::fs::create_dir_all(&dir).unwrap();

    let sqs = aws_batch_utils::sqs::sdk::Client::new(&test_support::sdk_config("sqs").await);
    let queue = test_support::create_queue(&sqs, false).await;
    let fifo = test_support::create_queue(&sqs, true).await;
    let kinesis =
        aws_batch_utils::kinesis::sdk::Client::new(&test_support::sdk_config("kinesis").await);
    let stream = test_support::create_stream(&kinesis, 2).await;
    let dynamodb =
        aws_batch_utils::dynamodb::sdk::Client::new(&test_support::sdk_config("dynamodb").await);
    let table = test_support::create_table(&dynamodb, "customer", Some("order")).await;
    let namespace = test_support::unique_name("Demo");
    let aggregated = test_support::create_stream(&kinesis, 2).await;
    let firehose =
        aws_batch_utils::firehose::sdk::Client::new(&test_support::sdk_config("firehose").await);
    let s3 = test_support::s3_client().await;
    let (delivery_stream, _bucket) = test_support::create_delivery_stream(&firehose, &s3).await;
    let events = aws_batch_utils::eventbridge::sdk::Client::new(
        &test_support::sdk_config("eventbridge").await,
    );
    let (bus, _bus_queue) = test_support::create_bus_to_queue(&events, &sqs, "demo.orders").await;
    let sns = aws_batch_utils::sns::sdk::Client::new(&test_support::sdk_config("sns").await);
    let (topic, _topic_queue) = test_support::create_topic_to_queue(&sns, &sqs, false).await;

    let orders = |n: usize| {
        json!({"customer": format!("c{}", n % 100), "order": n, "total": (n % 997) as f64 / 10.0,
               "items": [{"sku": format!("sku-{}", n % 37), "qty": 1 + n % 3}]})
    };
    let orders_file = write(&dir, "orders.ndjson", (0..RECORDS).map(orders));
    let messages_file = write(&dir, "messages.ndjson", (0..QUEUE_RECORDS).map(orders));
    let metrics_file = write(
        &dir,
        "metrics.ndjson",
        (0..RECORDS).map(|n| {
            json!({"name": format!("Latency{}", n % 10), "value": (n % 250) as f64,
                   "unit": "Milliseconds", "dimensions": {"Route": format!("/r{}", n % 4)}})
        }),
    );

    let runs = [
        load(
            "SQS standard",
            "sqs",
            &["sqs", "--queue", &queue],
            &messages_file,
        ),
        load(
            "SQS FIFO",
            "sqs",
            &[
                "sqs",
                "--queue",
                &fifo,
                "--fifo",
                "--group-field",
                "customer",
            ],
            &messages_file,
        ),
        load(
            "Kinesis",
            "kinesis",
            &[
                "kinesis",
                "--stream",
                &stream,
                "--partition-key-field",
                "customer",
                "--ordered",
            ],
            &orders_file,
        ),
        load(
            "Kinesis aggregated",
            "kinesis",
            &[
                "kinesis",
                "--stream",
                &aggregated,
                "--partition-key-field",
                "customer",
                "--aggregate",
            ],
            &orders_file,
        ),
        load(
            "Firehose packed",
            "firehose",
            &["firehose", "--stream", &delivery_stream, "--pack", "65536"],
            &orders_file,
        ),
        load(
            "EventBridge",
            "eventbridge",
            &[
                "eventbridge",
                "--bus",
                &bus,
                "--source",
                "demo.orders",
                "--detail-type",
                "Order",
            ],
            &messages_file,
        ),
        load("SNS", "sns", &["sns", "--topic", &topic], &messages_file),
        load(
            "DynamoDB",
            "dynamodb",
            &[
                "dynamodb",
                "--table",
                &table,
                "--partition-key",
                "customer",
                "--sort-key",
                "order",
            ],
            &orders_file,
        ),
        load(
            "CloudWatch",
            "cloudwatch",
            &["cloudwatch", "--namespace", &namespace],
            &metrics_file,
        ),
        load(
            "CloudWatch aggregated",
            "cloudwatch",
            &["cloudwatch", "--namespace", &namespace, "--aggregate"],
            &metrics_file,
        ),
    ];

    println!(
        "\n{:<24} {:>8} {:>10} {:>12} {:>14} {:>12} {:>9}",
        "", "records", "delivered", "unprocessed", "requests sent", "one per rec.", "records/s"
    );
    for run in &runs {
        let s = &run.summary;
        let n = |field: &str| s[field].as_u64().unwrap_or_default();
        println!(
            "{:<24} {:>8} {:>10} {:>12} {:>14} {:>12} {:>9.0}",
            run.label,
            n("records_read"),
            n("delivered"),
            n("unprocessed"),
            n("requests_sent"),
            n("requests_one_per_record"),
            s["records_per_second"].as_f64().unwrap_or_default()
        );
    }
    let lost: u64 = runs
        .iter()
        .map(|r| r.summary["unprocessed"].as_u64().unwrap_or(1))
        .sum();
    std::fs::remove_dir_all(&dir).ok();
    if lost > 0 {
        println!("\n{lost} records were not delivered");
        std::process::exit(1);
    }
}
