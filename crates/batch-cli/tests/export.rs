//! `aws-batch dynamodb --from-export`: table exports made in the test with the real layout
//! (gzipped data files, both manifests), in S3 and in a local folder, full and incremental,
//! copied into an existing table and compared item for item; manifests that disagree with
//! the data; a copy killed with SIGKILL and resumed; four shards as four processes.
#![allow(clippy::unwrap_used)]
// A child process runs on the wall clock: its time is measured with it.
#![allow(clippy::disallowed_methods)]

mod support;

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::time::{Duration, Instant};

use aws_batch_utils::dynamodb::dynamodb_json::to_dynamodb_json;
use md5::{Digest, Md5};
use serde_json::{Value, json};
use support::{count, read_lines, stderr, summary, temp_dir};

const EXPORT_ID: &str = "01764000000000-a1b2c3d4";

/// Item `n` in DynamoDB JSON: every type, numbers DynamoDB keeps exactly.
fn item(n: u64) -> Value {
    json!({
        "id": {"S": format!("k{n}")},
        "n": {"N": n.to_string()},
        // 38 significant digits, the most DynamoDB keeps, none of them a trailing zero.
        "price": {"N": format!("123456789012345678901234.{n:013}1")},
        "tags": {"SS": ["a", format!("t{n}")]},
        "sizes": {"NS": ["1", "2.5"]},
        "raw": {"B": aws_smithy_types::base64::encode([n.to_le_bytes()[0], 0, 255])},
        "ok": {"BOOL": n.is_multiple_of(2)},
        "none": {"NULL": true},
        "lines": {"L": [{"S": "x"}, {"M": {"qty": {"N": "3"}}}]},
    })
}

/// An export's files: relative paths (under the root) and their bytes.
type Files = Vec<(String, Vec<u8>)>;

fn gzip(text: &str) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(text.as_bytes()).unwrap();
    encoder.finish().unwrap()
}

/// An export of `lines` in `files` data files (the last one empty, as an empty partition's
/// is), under `prefix`; `lie` changes what the files manifest says of file `i`.
fn export_files(
    prefix: &str,
    lines: &[Value],
    files: usize,
    lie: &dyn Fn(usize, &mut Value),
) -> Files {
    let folder = format!("{prefix}AWSDynamoDB/{EXPORT_ID}/");
    let mut out = Vec::new();
    let mut manifest = String::new();
    let per_file = lines.len().div_ceil(files - 1).max(1);
    for i in 0..files {
        let chunk: Vec<&Value> = lines.iter().skip(i * per_file).take(per_file).collect();
        let chunk = if i + 1 == files { Vec::new() } else { chunk };
        let text: String = chunk.iter().map(|l| l.to_string() + "\n").collect();
        let data = gzip(&text);
        let key = format!("{folder}data/file{i:02}.json.gz");
        let mut entry = json!({
            "itemCount": chunk.len(),
            "md5Checksum": aws_smithy_types::base64::encode(Md5::digest(&data).as_slice()),
            "etag": "0",
            "dataFileS3Key": key,
        });
        lie(i, &mut entry);
        manifest.push_str(&(entry.to_string() + "\n"));
        out.push((key, data));
    }
    let summary = json!({
        "version": "2020-06-30",
        "itemCount": lines.len(),
        "outputFormat": "DYNAMODB_JSON",
        "manifestFilesS3Key": format!("{folder}manifest-files.json"),
    });
    out.push((
        format!("{folder}manifest-summary.json"),
        summary.to_string().into_bytes(),
    ));
    out.push((
        format!("{folder}manifest-files.json"),
        manifest.into_bytes(),
    ));
    out.push((format!("{folder}_started"), Vec::new()));
    out
}

fn full_export(items: u64) -> Vec<Value> {
    (0..items).map(|n| json!({"Item": item(n)})).collect()
}

