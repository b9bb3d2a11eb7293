//! The example function (`sqs_to_dynamodb`) end to end: the real `lambda_runtime` client in a
//! child process under a fake Runtime API, writing to a table of the DynamoDB emulator. Every
//! invocation's `batchItemFailures` are, message for message, the messages whose item is not
//! in the table afterwards: good messages written and not reported, bad ones reported and not
//! written, whatever the mix of an event.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::{HashMap, HashSet};
use std::process::Stdio;
use std::time::Duration;

use batch_dynamodb::sdk::types::AttributeValue;
use batch_lambda::testing::{FakeRuntime, Outcome};
use common::{example, now_ms, reported};
use test_support::{create_table, endpoint, scan_all, sdk_config};
use tokio::process::Command;

/// What a message of a test event holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Body {
    /// A JSON object with a fresh key.
    Good,
    /// A JSON object with the key of an earlier good message of the same event.
    SameKey,
    NotJson,
    NotAnObject,
    MissingKey,
    EmptyKey,
    /// Over DynamoDB's 400 KB item limit.
    TooLarge,
    /// A number DynamoDB cannot store (over 10^125).
    OutOfRange,
    /// A number where the table's key is a string: only DynamoDB knows, and it refuses the
    /// whole request the item is in (the dispatcher then sends the request's halves apart).
    WrongKeyType,
}

impl Body {
    fn draw(rng: &mut fastrand::Rng) -> Self {
        match rng.u32(0..100) {
            0..=69 => Self::Good,
            70..=74 => Self::SameKey,
            75..=79 => Self::NotJson,
            80..=83 => Self::NotAnObject,
            84..=87 => Self::MissingKey,
            88..=91 => Self::EmptyKey,
            92..=95 => Self::TooLarge,
            96..=98 => Self::OutOfRange,
            _ => Self::WrongKeyType,
        }
    }

    /// Whether the function can write it.
    fn writable(self) -> bool {
        matches!(self, Self::Good | Self::SameKey)
    }
}

/// One test message: its id, its item key, and what its body holds.
struct Message {
    id: String,
    key: String,
    body: Body,
}

