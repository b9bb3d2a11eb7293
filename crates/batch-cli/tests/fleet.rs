//! Copies of the `aws-batch` command sharing one stream's quota through a coordination
//! table on the DynamoDB emulator (`--fleet-table`): each paces at its share from the
//! first second, and together they are refused almost nothing.
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
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert_eq!(
            output.status.code(),
            Some(0),
            "{stdout}{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let summary: serde_json::Value = serde_json::from_str(&stdout).unwrap();
        assert_eq!(summary["delivered"], 2_000, "{summary}");
        assert_eq!(summary["unprocessed"], 0, "{summary}");
    }
    // Together at the stream's pace, each at a quarter of it: almost nothing refused (0 when
    // measured; without the table, 4,243).
    let refused = endpoint.refused_for_capacity();
    assert!(refused <= 160, "{refused} of 8,000 refused");
    // Each copy held a lease in the fleet's partition.
    let leases = test_support::scan_all(&dynamodb, &table).await;
    let writers = leases
        .iter()
        .filter(|item| item.get("fleet").and_then(|f| f.as_s().ok()) == Some(&"clicks".to_owned()))
        .count();
    assert_eq!(writers, 4, "{leases:?}");
}
