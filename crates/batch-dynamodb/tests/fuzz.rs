//! Random JSON items: converting and sizing never panics, and the size is never below the
//! bytes of the item's attribute names and string values.
#![allow(clippy::unwrap_used)]

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::{BehaviorVersion, Region};
use batch_core::Backend;
use batch_dynamodb::{DynamoBatchDispatcher, DynamoWrite};
use proptest::prelude::*;
use serde_json::Value;

fn json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(|f| serde_json::json!(f)),
        any::<String>().prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 64, 8, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
            proptest::collection::btree_map("[a-z]{1,6}", inner, 0..8)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Attribute names (at every depth) and string values, in bytes: a floor under any size.
fn floor(value: &Value) -> usize {
    match value {
        Value::String(s) => s.len(),
        Value::Array(items) => items.iter().map(floor).sum(),
        Value::Object(map) => map.iter().map(|(k, v)| k.len() + floor(v)).sum(),
        _ => 0,
    }
}

proptest! {
    #[test]
    fn any_item_converts_and_sizes_without_panicking(body in proptest::collection::btree_map("[a-z]{1,6}", json(), 0..8), pk in "[a-z]{1,10}") {
        let config = aws_sdk_dynamodb::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .build();
        let dynamo = DynamoBatchDispatcher::from_client(Client::from_conf(config), ("t", "pk"));
        let mut item: serde_json::Map<String, Value> = body.into_iter().collect();
        item.insert("pk".into(), Value::String(pk));
        let item = Value::Object(item);
        if let Ok(entry) = dynamo.backend().prepare(&DynamoWrite::from(item.clone())) {
            prop_assert!(entry.size >= floor(&item));
        }
    }
}
