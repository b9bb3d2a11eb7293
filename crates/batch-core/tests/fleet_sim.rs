//! Writers that share one quota without knowing of each other, on paused time: each a
//! dispatcher with its own clone of an in-memory backend whose quota all clones share. Twenty
//! seconds of a fleet run in a fraction of one, so the pacing of many writers can be tried
//! and measured here before the null endpoint's runs (`batch-bench fleet`) confirm it.
#![cfg(feature = "test-util")]
#![allow(clippy::unwrap_used, clippy::cast_precision_loss, clippy::print_stdout)]

use std::time::Duration;

use batch_core::testing::{InMemoryBackend, TestPayload};
use batch_core::{Dispatcher, DispatcherConfig};
use tokio::time::Instant;

/// Entries a second the destination takes.
const QUOTA: f64 = 1_000.0;
/// The round trip of every request.
const LATENCY: Duration = Duration::from_millis(10);

/// What a fleet run did.
#[derive(Debug)]
struct Fleet {
    delivered: Vec<u64>,
    handed_back: usize,
    refused: u64,
    /// From the start to the first writer's end, and to the last's.
    first_done: f64,
    seconds: f64,
}

/// `writers` dispatchers, started together, each submitting `share` payloads of 25-entry
/// requests as fast as it takes them, then flushing.
async fn run(writers: u64, share: u64) -> Fleet {
    // The pacing's chance moments: seed 7, or `FLEET_SEED` to see how a figure moves.
    fastrand::seed(
        std::env::var("FLEET_SEED")
            .ok()
            .and_then(|seed| seed.parse().ok())
            .unwrap_or(7),
    );
    let backend = InMemoryBackend::new();
    backend.quota(QUOTA);
    backend.delay(LATENCY);
    let started = Instant::now();
    let tasks: Vec<_> = (0..writers)
        .map(|writer| {
            let dispatcher = Dispatcher::builder(backend.clone())
                .config(DispatcherConfig::default().max_entries(25))
                .build()
                .unwrap();
            tokio::spawn(async move {
                for n in 0..share {
                    let id = writer * share + n;
                    dispatcher
                        .submit_payload(TestPayload::new(id, 100))
                        .await
                        .unwrap();
                }
                let back = dispatcher.flush_payloads().await.len();
                (back, started.elapsed().as_secs_f64())
            })
        })
        .collect();
    let mut handed_back = 0;
    let mut first_done = f64::INFINITY;
    for task in tasks {
        let (back, at) = task.await.unwrap();
        handed_back += back;
        first_done = first_done.min(at);
    }
    let mut delivered = backend.delivered_ids();
    delivered.sort_unstable();
    Fleet {
        delivered,
        handed_back,
        refused: backend.refused_for_quota(),
        first_done,
        seconds: started.elapsed().as_secs_f64(),
    }
}

async fn every_payload_is_delivered_once(writers: u64) {
    // Twenty seconds of the quota in all.
    let share = 20_000 / writers;
    let fleet = run(writers, share).await;
    let goodput = fleet.delivered.len() as f64 / fleet.seconds / QUOTA;
    let refused = fleet.refused as f64 / fleet.delivered.len() as f64;
    // The figures to tune the pacing by (`cargo nextest run --no-capture`).
    println!(
        "{writers} writers: goodput {goodput:.2}, refused per delivered {refused:.3}, \
         first done at {:.1} s, last at {:.1} s",
        fleet.first_done, fleet.seconds
    );
    assert_eq!(fleet.handed_back, 0);
    assert_eq!(
        fleet.delivered,
        (0..writers * share).collect::<Vec<_>>(),
        "each payload once"
    );
    // The quota holds whatever the writers do: never faster than it and its one-second burst.
    assert!(
        fleet.seconds >= (writers * share) as f64 / QUOTA - 1.0,
        "{}",
        fleet.seconds
    );
}

#[tokio::test(start_paused = true)]
async fn two_writers_on_one_quota_deliver_every_payload_once() {
    every_payload_is_delivered_once(2).await;
}

#[tokio::test(start_paused = true)]
async fn ten_writers_on_one_quota_deliver_every_payload_once() {
    every_payload_is_delivered_once(10).await;
}

#[tokio::test(start_paused = true)]
async fn fifty_writers_on_one_quota_deliver_every_payload_once() {
    every_payload_is_delivered_once(50).await;
}
