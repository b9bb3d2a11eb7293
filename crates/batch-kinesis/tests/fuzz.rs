//! Random records: preparing one never panics, and its size is what Kinesis counts.
#![allow(clippy::unwrap_used)]

use aws_sdk_kinesis::Client;
use aws_sdk_kinesis::config::{BehaviorVersion, Region};
use batch_core::Backend;
use batch_kinesis::{KinesisBackend, KinesisBatchDispatcher, KinesisRecord, PartitionKey};
use proptest::prelude::*;

fn dispatcher(source: PartitionKey) -> KinesisBatchDispatcher {
    let config = aws_sdk_kinesis::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .build();
    KinesisBatchDispatcher::builder(
        KinesisBackend::new(Client::from_conf(config), "s").with_partition_key(source),
    )
    .build()
    .unwrap()
}

proptest! {
    #[test]
    fn prepare_never_panics_and_sizes_data_plus_key(
        data in proptest::collection::vec(any::<u8>(), 0..2_000),
        key in any::<String>(),
        hash in proptest::option::of("[0-9-]{0,45}"),
    ) {
        let mut record = KinesisRecord::bytes(data.clone()).with_partition_key(key.clone());
        if let Some(hash) = hash { record = record.with_explicit_hash_key(hash); }
        let kinesis = dispatcher(PartitionKey::Random);
        if let Ok(entry) = kinesis.backend().prepare(&record) {
            prop_assert_eq!(entry.size, data.len() + key.len());
            prop_assert!(!key.is_empty() && key.chars().count() <= 256);
        }
    }

    #[test]
    fn keys_from_a_json_field_size_as_data_plus_key(field in "[a-z]{1,3}", value in any::<i64>(), text in any::<String>()) {
        let kinesis = dispatcher(PartitionKey::Field(field.clone()));
        let mut object = serde_json::Map::new();
        object.insert(field.clone(), serde_json::json!(value));
        object.insert(format!("{field}x"), serde_json::json!(text));
        let data = serde_json::Value::Object(object);
        let entry = kinesis.backend().prepare(&KinesisRecord::json(data.clone())).unwrap();
        let expected = serde_json::to_vec(&data).unwrap().len() + value.to_string().len();
        prop_assert_eq!(entry.size, expected);
    }
}
