//! The four SDK clients against the null endpoint: every operation answers success, and the
//! endpoint counts what it received.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use null_endpoint::{Api, NullEndpoint};

async fn config(endpoint: &NullEndpoint) -> aws_config::SdkConfig {
    test_support::sdk_config_at(&endpoint.url()).await
}

/// Requests and entries `api` received.
fn received(endpoint: &NullEndpoint, api: Api) -> (u64, u64) {
    let counts = endpoint.counts(api);
    (counts.requests, counts.entries)
}

#[tokio::test]
async fn every_operation_answers_and_is_counted() {
    let endpoint = NullEndpoint::start(Duration::ZERO).await.unwrap();
    let config = config(&endpoint).await;

    let sqs = aws_batch_utils::sqs::sdk::Client::new(&config);
    let url = "http://127.0.0.1/000000000000/q";
    let entries = (0..10).map(|i| {
        aws_batch_utils::sqs::sdk::types::SendMessageBatchRequestEntry::builder()
            .id(i.to_string())
            .message_body("{}")
            .build()
            .unwrap()
    });
    let sent = sqs
        .send_message_batch()
        .queue_url(url)
        .set_entries(Some(entries.collect()))
        .send()
        .await
        .unwrap();
    assert_eq!(sent.successful().len(), 10);
    sqs.send_message()
        .queue_url(url)
        .message_body("x")
        .send()
        .await
        .unwrap();

    let kinesis = aws_batch_utils::kinesis::sdk::Client::new(&config);
    let records = (0..7).map(|i| {
        aws_batch_utils::kinesis::sdk::types::PutRecordsRequestEntry::builder()
            .data(aws_batch_utils::kinesis::sdk::primitives::Blob::new(vec![
                i,
            ]))
            .partition_key("k")
            .build()
            .unwrap()
    });
    let put = kinesis
        .put_records()
        .stream_name("s")
        .set_records(Some(records.collect()))
        .send()
        .await
        .unwrap();
    assert_eq!(put.records().len(), 7);
    kinesis
        .put_record()
        .stream_name("s")
        .partition_key("k")
        .data(aws_batch_utils::kinesis::sdk::primitives::Blob::new(
            b"x".to_vec(),
        ))
        .send()
        .await
        .unwrap();

    let dynamodb = aws_batch_utils::dynamodb::sdk::Client::new(&config);
    use aws_batch_utils::dynamodb::sdk::types::{AttributeValue, PutRequest, WriteRequest};
    let writes: Vec<WriteRequest> = (0..25)
        .map(|i| {
            let put = PutRequest::builder()
                .item("pk", AttributeValue::S(format!("k{i}")))
                .build()
                .unwrap();
            WriteRequest::builder().put_request(put).build()
        })
        .collect();
    dynamodb
        .batch_write_item()
        .request_items("t", writes)
        .send()
        .await
        .unwrap();
    dynamodb
        .put_item()
        .table_name("t")
        .item("pk", AttributeValue::S("k".into()))
        .send()
        .await
        .unwrap();

    let cloudwatch = aws_batch_utils::cloudwatch::sdk::Client::new(&config);
    // 1,000 metrics: a body large enough that the SDK compresses it.
    let metrics: Vec<aws_batch_utils::cloudwatch::sdk::types::MetricDatum> = (0..1_000)
        .map(|i| {
            aws_batch_utils::cloudwatch::sdk::types::MetricDatum::builder()
                .metric_name(format!("m{i}"))
                .value(1.0)
                .build()
        })
        .collect();
    cloudwatch
        .put_metric_data()
        .namespace("ns")
        .set_metric_data(Some(metrics))
        .send()
        .await
        .unwrap();

    assert_eq!(received(&endpoint, Api::SendMessageBatch), (1, 10));
    assert_eq!(received(&endpoint, Api::SendMessage), (1, 1));
    assert_eq!(received(&endpoint, Api::PutRecords), (1, 7));
    assert_eq!(received(&endpoint, Api::PutRecord), (1, 1));
    assert_eq!(received(&endpoint, Api::BatchWriteItem), (1, 25));
    assert_eq!(received(&endpoint, Api::PutItem), (1, 1));
    assert_eq!(received(&endpoint, Api::PutMetricData), (1, 1_000));
    assert!(
        endpoint.counts(Api::PutMetricData).max_body_bytes > 10_000,
        "measured uncompressed"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn latency_is_added_to_every_answer() {
    let endpoint = NullEndpoint::start(Duration::from_millis(200))
        .await
        .unwrap();
    let config = config(&endpoint).await;
    let sqs = aws_batch_utils::sqs::sdk::Client::new(&config);
    #[allow(clippy::disallowed_methods)] // wall-clock latency of a real server
    let started = std::time::Instant::now();
    sqs.send_message()
        .queue_url("http://127.0.0.1/0/q")
        .message_body("x")
        .send()
        .await
        .unwrap();
    assert!(started.elapsed() >= Duration::from_millis(200));
}
