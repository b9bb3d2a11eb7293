//! The Rust peers of DynamoDB: PutItem, BatchWriteItem, DynamoBatchDispatcher.

use aws_batch_utils::engine::{DispatcherConfig, Limits};
use aws_config::SdkConfig;
use null_endpoint::{Api, Capacity};
use tokio::time::Instant;

use crate::sweep::{Offer, hand_loop, offer_to};
use crate::workload::Service;
use std::collections::HashMap;

use aws_batch_utils::dynamodb::sdk::types::{AttributeValue, PutRequest, WriteRequest};
use aws_batch_utils::dynamodb::{DynamoBackend, DynamoBatchDispatcher};

use super::{
    Boxed, CapacityPeers, NAME, Peer, Records, Result, ServicePeers, batch_loop, config,
    submit_all, unsupported,
};
use crate::workload;

fn dynamodb_attributes(size: usize, n: u64) -> HashMap<String, AttributeValue> {
    let (pk, data) = workload::dynamodb_item(size, n);
    HashMap::from([
        ("pk".to_owned(), AttributeValue::S(pk)),
        ("data".to_owned(), AttributeValue::S(data)),
    ])
}

/// DynamoDB in the bench.
pub(crate) struct Dynamodb;

impl ServicePeers for Dynamodb {
    fn title(&self) -> &'static str {
        "DynamoDB"
    }

    fn limits(&self) -> Limits {
        aws_batch_utils::dynamodb::DYNAMODB_LIMITS
    }

    fn batch_api(&self) -> Api {
        Api::BatchWriteItem
    }

    fn single_api(&self) -> Api {
        Api::PutItem
    }

    fn python_original(&self) -> Option<f64> {
        Some(588.0)
    }

    fn run<'a>(&'a self, sdk: &'a SdkConfig, peer: Peer, records: Records) -> Boxed<'a, u64> {
        Box::pin(async move {
            run(
                &aws_batch_utils::dynamodb::sdk::Client::new(sdk),
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

impl CapacityPeers for Dynamodb {
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
    client: &aws_batch_utils::dynamodb::sdk::Client,
    peer: Peer,
    records: Records,
) -> Result<u64> {
    let mut failed = 0;
    match peer {
        Peer::SdkSingle => {
            for (n, size) in records.sizes() {
                client
                    .put_item()
                    .table_name(NAME)
                    .set_item(Some(dynamodb_attributes(size, n)))
                    .send()
                    .await?;
            }
        }
        Peer::SdkBatchLoop => {
            failed = batch_loop(
                records,
                |n, size| {
                    let put = PutRequest::builder()
                        .set_item(Some(dynamodb_attributes(size, n)))
                        .build()?;
                    Ok(WriteRequest::builder().put_request(put).build())
                },
                |batch| async move {
                    let output = client
                        .batch_write_item()
                        .request_items(NAME, batch)
                        .send()
                        .await?;
                    let left = output
                        .unprocessed_items()
                        .map_or(0, |items| items.values().map(Vec::len).sum::<usize>());
                    Ok(left as u64)
                },
            )
            .await?;
        }
        Peer::Ours { max_in_flight } => {
            let table =
                DynamoBatchDispatcher::builder(DynamoBackend::new(client.clone(), NAME, "pk"))
                    .config(config(max_in_flight))
                    .build()?;
            failed = submit_all(&table, records, |n, size| {
                dynamodb_attributes(size, n).into()
            })
            .await?;
        }
        Peer::Boto3BatchLoop | Peer::PythonPackage => return Err(unsupported(peer)),
    }
    Ok(failed)
}

// The capacity sweep's pieces (driven by `crate::sweep`).

/// 1,000 WCU; items under 1 KB cost one unit each.
fn capacity_quota() -> (Capacity, f64) {
    (Capacity::default().dynamodb_wcu(1_000.0), 1_000.0)
}

/// The item of record `n`: its key, and padding to about 900 bytes.
fn capacity_item(n: u64) -> (String, String) {
    (format!("k{n}"), "x".repeat(850))
}

/// The record number of a write (JSON) the endpoint accepted.
fn record_number(write: &str) -> Option<u64> {
    let write: serde_json::Value = serde_json::from_str(write).ok()?;
    write["PutRequest"]["Item"]["pk"]["S"]
        .as_str()?
        .strip_prefix('k')?
        .parse()
        .ok()
}

async fn capacity_engine(
    sdk: &SdkConfig,
    config: DispatcherConfig,
    offer: Offer,
) -> Result<Vec<Instant>> {
    let backend = DynamoBackend::new(aws_batch_utils::dynamodb::sdk::Client::new(sdk), NAME, "pk");
    let dynamo = DynamoBatchDispatcher::builder(backend)
        .config(config)
        .build()?;
    offer_to(&dynamo, offer, |n| {
        let (pk, pad) = capacity_item(n);
        serde_json::json!({"pk": pk, "pad": pad}).into()
    })
    .await
}

async fn capacity_hand_loop(sdk: &SdkConfig, offer: Offer) -> Result<Vec<Instant>> {
    let client = aws_batch_utils::dynamodb::sdk::Client::new(sdk);
    let client = &client;
    hand_loop(Service::Dynamodb, offer, |ns| async move {
        capacity_send(client, &ns).await.unwrap_or(ns)
    })
    .await
}

/// Sends records `ns` in one request; returns those not delivered.
async fn capacity_send(
    client: &aws_batch_utils::dynamodb::sdk::Client,
    ns: &[u64],
) -> Result<Vec<u64>> {
    let writes = ns
        .iter()
        .map(|&n| {
            let (pk, pad) = capacity_item(n);
            let item = HashMap::from([
                ("pk".to_owned(), AttributeValue::S(pk)),
                ("pad".to_owned(), AttributeValue::S(pad)),
            ]);
            Ok(WriteRequest::builder()
                .put_request(PutRequest::builder().set_item(Some(item)).build()?)
                .build())
        })
        .collect::<Result<Vec<_>>>()?;
    let output = client
        .batch_write_item()
        .request_items(NAME, writes)
        .send()
        .await?;
    Ok(output
        .unprocessed_items()
        .and_then(|items| items.get(NAME))
        .into_iter()
        .flatten()
        .filter_map(|write| {
            let item = write.put_request()?.item();
            item.get("pk")?.as_s().ok()?.strip_prefix('k')?.parse().ok()
        })
        .collect())
}
