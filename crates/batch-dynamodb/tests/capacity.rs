//! A table's write capacity, given or read with DescribeTable: pacing from the first request,
//! a fleet's writers each at their share, and a read that fails leaving the rate learned.
//! aws-smithy-mocks clients on paused time.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::retry::RetryConfig as SdkRetryConfig;
use aws_sdk_dynamodb::operation::batch_write_item::BatchWriteItemOutput;
use aws_sdk_dynamodb::operation::describe_table::{DescribeTableError, DescribeTableOutput};
use aws_sdk_dynamodb::types::{ProvisionedThroughputDescription, TableDescription};
use aws_smithy_mocks::{Rule, RuleMode, mock, mock_client};
use aws_smithy_types::error::ErrorMetadata;
use batch_core::{ConfigError, DispatcherConfig};
use batch_dynamodb::{DynamoBackend, DynamoBatchDispatcher};
use serde_json::json;
use tokio::time::Instant;

/// Items written in each run: 20 requests of 25.
const ITEMS: usize = 500;

fn writes() -> Rule {
    mock!(Client::batch_write_item).then_output(|| BatchWriteItemOutput::builder().build())
}

fn described(write_units: i64) -> Rule {
    mock!(Client::describe_table).then_output(move || {
        let throughput = ProvisionedThroughputDescription::builder()
            .write_capacity_units(write_units)
            .read_capacity_units(5)
            .build();
        DescribeTableOutput::builder()
            .table(
                TableDescription::builder()
                    .provisioned_throughput(throughput)
                    .build(),
            )
            .build()
    })
}

fn client(rules: &[&Rule]) -> Client {
    mock_client!(aws_sdk_dynamodb, RuleMode::MatchAny, rules, |c| c
        .retry_config(SdkRetryConfig::disabled()))
}

/// Writes [`ITEMS`] items through `table`; returns how long until all were delivered.
async fn write_all(table: &DynamoBatchDispatcher) -> Duration {
    let started = Instant::now();
    for n in 0..ITEMS {
        table
            .submit_payload(json!({"pk": format!("k{n}"), "v": n}))
            .await
            .unwrap();
    }
    assert!(table.flush_payloads().await.is_empty());
    assert_eq!(table.stats().delivered, ITEMS as u64);
    started.elapsed()
}

#[tokio::test(start_paused = true)]
async fn a_table_given_its_capacity_is_paced_from_the_first_request() {
    let rule = writes();
    let learned = DynamoBatchDispatcher::from_client(client(&[&rule]), ("t", "pk"));
    let unpaced = write_all(&learned).await;
    // Nothing throttled yet: a table of unknown capacity takes what it is sent.
    assert!(unpaced < Duration::from_secs(1), "{unpaced:?}");

    let backend = DynamoBackend::new(client(&[&rule]), "t", "pk").with_write_capacity(100.0);
    assert_eq!(backend.write_capacity(), Some(100.0));
    let paced = DynamoBatchDispatcher::builder(backend).build().unwrap();
    let took = write_all(&paced).await;
    // 500 writes of one unit at 100 units a second: about 5 s.
    assert!(
        took >= Duration::from_secs(4) && took <= Duration::from_secs(7),
        "{took:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn told_the_fleet_size_a_writer_starts_at_its_share_of_the_capacity_read() {
    let (write, describe) = (writes(), described(1_000));
    let backend =
        DynamoBackend::new(client(&[&write, &describe]), "t", "pk").with_capacity_read(true);
    assert_eq!(backend.write_capacity(), None);
    let table = DynamoBatchDispatcher::builder(backend)
        .config(DispatcherConfig::default().fleet_size(10))
        .build()
        .unwrap();
    let took = write_all(&table).await;
    assert_eq!(describe.num_calls(), 1);
    assert_eq!(table.backend().write_capacity(), Some(1_000.0));
    // A tenth of 1,000 units a second: 500 writes take about 5 s.
    assert!(
        took >= Duration::from_secs(4) && took <= Duration::from_secs(7),
        "{took:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_capacity_that_cannot_be_read_leaves_the_rate_learned_and_fails_nothing() {
    let write = writes();
    let denied = mock!(Client::describe_table).then_error(|| {
        DescribeTableError::generic(
            ErrorMetadata::builder()
                .code("AccessDeniedException")
                .message("not authorized to perform dynamodb:DescribeTable")
                .build(),
        )
    });
    let backend =
        DynamoBackend::new(client(&[&write, &denied]), "t", "pk").with_capacity_read(true);
    let table = DynamoBatchDispatcher::builder(backend)
        .config(DispatcherConfig::default().fleet_size(10))
        .build()
        .unwrap();
    let took = write_all(&table).await;
    assert_eq!(denied.num_calls(), 1);
    assert_eq!(table.backend().write_capacity(), None);
    assert!(took < Duration::from_secs(1), "{took:?}");
}

#[test]
fn a_capacity_that_is_not_a_positive_number_is_refused_naming_the_setting() {
    let rule = writes();
    for units in [0.0, -5.0, f64::NAN, f64::INFINITY] {
        let backend = DynamoBackend::new(client(&[&rule]), "t", "pk").with_write_capacity(units);
        match DynamoBatchDispatcher::builder(backend).build() {
            Err(ConfigError::Invalid { field, .. }) => assert_eq!(field, "write_capacity"),
            other => panic!("{units}: {other:?}"),
        }
    }
}
