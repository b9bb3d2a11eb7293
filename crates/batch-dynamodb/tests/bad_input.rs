//! Every write DynamoDB would refuse is refused at submit, named, and handed back.
#![allow(clippy::unwrap_used)]

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::{BehaviorVersion, Region};
use batch_core::{SubmitError, SubmitErrorKind};
use batch_dynamodb::{DynamoBackend, DynamoBatchDispatcher, DynamoWrite};
use serde_json::{Value, json};

fn table() -> DynamoBatchDispatcher {
    let config = aws_sdk_dynamodb::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .build();
    DynamoBatchDispatcher::builder(
        DynamoBackend::new(Client::from_conf(config), "t", "pk").with_sort_key("sk"),
    )
    .build()
    .unwrap()
}

async fn refused(write: DynamoWrite) -> SubmitError<DynamoWrite> {
    let dynamo = table();
    let err = dynamo.submit_payload(write.clone()).await.unwrap_err();
    assert_eq!(err.payload(), &write, "handed back as submitted");
    dynamo
        .submit_payload(json!({"pk": "ok", "sk": 1}))
        .await
        .unwrap();
    assert_eq!(dynamo.pending(), 1, "the dispatcher goes on working");
    let _ = dynamo
        .flush_payloads_timeout(std::time::Duration::ZERO)
        .await;
    err
}

#[tokio::test]
async fn an_item_exactly_at_400_kib_is_accepted() {
    let dynamo = table();
    // 2 + 1 + 2 + 2 + 3 = 10 bytes besides the value.
    dynamo
        .submit_payload(json!({"pk": "p", "sk": 1, "big": "x".repeat(409_590)}))
        .await
        .unwrap();
    assert_eq!(dynamo.pending(), 1);
    let _ = dynamo
        .flush_payloads_timeout(std::time::Duration::ZERO)
        .await;
}

#[tokio::test]
async fn an_item_one_byte_over_400_kib_by_dynamodb_rules() {
    let err = refused(json!({"pk": "p", "sk": 1, "big": "x".repeat(409_591)}).into()).await;
    assert!(matches!(
        err.kind(),
        SubmitErrorKind::TooLarge {
            size: 409_601,
            limit: 409_600,
            ..
        }
    ));
}

#[tokio::test]
async fn a_missing_partition_key() {
    let err = refused(json!({"sk": 1, "v": 2}).into()).await;
    assert_eq!(err.kind(), &SubmitErrorKind::Missing { field: "pk".into() });
}

#[tokio::test]
async fn a_missing_sort_key() {
    let err = refused(json!({"pk": "a"}).into()).await;
    assert_eq!(err.kind(), &SubmitErrorKind::Missing { field: "sk".into() });
}

#[tokio::test]
async fn a_key_of_the_wrong_type() {
    let err = refused(json!({"pk": true, "sk": 1}).into()).await;
    assert_eq!(err.kind().field(), "pk");
    let err = refused(json!({"pk": "", "sk": 1}).into()).await;
    assert_eq!(err.kind().field(), "pk");
}

#[tokio::test]
async fn a_non_object_payload() {
    for payload in [json!([1, 2]), json!("text"), json!(3), Value::Null] {
        let err = refused(payload.into()).await;
        assert_eq!(err.kind().field(), "item");
        assert!(err.to_string().contains("must be a JSON object"), "{err}");
    }
}

#[tokio::test]
async fn a_delete_with_more_than_the_key() {
    let err = refused(DynamoWrite::Delete(
        json!({"pk": "a", "sk": 1, "v": 2}).into(),
    ))
    .await;
    assert_eq!(err.kind().field(), "v");
}

#[tokio::test]
async fn a_number_of_39_significant_digits() {
    let item: Value = serde_json::from_str(
        r#"{"pk": "a", "sk": 1, "n": 123456789012345678901234567890123456789}"#,
    )
    .unwrap();
    let err = refused(item.into()).await;
    assert_eq!(err.kind().field(), "n");
    assert!(
        err.to_string().contains("at most 38 significant digits"),
        "{err}"
    );
}

#[tokio::test]
async fn a_missing_partition_key_source() {
    let config = aws_sdk_dynamodb::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .build();
    let dynamo = DynamoBatchDispatcher::builder(
        DynamoBackend::new(Client::from_conf(config), "t", "pk").with_partition_key_from("user_id"),
    )
    .build()
    .unwrap();
    let err = dynamo
        .submit_payload(json!({"name": "x"}))
        .await
        .unwrap_err();
    assert_eq!(err.kind().field(), "user_id");
    let original = json!({"user_id": "u1"});
    dynamo.submit_payload(original.clone()).await.unwrap();
    assert_eq!(
        original,
        json!({"user_id": "u1"}),
        "the caller's data is not changed"
    );
    let _ = dynamo
        .flush_payloads_timeout(std::time::Duration::ZERO)
        .await;
}

#[tokio::test]
async fn a_number_above_dynamodb_range() {
    let item: Value = serde_json::from_str(r#"{"pk": "a", "sk": 1, "big": 1e400}"#).unwrap();
    let err = refused(item.into()).await;
    assert_eq!(err.kind().field(), "big");
    assert!(err.to_string().contains("9.99...E+125"), "{err}");
}

#[tokio::test]
async fn a_number_below_dynamodb_range_nested_in_a_map() {
    let item: Value =
        serde_json::from_str(r#"{"pk": "a", "sk": 1, "m": {"tiny": -1e-131}}"#).unwrap();
    let err = refused(item.into()).await;
    assert_eq!(err.kind().field(), "m.tiny");
    assert!(err.to_string().contains("1E-130"), "{err}");
}

#[tokio::test]
async fn a_number_out_of_range_in_ready_attribute_values() {
    use aws_sdk_dynamodb::types::AttributeValue;
    let item = std::collections::HashMap::from([
        ("pk".to_owned(), AttributeValue::S("a".into())),
        ("sk".to_owned(), AttributeValue::N("1".into())),
        (
            "ns".to_owned(),
            AttributeValue::Ns(vec!["1".into(), "1E126".into()]),
        ),
    ]);
    let err = refused(item.into()).await;
    assert_eq!(err.kind().field(), "ns");
}

#[tokio::test]
async fn a_null_partition_key_is_said_to_be_null_not_missing() {
    let err = refused(json!({"pk": null, "sk": 1}).into()).await;
    assert!(
        matches!(err.kind(), SubmitErrorKind::Invalid { reason, .. } if reason.contains("null")),
        "{err}"
    );
}
