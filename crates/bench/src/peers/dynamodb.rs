//! The Rust peers of DynamoDB: PutItem, BatchWriteItem, DynamoBatchDispatcher.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{AttributeValue, PutRequest, WriteRequest};
use batch_dynamodb::{DynamoBackend, DynamoBatchDispatcher};

use super::{NAME, Peer, Records, Result, batch_loop, config, submit_all, unsupported};
use crate::workload;

fn dynamodb_attributes(size: usize, n: u64) -> HashMap<String, AttributeValue> {
    let (pk, data) = workload::dynamodb_item(size, n);
    HashMap::from([
        ("pk".to_owned(), AttributeValue::S(pk)),
        ("data".to_owned(), AttributeValue::S(data)),
    ])
}

pub(super) async fn run(
    client: &aws_sdk_dynamodb::Client,
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
