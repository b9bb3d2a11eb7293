//! `aws-batch --input s3://...` against the S3 emulator: a prefix of plain, gzip and zstd
//! objects read in key order, sharded by objects or by the bytes of one, and resumed in the
//! object its checkpoint names.
#![allow(clippy::unwrap_used)]

mod support;

use std::io::Write;
use std::process::{Output, Stdio};

use serde_json::{Value, json};
use support::{count, read_lines, stderr, summary, temp_dir};

const PER_OBJECT: u64 = 400;
/// Line 7 of the plain object is not JSON.
const BAD_LINE: u64 = 7;

fn lines(object: &str) -> String {
    (1..=PER_OBJECT)
        .map(|n| {
            if object == "a" && n == BAD_LINE {
                "not json\n".to_owned()
            } else {
                json!({"id": format!("{object}-{n}"), "n": n}).to_string() + "\n"
            }
        })
        .collect()
}

fn gzip(text: &str) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(text.as_bytes()).unwrap();
    encoder.finish().unwrap()
}

/// A bucket with `prefix/a.ndjson` (plain), `prefix/b.ndjson.gz`, `prefix/c.ndjson.zst` and a
/// folder marker; returns the bucket's name.
async fn bucket_with_objects() -> String {
    let s3 = test_support::s3_client().await;
    let bucket = test_support::unique_name("in").to_lowercase();
    s3.create_bucket().bucket(&bucket).send().await.unwrap();
    let objects = [
        ("prefix/a.ndjson", lines("a").into_bytes()),
        ("prefix/b.ndjson.gz", gzip(&lines("b"))),
        (
            "prefix/c.ndjson.zst",
            zstd::encode_all(lines("c").as_bytes(), 3).unwrap(),
        ),
        ("prefix/sub/", Vec::new()),
    ];
    for (key, body) in objects {
        s3.put_object()
            .bucket(&bucket)
            .key(key)
            .body(body.into())
            .send()
            .await
            .unwrap();
    }
    bucket
}

/// `aws-batch dynamodb` into `table` reading `input` from the S3 emulator.
fn load(table: &str, input: &str, args: &[&str]) -> Output {
    let failed = temp_dir().join("failed.ndjson");
    load_with(table, input, args, &failed)
}

fn load_with(table: &str, input: &str, args: &[&str], failed: &std::path::Path) -> Output {
    support::dynamodb(table)
        .args(["--s3-endpoint-url", &test_support::endpoint("s3")])
        .args(["--input", input, "--unprocessed"])
        .arg(failed)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

async fn new_table() -> (aws_batch_utils::dynamodb::sdk::Client, String) {
    let client =
        aws_batch_utils::dynamodb::sdk::Client::new(&test_support::sdk_config("dynamodb").await);
    let table = test_support::create_table(&client, "id", None).await;
    (client, table)
}

async fn stored_ids(client: &aws_batch_utils::dynamodb::sdk::Client, table: &str) -> Vec<String> {
    let mut ids: Vec<String> = test_support::scan_all(client, table)
        .await
        .iter()
        .map(|item| item["id"].as_s().unwrap().clone())
        .collect();
    ids.sort();
    ids
}

fn every_id() -> Vec<String> {
    let mut ids: Vec<String> = ["a", "b", "c"]
        .iter()
        .flat_map(|o| (1..=PER_OBJECT).map(move |n| format!("{o}-{n}")))
        .filter(|id| id != &format!("a-{BAD_LINE}"))
        .collect();
    ids.sort();
    ids
}

#[tokio::test]
async fn a_prefix_of_plain_gzip_and_zstd_objects_loads_every_record() {
    let bucket = bucket_with_objects().await;
    let (client, table) = new_table().await;
    let failed = temp_dir().join("failed.ndjson");
    let output = load_with(&table, &format!("s3://{bucket}/prefix/"), &[], &failed);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let summary = summary(&output);
    assert_eq!(count(&summary, "records_read"), 3 * PER_OBJECT, "{summary}");
    assert_eq!(count(&summary, "delivered"), 3 * PER_OBJECT - 1);
    let entries = read_lines(&failed);
    assert_eq!(entries.len(), 1);
    assert_eq!(
        entries[0]["object"],
        format!("s3://{bucket}/prefix/a.ndjson")
    );
    assert_eq!(entries[0]["line"], BAD_LINE, "numbered in its object");
    assert_eq!(entries[0]["input"], "not json");
    assert_eq!(stored_ids(&client, &table).await, every_id());
}

#[tokio::test]
async fn shards_take_every_nth_object_or_a_byte_range_of_one() {
    let bucket = bucket_with_objects().await;

    // By objects: 0/2 takes a and c, 1/2 takes b.
    let (client, table) = new_table().await;
    let mut read = 0;
    for (index, objects) in [(0, 2), (1, 1)] {
        let output = load(
            &table,
            &format!("s3://{bucket}/prefix/"),
            &["--shard", &format!("{index}/2")],
        );
        let summary = summary(&output);
        assert_eq!(summary["shard"]["objects"], objects, "{summary}");
        assert_eq!(summary["shard"]["objects_listed"], 3);
        read += count(&summary, "records_read");
    }
    assert_eq!(read, 3 * PER_OBJECT);
    assert_eq!(stored_ids(&client, &table).await, every_id());

    // By bytes of one plain object: 3 parts, every line once.
    let (client, table) = new_table().await;
    let object = format!("s3://{bucket}/prefix/a.ndjson");
    let mut read = 0;
    let mut next_first = 0;
    for index in 0..3 {
        let output = load(&table, &object, &["--shard", &format!("{index}/3")]);
        let summary = summary(&output);
        let shard = &summary["shard"];
        assert!(
            shard["first_byte"].as_u64().unwrap() >= next_first,
            "{summary}"
        );
        next_first = shard["end_byte"].as_u64().unwrap();
        read += count(&summary, "records_read");
    }
    assert_eq!(read, PER_OBJECT);
    let ids = stored_ids(&client, &table).await;
    assert_eq!(ids.len() as u64, PER_OBJECT - 1);
    assert!(ids.iter().all(|id| id.starts_with("a-")));

    // A compressed object cannot be cut by bytes.
    let output = load(
        &table,
        &format!("s3://{bucket}/prefix/b.ndjson.gz"),
        &["--shard", "0/2"],
    );
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("gzip-compressed"),
        "{}",
        stderr(&output)
    );
}

