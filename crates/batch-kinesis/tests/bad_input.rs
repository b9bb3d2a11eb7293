//! Every record Kinesis would refuse is refused at submit, named, and handed back.
#![allow(clippy::unwrap_used)]

use aws_sdk_kinesis::Client;
use aws_sdk_kinesis::config::{BehaviorVersion, Region};
use batch_core::{DispatcherConfig, SubmitError, SubmitErrorKind};
use batch_kinesis::{KinesisBackend, KinesisBatchDispatcher, KinesisRecord, PartitionKey};
use serde_json::json;

fn client() -> Client {
    let config = aws_sdk_kinesis::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .build();
    Client::from_conf(config)
}

async fn refused(
    dispatcher: KinesisBatchDispatcher,
    record: KinesisRecord,
) -> SubmitError<KinesisRecord> {
    let err = dispatcher.submit_payload(record.clone()).await.unwrap_err();
    assert_eq!(err.payload(), &record, "handed back as submitted");
    assert_eq!(dispatcher.pending(), 0);
    dispatcher
        .submit_payload(KinesisRecord::json(json!({"ok": 1})).with_partition_key("k"))
        .await
        .unwrap();
    assert_eq!(dispatcher.pending(), 1, "the dispatcher goes on working");
    let _ = dispatcher
        .flush_payloads_timeout(std::time::Duration::ZERO)
        .await;
    err
}

fn plain() -> KinesisBatchDispatcher {
    KinesisBatchDispatcher::from_client(client(), "stream")
}

#[tokio::test]
async fn an_empty_partition_key() {
    let err = refused(
        plain(),
        KinesisRecord::json(json!(1)).with_partition_key(""),
    )
    .await;
    assert_eq!(
        err.kind(),
        &SubmitErrorKind::OutOfRange {
            field: "PartitionKey".into(),
            value: "0 characters".into(),
            allowed: "1 to 256 characters".into()
        }
    );
}

#[tokio::test]
async fn a_partition_key_of_257_characters() {
    let err = refused(
        plain(),
        KinesisRecord::json(json!(1)).with_partition_key("é".repeat(257)),
    )
    .await;
    assert_eq!(err.kind().field(), "PartitionKey");
    assert!(err.to_string().contains("257 characters"), "{err}");
}

#[tokio::test]
async fn a_partition_key_of_256_characters_is_fine() {
    let kinesis = plain();
    kinesis
        .submit_payload(KinesisRecord::json(json!(1)).with_partition_key("é".repeat(256)))
        .await
        .unwrap();
    assert_eq!(kinesis.pending(), 1);
    let _ = kinesis
        .flush_payloads_timeout(std::time::Duration::ZERO)
        .await;
}

#[tokio::test]
async fn a_record_of_one_mebibyte_and_one_byte() {
    // Data plus key: 1 MiB - 1 bytes of data and a 2-byte key.
    let record = KinesisRecord::bytes(vec![7; 1_048_575]).with_partition_key("kk");
    let err = refused(plain(), record).await;
    assert_eq!(
        err.kind(),
        &SubmitErrorKind::TooLarge {
            field: "record".into(),
            size: 1_048_577,
            limit: 1_048_576
        }
    );
}

#[tokio::test]
async fn a_record_at_a_raised_limit_is_accepted() {
    let kinesis = KinesisBatchDispatcher::builder(KinesisBackend::new(client(), "s"))
        .config(DispatcherConfig::default().max_entry_bytes(2 * 1_048_576))
        .build()
        .unwrap();
    kinesis
        .submit_payload(KinesisRecord::bytes(vec![7; 2 * 1_048_576 - 1]).with_partition_key("k"))
        .await
        .unwrap();
    let _ = kinesis
        .flush_payloads_timeout(std::time::Duration::ZERO)
        .await;
}