/// Writes `files` under a new local folder; returns the export's folder.
fn to_local(files: &Files) -> PathBuf {
    let root = temp_dir();
    for (key, data) in files {
        let path = root.join(key);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, data).unwrap();
    }
    root.join(format!("AWSDynamoDB/{EXPORT_ID}/"))
}

/// Puts `files` in a new bucket; returns the export's folder as an `s3://` URL.
async fn to_s3(files: &Files) -> String {
    let s3 = test_support::s3_client().await;
    let bucket = test_support::unique_name("export").to_lowercase();
    s3.create_bucket().bucket(&bucket).send().await.unwrap();
    for (key, data) in files {
        s3.put_object()
            .bucket(&bucket)
            .key(key)
            .body(data.clone().into())
            .send()
            .await
            .unwrap();
    }
    format!("s3://{bucket}/backups/AWSDynamoDB/{EXPORT_ID}/")
}

async fn new_table() -> (aws_batch_utils::dynamodb::sdk::Client, String) {
    let client =
        aws_batch_utils::dynamodb::sdk::Client::new(&test_support::sdk_config("dynamodb").await);
    let table = test_support::create_table(&client, "id", None).await;
    (client, table)
}

/// The table's items in DynamoDB JSON, by id.
async fn table_items(
    client: &aws_batch_utils::dynamodb::sdk::Client,
    table: &str,
) -> BTreeMap<String, Value> {
    test_support::scan_all(client, table)
        .await
        .into_iter()
        .map(|item| {
            let id = item["id"].as_s().unwrap().clone();
            (id, to_dynamodb_json(&item))
        })
        .collect()
}

fn copy_command(table: &str, export: &str, failed: &Path) -> std::process::Command {
    let mut command = support::dynamodb(table);
    command
        .args(["--s3-endpoint-url", &test_support::endpoint("s3")])
        .args(["--from-export", export, "--unprocessed"])
        .arg(failed)
        .stdin(Stdio::null());
    command
}

fn copy(table: &str, export: &str, args: &[&str]) -> (Output, PathBuf) {
    let failed = temp_dir().join("failed.ndjson");
    let output = copy_command(table, export, &failed)
        .args(args)
        .output()
        .unwrap();
    (output, failed)
}

/// An item with its sets in order: a set's order is not kept.
fn normalized(mut value: Value) -> Value {
    for pointer in ["/tags/SS", "/sizes/NS"] {
        if let Some(Value::Array(items)) = value.pointer_mut(pointer) {
            items.sort_by_key(ToString::to_string);
        }
    }
    value
}

