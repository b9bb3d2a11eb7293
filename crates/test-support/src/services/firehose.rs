//! Firehose delivery streams in the emulator, writing to S3 buckets read back.

use crate::env::{sdk_config, unique_name};

/// An S3 client for the emulator: path-style addresses, as a local endpoint needs.
pub async fn s3_client() -> aws_sdk_s3::Client {
    let config = sdk_config("s3").await;
    let config = aws_sdk_s3::config::Builder::from(&config)
        .force_path_style(true)
        .build();
    aws_sdk_s3::Client::from_conf(config)
}

/// Creates a bucket and a delivery stream that writes to it, both with unique names;
/// returns the stream's name and the bucket's.
pub async fn create_delivery_stream(
    firehose: &aws_sdk_firehose::Client,
    s3: &aws_sdk_s3::Client,
) -> (String, String) {
    use aws_sdk_firehose::types::ExtendedS3DestinationConfiguration;
    let bucket = unique_name("bucket").to_lowercase();
    s3.create_bucket()
        .bucket(&bucket)
        .send()
        .await
        .expect("CreateBucket");
    let stream = unique_name("firehose");
    let destination = ExtendedS3DestinationConfiguration::builder()
        .role_arn("arn:aws:iam::000000000000:role/firehose")
        .bucket_arn(format!("arn:aws:s3:::{bucket}"))
        .build()
        .expect("an S3 destination");
    firehose
        .create_delivery_stream()
        .delivery_stream_name(&stream)
        .extended_s3_destination_configuration(destination)
        .send()
        .await
        .expect("CreateDeliveryStream");
    (stream, bucket)
}

/// The contents of every object in `bucket`, in key order.
pub async fn read_bucket(s3: &aws_sdk_s3::Client, bucket: &str) -> Vec<Vec<u8>> {
    let listed = s3
        .list_objects_v2()
        .bucket(bucket)
        .send()
        .await
        .expect("ListObjectsV2");
    let mut objects = Vec::new();
    for object in listed.contents() {
        let body = s3
            .get_object()
            .bucket(bucket)
            .key(object.key().unwrap_or_default())
            .send()
            .await
            .expect("GetObject")
            .body
            .collect()
            .await
            .expect("an object body");
        objects.push(body.into_bytes().to_vec());
    }
    objects
}

/// Every line of every object in `bucket`, sorted.
pub async fn lines_in_bucket(s3: &aws_sdk_s3::Client, bucket: &str) -> Vec<String> {
    let mut lines: Vec<String> = read_bucket(s3, bucket)
        .await
        .iter()
        .flat_map(|object| {
            String::from_utf8_lossy(object)
                .lines()
                .map(str::to_owned)
                .collect::<Vec<_>>()
        })
        .collect();
    lines.sort();
    lines
}
