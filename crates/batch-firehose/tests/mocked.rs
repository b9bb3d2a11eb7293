//! Partial failures, throttling and packing, with aws-smithy-mocks clients on paused time.
#![allow(clippy::unwrap_used)]

use aws_sdk_firehose::Client;
use aws_sdk_firehose::config::retry::RetryConfig as SdkRetryConfig;
use aws_sdk_firehose::operation::put_record_batch::{PutRecordBatchError, PutRecordBatchOutput};
use aws_sdk_firehose::types::PutRecordBatchResponseEntry;
use aws_smithy_mocks::{MockResponse, RuleMode, mock, mock_client};
use aws_smithy_types::error::ErrorMetadata;
use batch_core::{DispatcherConfig, RetryPolicy, UnprocessedReason};
use batch_firehose::{FirehoseBackend, FirehoseBatchDispatcher, FirehoseRecord, billed_bytes};
use serde_json::{Value, json};

/// What one request carried: per Firehose record, the numbers of the records in it.
type Log = test_support::Recorder<Vec<Vec<u64>>>;

/// A client whose PutRecordBatch answers each Firehose record with `respond(call, numbers in
/// it)` (`None` stored, `Some(code)` refused), or the whole request with `Err(code)`.
fn client<F>(respond: F) -> (Client, Log, test_support::Recorder<usize>)
where
    F: Fn(usize, &[u64]) -> Result<Option<&'static str>, &'static str> + Send + Sync + 'static,
{
    let log = Log::default();
    let sizes = test_support::Recorder::default();
    let (seen, sized) = (log.clone(), sizes.clone());
    let rule = mock!(Client::put_record_batch).then_compute_response(move |request| {
        let records: Vec<Vec<u64>> = request
            .records()
            .iter()
            .map(|record| {
                sized.record(record.data().as_ref().len());
                String::from_utf8_lossy(record.data().as_ref())
                    .lines()
                    .map(|line| {
                        serde_json::from_str::<Value>(line).unwrap()["n"]
                            .as_u64()
                            .unwrap()
                    })
                    .collect()
            })
            .collect();
        let call = seen.record(records.clone());
        let mut answers = Vec::new();
        for numbers in &records {
            match respond(call, numbers) {
                Err(code) => {
                    return MockResponse::Error(PutRecordBatchError::generic(
                        ErrorMetadata::builder()
                            .code(code)
                            .message("scripted")
                            .build(),
                    ));
                }
                Ok(None) => answers.push(
                    PutRecordBatchResponseEntry::builder()
                        .record_id("r")
                        .build(),
                ),
                Ok(Some(code)) => answers.push(
                    PutRecordBatchResponseEntry::builder()
                        .error_code(code)
                        .error_message("scripted")
                        .build(),
                ),
            }
        }
        let failed = answers.iter().filter(|a| a.error_code().is_some()).count();
        MockResponse::Output(
            PutRecordBatchOutput::builder()
                .failed_put_count(i32::try_from(failed).unwrap())
                .set_request_responses(Some(answers))
                .build()
                .unwrap(),
        )
    });
    let client = mock_client!(aws_sdk_firehose, RuleMode::MatchAny, [&rule], |c| c
        .retry_config(SdkRetryConfig::disabled()));
    (client, log, sizes)
}

fn number(record: &FirehoseRecord) -> u64 {
    record.as_json().unwrap()["n"].as_u64().unwrap()
}

#[tokio::test(start_paused = true)]
async fn refused_records_are_retried_and_a_permanent_refusal_comes_back_with_its_code() {
    // Record 3 is slowed down once, record 5 fails once inside; record 7 is refused for good.
    let (client, log, _) = client(|call, numbers| {
        Ok(match numbers {
            [3] if call == 1 => Some("ServiceUnavailableException"),
            [5] if call == 1 => Some("InternalFailure"),
            [7] => Some("InvalidArgumentException"),
            _ => None,
        })
    });
    let firehose = FirehoseBatchDispatcher::from_client(client, "stream");
    for n in 0..10 {
        firehose.submit_payload(json!({ "n": n })).await.unwrap();
    }
    let unprocessed = firehose.flush_payloads().await;
    assert_eq!(unprocessed.len(), 1);
    assert_eq!(number(&unprocessed[0].payload), 7);
    assert_eq!(unprocessed[0].error.code(), "InvalidArgumentException");
    assert_eq!(unprocessed[0].error.reason, UnprocessedReason::Rejected);
    let requests = log.seen();
    assert_eq!(
        requests[1],
        vec![vec![3], vec![5]],
        "only the refused ones again"
    );
    let stats = firehose.stats();
    assert_eq!((stats.delivered, stats.throttled), (9, 1));
}

