"""What cannot be delivered comes back from flush_payloads as the original promised: the very
payload objects submitted, "in the same state and structure", so that they can be sent again
or written to a dead-letter file; also in the cumulative unprocessed_items attribute. The
reasons (the AWS code and message, the attempts) are UnprocessedItem objects, from
flush_payloads(details=True) and the failures attribute."""

import json

import aws_batch_utils as abu
from conftest import OFFLINE, OFFLINE_QUEUE, unique


def check_handed_back(dispatcher, payloads, codes):
    failed = dispatcher.flush_payloads()
    assert len(failed) == len(payloads)
    assert sorted(id(p) for p in failed) == sorted(id(p) for p in payloads), "the very objects"
    # What code written for the original does with them.
    assert json.loads(json.dumps([p for p in failed if not isinstance(p, bytes)])) is not None
    for item in dispatcher.failures:
        assert item.code in codes, item
        assert item.message
        assert item.attempts >= 1
        assert item.reason == "Rejected"
        assert item.retryable is False
    assert [item.payload for item in dispatcher.failures] == failed
    assert dispatcher.unprocessed_items == failed
    # A second flush has nothing new; the attributes keep what came before.
    assert dispatcher.flush_payloads() == []
    assert dispatcher.flush_payloads(details=True) == []
    assert len(dispatcher.unprocessed_items) == len(payloads)
    assert len(dispatcher.failures) == len(payloads)
    stats = dispatcher.stats()
    assert stats["unprocessed"] == len(payloads) and stats["delivered"] == 0


def test_unprocessed_payloads_can_be_submitted_again_as_they_are(client, connect):
    sqs = client("sqs")
    missing = abu.SQSBatchDispatcher(unique("missing"), **connect("sqs"))
    payloads = [{"id": n, "order": {"total": n * 10}} for n in range(5)]
    for payload in payloads:
        missing.submit_payload(payload)
    failed = missing.flush_payloads()
    assert [item["id"] for item in failed] == [0, 1, 2, 3, 4]
    name = unique("py-retry")
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    retry = abu.SQSBatchDispatcher(name, **connect("sqs"))
    for payload in failed:
        retry.submit_payload(payload)
    assert retry.flush_payloads() == []
    got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1)["Messages"]
    assert sorted(json.loads(m["Body"])["id"] for m in got) == [0, 1, 2, 3, 4]


def test_the_original_attributes():
    kinds = [
        (abu.SQSBatchDispatcher(OFFLINE_QUEUE, **OFFLINE), "sqs", "send_message_batch", 10),
        (abu.KinesisBatchDispatcher("s", **OFFLINE), "kinesis", "put_records", 500),
        (abu.DynamoBatchDispatcher("t", "pk", max_batch_size=20, **OFFLINE), "dynamodb", "batch_write_item", 20),
        (abu.CloudwatchBatchDispatcher("n", **OFFLINE), "cloudwatch", "put_metric_data", 1000),
    ]
    for dispatcher, service, method, size in kinds:
        assert (dispatcher.aws_service_name, dispatcher.batch_dispatch_method) == (service, method)
        assert dispatcher.max_batch_size == size, str(dispatcher)
        assert dispatcher.unprocessed_items == []


def test_a_missing_queue(connect):
    dispatcher = abu.SQSBatchDispatcher(unique("missing"), **connect("sqs"))
    payloads = [{"n": n} for n in range(12)]
    for payload in payloads:
        dispatcher.submit_payload(payload)
    check_handed_back(
        dispatcher, payloads, {"AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist"}
    )


def test_a_missing_stream(connect):
    dispatcher = abu.KinesisBatchDispatcher(unique("missing"), **connect("kinesis"))
    payloads = [{"n": n} for n in range(7)] + [b"bytes"]
    for payload in payloads:
        dispatcher.submit_payload(payload)
    check_handed_back(dispatcher, payloads, {"ResourceNotFoundException"})


def test_a_missing_table(connect):
    dispatcher = abu.DynamoBatchDispatcher(unique("missing"), "pk", **connect("dynamodb"))
    payloads = [{"pk": f"k{n}", "v": n} for n in range(30)]
    for payload in payloads:
        dispatcher.submit_payload(payload)
    check_handed_back(dispatcher, payloads, {"ResourceNotFoundException"})


def test_the_context_manager_flushes_at_the_end(client, connect):
    sqs = client("sqs")
    name = unique("py-with")
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    with abu.SQSBatchDispatcher(name, **connect("sqs")) as dispatcher:
        for n in range(3):
            dispatcher.submit_payload({"n": n})
    assert dispatcher.stats()["delivered"] == 3
    count = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
    assert count["Attributes"]["ApproximateNumberOfMessages"] == "3"


def test_an_endpoint_that_refuses_connections_says_so():
    # Every attempt fails to connect.
    dispatcher = abu.SQSBatchDispatcher(OFFLINE_QUEUE, max_attempts=2, **OFFLINE)
    payload = {"n": 1}
    dispatcher.submit_payload(payload)
    [item] = dispatcher.flush_payloads(details=True)
    assert item.payload is payload
    assert dispatcher.unprocessed_items == [payload]
    assert (item.code, item.reason, item.attempts, item.retryable) == ("DispatchFailure", "RetriesExhausted", 2, True)
    assert "refused" in (item.cause or "").lower(), item
