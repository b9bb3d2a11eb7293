//! The Rust peers of Kinesis: PutRecord, PutRecords, KinesisBatchDispatcher.

use aws_batch_utils::engine::{DispatcherConfig, Limits};
use aws_config::SdkConfig;
use null_endpoint::{Api, Capacity};
use tokio::time::Instant;

use crate::sweep::{Offer, hand_loop, offer_to};
use crate::workload::Service;
use aws_batch_utils::kinesis::sdk::types::PutRecordsRequestEntry;
use aws_batch_utils::kinesis::{KinesisBackend, KinesisBatchDispatcher, KinesisRecord};
use aws_smithy_types::Blob;

use super::{
    Boxed, CapacityPeers, NAME, Peer, Records, Result, ServicePeers, batch_loop, config,
    submit_all, unsupported,
};
use crate::workload;

/// Kinesis in the bench.
pub(crate) struct Kinesis;

impl ServicePeers for Kinesis {
    fn title(&self) -> &'static str {
        "Kinesis"
    }

    fn limits(&self) -> Limits {
        aws_batch_utils::kinesis::KINESIS_DEFAULT_LIMITS
    }

    fn batch_api(&self) -> Api {
        Api::PutRecords
    }

    fn single_api(&self) -> Api {
        Api::PutRecord
    }

    fn python_original(&self) -> Option<f64> {
        Some(1_043.0)
    }

    fn run<'a>(&'a self, sdk: &'a SdkConfig, peer: Peer, records: Records) -> Boxed<'a, u64> {
        Box::pin(async move {
            run(
                &aws_batch_utils::kinesis::sdk::Client::new(sdk),
                peer,
                records,
            )
            .await
        })
    }

    fn capacity(&self) -> Option<&dyn CapacityPeers> {
        Some(self)
    }
}

impl CapacityPeers for Kinesis {
    fn quota(&self) -> (Capacity, f64) {
        capacity_quota()
    }

    fn record_number(&self, entry: &str) -> Option<u64> {
        record_number(entry)
    }

    fn engine<'a>(
        &'a self,
        sdk: &'a SdkConfig,
        config: DispatcherConfig,
        offer: Offer,
    ) -> Boxed<'a, Vec<Instant>> {
        Box::pin(capacity_engine(sdk, config, offer))
    }

    fn hand_loop<'a>(&'a self, sdk: &'a SdkConfig, offer: Offer) -> Boxed<'a, Vec<Instant>> {
        Box::pin(capacity_hand_loop(sdk, offer))
    }
}

async fn run(
    client: &aws_batch_utils::kinesis::sdk::Client,
    peer: Peer,
    records: Records,
) -> Result<u64> {
    let mut failed = 0;
    match peer {
        Peer::SdkSingle => {
            for (n, size) in records.sizes() {
                let (key, data) = workload::kinesis_record(size, n);
                client
                    .put_record()
                    .stream_name(NAME)
                    .partition_key(key)
                    .data(Blob::new(data))
                    .send()
                    .await?;
            }
        }
        Peer::SdkBatchLoop => {
            failed = batch_loop(
                records,
                |n, size| {
                    let (key, data) = workload::kinesis_record(size, n);
                    Ok(PutRecordsRequestEntry::builder()
                        .partition_key(key)
                        .data(Blob::new(data))
                        .build()?)
                },
                |batch| async move {
                    let output = client
                        .put_records()
                        .stream_name(NAME)
                        .set_records(Some(batch))
                        .send()
                        .await?;
                    Ok(u64::try_from(output.failed_record_count().unwrap_or(0))?)
                },
            )
            .await?;
        }
        Peer::Ours { max_in_flight } => {
            let kinesis =
                KinesisBatchDispatcher::builder(KinesisBackend::new(client.clone(), NAME))
                    .config(config(max_in_flight))
                    .build()?;
            failed = submit_all(&kinesis, records, |n, size| {
                let (key, data) = workload::kinesis_record(size, n);
                KinesisRecord::bytes(data).with_partition_key(key)
            })
            .await?;
        }
        Peer::Boto3BatchLoop | Peer::PythonPackage => return Err(unsupported(peer)),
    }
    Ok(failed)
}

