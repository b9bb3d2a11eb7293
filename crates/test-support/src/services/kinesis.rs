//! Kinesis streams in the emulator: created, and read back.

use crate::env::unique_name;

/// Creates a stream of `shards` shards with a unique name and waits until it is active.
pub async fn create_stream(client: &aws_sdk_kinesis::Client, shards: i32) -> String {
    let name = unique_name("stream");
    client
        .create_stream()
        .stream_name(&name)
        .shard_count(shards)
        .send()
        .await
        .expect("CreateStream");
    for _ in 0..200 {
        let summary = client
            .describe_stream_summary()
            .stream_name(&name)
            .send()
            .await
            .expect("DescribeStreamSummary");
        let status = summary
            .stream_description_summary()
            .map(|s| s.stream_status().clone());
        if status == Some(aws_sdk_kinesis::types::StreamStatus::Active) {
            return name;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("stream {name} never became active");
}

/// Every record of every shard of `stream`, as (partition key, data), in shard order.
pub async fn read_stream(client: &aws_sdk_kinesis::Client, stream: &str) -> Vec<(String, Vec<u8>)> {
    read_shards(client, stream)
        .await
        .into_iter()
        .flat_map(|shard| shard.records)
        .collect()
}

/// One shard of a stream and what it holds.
#[derive(Debug)]
pub struct ShardRecords {
    /// The shard's hash key range, inclusive.
    pub hash_keys: std::ops::RangeInclusive<u128>,
    /// Its records in order, as (partition key, data).
    pub records: Vec<(String, Vec<u8>)>,
}

/// Every shard of `stream` with its hash key range and its records, in shard order.
pub async fn read_shards(client: &aws_sdk_kinesis::Client, stream: &str) -> Vec<ShardRecords> {
    use aws_sdk_kinesis::types::ShardIteratorType;
    let shards = client
        .list_shards()
        .stream_name(stream)
        .send()
        .await
        .expect("ListShards");
    let mut out = Vec::new();
    for shard in shards.shards() {
        let range = shard.hash_key_range().expect("a hash key range");
        let parse = |key: &str| key.parse::<u128>().expect("a decimal hash key");
        let mut records = Vec::new();
        let mut iterator = client
            .get_shard_iterator()
            .stream_name(stream)
            .shard_id(shard.shard_id())
            .shard_iterator_type(ShardIteratorType::TrimHorizon)
            .send()
            .await
            .expect("GetShardIterator")
            .shard_iterator()
            .map(str::to_owned);
        let mut empty_pages = 0;
        while let Some(current) = iterator {
            let output = client
                .get_records()
                .shard_iterator(current)
                .limit(10_000)
                .send()
                .await
                .expect("GetRecords");
            if output.records().is_empty() {
                empty_pages += 1;
                if empty_pages == 2 {
                    break;
                }
            }
            for record in output.records() {
                let key = record.partition_key().unwrap_or_default().to_owned();
                records.push((key, record.data().as_ref().to_vec()));
            }
            iterator = output.next_shard_iterator().map(str::to_owned);
        }
        out.push(ShardRecords {
            hash_keys: parse(range.starting_hash_key())..=parse(range.ending_hash_key()),
            records,
        });
    }
    out
}
