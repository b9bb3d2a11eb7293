//! DynamoBatchDispatcher against the local DynamoDB emulator (dynalite, which validates
//! batches as strictly as DynamoDB: a batch with one key twice is refused).
#![allow(
    clippy::unwrap_used,
    clippy::cast_possible_truncation,
    clippy::cast_possible_wrap
)]

use std::collections::{BTreeMap, HashMap};

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::AttributeValue;
use batch_dynamodb::{DynamoBackend, DynamoBatchDispatcher, DynamoWrite};
use serde_json::{Value, json};

async fn client() -> Client {
    Client::new(&test_support::sdk_config("dynamodb").await)
}

async fn scan(client: &Client, table: &str) -> Vec<HashMap<String, AttributeValue>> {
    test_support::scan_all(client, table).await
}

/// A new table keyed by `pk` and `sk`, and a dispatcher for it.
async fn table_with_sort_key(client: &Client) -> (String, DynamoBatchDispatcher) {
    let table = test_support::create_table(client, "pk", Some("sk")).await;
    let dynamo = DynamoBatchDispatcher::builder(
        DynamoBackend::new(client.clone(), table.clone(), "pk").with_sort_key("sk"),
    )
    .build()
    .unwrap();
    (table, dynamo)
}

#[tokio::test]
async fn a_thousand_puts_and_deletes_leave_the_table_as_applied_one_by_one() {
    let client = client().await;
    let (table, dynamo) = table_with_sort_key(&client).await;

    // The model: every write applied one at a time, in order.
    let mut model: BTreeMap<(String, u64), Value> = BTreeMap::new();
    let mut keys: Vec<(String, u64)> = Vec::new();
    for i in 0..1_000_u64 {
        let earlier = i >= 10 && i % 10 == 0;
        let (pk, sk) = if earlier {
            keys[(i as usize * 7) % keys.len()].clone()
        } else {
            (format!("p{}", i % 7), i)
        };
        if earlier && i % 20 == 0 {
            let key = json!({"pk": pk, "sk": sk});
            dynamo
                .submit_payload(DynamoWrite::delete(key))
                .await
                .unwrap();
            model.remove(&(pk.clone(), sk));
        } else {
            let item = json!({"pk": pk, "sk": sk, "write": i, "tags": ["a", i.to_string()], "nested": {"ok": true, "none": null}});
            dynamo.submit_payload(item.clone()).await.unwrap();
            model.insert((pk.clone(), sk), item);
        }
        if !earlier {
            keys.push((pk, sk));
        }
    }
    assert!(dynamo.flush_payloads().await.is_empty());

    let stats = dynamo.stats();
    let needed = stats.submitted - stats.superseded;
    eprintln!(
        "{} writes, {} superseded in a pending batch, {needed} needed, {} requests",
        stats.submitted, stats.superseded, stats.requests_sent
    );
    assert_eq!(stats.requests_sent, needed.div_ceil(25));
    assert_eq!(stats.delivered, needed);

    let items = scan(&client, &table).await;
    assert_eq!(items.len(), model.len());
    for item in items {
        let pk = item["pk"].as_s().unwrap().clone();
        let sk: u64 = item["sk"].as_n().unwrap().parse().unwrap();
        let expected = &model[&(pk.clone(), sk)];
        let write: u64 = item["write"].as_n().unwrap().parse().unwrap();
        assert_eq!(
            write,
            expected["write"].as_u64().unwrap(),
            "item ({pk}, {sk})"
        );
        let tags = item["tags"].as_l().unwrap();
        assert_eq!(tags[1].as_s().unwrap(), &write.to_string());
        let nested = item["nested"].as_m().unwrap();
        assert_eq!(nested["ok"], AttributeValue::Bool(true));
        assert_eq!(nested["none"], AttributeValue::Null(true));
    }
}

/// Whether two decimal texts have the same value (sign, significant digits, magnitude).
fn same_decimal(a: &str, b: &str) -> bool {
    fn parts(text: &str) -> (bool, String, i64) {
        let negative = text.starts_with('-');
        let text = text.trim_start_matches(['-', '+']);
        let (mantissa, exponent) = text
            .split_once(['e', 'E'])
            .map_or((text, 0), |(m, e)| (m, e.parse().unwrap()));
        let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
        let digits = format!("{int}{frac}");
        let lead = digits.len() - digits.trim_start_matches('0').len();
        let significant = digits.trim_matches('0').to_owned();
        // Position of the first significant digit relative to the decimal point.
        let magnitude = int.len() as i64 - lead as i64 + exponent;
        (negative, significant, magnitude)
    }
    parts(a) == parts(b)
}

#[tokio::test]
async fn numbers_keep_their_exact_decimal_value() {
    let client = client().await;
    let (table, dynamo) = table_with_sort_key(&client).await;
    let text =
        r#"{"pk": "n", "sk": 1, "a": 0.1, "b": -1.5, "c": 1e3, "d": 12345678901234567890.123}"#;
    let item: Value = serde_json::from_str(text).unwrap();
    dynamo.submit_payload(item.clone()).await.unwrap();
    assert!(dynamo.flush_payloads().await.is_empty());

    let stored = client
        .get_item()
        .table_name(&table)
        .key("pk", AttributeValue::S("n".into()))
        .key("sk", AttributeValue::N("1".into()))
        .send()
        .await
        .unwrap();
    let stored = stored.item().unwrap();
    for (name, expected) in [
        ("a", "0.1"),
        ("b", "-1.5"),
        ("c", "1000"),
        ("d", "12345678901234567890.123"),
    ] {
        let got = stored[name].as_n().unwrap();
        assert!(
            same_decimal(got, expected),
            "{name}: stored {got}, expected {expected}"
        );
    }
    assert_eq!(
        item,
        serde_json::from_str::<Value>(text).unwrap(),
        "the caller's value is unchanged"
    );
}

#[tokio::test]
async fn a_missing_table_returns_every_write_with_resource_not_found() {
    let dynamo = DynamoBatchDispatcher::from_client(
        client().await,
        (test_support::unique_name("absent"), "pk"),
    );
    for n in 0..30 {
        dynamo
            .submit_payload(json!({"pk": format!("k{n}")}))
            .await
            .unwrap();
    }
    let unprocessed = dynamo.flush_payloads().await;
    assert_eq!(unprocessed.len(), 30);
    assert!(
        unprocessed
            .iter()
            .all(|u| u.error.code() == "ResourceNotFoundException" && u.error.attempts == 1)
    );
}

#[tokio::test]
async fn the_capacity_read_is_the_lowest_of_the_table_and_its_index() {
    let client = client().await;
    let table = test_support::create_provisioned_table(&client, "pk", 40, Some(25)).await;
    let dynamo = DynamoBatchDispatcher::builder(
        DynamoBackend::new(client.clone(), table.clone(), "pk").with_capacity_read(true),
    )
    .build()
    .unwrap();
    assert_eq!(dynamo.backend().write_capacity(), None);
    for n in 0..30 {
        dynamo
            .submit_payload(json!({"pk": format!("k{n}")}))
            .await
            .unwrap();
    }
    assert!(dynamo.flush_payloads().await.is_empty());
    assert_eq!(dynamo.backend().write_capacity(), Some(25.0));
    assert_eq!(scan(&client, &table).await.len(), 30);
}
