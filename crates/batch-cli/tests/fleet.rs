//! Copies of the `aws-batch` command sharing one quota: a stream's through a coordination
//! table on the DynamoDB emulator (`--fleet-table`), a table's by reading its capacity when
//! told the fleet size (`--fleet-size`); each paces at its share from the first second, and
//! together they are refused almost nothing.
#![allow(clippy::unwrap_used)]

mod support;

use std::time::Duration;

use aws_batch_utils::DynamoDbCoordinator;
use aws_batch_utils::dynamodb::sdk::Client;
use null_endpoint::{Capacity, NullEndpoint};
use serde_json::json;
use support::temp_file;

#[tokio::test]
async fn four_copies_with_a_fleet_table_share_a_two_shard_stream_without_refusals() {
    let dynamodb = Client::new(&test_support::sdk_config("dynamodb").await);
    let table = test_support::unique_name("leases");
    DynamoDbCoordinator::create_table(&dynamodb, &table)
        .await
        .unwrap();
    // Two shards: 2,000 records a second, and a second's burst.
    let capacity = Capacity::default().kinesis_shards(2);
    let endpoint = NullEndpoint::start_with_capacity(Duration::from_millis(5), capacity, None)
        .await
        .unwrap();
    // Each copy holds a lease in the fleet's partition while it runs (a copy that exits
    // cleanly may end its lease before the others are done).
    let watcher = {
        let (dynamodb, table) = (dynamodb.clone(), table.clone());
        tokio::spawn(async move {
            let mut writers = std::collections::BTreeSet::new();
            loop {
                for item in test_support::scan_all(&dynamodb, &table).await {
                    if item
                        .get("fleet")
                        .and_then(|f| f.as_s().ok())
                        .map(String::as_str)
                        == Some("clicks")
                        && let Some(Ok(writer)) = item.get("writer").map(|w| w.as_s())
                    {
                        writers.insert(writer.clone());
                    }
                }
                if writers.len() >= 4 {
                    return writers;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        })
    };
    let copies: Vec<_> = (0..4)
        .map(|copy| {
            let lines: Vec<String> = (0..2_000)
                .map(|n| json!({"user": format!("{copy}-{}", n % 40), "n": n}).to_string())
                .collect();
            let input = temp_file(&format!("fleet-{copy}.ndjson"), &lines);
            let (url, table) = (endpoint.url(), table.clone());
            tokio::task::spawn_blocking(move || {
                support::command(&url)
                    .args(["--fleet-table", &table, "--fleet-name", "clicks"])
                    .args(["--fleet-endpoint-url", &test_support::endpoint("dynamodb")])
                    .args(["kinesis", "--stream", "s", "--partition-key-field", "user"])
                    .arg("--input")
                    .arg(&input)
                    .output()
                    .unwrap()
            })
        })
        .collect();
    for copy in copies {
        let output = copy.await.unwrap();
        let summary = support::summary_of_success(&output);
        assert_eq!(summary["delivered"], 2_000, "{summary}");
        assert_eq!(summary["unprocessed"], 0, "{summary}");
    }
    // Together at the stream's pace, each at a quarter of it: almost nothing refused (0 when
    // measured; without the table, 4,243).
    let refused = endpoint.refused_for_capacity();
    assert!(refused <= 160, "{refused} of 8,000 refused");
    let writers = tokio::time::timeout(Duration::from_secs(5), watcher)
        .await
        .expect("four writers' leases seen")
        .unwrap();
    assert_eq!(writers.len(), 4, "{writers:?}");
    // Each copy ended its lease before it exited: none is left for the others to wait out.
    let left = test_support::scan_all(&dynamodb, &table)
        .await
        .into_iter()
        .filter(|item| {
            item.get("fleet")
                .and_then(|f| f.as_s().ok())
                .map(String::as_str)
                == Some("clicks")
        })
        .count();
    assert_eq!(left, 0, "leases left after the copies exited");
}

/// Runs `copies` copies of the command, each putting `items` items into table `t` of the
/// endpoint at `url` with `args` more (before the destination) and `table_args` (after it);
/// checks that each delivered every item.
async fn put_items_from_copies(
    url: &str,
    copies: usize,
    items: usize,
    (args, table_args): (&[&str], &[&str]),
) {
    let runs: Vec<_> = (0..copies)
        .map(|copy| {
            let lines: Vec<String> = (0..items)
                .map(|n| json!({"pk": format!("{copy}-{n}"), "pad": "x".repeat(400)}).to_string())
                .collect();
            let input = temp_file(&format!("fleet-table-{copy}.ndjson"), &lines);
            let url = url.to_owned();
            let args: Vec<String> = args.iter().map(|&a| a.to_owned()).collect();
            let table_args: Vec<String> = table_args.iter().map(|&a| a.to_owned()).collect();
            tokio::task::spawn_blocking(move || {
                support::command(&url)
                    .args(&args)
                    .args(["dynamodb", "--table", "t", "--partition-key", "pk"])
                    .args(&table_args)
                    .arg("--input")
                    .arg(&input)
                    .output()
                    .unwrap()
            })
        })
        .collect();
    for run in runs {
        let output = run.await.unwrap();
        let summary = support::summary_of_success(&output);
        assert_eq!(summary["delivered"], items, "{summary}");
    }
}

#[tokio::test]
async fn four_copies_told_the_fleet_size_share_a_table_at_the_capacity_they_read() {
    // 1,000 write units a second, and a second's burst.
    let capacity = Capacity::default().dynamodb_wcu(1_000.0);
    let endpoint = NullEndpoint::start_with_capacity(Duration::from_millis(5), capacity, None)
        .await
        .unwrap();
    put_items_from_copies(&endpoint.url(), 4, 1_000, (&["--fleet-size", "4"], &[])).await;
    // Each reads the table's 1,000 units (DescribeTable) and starts at a quarter of them:
    // almost nothing refused (0 in three runs; without --fleet-size, 903 to 1,194).
    let refused = endpoint.refused_for_capacity();
    assert!(refused <= 100, "{refused} of 4,000 refused");
}

#[tokio::test]
async fn a_table_given_its_write_capacity_is_paced_at_it_from_the_start() {
    let capacity = Capacity::default().dynamodb_wcu(1_000.0);
    let endpoint = NullEndpoint::start_with_capacity(Duration::from_millis(5), capacity, None)
        .await
        .unwrap();
    let started = tokio::time::Instant::now();
    put_items_from_copies(&endpoint.url(), 1, 600, (&[], &["--write-capacity", "200"])).await;
    // 600 writes of one unit at 200 units a second, where the table would take them in one.
    let took = started.elapsed();
    assert!(took >= Duration::from_millis(2_500), "{took:?}");
    assert_eq!(endpoint.refused_for_capacity(), 0);
}
