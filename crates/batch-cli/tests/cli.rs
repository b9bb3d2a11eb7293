//! The `aws-batch` binary end to end against the local emulators.
#![allow(clippy::unwrap_used)]

mod support;

use std::process::Command;

use serde_json::{Value, json};
use support::{aws_batch, read_lines, summary, temp_file};

#[tokio::test]
async fn sqs_loads_every_good_line_and_reports_the_two_bad_ones() {
    let client = aws_batch_utils::sqs::sdk::Client::new(&test_support::sdk_config("sqs").await);
    let url = test_support::create_queue(&client, false).await;
    let mut lines: Vec<String> = (0..30).map(|n| json!({"n": n}).to_string()).collect();
    lines.insert(10, "not json".into()); // line 11
    lines.insert(19, "{\"oops\": ".into()); // line 20
    let input = temp_file("in.ndjson", &lines);
    let unprocessed = input.with_file_name("unprocessed.ndjson");

    let output = aws_batch("sqs", &["sqs", "--queue", &url], &input, &unprocessed);
    assert_eq!(output.status.code(), Some(1), "something was not delivered");
    let summary = summary(&output);
    assert_eq!(summary["records_read"], 32);
    assert_eq!(summary["delivered"], 30);
    assert_eq!(summary["unprocessed"], 2);
    assert_eq!(summary["requests_sent"], 3);
    assert_eq!(summary["requests_one_per_record"], 30);

    let bad = read_lines(&unprocessed);
    let numbers: Vec<u64> = bad.iter().map(|b| b["line"].as_u64().unwrap()).collect();
    assert_eq!(numbers, vec![11, 20]);
    assert_eq!(bad[0]["input"], "not json");
    assert_eq!(bad[0]["error"]["code"], "InvalidJson");
    let got = test_support::received_numbers(&client, &url, 30).await;
    assert_eq!(got, (0..30).collect::<Vec<_>>());
}

#[tokio::test]
async fn kinesis_aggregate_packs_a_file_into_a_few_records_per_shard() {
    let client =
        aws_batch_utils::kinesis::sdk::Client::new(&test_support::sdk_config("kinesis").await);
    let stream = test_support::create_stream(&client, 2).await;
    let lines: Vec<String> = (0..5_000)
        .map(|n| json!({"n": n, "user": format!("u{}", n % 50)}).to_string())
        .collect();
    let input = temp_file("in.ndjson", &lines);
    let unprocessed = input.with_file_name("unprocessed.ndjson");
    let args = [
        "kinesis",
        "--stream",
        &stream,
        "--partition-key-field",
        "user",
        "--ordered",
        "--aggregate",
    ];
    let output = aws_batch("kinesis", &args, &input, &unprocessed);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let summary = summary(&output);
    assert_eq!(summary["delivered"], 5_000);
    // About 170 KB in aggregates of up to 64 KiB, a request as soon as one is full.
    assert!(summary["requests_sent"].as_u64().unwrap() <= 4, "{summary}");
    let stored = test_support::read_stream(&client, &stream).await;
    assert!(stored.len() <= 8, "{} Kinesis records", stored.len());
    let mut seen: Vec<String> = Vec::new();
    for (key, data) in &stored {
        for user in aws_batch_utils::kinesis::deaggregate(key, data).unwrap() {
            let line = String::from_utf8(user.data).unwrap();
            let value: Value = serde_json::from_str(&line).unwrap();
            assert_eq!(value["user"], user.partition_key.as_str());
            seen.push(line);
        }
    }
    // Each line byte for byte, and each user's lines in file order.
    let mut sorted = seen.clone();
    sorted.sort();
    let mut expected = lines.clone();
    expected.sort();
    assert_eq!(sorted, expected);
    for user in 0..50 {
        let tag = format!("\"user\":\"u{user}\"");
        let mine: Vec<&String> = seen.iter().filter(|l| l.contains(&tag)).collect();
        let want: Vec<&String> = lines.iter().filter(|l| l.contains(&tag)).collect();
        assert_eq!(mine, want);
    }
}