/// An SQS event of `count` messages drawn at random.
fn event(invocation: usize, count: usize, rng: &mut fastrand::Rng) -> (String, Vec<Message>) {
    let mut records = Vec::new();
    let mut messages: Vec<Message> = Vec::new();
    for n in 0..count {
        let id = format!("m{invocation}-{n}");
        let mut body = Body::draw(rng);
        let good: Vec<&Message> = messages.iter().filter(|m| m.body == Body::Good).collect();
        let key = match body {
            Body::SameKey if !good.is_empty() => good[rng.usize(0..good.len())].key.clone(),
            Body::SameKey => {
                body = Body::Good;
                format!("k{invocation}-{n}")
            }
            _ => format!("k{invocation}-{n}"),
        };
        let text = match body {
            Body::Good | Body::SameKey => {
                serde_json::json!({"id": key, "msg": id, "n": n, "note": "é✓"}).to_string()
            }
            Body::NotJson => "not json {".to_owned(),
            Body::NotAnObject => serde_json::json!([key, id]).to_string(),
            Body::MissingKey => serde_json::json!({"msg": id}).to_string(),
            Body::EmptyKey => serde_json::json!({"id": "", "msg": id}).to_string(),
            Body::TooLarge => {
                serde_json::json!({"id": key, "msg": id, "blob": "x".repeat(410_000)}).to_string()
            }
            Body::OutOfRange => format!(r#"{{"id": "{key}", "msg": "{id}", "n": 1e200}}"#),
            Body::WrongKeyType => serde_json::json!({"id": n, "msg": id}).to_string(),
        };
        records.push(serde_json::json!({
            "messageId": id, "receiptHandle": "r", "body": text, "attributes": {},
            "messageAttributes": {}, "md5OfBody": "", "eventSource": "aws:sqs",
            "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:q", "awsRegion": "us-east-1"
        }));
        messages.push(Message { id, key, body });
    }
    (
        serde_json::json!({ "Records": records }).to_string(),
        messages,
    )
}

fn text(item: &HashMap<String, AttributeValue>, name: &str) -> String {
    item.get(name)
        .and_then(|value| value.as_s().ok())
        .cloned()
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batch_item_failures_are_exactly_the_messages_whose_items_are_not_in_the_table() {
    let config = sdk_config("dynamodb").await;
    let client = batch_dynamodb::sdk::Client::new(&config);
    let table = create_table(&client, "id", None).await;
    let runtime = FakeRuntime::start().await.unwrap();
    let mut child = Command::new(example("sqs_to_dynamodb"))
        .envs(runtime.function_env())
        .env("AWS_ENDPOINT_URL", endpoint("dynamodb"))
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("TABLE", &table)
        .env("RUST_LOG", "error")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    assert!(runtime.wait_next_calls(1, Duration::from_secs(30)).await);

    let mut rng = fastrand::Rng::with_seed(2026);
    let mut messages = Vec::new();
    let mut reported_ids = HashSet::new();
    for invocation in 0..40 {
        let (body, mut sent) = event(invocation, rng.usize(1..=10), &mut rng);
        let answer = runtime.invoke(body, Some(now_ms() + 10_000));
        let outcome = tokio::time::timeout(Duration::from_secs(20), answer)
            .await
            .expect("an answer within the deadline")
            .unwrap();
        let Outcome::Response(response) = outcome else {
            panic!("invocation {invocation} failed: {outcome:?}");
        };
        let failed = reported(&response);
        let ids: HashSet<&String> = sent.iter().map(|message| &message.id).collect();
        assert!(
            failed.iter().all(|id| ids.contains(id)),
            "invocation {invocation} reported a message of another: {failed:?}"
        );
        reported_ids.extend(failed);
        messages.append(&mut sent);
    }
    child.kill().await.unwrap();

    let items: HashMap<String, String> = scan_all(&client, &table)
        .await
        .iter()
        .map(|item| (text(item, "id"), text(item, "msg")))
        .collect();
    // A key's item is its last good message: DynamoDB keeps the last write of a key, and so
    // does the dispatcher, which drops an earlier pending write of the same key. The earlier
    // message is then done (not reported): redelivered, it would be replaced again.
    let last_of_key: HashMap<&String, &String> = messages
        .iter()
        .filter(|m| m.body.writable())
        .map(|m| (&m.key, &m.id))
        .collect();
    let mut mismatches = Vec::new();
    for message in &messages {
        let reported = reported_ids.contains(&message.id);
        if message.body.writable() && last_of_key[&message.key] != &message.id {
            assert!(!reported, "{} was replaced, and reported", message.id);
            continue;
        }
        let in_table = items.get(&message.key) == Some(&message.id);
        if in_table == reported {
            mismatches.push(format!(
                "{} ({:?}): in table {in_table}, reported {reported}",
                message.id, message.body
            ));
        }
        // Good items are written, also beside an item of a key of the wrong type.
        assert_eq!(
            in_table,
            message.body.writable(),
            "{} ({:?})",
            message.id,
            message.body
        );
    }
    assert!(mismatches.is_empty(), "{mismatches:#?}");
    let bad = messages.iter().filter(|m| !m.body.writable()).count();
    assert!(bad > 0 && bad < messages.len(), "a mix of messages");
    let wrong_type = messages
        .iter()
        .filter(|m| m.body == Body::WrongKeyType)
        .count();
    eprintln!(
        "{} messages in 40 invocations: {} items written, {} reported ({bad} bad, \
         {wrong_type} of them with a key of the wrong type), every report a message whose item \
         is not in the table",
        messages.len(),
        items.len(),
        reported_ids.len()
    );
}