#[tokio::test]
async fn a_full_export_in_s3_is_copied_item_for_item() {
    let lines = full_export(600);
    let export = to_s3(&export_files("backups/", &lines, 5, &|_, _| {})).await;
    let (client, table) = new_table().await;
    let (output, failed) = copy(&table, &export, &[]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let summary = summary(&output);
    assert_eq!(summary["export"]["items_expected"], 600, "{summary}");
    assert_eq!(summary["export"]["data_files"], 5);
    assert_eq!(summary["problems"], json!([]));
    assert_eq!(count(&summary, "records_read"), 600);
    assert_eq!(count(&summary, "delivered"), 600);
    assert_eq!(count(&summary, "written"), 600);
    assert_eq!(count(&summary, "deleted"), 0);
    assert!(read_lines(&failed).is_empty());
    let stored = table_items(&client, &table).await;
    assert_eq!(stored.len(), 600);
    for n in 0..600 {
        let expected = normalized(item(n));
        let got = normalized(stored[&format!("k{n}")].clone());
        assert_eq!(got, expected, "item {n}, numbers to the digit");
    }
}

#[tokio::test]
async fn an_incremental_export_puts_new_images_and_deletes_keys() {
    let (client, table) = new_table().await;
    // The table before: k0..k9.
    let before = full_export(10);
    let (output, _) = copy(
        &table,
        to_local(&export_files("", &before, 2, &|_, _| {}))
            .to_str()
            .unwrap(),
        &[],
    );
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));

    let mut changed = item(1);
    changed["n"] = json!({"N": "1001"});
    let micros = json!({"WriteTimestampMicros": {"N": "1764000000000000"}});
    let lines = vec![
        json!({"Metadata": micros, "Keys": {"id": {"S": "k1"}}, "NewImage": changed, "OldImage": item(1)}),
        json!({"Metadata": micros, "Keys": {"id": {"S": "k2"}}, "OldImage": item(2)}),
        json!({"Metadata": micros, "Keys": {"id": {"S": "k3"}}}),
        json!({"Metadata": micros, "Keys": {"id": {"S": "k11"}}, "NewImage": item(11)}),
    ];
    let folder = to_local(&export_files("", &lines, 3, &|_, _| {}));
    let (output, _) = copy(&table, folder.to_str().unwrap(), &[]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let summary = summary(&output);
    assert_eq!(count(&summary, "records_read"), 4);
    assert_eq!(count(&summary, "delivered"), 4);
    assert_eq!(count(&summary, "written"), 2, "{summary}");
    assert_eq!(count(&summary, "deleted"), 2, "{summary}");
    let stored = table_items(&client, &table).await;
    let ids: Vec<&str> = stored.keys().map(String::as_str).collect();
    assert_eq!(ids, ["k0", "k1", "k11", "k4", "k5", "k6", "k7", "k8", "k9"]);
    assert_eq!(stored["k1"]["n"], json!({"N": "1001"}));
}