#[tokio::test]
async fn limits_above_the_kinesis_ceiling_are_config_errors() {
    let err = KinesisBatchDispatcher::builder(KinesisBackend::new(client(), "s"))
        .config(DispatcherConfig::default().max_entry_bytes(10 * 1_048_576 + 1))
        .build()
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("above the kinesis limit of 10485760"),
        "{err}"
    );
    let err = KinesisBatchDispatcher::builder(KinesisBackend::new(client(), "s"))
        .config(DispatcherConfig::default().max_request_bytes(0))
        .build()
        .unwrap_err();
    assert_eq!(
        err,
        batch_core::ConfigError::Zero {
            field: "max_request_bytes"
        }
    );
}

#[tokio::test]
async fn a_missing_partition_key_field() {
    let kinesis = KinesisBatchDispatcher::builder(
        KinesisBackend::new(client(), "s").with_partition_key_field("user"),
    )
    .build()
    .unwrap();
    let err = refused(kinesis, KinesisRecord::json(json!({"other": 1}))).await;
    assert_eq!(
        err.kind(),
        &SubmitErrorKind::Missing {
            field: "user".into()
        }
    );
}

#[tokio::test]
async fn a_null_or_object_partition_key_field() {
    let kinesis = KinesisBatchDispatcher::builder(
        KinesisBackend::new(client(), "s").with_partition_key_field("user"),
    )
    .build()
    .unwrap();
    let err = refused(kinesis, KinesisRecord::json(json!({"user": null}))).await;
    // Present but null: said as it is, not as missing.
    assert!(
        matches!(err.kind(), SubmitErrorKind::Invalid { reason, .. } if reason.contains("null"))
    );
    let kinesis = KinesisBatchDispatcher::builder(
        KinesisBackend::new(client(), "s").with_partition_key_field("user"),
    )
    .build()
    .unwrap();
    let err = refused(kinesis, KinesisRecord::json(json!({"user": {"id": 1}}))).await;
    assert!(matches!(err.kind(), SubmitErrorKind::Invalid { .. }));
}

#[tokio::test]
async fn a_nested_key_through_a_json_pointer() {
    let kinesis = KinesisBatchDispatcher::builder(
        KinesisBackend::new(client(), "s")
            .with_partition_key(PartitionKey::Pointer("/user/id".into())),
    )
    .build()
    .unwrap();
    kinesis
        .submit_payload(json!({"user": {"id": 42}}))
        .await
        .unwrap();
    let err = kinesis
        .submit_payload(json!({"user": {}}))
        .await
        .unwrap_err();
    assert_eq!(err.kind().field(), "/user/id");
    let _ = kinesis
        .flush_payloads_timeout(std::time::Duration::ZERO)
        .await;
}

#[tokio::test]
async fn a_byte_record_without_a_key_when_keys_come_from_a_field() {
    let kinesis = KinesisBatchDispatcher::builder(
        KinesisBackend::new(client(), "s").with_partition_key_field("user"),
    )
    .build()
    .unwrap();
    let err = refused(kinesis, KinesisRecord::bytes(b"raw".to_vec())).await;
    assert!(matches!(err.kind(), SubmitErrorKind::Missing { .. }));
}

#[tokio::test]
async fn an_explicit_hash_key_out_of_range() {
    let too_big = "340282366920938463463374607431768211456"; // 2^128
    let err = refused(
        plain(),
        KinesisRecord::json(json!(1)).with_explicit_hash_key(too_big),
    )
    .await;
    assert_eq!(err.kind().field(), "ExplicitHashKey");
    let err = refused(
        plain(),
        KinesisRecord::json(json!(1)).with_explicit_hash_key("-1"),
    )
    .await;
    assert_eq!(err.kind().field(), "ExplicitHashKey");
}

#[tokio::test]
async fn a_record_of_exactly_one_mebibyte_is_fine() {
    let kinesis = plain();
    let record = KinesisRecord::bytes(vec![7; 1_048_574]).with_partition_key("kk");
    kinesis.submit_payload(record).await.unwrap();
    assert_eq!(kinesis.pending(), 1);
    let _ = kinesis
        .flush_payloads_timeout(std::time::Duration::ZERO)
        .await;
}
