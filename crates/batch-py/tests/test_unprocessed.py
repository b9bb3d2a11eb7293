"""What cannot be delivered comes back from flush_payloads as UnprocessedItem objects: the
very payload object submitted, the AWS code and message, the attempts. Also added to the
cumulative unprocessed_items attribute."""

import aws_batch_utils as abu
from conftest import OFFLINE, OFFLINE_QUEUE, unique


def check_handed_back(dispatcher, payloads, codes):
    failed = dispatcher.flush_payloads()
    assert len(failed) == len(payloads)
    assert sorted(id(item.payload) for item in failed) == sorted(id(p) for p in payloads), "the very objects"
    for item in failed:
        assert item.code in codes, item
        assert item.message
        assert item.attempts >= 1
        assert item.reason == "Rejected"
        assert item.retryable is False
    assert dispatcher.unprocessed_items == failed
    # A second flush has nothing new; the attribute keeps what came before.
    assert dispatcher.flush_payloads() == []
    assert len(dispatcher.unprocessed_items) == len(payloads)
    stats = dispatcher.stats()
    assert stats["unprocessed"] == len(payloads) and stats["delivered"] == 0


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
    [item] = dispatcher.flush_payloads()
    assert item.payload is payload
    assert (item.code, item.reason, item.attempts, item.retryable) == ("DispatchFailure", "RetriesExhausted", 2, True)
    assert "refused" in (item.cause or "").lower(), item