#[tokio::test]
async fn a_wrong_count_or_checksum_is_reported_and_nothing_is_skipped() {
    let lines = full_export(300);
    let lie = |i: usize, entry: &mut Value| match i {
        0 => entry["itemCount"] = json!(99),
        1 => entry["md5Checksum"] = json!("AAAAAAAAAAAAAAAAAAAAAA=="),
        _ => {}
    };
    let folder = to_local(&export_files("", &lines, 4, &lie));
    let (_, table) = new_table().await;
    let (output, failed) = copy(&table, folder.to_str().unwrap(), &[]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let summary = summary(&output);
    assert_eq!(count(&summary, "delivered"), 300, "every item still copied");
    assert!(read_lines(&failed).is_empty());
    let problems: Vec<String> = summary["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(problems.len(), 3, "{problems:?}");
    assert!(
        problems[0].contains("lists 299 items in 4 files, manifest-summary.json says 300"),
        "{problems:?}"
    );
    assert!(
        problems[1].contains("file00.json.gz: 100 items, the manifest says 99"),
        "{problems:?}"
    );
    assert!(problems[2].contains("file01.json.gz: MD5"), "{problems:?}");
    assert!(
        problems[2].contains("the manifest says AAAAAAAAAAAAAAAAAAAAAA=="),
        "{problems:?}"
    );

    // A line that is not an export line is handed back as it was.
    let broken = vec![
        json!({"Item": item(1)}),
        json!({"Nothing": {}}),
        json!({"Item": {"id": {"Q": "x"}}}),
    ];
    let folder = to_local(&export_files("", &broken, 2, &|_, _| {}));
    let (output, failed) = copy(&table, folder.to_str().unwrap(), &[]);
    assert_eq!(output.status.code(), Some(1));
    let entries = read_lines(&failed);
    assert_eq!(entries.len(), 2);
    assert_eq!(entries[0]["line"], 2);
    assert_eq!(entries[0]["record"], json!({"Nothing": {}}));
    assert!(
        entries[1]["error"]["message"]
            .as_str()
            .unwrap()
            .contains("`id`"),
        "{}",
        entries[1]
    );
    assert!(
        entries[0]["object"]
            .as_str()
            .unwrap()
            .ends_with("file00.json.gz")
    );
}

#[tokio::test]
async fn a_copy_killed_mid_export_resumes_from_its_checkpoint() {
    let lines = full_export(2_000);
    let export = to_s3(&export_files("backups/", &lines, 9, &|_, _| {})).await;
    let (client, table) = new_table().await;
    let dir = temp_dir();
    let failed = dir.join("failed.ndjson");
    let checkpoint = dir.join("progress.json");
    let args = [
        "--checkpoint",
        checkpoint.to_str().unwrap(),
        "--checkpoint-every",
        "100ms",
    ];
    let slow = ["--max-records-per-second", "400"];
    let mut child = copy_command(&table, &export, &failed)
        .args(args)
        .args(slow)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    // Killed once it is past the first data files and well before the last (checkpoints
    // come as deliveries settle, so any of the middle files may be the first one seen).
    let in_the_middle =
        |object: &str| (2..=6).any(|n| object.ends_with(&format!("file{n:02}.json.gz")));
    loop {
        let saved: Option<Value> = std::fs::read(&checkpoint)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok());
        if saved.is_some_and(|s| s["object"].as_str().is_some_and(in_the_middle)) {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(60), "no progress");
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let before = table_items(&client, &table).await.len();
    assert!(before < 2_000, "killed mid-copy: {before} items");

    let output = copy_command(&table, &export, &failed)
        .args(args)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let resumed = summary(&output);
    assert!(count(&resumed, "records_read") < 2_000 - 400, "{resumed}");
    assert_eq!(
        resumed["problems"],
        json!([]),
        "each file checked whole, also when resumed"
    );
    assert!(read_lines(&failed).is_empty());
    assert_eq!(table_items(&client, &table).await.len(), 2_000);
}

#[tokio::test]
async fn four_shards_as_four_processes_copy_every_item_once() {
    let lines = full_export(1_000);
    let export = to_s3(&export_files("backups/", &lines, 9, &|_, _| {})).await;
    let (client, table) = new_table().await;
    let children: Vec<_> = (0..4)
        .map(|i| {
            let failed = temp_dir().join("failed.ndjson");
            copy_command(&table, &export, &failed)
                .args(["--shard", &format!("{i}/4")])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut read = 0;
    let mut files = 0;
    for child in children {
        let output = child.wait_with_output().unwrap();
        assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
        let summary = summary(&output);
        read += count(&summary, "records_read");
        files += summary["shard"]["objects"].as_u64().unwrap();
    }
    assert_eq!((read, files), (1_000, 9), "every item and every file once");
    let stored = table_items(&client, &table).await;
    let expected: BTreeMap<String, Value> =
        (0..1_000).map(|n| (format!("k{n}"), item(n))).collect();
    assert_eq!(
        stored.keys().collect::<Vec<_>>(),
        expected.keys().collect::<Vec<_>>()
    );
}

#[tokio::test]
async fn exports_that_cannot_be_read_are_refused_before_reading() {
    let (_, table) = new_table().await;
    let lines = full_export(10);
    let mut files = export_files("", &lines, 2, &|_, _| {});
    let ion = to_local(&{
        let mut ion = files.clone();
        for (key, data) in &mut ion {
            if key.ends_with("manifest-summary.json") {
                *data = json!({"itemCount": 10, "outputFormat": "ION"})
                    .to_string()
                    .into_bytes();
            }
        }
        ion
    });
    files.retain(|(key, _)| !key.ends_with("file00.json.gz"));
    let missing = to_local(&files);
    let not_export = temp_dir();
    for (folder, expected) in [
        (ion, "only DYNAMODB_JSON exports are read"),
        (missing, "file00.json.gz"),
        (not_export, "manifest-summary.json"),
    ] {
        let (output, _) = copy(&table, folder.to_str().unwrap(), &[]);
        assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
        assert!(output.stdout.is_empty(), "nothing read");
        assert!(stderr(&output).contains(expected), "{}", stderr(&output));
    }
}
