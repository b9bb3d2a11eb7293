//! Every record Firehose would refuse is refused at submit, named, and handed back; every
//! limit is accepted at its value.
#![allow(clippy::unwrap_used)]

use aws_sdk_firehose::Client;
use aws_sdk_firehose::config::{BehaviorVersion, Region};
use batch_core::{ConfigError, SubmitErrorKind};
use batch_firehose::{FIREHOSE_LIMITS, FirehoseBackend, FirehoseBatchDispatcher, FirehoseRecord};

/// A client that is never asked to send anything.
fn client() -> Client {
    let config = aws_sdk_firehose::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .build();
    Client::from_conf(config)
}

fn dispatcher(newline: bool) -> FirehoseBatchDispatcher {
    FirehoseBatchDispatcher::builder(FirehoseBackend::new(client(), "s").newline(newline))
        .build()
        .unwrap()
}

#[tokio::test]
async fn a_record_of_1000_kib_is_accepted_and_one_byte_more_refused() {
    let limit = FIREHOSE_LIMITS.max_entry_bytes;
    assert_eq!(limit, 1_024_000);
    let firehose = dispatcher(false);
    firehose
        .submit_payload(FirehoseRecord::bytes(vec![b'x'; limit]))
        .await
        .unwrap();
    let past = FirehoseRecord::bytes(vec![b'x'; limit + 1]);
    let err = firehose.submit_payload(past.clone()).await.unwrap_err();
    assert_eq!(err.kind().field(), "record");
    assert!(
        matches!(err.kind(), SubmitErrorKind::TooLarge { size, limit: l, .. } if *size == limit + 1 && *l == limit)
    );
    assert_eq!(err.payload(), &past, "handed back as submitted");
    firehose.abandon();
    let _ = firehose.flush_payloads().await;
}

#[tokio::test]
async fn the_newline_counts_toward_the_limit() {
    let limit = FIREHOSE_LIMITS.max_entry_bytes;
    let firehose = dispatcher(true);
    // A record that ends with a newline gets no second one: it fits at the limit.
    let mut ending = vec![b'x'; limit - 1];
    ending.push(b'\n');
    firehose
        .submit_payload(FirehoseRecord::bytes(ending))
        .await
        .unwrap();
    let err = firehose
        .submit_payload(FirehoseRecord::bytes(vec![b'x'; limit]))
        .await
        .unwrap_err();
    assert!(matches!(err.kind(), SubmitErrorKind::TooLarge { size, .. } if *size == limit + 1));
    firehose.abandon();
    let _ = firehose.flush_payloads().await;
}

#[test]
fn a_packed_record_larger_than_a_record_or_empty_is_a_config_error() {
    let limit = FIREHOSE_LIMITS.max_entry_bytes;
    let build = |bytes| {
        FirehoseBatchDispatcher::builder(FirehoseBackend::new(client(), "s").pack(bytes)).build()
    };
    assert!(build(limit).is_ok());
    assert!(matches!(
        build(limit + 1),
        Err(ConfigError::AboveLimit { field: "pack", .. })
    ));
    assert!(matches!(build(0), Err(ConfigError::Zero { field: "pack" })));
}