#[tokio::test(start_paused = true)]
async fn a_request_slowed_down_as_a_whole_is_paced_then_delivered() {
    let (client, log, _) = client(|call, _| {
        if call <= 2 {
            Err("ServiceUnavailableException")
        } else {
            Ok(None)
        }
    });
    let firehose = FirehoseBatchDispatcher::builder(FirehoseBackend::new(client, "stream"))
        .config(DispatcherConfig::default().retry(RetryPolicy::default().max_attempts(2)))
        .build()
        .unwrap();
    for n in 0..20 {
        firehose.submit_payload(json!({ "n": n })).await.unwrap();
    }
    // Throttling does not spend attempts: two refusals with max_attempts 2 still deliver.
    assert!(firehose.flush_payloads().await.is_empty());
    assert_eq!(log.seen().len(), 3);
    assert_eq!(firehose.stats().delivered, 20);
}

#[tokio::test(start_paused = true)]
async fn a_failed_packed_record_hands_back_the_records_it_held() {
    // Every packed record that holds record 0 fails for good.
    let (client, log, _) =
        client(|_, numbers| Ok(numbers.contains(&0).then_some("InvalidArgumentException")));
    let firehose =
        FirehoseBatchDispatcher::builder(FirehoseBackend::new(client, "stream").with_pack(1_000))
            .build()
            .unwrap();
    for n in 0..100 {
        firehose
            .submit_payload(json!({ "n": n, "pad": "x".repeat(30) }))
            .await
            .unwrap();
    }
    let unprocessed = firehose.flush_payloads().await;
    let first = log.seen()[0].clone();
    assert!(first.len() > 1 && first[0].len() > 10, "packed: {first:?}");
    let back: Vec<u64> = unprocessed.iter().map(|u| number(&u.payload)).collect();
    assert_eq!(
        back, first[0],
        "the records of the failed packed record, as submitted"
    );
    assert_eq!(firehose.stats().delivered, 100 - back.len() as u64);
}

#[tokio::test(start_paused = true)]
async fn packing_small_records_cuts_the_billed_bytes() {
    let mut billed = Vec::new();
    for pack in [None, Some(64 * 1_024)] {
        let (client, log, sizes) = client(|_, _| Ok(None));
        let mut stream = FirehoseBackend::new(client, "stream").with_newline(true);
        if let Some(bytes) = pack {
            stream = stream.with_pack(bytes);
        }
        let firehose = FirehoseBatchDispatcher::builder(stream).build().unwrap();
        for n in 0..5_000 {
            let record = json!({ "n": n, "pad": "x".repeat(180) });
            firehose.submit_payload(record).await.unwrap();
        }
        assert!(firehose.flush_payloads().await.is_empty());
        // Every record arrived once, in either form.
        let mut numbers: Vec<u64> = log.seen().into_iter().flatten().flatten().collect();
        numbers.sort_unstable();
        assert_eq!(numbers, (0..5_000).collect::<Vec<_>>());
        billed.push((billed_bytes(sizes.seen()), firehose.stats().requests_sent));
    }
    let ((plain, plain_requests), (packed, packed_requests)) = (billed[0], billed[1]);
    // 5,000 records of about 200 bytes: 5,000 units of 5 KB alone, about 200 packed.
    assert_eq!(plain, 5_000 * 5 * 1_024);
    assert!(
        packed * 20 < plain,
        "billed {packed} packed against {plain}"
    );
    assert_eq!(plain_requests, 10);
    assert!(packed_requests <= 2, "{packed_requests} requests packed");
}

#[tokio::test(start_paused = true)]
async fn raw_bytes_go_out_in_every_attempt_without_a_copy() {
    // Where each request's data lives, per attempt; the first refuses the record.
    let addresses = test_support::Recorder::<usize>::default();
    let seen = addresses.clone();
    let rule = mock!(Client::put_record_batch).then_compute_response(move |request| {
        let call = seen.record(request.records()[0].data().as_ref().as_ptr() as usize);
        let answer = if call == 1 {
            PutRecordBatchResponseEntry::builder()
                .error_code("ServiceUnavailableException")
                .error_message("scripted")
                .build()
        } else {
            PutRecordBatchResponseEntry::builder()
                .record_id("r")
                .build()
        };
        MockResponse::Output(
            PutRecordBatchOutput::builder()
                .failed_put_count(i32::from(call == 1))
                .request_responses(answer)
                .build()
                .unwrap(),
        )
    });
    let client = mock_client!(aws_sdk_firehose, RuleMode::MatchAny, [&rule], |c| c
        .retry_config(SdkRetryConfig::disabled()));
    let stream = FirehoseBatchDispatcher::from_client(client, "stream");
    let record = FirehoseRecord::bytes(vec![b'x'; 4_096]);
    let buffer = record.as_bytes().unwrap().as_ptr() as usize;
    stream.submit_payload(record).await.unwrap();
    assert!(stream.flush_payloads().await.is_empty());
    assert_eq!(
        addresses.seen(),
        vec![buffer; 2],
        "both attempts send the record's own buffer"
    );
}
