"""A payload that cannot be sent is a SubmitError (a ValueError) naming the field, carrying
the very object submitted, unchanged; nothing is taken and the dispatcher goes on. Settings
out of range are a ValueError at construction. Nothing here reaches an endpoint."""

import copy
from decimal import Decimal

import pytest

import aws_batch_utils as abu
from conftest import OFFLINE, OFFLINE_QUEUE


def refused(dispatcher, payload, field, **kwargs):
    before = copy.deepcopy(payload)
    with pytest.raises(abu.SubmitError) as caught:
        dispatcher.submit_payload(payload, **kwargs)
    err = caught.value
    assert isinstance(err, ValueError)
    assert err.field == field, str(err)
    assert err.payload is payload, "the very object comes back"
    assert payload == before, "unchanged"
    assert dispatcher.stats()["pending"] == 0, "nothing was taken"
    return err


def sqs():
    # The queue's largest message is read at the first submit; a URL and the offline endpoint
    # make it fall back to SQS's own limit.
    return abu.SQSBatchDispatcher(OFFLINE_QUEUE, **OFFLINE)


def test_a_nested_value_json_cannot_hold():
    refused(sqs(), {"user": {"seen": [b"bytes"]}}, "/user/seen/0")


def test_a_value_json_cannot_hold():
    refused(sqs(), {"when": {1, 2}}, "when")


def test_a_nan_float():
    err = refused(sqs(), {"a": [1, float("nan")]}, "/a/1")
    assert "NaN" in str(err)


def test_a_decimal_nan():
    refused(sqs(), {"price": Decimal("NaN")}, "price")


def test_a_dict_key_that_is_not_a_string():
    refused(sqs(), {"a": {1: "x"}}, "a")


def test_an_sqs_message_over_1_mib():
    err = refused(sqs(), "x" * (1024 * 1024), "message")
    assert "1048576" in str(err)
    assert (err.size, err.limit) == (1024 * 1024 + 2, 1024 * 1024), "the JSON string's quotes count"


def test_a_message_id_with_a_space():
    refused(sqs(), {"a": 1}, "Id", message_id="two words")


def test_a_delay_of_901_seconds():
    err = refused(sqs(), {"a": 1}, "DelaySeconds", delay_seconds=901)
    assert err.allowed and err.size is None


def test_a_negative_delay():
    refused(sqs(), {"a": 1}, "DelaySeconds", delay_seconds=-1)


def test_a_message_attribute_that_is_not_a_value():
    refused(sqs(), {"a": 1}, "MessageAttributes/bad", message_attributes={"bad": object()})


def test_the_dispatcher_goes_on_after_a_refusal():
    dispatcher = sqs()
    refused(dispatcher, {"when": 1j}, "when")
    dispatcher.submit_payload({"fine": True})
    assert dispatcher.stats()["pending"] == 1


def test_a_kinesis_payload_without_its_partition_key_field():
    kinesis = abu.KinesisBatchDispatcher("s", partition_key_identifier="user", **OFFLINE)
    refused(kinesis, {"other": 1}, "user")


def test_a_kinesis_partition_key_field_that_is_null():
    kinesis = abu.KinesisBatchDispatcher("s", partition_key_identifier="user", **OFFLINE)
    refused(kinesis, {"user": None}, "user")


def test_a_kinesis_record_over_1_mib():
    kinesis = abu.KinesisBatchDispatcher("s", **OFFLINE)
    refused(kinesis, b"x" * (1024 * 1024 + 1), "record")


def dynamo(**kwargs):
    return abu.DynamoBatchDispatcher("t", "pk", **kwargs, **OFFLINE)


def test_a_dynamodb_item_without_its_partition_key():
    refused(dynamo(), {"other": "x"}, "pk")


def test_a_dynamodb_item_without_its_sort_key():
    refused(dynamo(sort_key="sk"), {"pk": "a"}, "sk")


def test_an_empty_dynamodb_set():
    refused(dynamo(), {"pk": "a", "tags": set()}, "tags")


