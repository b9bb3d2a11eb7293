//! Every payload SQS would refuse is refused at submit, named, and handed back.
#![allow(clippy::unwrap_used)]

use aws_sdk_sqs::Client;
use aws_sdk_sqs::config::{BehaviorVersion, Region};
use batch_core::{DispatcherConfig, SubmitError, SubmitErrorKind};
use batch_sqs::{
    FifoDeduplication, MessageAttribute, SqsBackend, SqsBatchDispatcher, SqsFifoBatchDispatcher,
    SqsMessage,
};
use serde_json::json;

/// A client that is never asked to send anything.
fn client() -> Client {
    let config = aws_sdk_sqs::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .build();
    Client::from_conf(config)
}

/// The queue's largest message, set so that it is not read from the queue.
const MAXIMUM: usize = batch_sqs::SQS_LIMITS.max_entry_bytes;

fn standard() -> SqsBatchDispatcher {
    let queue = SqsBackend::new(client(), "https://sqs.us-east-1.amazonaws.com/1/q")
        .with_maximum_message_size(MAXIMUM);
    SqsBatchDispatcher::builder(queue).build().unwrap()
}

fn fifo() -> SqsFifoBatchDispatcher {
    SqsFifoBatchDispatcher::builder(
        SqsBackend::fifo(client(), "https://sqs.us-east-1.amazonaws.com/1/q.fifo")
            .with_deduplication(FifoDeduplication::ContentHash)
            .with_maximum_message_size(MAXIMUM),
    )
    .build()
    .unwrap()
}

async fn refused_by_standard(message: SqsMessage) -> SubmitError<SqsMessage> {
    let sqs = standard();
    let err = sqs.submit_payload(message.clone()).await.unwrap_err();
    assert_eq!(
        err.payload(),
        &message,
        "the payload comes back as submitted"
    );
    assert_eq!(sqs.pending(), 0);
    // The dispatcher goes on accepting good payloads.
    sqs.submit_payload(json!({"ok": true})).await.unwrap();
    assert_eq!(sqs.pending(), 1);
    let _ = sqs.flush_payloads_timeout(std::time::Duration::ZERO).await;
    err
}

#[tokio::test]
async fn an_id_of_81_characters() {
    let err = refused_by_standard(SqsMessage::json(json!(1)).with_id("a".repeat(81))).await;
    assert_eq!(err.kind().field(), "Id");
    assert!(err.to_string().contains("1-80 characters"), "{err}");
}

#[tokio::test]
async fn an_id_of_80_characters_is_fine() {
    let sqs = standard();
    sqs.submit_payload(SqsMessage::json(json!(1)).with_id("a".repeat(80)))
        .await
        .unwrap();
    assert_eq!(sqs.pending(), 1);
    let _ = sqs.flush_payloads_timeout(std::time::Duration::ZERO).await;
}

#[tokio::test]
async fn an_id_with_a_space() {
    let err = refused_by_standard(SqsMessage::json(json!(1)).with_id("two words")).await;
    assert_eq!(err.kind().field(), "Id");
}

#[tokio::test]
async fn a_delay_of_901_seconds() {
    let err = refused_by_standard(SqsMessage::json(json!(1)).with_delay_seconds(901)).await;
    assert_eq!(
        err.kind(),
        &SubmitErrorKind::OutOfRange {
            field: "DelaySeconds".into(),
            value: "901".into(),
            allowed: "0 to 900".into()
        }
    );
}

#[tokio::test]
async fn a_delay_on_fifo() {
    let message = SqsMessage::json(json!(1))
        .with_message_group_id("g")
        .with_delay_seconds(5);
    let err = fifo().submit_payload(message.clone()).await.unwrap_err();
    assert_eq!(err.kind().field(), "DelaySeconds");
    assert_eq!(err.into_payload(), message);
}

#[tokio::test]
async fn eleven_attributes() {
    let message = (0..11).fold(SqsMessage::json(json!(1)), |m, i| {
        m.with_attribute(format!("a{i}"), MessageAttribute::String("v".into()))
    });
    let err = refused_by_standard(message).await;
    assert_eq!(err.kind().field(), "MessageAttributes");
    assert!(err.to_string().contains("0 to 10"), "{err}");
}

