//! The Rust peers of Kinesis: PutRecord, PutRecords, KinesisBatchDispatcher.

use aws_sdk_kinesis::types::PutRecordsRequestEntry;
use aws_smithy_types::Blob;
use batch_kinesis::{KinesisBackend, KinesisBatchDispatcher, KinesisRecord};

use super::{NAME, Peer, Records, Result, batch_loop, config, submit_all, unsupported};
use crate::workload;

pub(super) async fn run(
    client: &aws_sdk_kinesis::Client,
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
