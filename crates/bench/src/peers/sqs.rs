//! The Rust peers of SQS: SendMessage, SendMessageBatch, SqsBatchDispatcher.

use aws_sdk_sqs::types::SendMessageBatchRequestEntry;
use batch_sqs::{SqsBackend, SqsBatchDispatcher, SqsMessage};

use super::{Peer, QUEUE_URL, Records, Result, batch_loop, config, submit_all, unsupported};
use crate::workload;

pub(super) async fn run(client: &aws_sdk_sqs::Client, peer: Peer, records: Records) -> Result<u64> {
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
