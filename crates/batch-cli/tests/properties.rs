//! Random NDJSON through the `aws-batch` binary into an endpoint that refuses some entries:
//! good lines, lines that are not JSON, bytes that are not UTF-8, blank lines, CRLF line ends
//! and a byte order mark mixed. Every line read is delivered byte for byte or handed back with
//! its exact line number.
#![allow(clippy::unwrap_used)]

mod support;

use std::collections::BTreeMap;
use std::sync::OnceLock;
use std::time::Duration;

use null_endpoint::{Api, Faults, NullEndpoint};
use proptest::prelude::*;
use support::{command, count, read_lines, stderr, summary, temp_dir};

fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| tokio::runtime::Runtime::new().unwrap())
}

#[derive(Debug, Clone)]
enum Line {
    /// JSON, in a form a re-serialization would change.
    Json(String),
    NotJson(String),
    NotUtf8(Vec<u8>),
    Blank(String),
}

fn line() -> impl Strategy<Value = Line> {
    let json = (0..1_000u32, "[a-zé ]{0,8}", any::<bool>()).prop_map(|(n, s, spaced)| {
        if spaced {
            Line::Json(format!("{{ \"n\" : {n}.50, \"s\": \"{s}\", \"n\": 1E2 }}"))
        } else {
            Line::Json(format!("{{\"z\":\"{s}\",\"a\":{n}}}"))
        }
    });
    prop_oneof![
        6 => json,
        1 => "[a-z{:]{1,8}".prop_map(Line::NotJson),
        1 => "[a-z]{0,4}".prop_map(|s| Line::NotUtf8([s.as_bytes(), b"\xC3\x28"].concat())),
        1 => "[ \t]{0,2}".prop_map(Line::Blank),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn read_equals_delivered_plus_unprocessed_with_exact_line_numbers(
        lines in proptest::collection::vec((line(), any::<bool>()), 1..60),
        bom in any::<bool>(),
        seed in any::<u64>(),
    ) {
        let faults = Faults {
            seed,
            entry_failures: 0.2,
            sender_faults: 1.0, // refused for good: handed back at once
            ..Faults::default()
        };
        let endpoint = runtime()
            .block_on(NullEndpoint::start_with_faults(Duration::ZERO, faults))
            .unwrap();
        let dir = temp_dir();
        let input = dir.join("in.ndjson");
        let mut bytes = if bom { b"\xEF\xBB\xBF".to_vec() } else { Vec::new() };
        // What each line number must become.
        let mut good = BTreeMap::new();
        let mut bad = BTreeMap::new();
        for (i, (line, crlf)) in lines.iter().enumerate() {
            let number = i as u64 + 1;
            match line {
                Line::Json(text) => {
                    bytes.extend_from_slice(text.as_bytes());
                    good.insert(number, text.clone());
                }
                Line::NotJson(text) => {
                    bytes.extend_from_slice(text.as_bytes());
                    bad.insert(number, "InvalidJson");
                }
                Line::NotUtf8(raw) => {
                    bytes.extend_from_slice(raw);
                    bad.insert(number, "InvalidUtf8");
                }
                Line::Blank(text) => bytes.extend_from_slice(text.as_bytes()),
            }
            bytes.extend_from_slice(if *crlf { b"\r\n" } else { b"\n" });
        }
        std::fs::write(&input, &bytes).unwrap();
        let unprocessed = dir.join("failed.ndjson");
        let output = command(&endpoint.url())
            .args(["--linger", "0", "sqs", "--queue", "q", "--input"])
            .arg(&input)
            .arg("--unprocessed")
            .arg(&unprocessed)
            .output()
            .unwrap();
        let summary = summary(&output);
        let read = count(&summary, "records_read");
        prop_assert_eq!(read, (good.len() + bad.len()) as u64, "{}", stderr(&output));
        prop_assert_eq!(
            count(&summary, "delivered") + count(&summary, "unprocessed"),
            read
        );
        let mut handed_back = BTreeMap::new();
        let raw = std::fs::read_to_string(&unprocessed).unwrap();
        for (entry, text) in read_lines(&unprocessed).into_iter().zip(raw.lines()) {
            let number = entry["line"].as_u64().unwrap();
            let code = entry["error"]["code"].as_str().unwrap().to_owned();
            let text = text.to_owned();
            prop_assert!(handed_back.insert(number, (code, text)).is_none(), "one entry a line");
        }
        for (number, code) in &bad {
            let entry = handed_back.remove(number);
            prop_assert_eq!(entry.map(|(c, _)| c), Some((*code).to_owned()), "line {}", number);
        }
        // What is left was refused by the endpoint: the record is the line, byte for byte.
        let mut delivered: Vec<String> = endpoint.accepted(Api::SendMessageBatch);
        for (number, (code, text)) in &handed_back {
            prop_assert_eq!(code.as_str(), "InvalidParameterValue");
            let record = format!("\"record\":{}}}", good[number]);
            prop_assert!(text.ends_with(&record), "{} holds {}", text, record);
        }
        let mut expected: Vec<String> = good
            .iter()
            .filter(|(number, _)| !handed_back.contains_key(number))
            .map(|(_, text)| text.clone())
            .collect();
        delivered.sort();
        expected.sort();
        prop_assert_eq!(delivered, expected, "delivered exactly as read");
        prop_assert_eq!(
            output.status.code(),
            Some(if count(&summary, "unprocessed") == 0 { 0 } else { 1 })
        );
    }
}