#[tokio::test]
async fn a_body_of_one_mebibyte_and_one_byte() {
    let err = refused_by_standard(SqsMessage::text("x".repeat(1_048_577))).await;
    assert_eq!(
        err.kind(),
        &SubmitErrorKind::TooLarge {
            field: "message".into(),
            size: 1_048_577,
            limit: 1_048_576
        }
    );
}

#[tokio::test]
async fn attributes_count_toward_the_message_size() {
    // 1 MiB of body leaves no room for an attribute.
    let message = SqsMessage::text("x".repeat(1_048_576))
        .with_attribute("a", MessageAttribute::String("b".into()));
    let err = refused_by_standard(message).await;
    assert!(matches!(
        err.kind(),
        SubmitErrorKind::TooLarge {
            size: 1_048_584,
            ..
        }
    ));
}

#[tokio::test]
async fn a_body_above_a_lowered_message_limit() {
    let sqs = SqsBatchDispatcher::builder(SqsBackend::new(client(), "q"))
        .config(DispatcherConfig::default().max_entry_bytes(1_000))
        .build()
        .unwrap();
    let err = sqs
        .submit_payload(SqsMessage::text("x".repeat(1_001)))
        .await
        .unwrap_err();
    assert!(matches!(
        err.kind(),
        SubmitErrorKind::TooLarge { limit: 1_000, .. }
    ));
}

#[tokio::test]
async fn a_message_limit_above_the_sqs_maximum_is_a_config_error() {
    let err = SqsBatchDispatcher::builder(SqsBackend::new(client(), "q"))
        .config(DispatcherConfig::default().max_entry_bytes(1_048_577))
        .build()
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "`max_entry_bytes` is 1048577, above the sqs limit of 1048576"
    );
}

#[tokio::test]
async fn a_fifo_message_without_a_group() {
    let message = SqsMessage::json(json!(1));
    let err = fifo().submit_payload(message.clone()).await.unwrap_err();
    assert_eq!(
        err.kind(),
        &SubmitErrorKind::Missing {
            field: "MessageGroupId".into()
        }
    );
    assert_eq!(err.into_payload(), message);
}

#[tokio::test]
async fn a_fifo_message_without_a_deduplication_id_by_default() {
    let fifo = SqsFifoBatchDispatcher::from_client(client(), "q.fifo");
    let err = fifo
        .submit_payload(SqsMessage::json(json!(1)).with_message_group_id("g"))
        .await
        .unwrap_err();
    assert_eq!(err.kind().field(), "MessageDeduplicationId");
}

#[tokio::test]
async fn a_deduplication_id_on_a_standard_queue() {
    let err = refused_by_standard(SqsMessage::json(json!(1)).with_deduplication_id("d")).await;
    assert_eq!(err.kind().field(), "MessageDeduplicationId");
}

#[tokio::test]
async fn a_text_body_with_a_character_sqs_refuses() {
    let err = refused_by_standard(SqsMessage::text("bell \u{7}")).await;
    assert_eq!(err.kind().field(), "MessageBody");
    assert!(err.to_string().contains("U+0007"), "{err}");
}

#[tokio::test]
async fn an_empty_text_body() {
    let err = refused_by_standard(SqsMessage::text("")).await;
    assert_eq!(err.kind().field(), "MessageBody");
}

#[tokio::test]
async fn attribute_names_and_values_sqs_refuses() {
    for (name, value) in [
        ("AWS.reserved", MessageAttribute::String("v".into())),
        ("bad name", MessageAttribute::String("v".into())),
        ("a..b", MessageAttribute::String("v".into())),
        ("empty", MessageAttribute::String(String::new())),
        ("nan", MessageAttribute::Number("not a number".into())),
        ("bin", MessageAttribute::Binary(Vec::new())),
    ] {
        let err = refused_by_standard(SqsMessage::json(json!(1)).with_attribute(name, value)).await;
        assert_eq!(err.kind().field(), format!("MessageAttributes.{name}"));
    }
}

#[tokio::test]
async fn a_group_id_of_129_characters() {
    let message = SqsMessage::json(json!(1)).with_message_group_id("g".repeat(129));
    let err = fifo().submit_payload(message).await.unwrap_err();
    assert_eq!(err.kind().field(), "MessageGroupId");
    assert!(err.to_string().contains("1-128"), "{err}");
}