#[tokio::test]
async fn firehose_loads_a_file_into_s3_one_line_each_packed() {
    let firehose =
        aws_batch_utils::firehose::sdk::Client::new(&test_support::sdk_config("firehose").await);
    let s3 = test_support::s3_client().await;
    let (stream, bucket) = test_support::create_delivery_stream(&firehose, &s3).await;
    let mut lines: Vec<String> = (0..700)
        .map(|n| json!({"n": n, "text": "ünï"}).to_string())
        .collect();
    lines.insert(100, "not json".into()); // line 101
    let input = temp_file("in.ndjson", &lines);
    let unprocessed = input.with_file_name("unprocessed.ndjson");
    let args = ["firehose", "--stream", &stream, "--pack", "4096"];
    let output = aws_batch("firehose", &args, &input, &unprocessed);
    assert_eq!(output.status.code(), Some(1), "one line was not JSON");
    let summary = summary(&output);
    assert_eq!(summary["delivered"], 700);
    assert_eq!(summary["requests_sent"], 1);
    let bad = read_lines(&unprocessed);
    assert_eq!(bad.len(), 1);
    assert_eq!(bad[0]["line"], 101);
    let stored = test_support::lines_in_bucket(&s3, &bucket).await;
    let mut expected: Vec<String> = lines.into_iter().filter(|l| l != "not json").collect();
    expected.sort();
    assert_eq!(stored, expected, "each line byte for byte");
}

#[tokio::test]
async fn eventbridge_sends_each_line_as_an_events_detail() {
    let events = aws_batch_utils::eventbridge::sdk::Client::new(
        &test_support::sdk_config("eventbridge").await,
    );
    let sqs = aws_batch_utils::sqs::sdk::Client::new(&test_support::sdk_config("sqs").await);
    let (bus, url) = test_support::create_bus_to_queue(&events, &sqs, "cli.test").await;
    let mut lines: Vec<String> = (0..35).map(|n| json!({"n": n}).to_string()).collect();
    lines.insert(5, "[1, 2]".into()); // line 6: not an object
    let input = temp_file("in.ndjson", &lines);
    let unprocessed = input.with_file_name("unprocessed.ndjson");
    let args = [
        "eventbridge",
        "--bus",
        &bus,
        "--source",
        "cli.test",
        "--detail-type",
        "Line",
    ];
    let output = aws_batch("eventbridge", &args, &input, &unprocessed);
    assert_eq!(output.status.code(), Some(1), "one line was refused");
    let summary = summary(&output);
    assert_eq!(summary["delivered"], 35);
    assert_eq!(summary["requests_sent"], 4);
    let bad = read_lines(&unprocessed);
    assert_eq!((bad.len(), bad[0]["line"].as_u64()), (1, Some(6)));
    let received = test_support::receive_all(&sqs, &url, 35).await;
    let mut numbers: Vec<u64> = received
        .iter()
        .map(|m| {
            let event: Value = serde_json::from_str(m.body().unwrap()).unwrap();
            assert_eq!(event["detail-type"], "Line");
            event["detail"]["n"].as_u64().unwrap()
        })
        .collect();
    numbers.sort_unstable();
    assert_eq!(numbers, (0..35).collect::<Vec<_>>());
}

#[tokio::test]
async fn sns_publishes_a_file_to_a_fifo_topic_in_order_per_group() {
    let sns = aws_batch_utils::sns::sdk::Client::new(&test_support::sdk_config("sns").await);
    let sqs = aws_batch_utils::sqs::sdk::Client::new(&test_support::sdk_config("sqs").await);
    let (topic, url) = test_support::create_topic_to_queue(&sns, &sqs, true).await;
    let lines: Vec<String> = (0..40)
        .map(|n| json!({"n": n, "customer": format!("c{}", n % 4)}).to_string())
        .collect();
    let input = temp_file("in.ndjson", &lines);
    let unprocessed = input.with_file_name("unprocessed.ndjson");
    let args = ["sns", "--topic", &topic, "--group-field", "customer"];
    let output = aws_batch("sns", &args, &input, &unprocessed);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(summary(&output)["delivered"], 40);
    let received = test_support::receive_all(&sqs, &url, 40).await;
    let bodies: Vec<String> = received
        .iter()
        .map(|m| m.body().unwrap().to_owned())
        .collect();
    for customer in 0..4 {
        let tag = format!("\"customer\":\"c{customer}\"");
        let got: Vec<&String> = bodies.iter().filter(|b| b.contains(&tag)).collect();
        let want: Vec<&String> = lines.iter().filter(|l| l.contains(&tag)).collect();
        assert_eq!(got, want, "each line byte for byte, in order per group");
    }
}

