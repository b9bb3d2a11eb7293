//! Every message SNS would refuse is refused at submit, named, and handed back.
#![allow(clippy::unwrap_used)]

use aws_sdk_sns::Client;
use aws_sdk_sns::config::{BehaviorVersion, Region};
use batch_core::ConfigError;
use batch_sns::{
    MAX_SUBJECT_CHARS, SNS_DEFAULT_MESSAGE_BYTES, SnsBackend, SnsBatchDispatcher, SnsMessage,
};

/// A client that is never asked to send anything.
fn client() -> Client {
    let config = aws_sdk_sns::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .build();
    Client::from_conf(config)
}

fn dispatcher(topic: &str) -> SnsBatchDispatcher {
    let backend = SnsBackend::new(client(), topic).maximum_message_size(SNS_DEFAULT_MESSAGE_BYTES);
    SnsBatchDispatcher::builder(backend).build().unwrap()
}

async fn field_refused(topic: &str, message: SnsMessage) -> String {
    let sns = dispatcher(topic);
    let err = sns.submit_payload(message.clone()).await.unwrap_err();
    assert_eq!(err.payload(), &message, "handed back as submitted");
    err.kind().field().to_owned()
}

#[tokio::test]
async fn each_field_is_checked_and_named() {
    let topic = "arn:aws:sns:us-east-1:1:t";
    let fifo = "arn:aws:sns:us-east-1:1:t.fifo";
    let text = SnsMessage::text;
    assert_eq!(field_refused(topic, text("")).await, "MessageBody");
    assert_eq!(field_refused(topic, text("a\u{1}b")).await, "MessageBody");
    let long_subject = "s".repeat(MAX_SUBJECT_CHARS + 1);
    assert_eq!(
        field_refused(topic, text("m").with_subject(long_subject)).await,
        "Subject"
    );
    assert_eq!(
        field_refused(topic, text("m").with_subject("two\nlines")).await,
        "Subject"
    );
    assert_eq!(
        field_refused(topic, text("m").with_id("has space")).await,
        "Id"
    );
    assert_eq!(
        field_refused(topic, text("m").with_message_group_id("g")).await,
        "MessageGroupId"
    );
    // A FIFO topic needs a group, and an id unless the dispatcher makes one.
    assert_eq!(field_refused(fifo, text("m")).await, "MessageGroupId");
    assert_eq!(
        field_refused(fifo, text("m").with_message_group_id("g")).await,
        "MessageDeduplicationId"
    );
    // At the subject limit: accepted.
    let sns = dispatcher(topic);
    sns.submit_payload(text("m").with_subject("s".repeat(MAX_SUBJECT_CHARS)))
        .await
        .unwrap();
    sns.abandon();
    let _ = sns.flush_payloads().await;
}

#[tokio::test]
async fn a_message_at_the_topics_limit_is_accepted_and_one_byte_more_refused() {
    let sns = dispatcher("arn:aws:sns:us-east-1:1:t");
    sns.submit_payload(SnsMessage::text("x".repeat(SNS_DEFAULT_MESSAGE_BYTES)))
        .await
        .unwrap();
    let err = sns
        .submit_payload(SnsMessage::text("x".repeat(SNS_DEFAULT_MESSAGE_BYTES + 1)))
        .await
        .unwrap_err();
    assert_eq!(err.kind().field(), "message");
    assert!(err.to_string().contains("262144"), "{err}");
    sns.abandon();
    let _ = sns.flush_payloads().await;
}

#[test]
fn fifo_options_on_a_standard_topic_are_a_config_error() {
    let topic =
        SnsBackend::new(client(), "arn:aws:sns:us-east-1:1:t").default_message_group_id("g");
    assert!(matches!(
        SnsBatchDispatcher::builder(topic).build(),
        Err(ConfigError::Invalid { .. })
    ));
}
