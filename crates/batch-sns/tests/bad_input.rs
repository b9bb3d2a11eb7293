//! Every message SNS would refuse is refused at submit, named, and handed back, and the
//! dispatcher goes on; each limit is accepted at its value. One test per case.
#![allow(clippy::unwrap_used)]

use aws_sdk_sns::Client;
use aws_sdk_sns::config::{BehaviorVersion, Region};
use batch_core::{ConfigError, SubmitError, SubmitErrorKind};
use batch_sns::{
    MAX_SUBJECT_CHARS, SNS_DEFAULT_MESSAGE_BYTES, SnsBackend, SnsBatchDispatcher,
    SnsFifoBatchDispatcher, SnsMessage,
};
use test_support::{accepted, refused_then_accepted};

const TOPIC: &str = "arn:aws:sns:us-east-1:1:t";
const FIFO_TOPIC: &str = "arn:aws:sns:us-east-1:1:t.fifo";

/// A client that is never asked to send anything.
fn client() -> Client {
    let config = aws_sdk_sns::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .build();
    Client::from_conf(config)
}

/// A dispatcher for `topic` whose largest message is set, so that it is not read.
fn dispatcher(topic: &str) -> SnsBatchDispatcher {
    let backend =
        SnsBackend::new(client(), topic).with_maximum_message_size(SNS_DEFAULT_MESSAGE_BYTES);
    SnsBatchDispatcher::builder(backend).build().unwrap()
}

/// The same for a FIFO topic.
fn fifo_dispatcher() -> SnsFifoBatchDispatcher {
    let backend =
        SnsBackend::fifo(client(), FIFO_TOPIC).with_maximum_message_size(SNS_DEFAULT_MESSAGE_BYTES);
    SnsFifoBatchDispatcher::builder(backend).build().unwrap()
}

fn text(body: &str) -> SnsMessage {
    SnsMessage::text(body)
}

async fn refused(message: SnsMessage) -> SubmitError<SnsMessage> {
    refused_then_accepted(&dispatcher(TOPIC), message, text("ok")).await
}

async fn refused_by_fifo(message: SnsMessage) -> SubmitError<SnsMessage> {
    let good = text("ok")
        .with_message_group_id("g")
        .with_deduplication_id("d");
    refused_then_accepted(&fifo_dispatcher(), message, good).await
}

#[tokio::test]
async fn an_empty_message() {
    let err = refused(text("")).await;
    assert_eq!(err.kind().field(), "MessageBody");
}

#[tokio::test]
async fn a_message_with_a_control_character() {
    let err = refused(text("a\u{1}b")).await;
    assert_eq!(err.kind().field(), "MessageBody");
}

#[tokio::test]
async fn a_message_at_the_topics_256_kib_is_accepted() {
    accepted(
        &dispatcher(TOPIC),
        text(&"x".repeat(SNS_DEFAULT_MESSAGE_BYTES)),
    )
    .await;
}

#[tokio::test]
async fn a_message_one_byte_over_the_topics_256_kib() {
    let err = refused(text(&"x".repeat(SNS_DEFAULT_MESSAGE_BYTES + 1))).await;
    assert_eq!(err.kind().field(), "message");
    assert!(
        matches!(err.kind(), SubmitErrorKind::TooLarge { limit, .. } if *limit == SNS_DEFAULT_MESSAGE_BYTES),
        "{err}"
    );
    assert!(err.to_string().contains("262144"), "{err}");
}

#[tokio::test]
async fn a_subject_of_99_characters_is_accepted() {
    let subject = "s".repeat(MAX_SUBJECT_CHARS);
    accepted(&dispatcher(TOPIC), text("m").with_subject(subject)).await;
}

#[tokio::test]
async fn a_subject_of_100_characters() {
    let err = refused(text("m").with_subject("s".repeat(MAX_SUBJECT_CHARS + 1))).await;
    assert_eq!(err.kind().field(), "Subject");
}

#[tokio::test]
async fn a_subject_with_a_line_break() {
    let err = refused(text("m").with_subject("two\nlines")).await;
    assert_eq!(err.kind().field(), "Subject");
}

#[tokio::test]
async fn a_batch_id_with_a_space() {
    let err = refused(text("m").with_id("has space")).await;
    assert_eq!(err.kind().field(), "Id");
}

#[tokio::test]
async fn a_batch_id_of_81_characters() {
    let err = refused(text("m").with_id("a".repeat(81))).await;
    assert_eq!(err.kind().field(), "Id");
}

#[tokio::test]
async fn a_batch_id_of_80_characters_is_accepted() {
    accepted(&dispatcher(TOPIC), text("m").with_id("a".repeat(80))).await;
}

#[tokio::test]
async fn a_message_group_on_a_standard_topic() {
    let err = refused(text("m").with_message_group_id("g")).await;
    assert_eq!(err.kind().field(), "MessageGroupId");
}

#[tokio::test]
async fn a_fifo_message_without_a_group() {
    let err = refused_by_fifo(text("m").with_deduplication_id("d")).await;
    assert_eq!(err.kind().field(), "MessageGroupId");
}

#[tokio::test]
async fn a_fifo_message_without_a_deduplication_id() {
    let err = refused_by_fifo(text("m").with_message_group_id("g")).await;
    assert_eq!(err.kind().field(), "MessageDeduplicationId");
}

#[tokio::test]
async fn a_fifo_group_of_129_characters() {
    let message = text("m")
        .with_message_group_id("g".repeat(129))
        .with_deduplication_id("d");
    let err = refused_by_fifo(message).await;
    assert_eq!(err.kind().field(), "MessageGroupId");
}

#[tokio::test]
async fn a_fifo_group_of_128_characters_is_accepted() {
    let message = text("m")
        .with_message_group_id("g".repeat(128))
        .with_deduplication_id("d");
    accepted(&fifo_dispatcher(), message).await;
}

#[test]
fn a_standard_dispatcher_of_a_fifo_topic_is_a_config_error() {
    let topic = SnsBackend::new(client(), FIFO_TOPIC);
    assert!(matches!(
        SnsBatchDispatcher::builder(topic).build(),
        Err(ConfigError::Invalid {
            field: "topic_arn",
            ..
        })
    ));
}

#[test]
fn a_fifo_dispatcher_of_a_standard_topic_is_a_config_error() {
    let topic = SnsBackend::fifo(client(), TOPIC);
    assert!(matches!(
        SnsFifoBatchDispatcher::builder(topic).build(),
        Err(ConfigError::Invalid {
            field: "topic_arn",
            ..
        })
    ));
}

#[tokio::test]
async fn a_message_to_a_fifo_topic_through_a_standard_dispatcher() {
    // `from_client` builds without the check: the mismatch is named at submit.
    let sns = SnsBatchDispatcher::from_client(client(), FIFO_TOPIC);
    let err = sns.submit_payload(text("m")).await.unwrap_err();
    assert_eq!(err.kind().field(), "TopicArn");
    assert!(err.kind().to_string().contains("SnsFifoBatchDispatcher"));
    assert_eq!(sns.pending(), 0);
}
