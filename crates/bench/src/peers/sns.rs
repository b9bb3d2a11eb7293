//! The Rust peers of SNS: Publish, PublishBatch, SnsBatchDispatcher.

use aws_batch_utils::engine::Limits;
use aws_batch_utils::sns::sdk::types::PublishBatchRequestEntry;
use aws_batch_utils::sns::{SnsBackend, SnsBatchDispatcher, SnsMessage};
use aws_config::SdkConfig;
use null_endpoint::Api;

use super::{
    Boxed, Peer, Records, Result, ServicePeers, TOPIC_ARN, batch_loop, config, submit_all,
    unsupported,
};
use crate::workload;

/// SNS in the bench.
pub(crate) struct Sns;

impl ServicePeers for Sns {
    fn title(&self) -> &'static str {
        "SNS"
    }

    fn limits(&self) -> Limits {
        aws_batch_utils::sns::SNS_LIMITS
    }

    fn batch_api(&self) -> Api {
        Api::PublishBatch
    }

    fn single_api(&self) -> Api {
        Api::Publish
    }

    fn run<'a>(&'a self, sdk: &'a SdkConfig, peer: Peer, records: Records) -> Boxed<'a, u64> {
        Box::pin(
            async move { run(&aws_batch_utils::sns::sdk::Client::new(sdk), peer, records).await },
        )
    }
}

async fn run(
    client: &aws_batch_utils::sns::sdk::Client,
    peer: Peer,
    records: Records,
) -> Result<u64> {
    let mut failed = 0;
    match peer {
        Peer::SdkSingle => {
            for (n, size) in records.sizes() {
                client
                    .publish()
                    .topic_arn(TOPIC_ARN)
                    .message(workload::text(n, size))
                    .send()
                    .await?;
            }
        }
        Peer::SdkBatchLoop => {
            failed = batch_loop(
                records,
                |n, size| {
                    // Any ten consecutive numbers differ in their last digit: unique ids.
                    Ok(PublishBatchRequestEntry::builder()
                        .id((n % 10).to_string())
                        .message(workload::text(n, size))
                        .build()?)
                },
                |batch| async move {
                    let output = client
                        .publish_batch()
                        .topic_arn(TOPIC_ARN)
                        .set_publish_batch_request_entries(Some(batch))
                        .send()
                        .await?;
                    Ok(output.failed().len() as u64)
                },
            )
            .await?;
        }
        Peer::Ours { max_in_flight } => {
            let topic = SnsBatchDispatcher::builder(SnsBackend::new(client.clone(), TOPIC_ARN))
                .config(config(max_in_flight))
                .build()?;
            failed = submit_all(&topic, records, |n, size| {
                SnsMessage::text(workload::text(n, size))
            })
            .await?;
        }
        Peer::Boto3BatchLoop | Peer::PythonPackage => return Err(unsupported(peer)),
    }
    Ok(failed)
}
