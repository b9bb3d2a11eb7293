//! The Rust peers of Firehose: PutRecord, PutRecordBatch, FirehoseBatchDispatcher.

use aws_batch_utils::engine::Limits;
use aws_batch_utils::firehose::sdk::types::Record;
use aws_batch_utils::firehose::{FirehoseBackend, FirehoseBatchDispatcher, FirehoseRecord};
use aws_config::SdkConfig;
use aws_smithy_types::Blob;
use null_endpoint::Api;

use super::{
    Boxed, NAME, Peer, Records, Result, ServicePeers, batch_loop, config, submit_all, unsupported,
};
use crate::workload;

/// Firehose in the bench.
pub(crate) struct Firehose;

impl ServicePeers for Firehose {
    fn title(&self) -> &'static str {
        "Firehose"
    }

    fn limits(&self) -> Limits {
        aws_batch_utils::firehose::FIREHOSE_LIMITS
    }

    fn batch_api(&self) -> Api {
        Api::PutRecordBatch
    }

    fn single_api(&self) -> Api {
        Api::FirehosePutRecord
    }

    fn run<'a>(&'a self, sdk: &'a SdkConfig, peer: Peer, records: Records) -> Boxed<'a, u64> {
        Box::pin(async move {
            run(
                &aws_batch_utils::firehose::sdk::Client::new(sdk),
                peer,
                records,
            )
            .await
        })
    }
}

async fn run(
    client: &aws_batch_utils::firehose::sdk::Client,
    peer: Peer,
    records: Records,
) -> Result<u64> {
    let record = |n, size| {
        Record::builder()
            .data(Blob::new(workload::text(n, size)))
            .build()
    };
    let mut failed = 0;
    match peer {
        Peer::SdkSingle => {
            for (n, size) in records.sizes() {
                client
                    .put_record()
                    .delivery_stream_name(NAME)
                    .record(record(n, size)?)
                    .send()
                    .await?;
            }
        }
        Peer::SdkBatchLoop => {
            failed = batch_loop(
                records,
                |n, size| Ok(record(n, size)?),
                |batch| async move {
                    let output = client
                        .put_record_batch()
                        .delivery_stream_name(NAME)
                        .set_records(Some(batch))
                        .send()
                        .await?;
                    Ok(u64::try_from(output.failed_put_count())?)
                },
            )
            .await?;
        }
        Peer::Ours { max_in_flight } => {
            let stream =
                FirehoseBatchDispatcher::builder(FirehoseBackend::new(client.clone(), NAME))
                    .config(config(max_in_flight))
                    .build()?;
            failed = submit_all(&stream, records, |n, size| {
                FirehoseRecord::bytes(workload::text(n, size))
            })
            .await?;
        }
        Peer::Boto3BatchLoop | Peer::PythonPackage => return Err(unsupported(peer)),
    }
    Ok(failed)
}
