//! The fleet coordinator on the DynamoDB emulator: leases written, counted, ended and
//! lapsed, and dispatchers pacing at the share it grants.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use aws_sdk_dynamodb::Client;
use batch_core::testing::{InMemoryBackend, TestPayload};
use batch_core::{Coordinator, Dispatcher};
use batch_dynamodb::DynamoDbCoordinator;

async fn client() -> Client {
    Client::new(&test_support::sdk_config("dynamodb").await)
}

async fn lease_table(client: &Client) -> String {
    let table = test_support::unique_name("leases");
    DynamoDbCoordinator::create_table(client, &table)
        .await
        .unwrap();
    table
}

#[tokio::test]
async fn writers_are_counted_while_their_leases_live_and_not_after() {
    let client = client().await;
    let table = lease_table(&client).await;
    let lease = Duration::from_secs(30);
    let writers: Vec<_> = (0..3)
        .map(|_| DynamoDbCoordinator::new(client.clone(), &table, "fleet-a"))
        .collect();
    let other_fleet = DynamoDbCoordinator::new(client.clone(), &table, "fleet-b");
    for (n, writer) in writers.iter().enumerate() {
        assert_eq!(writer.renew(lease).await.unwrap().writers, n + 1);
    }
    // Another fleet in the same table is not counted, nor counts this one.
    assert_eq!(other_fleet.renew(lease).await.unwrap().writers, 1);
    // Renewing does not count a writer twice.
    assert_eq!(writers[0].renew(lease).await.unwrap().writers, 3);
    writers[2].leave().await.unwrap();
    assert_eq!(writers[0].renew(lease).await.unwrap().writers, 2);
    // A lease not renewed lapses.
    writers[1].renew(Duration::from_millis(300)).await.unwrap();
    tokio::time::sleep(Duration::from_millis(600)).await;
    let grant = writers[0].renew(lease).await.unwrap();
    assert_eq!(grant.writers, 1);
    assert_eq!(grant.quota, None);
    let with_quota = writers[0].clone().with_quota(1_000.0);
    assert_eq!(with_quota.renew(lease).await.unwrap().quota, Some(1_000.0));
}

#[tokio::test]
async fn dispatchers_of_one_fleet_pace_at_their_share_of_the_documented_rate() {
    let client = client().await;
    let table = lease_table(&client).await;
    let backend = InMemoryBackend::new();
    backend.documented_rate(1_000.0);
    let fleet: Vec<_> = (0..4)
        .map(|n| {
            let coordinator = DynamoDbCoordinator::new(client.clone(), &table, "stream")
                .with_writer_id(format!("task-{n}"));
            Dispatcher::builder(backend.clone())
                .coordinator(coordinator)
                .build()
                .unwrap()
        })
        .collect();
    for (n, dispatcher) in fleet.iter().enumerate() {
        for id in 0..30 {
            dispatcher
                .submit_payload(TestPayload::new(n as u64 * 1_000 + id, 10))
                .await
                .unwrap();
        }
        assert!(dispatcher.flush_payloads().await.is_empty());
    }
    // The last writer to start was granted a quarter of the rate, less a margin; the
    // others a third or more of it when they started.
    let last = fleet[3].stats().paced_rate.unwrap();
    assert!((200..=250).contains(&last), "{last}");
    assert_eq!(backend.delivered_ids().len(), 120);
}

#[tokio::test]
async fn a_store_that_cannot_be_reached_leaves_the_pacing_to_the_dispatcher() {
    let client = client().await;
    let backend = InMemoryBackend::new();
    backend.documented_rate(1_000.0);
    // No such table: every renewal fails.
    let coordinator = DynamoDbCoordinator::new(client, "no-such-table", "fleet");
    let dispatcher = Dispatcher::builder(backend.clone())
        .coordinator(coordinator)
        .build()
        .unwrap();
    for id in 0..50 {
        dispatcher
            .submit_payload(TestPayload::new(id, 10))
            .await
            .unwrap();
    }
    assert!(dispatcher.flush_payloads().await.is_empty());
    assert_eq!(backend.delivered_ids().len(), 50);
    // Paced by the documented rate alone, as without a coordinator.
    assert_eq!(dispatcher.stats().paced_rate, Some(1_000));
}
