//! The Rust peers of Firehose: PutRecord, PutRecordBatch, FirehoseBatchDispatcher.

use aws_sdk_firehose::types::Record;
use aws_smithy_types::Blob;
use batch_firehose::{FirehoseBackend, FirehoseBatchDispatcher, FirehoseRecord};

use super::{NAME, Peer, Records, Result, batch_loop, config, submit_all, unsupported};
use crate::workload;

pub(super) async fn run(
    client: &aws_sdk_firehose::Client,
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