#[tokio::test]
async fn kinesis_loads_a_file_in_few_requests() {
    let client =
        aws_batch_utils::kinesis::sdk::Client::new(&test_support::sdk_config("kinesis").await);
    let stream = test_support::create_stream(&client, 2).await;
    let lines: Vec<String> = (0..1_200)
        // Ordered requests hold one record per key: 600 users fill requests of 500.
        .map(|n| json!({"n": n, "user": format!("u{}", n % 600)}).to_string())
        .collect();
    let input = temp_file("in.ndjson", &lines);
    let unprocessed = input.with_file_name("unprocessed.ndjson");
    let args = [
        "kinesis",
        "--stream",
        &stream,
        "--partition-key-field",
        "user",
        "--ordered",
    ];
    let output = aws_batch("kinesis", &args, &input, &unprocessed);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let summary = summary(&output);
    assert_eq!(
        (
            summary["delivered"].as_u64(),
            summary["requests_sent"].as_u64()
        ),
        (Some(1_200), Some(3))
    );
    assert!(read_lines(&unprocessed).is_empty());
    let records = test_support::read_stream(&client, &stream).await;
    assert_eq!(records.len(), 1_200);
    assert!(records.iter().all(|(key, data)| {
        serde_json::from_slice::<Value>(data).unwrap()["user"] == key.as_str()
    }));
}

#[tokio::test]
async fn dynamodb_puts_then_deletes() {
    let client =
        aws_batch_utils::dynamodb::sdk::Client::new(&test_support::sdk_config("dynamodb").await);
    let table = test_support::create_table(&client, "id", None).await;
    let puts: Vec<String> = (0..100)
        .map(|n| json!({"id": format!("i{n}"), "n": n}).to_string())
        .collect();
    let input = temp_file("puts.ndjson", &puts);
    let unprocessed = input.with_file_name("unprocessed.ndjson");
    let args = ["dynamodb", "--table", &table, "--partition-key", "id"];
    let output = aws_batch("dynamodb", &args, &input, &unprocessed);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(summary(&output)["requests_sent"], 4);

    let deletes: Vec<String> = (0..10)
        .map(|n| json!({"id": format!("i{n}")}).to_string())
        .collect();
    let input = temp_file("deletes.ndjson", &deletes);
    let mut args = args.to_vec();
    args.push("--delete");
    let output = aws_batch("dynamodb", &args, &input, &unprocessed);
    assert_eq!(output.status.code(), Some(0));
    let scan = client.scan().table_name(&table).send().await.unwrap();
    assert_eq!(scan.count(), 90);
}

#[tokio::test]
async fn cloudwatch_loads_metric_lines() {
    let client = aws_batch_utils::cloudwatch::sdk::Client::new(
        &test_support::sdk_config("cloudwatch").await,
    );
    let namespace = test_support::unique_name("cli");
    let mut lines: Vec<String> = (0..300)
        .map(|n| json!({"name": format!("m{}", n % 3), "value": n, "unit": "Count", "dimensions": {"Run": "cli"}}).to_string())
        .collect();
    lines.push(json!({"name": "bad", "value": "NaN-ish"}).to_string());
    let input = temp_file("metrics.ndjson", &lines);
    let unprocessed = input.with_file_name("unprocessed.ndjson");
    let args = ["cloudwatch", "--namespace", &namespace, "--aggregate"];
    let output = aws_batch("cloudwatch", &args, &input, &unprocessed);
    assert_eq!(output.status.code(), Some(1));
    let summary = summary(&output);
    assert_eq!(
        (
            summary["delivered"].as_u64(),
            summary["requests_sent"].as_u64()
        ),
        (Some(300), Some(1))
    );
    let bad = read_lines(&unprocessed);
    assert_eq!(bad.len(), 1);
    assert_eq!(bad[0]["line"], 301);
    let names = test_support::metric_names(&client, &namespace).await;
    assert_eq!(names, vec!["m0", "m1", "m2"]);
}