#[tokio::test]
async fn a_run_resumes_in_the_object_its_checkpoint_names() {
    let bucket = bucket_with_objects().await;
    let (client, table) = new_table().await;
    let dir = temp_dir();
    let checkpoint = dir.join("progress.json");
    let failed = dir.join("failed.ndjson");
    let input = format!("s3://{bucket}/prefix/");
    let args = ["--checkpoint", checkpoint.to_str().unwrap()];
    let whole = load_with(&table, &input, &args, &failed);
    assert_eq!(whole.status.code(), Some(1), "{}", stderr(&whole));
    let saved: Value = serde_json::from_slice(&std::fs::read(&checkpoint).unwrap()).unwrap();
    assert_eq!(
        saved["object"],
        format!("{input}c.ndjson.zst"),
        "the last object"
    );

    // As if the run had stopped after line 200 of the gzip object.
    let b = lines("b");
    let offset: usize = b.split_inclusive('\n').take(200).map(str::len).sum();
    let rewound = json!({
        "version": 1, "input": input, "object": format!("{input}b.ndjson.gz"),
        "offset": offset, "next_line": 201, "unprocessed_bytes": 0,
    });
    std::fs::write(&checkpoint, rewound.to_string()).unwrap();
    let again = load_with(&table, &input, &args, &failed);
    assert_eq!(again.status.code(), Some(0), "{}", stderr(&again));
    let resumed = summary(&again);
    assert_eq!(resumed["first_line"], 201);
    assert_eq!(
        count(&resumed, "records_read"),
        200 + PER_OBJECT,
        "{resumed}"
    );
    assert!(read_lines(&failed).is_empty(), "the bad line was before");
    assert_eq!(stored_ids(&client, &table).await, every_id());

    let wrong = json!({
        "version": 1, "input": input, "object": format!("{input}gone.ndjson"),
        "offset": 0, "next_line": 1, "unprocessed_bytes": 0,
    });
    std::fs::write(&checkpoint, wrong.to_string()).unwrap();
    let refused = load_with(&table, &input, &args, &failed);
    assert_eq!(refused.status.code(), Some(2));
    assert!(
        stderr(&refused).contains("gone.ndjson"),
        "{}",
        stderr(&refused)
    );
}

#[tokio::test]
async fn missing_objects_and_empty_prefixes_are_named_before_reading() {
    let bucket = bucket_with_objects().await;
    let (_, table) = new_table().await;
    for (input, expected) in [
        (
            format!("s3://{bucket}/prefix/nope.ndjson"),
            "no such object",
        ),
        (
            format!("s3://{bucket}/empty/"),
            "no object under this prefix",
        ),
    ] {
        let output = load(&table, &input, &[]);
        assert_eq!(output.status.code(), Some(2), "{input}");
        assert!(output.stdout.is_empty(), "nothing read");
        let message = stderr(&output);
        assert!(
            message.contains(expected) && message.contains(&input),
            "{message}"
        );
    }
}
