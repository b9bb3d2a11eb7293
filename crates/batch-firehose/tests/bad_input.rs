//! Every record Firehose would refuse is refused at submit, named, and handed back, and the
//! dispatcher goes on; every limit is accepted at its value. One test per case.
#![allow(clippy::unwrap_used)]

use aws_sdk_firehose::Client;
use aws_sdk_firehose::config::{BehaviorVersion, Region};
use batch_core::{ConfigError, SubmitErrorKind};
use batch_firehose::{FIREHOSE_LIMITS, FirehoseBackend, FirehoseBatchDispatcher, FirehoseRecord};
use test_support::{accepted, refused_then_accepted};

/// A client that is never asked to send anything.
fn client() -> Client {
    let config = aws_sdk_firehose::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .build();
    Client::from_conf(config)
}

fn dispatcher(newline: bool) -> FirehoseBatchDispatcher {
    FirehoseBatchDispatcher::builder(FirehoseBackend::new(client(), "s").with_newline(newline))
        .build()
        .unwrap()
}

const LIMIT: usize = FIREHOSE_LIMITS.max_entry_bytes;

fn good() -> FirehoseRecord {
    FirehoseRecord::bytes(*b"ok")
}

#[test]
fn the_record_limit_is_1000_kib() {
    assert_eq!(LIMIT, 1_000 * 1_024);
}

#[tokio::test]
async fn a_record_of_1000_kib_is_accepted() {
    accepted(&dispatcher(false), FirehoseRecord::bytes(vec![b'x'; LIMIT])).await;
}

#[tokio::test]
async fn a_record_one_byte_over_1000_kib() {
    let past = FirehoseRecord::bytes(vec![b'x'; LIMIT + 1]);
    let err = refused_then_accepted(&dispatcher(false), past, good()).await;
    assert_eq!(err.kind().field(), "record");
    assert!(
        matches!(err.kind(), SubmitErrorKind::TooLarge { size, limit, .. } if *size == LIMIT + 1 && *limit == LIMIT),
        "{err}"
    );
    assert!(err.to_string().contains("1024000"), "{err}");
}

#[tokio::test]
async fn a_json_record_over_the_limit() {
    let past = FirehoseRecord::json(serde_json::json!({ "pad": "x".repeat(LIMIT) }));
    let err = refused_then_accepted(&dispatcher(false), past, good()).await;
    assert_eq!(err.kind().field(), "record");
}

#[tokio::test]
async fn a_record_that_ends_in_a_newline_gets_none_added_and_fits_at_the_limit() {
    let mut ending = vec![b'x'; LIMIT - 1];
    ending.push(b'\n');
    accepted(&dispatcher(true), FirehoseRecord::bytes(ending)).await;
}

#[tokio::test]
async fn the_added_newline_counts_toward_the_limit() {
    let past = FirehoseRecord::bytes(vec![b'x'; LIMIT]);
    let err = refused_then_accepted(&dispatcher(true), past, good()).await;
    assert!(
        matches!(err.kind(), SubmitErrorKind::TooLarge { size, .. } if *size == LIMIT + 1),
        "{err}"
    );
}

fn packed(bytes: usize) -> Result<FirehoseBatchDispatcher, ConfigError> {
    FirehoseBatchDispatcher::builder(FirehoseBackend::new(client(), "s").with_pack(bytes)).build()
}

#[test]
fn a_packed_record_of_a_whole_record_is_accepted() {
    assert!(packed(LIMIT).is_ok());
}

#[test]
fn a_packed_record_larger_than_a_record() {
    assert!(matches!(
        packed(LIMIT + 1),
        Err(ConfigError::AboveLimit { field: "pack", .. })
    ));
}

#[test]
fn an_empty_packed_record() {
    assert!(matches!(
        packed(0),
        Err(ConfigError::Zero { field: "pack" })
    ));
}
