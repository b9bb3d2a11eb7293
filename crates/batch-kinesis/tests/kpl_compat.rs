//! The KPL aggregated format, both ways, against AWS Labs' Python library `aws-kinesis-agg`
//! (installed by `cargo xtask` into the project's virtualenv): what we aggregate, it reads
//! back to the same records; what it aggregates, we read back.
#![allow(clippy::unwrap_used)]

use std::io::Write;
use std::process::{Command, Stdio};

use batch_kinesis::{UserRecord, aggregate, deaggregate, is_aggregated};
use serde_json::{Value, json};

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
        .collect()
}

/// 600 records over 25 keys (some not ASCII), one in five with an explicit hash key, data
/// of 0 to 400 random bytes.
fn records() -> Vec<UserRecord> {
    let mut rng = fastrand::Rng::with_seed(7);
    (0..600)
        .map(|n| {
            let key = match n % 25 {
                0 => "ключ-ünï-🦀".to_owned(),
                k => format!("key-{k}"),
            };
            let data: Vec<u8> = (0..rng.usize(0..400)).map(|_| rng.u8(..)).collect();
            let record = UserRecord::new(key, data);
            if n % 5 == 0 {
                record.with_explicit_hash_key(rng.u128(..).to_string())
            } else {
                record
            }
        })
        .collect()
}

fn python(request: &Value) -> Value {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/kpl_compat.py");
    let mut child = Command::new(test_support::python())
        .arg(script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(request.to_string().as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "the Python side failed");
    serde_json::from_slice(&output.stdout).unwrap()
}

#[test]
fn our_aggregates_and_the_python_librarys_read_each_other() {
    let records = records();
    // Ours: aggregates of 1, 99 and 500 records.
    let chunks = [&records[..1], &records[1..100], &records[100..]];
    let ours: Vec<Value> = chunks
        .iter()
        .map(|chunk| json!({"pk": chunk[0].partition_key, "data": hex(&aggregate(chunk))}))
        .collect();
    let wire: Vec<Value> = records
        .iter()
        .map(|r| json!({"pk": r.partition_key, "ehk": r.explicit_hash_key, "data": hex(&r.data)}))
        .collect();
    let answer = python(&json!({"ours": ours, "records": wire}));

    // Python reads ours: the same records, keys and data, in order. Its de-aggregator gives
    // a record without an explicit hash key the table's first one when the table is not
    // empty (it does not check that the field is set), so those are compared where the
    // record has one.
    let read = answer["deaggregated"].as_array().unwrap();
    assert_eq!(read.len(), chunks.len());
    for (chunk, read) in chunks.iter().zip(read) {
        let read = read.as_array().unwrap();
        assert_eq!(read.len(), chunk.len());
        for (record, user) in chunk.iter().zip(read) {
            assert_eq!(user["pk"], record.partition_key.as_str());
            assert_eq!(unhex(user["data"].as_str().unwrap()), record.data);
            if let Some(ehk) = &record.explicit_hash_key {
                assert_eq!(user["ehk"], ehk.as_str());
            }
        }
    }

    // We read Python's: every record, in order, with its keys.
    let theirs = answer["aggregated"].as_array().unwrap();
    assert!(theirs.len() > 1, "its 16 KiB limit splits 600 records");
    let mut back = Vec::new();
    for record in theirs {
        let data = unhex(record["data"].as_str().unwrap());
        assert!(is_aggregated(&data));
        back.extend(deaggregate(record["pk"].as_str().unwrap(), &data).unwrap());
    }
    assert_eq!(back, records);
}