// The capacity sweep's pieces (driven by `crate::sweep`).
/// Partition keys: 100 for each of the two shards, so that the quota, not a hot shard,
/// is the limit (200 keys chosen at random split about 55/45, which caps any sender at
/// about 90% of the stream's quota).
pub(crate) fn partition_keys() -> Vec<String> {
    let (mut low, mut high) = (Vec::new(), Vec::new());
    for i in 0.. {
        let key = format!("u{i}");
        let half = if null_endpoint::shard_of(null_endpoint::hash_key(&key), 2) == 0 {
            &mut low
        } else {
            &mut high
        };
        if half.len() < 100 {
            half.push(key);
        }
        if low.len() == 100 && high.len() == 100 {
            break;
        }
    }
    low.into_iter()
        .zip(high)
        .flat_map(|(a, b)| [a, b])
        .collect()
}

/// Two provisioned shards: 1,000 records a second each (records of 500 bytes).
fn capacity_quota() -> (Capacity, f64) {
    (Capacity::default().kinesis_shards(2), 2_000.0)
}

/// The data of record `n`: its number and padding to about 500 bytes.
pub(crate) fn capacity_data(n: u64) -> Vec<u8> {
    format!("{n} {}", "x".repeat(490)).into_bytes()
}

fn key_of(keys: &[String], n: u64) -> String {
    keys[usize::try_from(n).unwrap_or(0) % keys.len()].clone()
}

/// The record number of record data (base64) the endpoint accepted.
fn record_number(data: &str) -> Option<u64> {
    let data = aws_smithy_types::base64::decode(data).ok()?;
    let text = std::str::from_utf8(&data).ok()?;
    text.split(' ').next()?.parse().ok()
}

async fn capacity_engine(
    sdk: &SdkConfig,
    config: DispatcherConfig,
    offer: Offer,
) -> Result<Vec<Instant>> {
    let backend = KinesisBackend::new(aws_batch_utils::kinesis::sdk::Client::new(sdk), NAME);
    let kinesis = KinesisBatchDispatcher::builder(backend)
        .config(config)
        .build()?;
    let keys = partition_keys();
    offer_to(&kinesis, offer, |n| {
        KinesisRecord::bytes(capacity_data(n)).with_partition_key(key_of(&keys, n))
    })
    .await
}

async fn capacity_hand_loop(sdk: &SdkConfig, offer: Offer) -> Result<Vec<Instant>> {
    let (client, keys) = (
        aws_batch_utils::kinesis::sdk::Client::new(sdk),
        partition_keys(),
    );
    let (client, keys) = (&client, &keys);
    hand_loop(Service::Kinesis, offer, |ns| async move {
        capacity_send(client, keys, &ns).await.unwrap_or(ns)
    })
    .await
}

/// Sends records `ns` in one request; returns those not delivered.
async fn capacity_send(
    client: &aws_batch_utils::kinesis::sdk::Client,
    keys: &[String],
    ns: &[u64],
) -> Result<Vec<u64>> {
    let entries = ns
        .iter()
        .map(|&n| {
            PutRecordsRequestEntry::builder()
                .partition_key(key_of(keys, n))
                .data(Blob::new(capacity_data(n)))
                .build()
        })
        .collect::<Result<Vec<_>, _>>()?;
    let output = client
        .put_records()
        .stream_name(NAME)
        .set_records(Some(entries))
        .send()
        .await?;
    Ok(ns
        .iter()
        .zip(output.records())
        .filter(|(_, result)| result.error_code().is_some())
        .map(|(n, _)| *n)
        .collect())
}