// FIFO options on a standard dispatcher do not compile: see the `compile_fail` example of
// `SqsBatchDispatcher`.

#[tokio::test]
async fn the_fifo_builder_builds_a_fifo_dispatcher() {
    // Only a deduplication mode set: `build()` still makes a FIFO dispatcher, whose rules
    // apply at submit (a message needs a group), and the error names the group.
    let fifo = SqsFifoBatchDispatcher::builder(
        SqsBackend::fifo(client(), "q.fifo").with_deduplication(FifoDeduplication::ContentHash),
    )
    .build()
    .unwrap();
    let err = fifo
        .submit_payload(SqsMessage::text("no group"))
        .await
        .unwrap_err();
    assert_eq!(err.kind().field(), "MessageGroupId");
    fifo.submit_payload(SqsMessage::text("grouped").with_message_group_id("g"))
        .await
        .unwrap();
    let _ = fifo.flush_payloads_timeout(std::time::Duration::ZERO).await;
}

/// A payload exactly at a limit is accepted.
async fn accepted_by_standard(message: SqsMessage) {
    let sqs = standard();
    sqs.submit_payload(message).await.unwrap();
    assert_eq!(sqs.pending(), 1);
    let _ = sqs.flush_payloads_timeout(std::time::Duration::ZERO).await;
}

#[tokio::test]
async fn a_body_of_exactly_one_mebibyte_is_fine() {
    accepted_by_standard(SqsMessage::text("x".repeat(1_048_576))).await;
}

#[tokio::test]
async fn a_delay_of_900_seconds_is_fine() {
    accepted_by_standard(SqsMessage::json(json!(1)).with_delay_seconds(900)).await;
}

#[tokio::test]
async fn ten_attributes_are_fine() {
    let message = (0..10).fold(SqsMessage::json(json!(1)), |m, i| {
        m.with_attribute(format!("a{i}"), MessageAttribute::String("v".into()))
    });
    accepted_by_standard(message).await;
}

#[tokio::test]
async fn a_group_id_of_128_characters_is_fine() {
    let sqs = fifo();
    sqs.submit_payload(SqsMessage::json(json!(1)).with_message_group_id("g".repeat(128)))
        .await
        .unwrap();
    assert_eq!(sqs.pending(), 1);
    let _ = sqs.flush_payloads_timeout(std::time::Duration::ZERO).await;
}

const URL: &str = "https://sqs.us-east-1.amazonaws.com/1/q";

#[tokio::test]
async fn a_delete_with_an_empty_receipt_handle() {
    let deletes = batch_sqs::SqsDeleteDispatcher::from_client(client(), URL);
    let err = test_support::refused_then_accepted(&deletes, String::new(), "h".into()).await;
    assert_eq!(err.kind().field(), "ReceiptHandle");
}

#[tokio::test]
async fn a_visibility_timeout_of_43200_seconds_is_accepted() {
    let visibility = batch_sqs::SqsVisibilityDispatcher::from_client(client(), URL);
    let limit = batch_sqs::MAX_VISIBILITY_TIMEOUT_SECONDS;
    assert_eq!(limit, 43_200);
    test_support::accepted(&visibility, batch_sqs::VisibilityChange::new("h", limit)).await;
}

#[tokio::test]
async fn a_visibility_timeout_of_43201_seconds() {
    use batch_sqs::VisibilityChange;
    let visibility = batch_sqs::SqsVisibilityDispatcher::from_client(client(), URL);
    let past = VisibilityChange::new("h", batch_sqs::MAX_VISIBILITY_TIMEOUT_SECONDS + 1);
    let good = VisibilityChange::new("h", 10);
    let err = test_support::refused_then_accepted(&visibility, past, good).await;
    assert_eq!(err.kind().field(), "VisibilityTimeout");
    assert!(err.to_string().contains("43200"), "{err}");
}

#[tokio::test]
async fn a_visibility_change_with_an_empty_receipt_handle() {
    use batch_sqs::VisibilityChange;
    let visibility = batch_sqs::SqsVisibilityDispatcher::from_client(client(), URL);
    let bad = VisibilityChange::new("", 10);
    let good = VisibilityChange::new("h", 10);
    let err = test_support::refused_then_accepted(&visibility, bad, good).await;
    assert_eq!(err.kind().field(), "ReceiptHandle");
}
