//! The Rust peers of SNS: Publish, PublishBatch, SnsBatchDispatcher.

use aws_sdk_sns::types::PublishBatchRequestEntry;
use batch_sns::{SnsBackend, SnsBatchDispatcher, SnsMessage};

use super::{Peer, Records, Result, TOPIC_ARN, batch_loop, config, submit_all, unsupported};
use crate::workload;

pub(super) async fn run(client: &aws_sdk_sns::Client, peer: Peer, records: Records) -> Result<u64> {
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