#[test]
fn a_missing_required_option_is_a_usage_error() {
    let output = Command::new(env!("CARGO_BIN_EXE_aws-batch"))
        .args(["sqs"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("--queue"));
}

#[tokio::test]
async fn logs_loads_a_gzipped_file_in_order_of_time_and_reports_each_bad_line() {
    use std::io::Write;

    let client = aws_batch_utils::logs::sdk::Client::new(&test_support::sdk_config("logs").await);
    let (group, stream) = test_support::create_log_stream(&client).await;
    let now = i64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis(),
    )
    .unwrap();
    let mut rng = fastrand::Rng::with_seed(28);
    let mut lines: Vec<Vec<u8>> = (0..300)
        .map(|n| {
            let at = now - rng.i64(0..20 * 3_600_000);
            json!({"at": at, "msg": format!("event {n} · ünï"), "n": n})
                .to_string()
                .into_bytes()
        })
        .collect();
    lines.insert(10, b"{\"msg\": \"caf\xe9\", \"at\": 1}".to_vec()); // line 11: not UTF-8
    lines.insert(20, json!({"msg": "no time"}).to_string().into_bytes()); // line 21
    let old = now - 15 * 86_400_000;
    lines.insert(
        30,
        json!({"msg": "old", "at": old}).to_string().into_bytes(),
    ); // line 31
    lines.insert(40, b"not json".to_vec()); // line 41
    let dir = support::temp_dir();
    let input = dir.join("in.ndjson.gz");
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    for line in &lines {
        gz.write_all(line).unwrap();
        gz.write_all(b"\n").unwrap();
    }
    std::fs::write(&input, gz.finish().unwrap()).unwrap();
    let unprocessed = dir.join("unprocessed.ndjson");
    let args = [
        "logs",
        "--group",
        &group,
        "--stream",
        &stream,
        "--timestamp-field",
        "at",
        "--message-field",
        "msg",
    ];
    let output = aws_batch("logs", &args, &input, &unprocessed);
    assert_eq!(output.status.code(), Some(1), "four lines were refused");
    let summary = summary(&output);
    assert_eq!(summary["records_read"], 304);
    assert_eq!(summary["delivered"], 300);
    assert_eq!(summary["requests_sent"], 1);
    let bad = read_lines(&unprocessed);
    let refused: Vec<(u64, &str)> = bad
        .iter()
        .map(|b| {
            (
                b["line"].as_u64().unwrap(),
                b["error"]["code"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        refused,
        vec![
            (11, "InvalidUtf8"),
            (21, "InvalidRecord"),
            (31, "InvalidRecord"),
            (41, "InvalidJson")
        ]
    );
    assert!(
        bad[1]["error"]["message"]
            .as_str()
            .unwrap()
            .contains("`at` is missing")
    );
    assert!(
        bad[2]["error"]["message"]
            .as_str()
            .unwrap()
            .contains("14 days")
    );

    let stored = test_support::log_messages(&client, &group, &stream).await;
    let mut expected: Vec<(i64, String)> = lines
        .iter()
        .filter_map(|l| serde_json::from_slice::<Value>(l).ok())
        .filter(|v| v.get("n").is_some())
        .map(|v| {
            (
                v["at"].as_i64().unwrap(),
                v["msg"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    expected.sort_by_key(|(at, _)| *at);
    let expected: Vec<String> = expected.into_iter().map(|(_, m)| m).collect();
    assert_eq!(stored, expected, "every event, in order of time");
}