def test_a_dynamodb_set_of_mixed_kinds():
    refused(dynamo(), {"pk": "a", "tags": {"x", 1}}, "tags")


def test_a_dynamodb_number_of_39_digits():
    refused(dynamo(), {"pk": "a", "n": Decimal("1" * 39)}, "n")
    refused(dynamo(), {"pk": "a", "deep": {"n": Decimal("1" * 39)}}, "deep.n")


def test_a_dynamodb_item_that_is_not_a_dict():
    refused(dynamo(), ["pk", "a"], "payload")


def test_a_missing_partition_key_location():
    refused(dynamo(), {"pk": "a"}, "id", partition_key_location="id")


def test_a_cloudwatch_value_that_is_not_a_number():
    metrics = abu.CloudwatchBatchDispatcher("ns", **OFFLINE)
    with pytest.raises(abu.SubmitError) as caught:
        metrics.submit_metric("m", value="ten")
    assert caught.value.field == "Value"
    assert caught.value.payload["MetricName"] == "m"


def test_a_cloudwatch_datum_without_a_value():
    metrics = abu.CloudwatchBatchDispatcher("ns", **OFFLINE)
    refused(metrics, {"MetricName": "m"}, "Value")


def test_an_eventbridge_detail_that_is_not_an_object():
    events = abu.EventBridgeBatchDispatcher(**OFFLINE)
    refused(events, [1, 2], "Detail", source="s", detail_type="t")


def test_an_sns_subject_with_a_line_break():
    sns = abu.SNSBatchDispatcher("arn:aws:sns:us-east-1:000000000000:t", maximum_message_size=262144, **OFFLINE)
    refused(sns, "hello", "Subject", subject="two\nlines")


@pytest.mark.parametrize(
    ("make", "size"),
    [
        (lambda size: abu.SQSBatchDispatcher("q", max_batch_size=size, **OFFLINE), 11),
        (lambda size: abu.DynamoBatchDispatcher("t", "pk", max_batch_size=size, **OFFLINE), 26),
        (lambda size: abu.KinesisBatchDispatcher("s", max_batch_size=size, **OFFLINE), 501),
        (lambda size: abu.CloudwatchBatchDispatcher("ns", max_batch_size=size, **OFFLINE), 1001),
    ],
)
def test_a_max_batch_size_above_the_services_limit(make, size):
    with pytest.raises(ValueError, match="max_batch_size"):
        make(size)
    make(size - 1)


def test_a_max_batch_size_of_zero():
    # The original took 0 and failed at the first submit; a negative size lost every payload.
    with pytest.raises(ValueError, match="max_batch_size"):
        abu.SQSBatchDispatcher("q", max_batch_size=0, **OFFLINE)
    with pytest.raises(OverflowError):
        abu.SQSBatchDispatcher("q", max_batch_size=-1, **OFFLINE)


def test_a_fleet_size_of_zero():
    with pytest.raises(ValueError, match="fleet_size"):
        abu.KinesisBatchDispatcher("stream", fleet_size=0, **OFFLINE)
    # Any writer count from one up is taken.
    abu.KinesisBatchDispatcher("stream", fleet_size=8, **OFFLINE)


def test_an_unknown_keyword_argument():
    with pytest.raises(TypeError, match="endpoint"):
        abu.SQSBatchDispatcher("q", endpoint="http://x")


def test_a_key_id_without_its_secret():
    with pytest.raises(ValueError, match="aws_secret_access_key"):
        abu.SQSBatchDispatcher("q", aws_access_key_id="x")


def test_a_negative_flush_timeout():
    with pytest.raises(ValueError, match="timeout"):
        sqs().flush_payloads(timeout=-1)


def test_an_empty_log_message_and_one_three_hours_ahead():
    import time

    logs = abu.LogsBatchDispatcher("group", "stream", **OFFLINE)
    refused(logs, "", "message")
    refused(logs, "later", "timestamp", timestamp=time.time() + 3 * 3600)
