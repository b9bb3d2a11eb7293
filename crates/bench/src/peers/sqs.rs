//! The Rust peers of SQS: SendMessage, SendMessageBatch, SqsBatchDispatcher.

use aws_batch_utils::engine::{DispatcherConfig, Limits};
use aws_config::SdkConfig;
use null_endpoint::{Api, Capacity};
use tokio::time::Instant;

use crate::sweep::{Offer, hand_loop, offer_to};
use crate::workload::Service;
use aws_batch_utils::sqs::sdk::types::SendMessageBatchRequestEntry;
use aws_batch_utils::sqs::{SqsBackend, SqsBatchDispatcher, SqsMessage};

use super::{
    Boxed, CapacityPeers, Peer, QUEUE_URL, Records, Result, ServicePeers, batch_loop, config,
    submit_all, unsupported,
};
use crate::workload;

/// SQS in the bench.
pub(crate) struct Sqs;

impl ServicePeers for Sqs {
    fn title(&self) -> &'static str {
        "SQS"
    }

    fn limits(&self) -> Limits {
        aws_batch_utils::sqs::SQS_LIMITS
    }

    fn batch_api(&self) -> Api {
        Api::SendMessageBatch
    }

    fn single_api(&self) -> Api {
        Api::SendMessage
    }

    fn python_original(&self) -> Option<f64> {
        Some(362.0)
    }

    fn run<'a>(&'a self, sdk: &'a SdkConfig, peer: Peer, records: Records) -> Boxed<'a, u64> {
        Box::pin(
            async move { run(&aws_batch_utils::sqs::sdk::Client::new(sdk), peer, records).await },
        )
    }

    fn capacity(&self) -> Option<&dyn CapacityPeers> {
        Some(self)
    }
}

impl CapacityPeers for Sqs {
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
    client: &aws_batch_utils::sqs::sdk::Client,
    peer: Peer,
    records: Records,
) -> Result<u64> {
    let mut failed = 0;
    match peer {
        Peer::SdkSingle => {
            for (n, size) in records.sizes() {
                client
                    .send_message()
                    .queue_url(QUEUE_URL)
                    .message_body(workload::sqs_body(size, n))
                    .send()
                    .await?;
            }
        }
        Peer::SdkBatchLoop => {
            failed = batch_loop(
                records,
                |n, size| {
                    // Any ten consecutive numbers differ in their last digit: unique ids.
                    Ok(SendMessageBatchRequestEntry::builder()
                        .id((n % 10).to_string())
                        .message_body(workload::sqs_body(size, n))
                        .build()?)
                },
                |batch| async move {
                    let output = client
                        .send_message_batch()
                        .queue_url(QUEUE_URL)
                        .set_entries(Some(batch))
                        .send()
                        .await?;
                    Ok(output.failed().len() as u64)
                },
            )
            .await?;
        }
        Peer::Ours { max_in_flight } => {
            let sqs = SqsBatchDispatcher::builder(SqsBackend::new(client.clone(), QUEUE_URL))
                .config(config(max_in_flight))
                .build()?;
            failed = submit_all(&sqs, records, |n, size| {
                SqsMessage::text(workload::sqs_body(size, n))
            })
            .await?;
        }
        Peer::Boto3BatchLoop | Peer::PythonPackage => return Err(unsupported(peer)),
    }
    Ok(failed)
}

// The capacity sweep's pieces (driven by `crate::sweep`).

/// A FIFO queue's 300 requests a second, of 10 messages. Source: Amazon SQS FIFO queue
/// quotas; checked 2026-11-29.
fn capacity_quota() -> (Capacity, f64) {
    (Capacity::default().sqs_requests_per_second(300.0), 3_000.0)
}

/// The record number of a message body the endpoint accepted.
fn record_number(body: &str) -> Option<u64> {
    body.parse().ok()
}

async fn capacity_engine(
    sdk: &SdkConfig,
    config: DispatcherConfig,
    offer: Offer,
) -> Result<Vec<Instant>> {
    let backend = SqsBackend::new(aws_batch_utils::sqs::sdk::Client::new(sdk), QUEUE_URL);
    let sqs = SqsBatchDispatcher::builder(backend)
        .config(config)
        .build()?;
    offer_to(&sqs, offer, |n| SqsMessage::text(n.to_string())).await
}

async fn capacity_hand_loop(sdk: &SdkConfig, offer: Offer) -> Result<Vec<Instant>> {
    let client = aws_batch_utils::sqs::sdk::Client::new(sdk);
    let client = &client;
    hand_loop(Service::Sqs, offer, |ns| async move {
        capacity_send(client, &ns).await.unwrap_or(ns)
    })
    .await
}

/// Sends records `ns` in one request; returns those not delivered.
async fn capacity_send(client: &aws_batch_utils::sqs::sdk::Client, ns: &[u64]) -> Result<Vec<u64>> {
    let entries = ns
        .iter()
        .map(|n| {
            SendMessageBatchRequestEntry::builder()
                .id(n.to_string())
                .message_body(n.to_string())
                .build()
        })
        .collect::<Result<Vec<_>, _>>()?;
    let output = client
        .send_message_batch()
        .queue_url(QUEUE_URL)
        .set_entries(Some(entries))
        .send()
        .await?;
    Ok(output
        .failed()
        .iter()
        .filter_map(|f| f.id().parse().ok())
        .collect())
}
