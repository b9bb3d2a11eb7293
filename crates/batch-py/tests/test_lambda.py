"""Lambda handlers: a flush bounded by the invocation's remaining time, partial batch responses
for SQS, Kinesis and DynamoDB Streams events (only the inputs whose items were not written come
back), and a decorator that flushes at the end of every invocation."""

import json
import pathlib

import boto3
import pytest

import aws_batch_utils as abu
from conftest import CREDENTIALS, REGION, unique


class Context:
    """What Lambda passes a Python handler, as far as the helpers read it."""

    def __init__(self, remaining_ms):
        self.remaining_ms = remaining_ms

    def get_remaining_time_in_millis(self):
        return self.remaining_ms


def sqs_event(bodies):
    return {
        "Records": [
            {"messageId": f"m{n}", "receiptHandle": "r", "body": body, "eventSource": "aws:sqs"}
            for n, body in enumerate(bodies)
        ]
    }


def make_table(endpoint):
    dynamodb = boto3.client("dynamodb", endpoint_url=endpoint, region_name=REGION, **CREDENTIALS)
    name = unique("py-lambda")
    dynamodb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    dynamodb.get_waiter("table_exists").wait(TableName=name)
    return dynamodb, name


def sqs_to_dynamodb(table):
    """The handler a user writes: each message body, a JSON object, one item."""

    def handler(event, context):
        batch = abu.PartialBatch(event)
        for index, record in enumerate(event["Records"]):
            try:
                item = json.loads(record["body"])
            except ValueError:
                batch.fail(index)
                continue
            batch.submit(table, index, item)
        batch.flush(context, table)
        return batch.response()

    return handler


def failed_ids(response):
    return {failure["itemIdentifier"] for failure in response["batchItemFailures"]}


def test_the_response_lists_exactly_the_messages_whose_items_are_not_in_the_table(endpoint, connect):
    dynamodb, name = make_table(endpoint("dynamodb"))
    table = abu.DynamoBatchDispatcher(name, "id", **connect("dynamodb"))
    bodies = [json.dumps({"id": f"k{n}", "n": n}) for n in range(40)]
    bodies[3] = "not json"
    bodies[17] = json.dumps({"no_key": 1})  # refused at submit: the key attribute is missing
    bodies[25] = json.dumps({"id": "k25", "big": "x" * 500_000})  # over DynamoDB's 400 KB
    response = sqs_to_dynamodb(table)(sqs_event(bodies), Context(10_000))
    stored = {
        item["id"]["S"]
        for page in dynamodb.get_paginator("scan").paginate(TableName=name)
        for item in page["Items"]
    }
    not_stored = {f"m{n}" for n in range(40) if f"k{n}" not in stored}
    assert failed_ids(response) == not_stored == {"m3", "m17", "m25"}


def test_a_table_that_does_not_exist_fails_every_message(connect):
    table = abu.DynamoBatchDispatcher(unique("missing"), "id", **connect("dynamodb"))
    bodies = [json.dumps({"id": f"k{n}"}) for n in range(30)]
    response = sqs_to_dynamodb(table)(sqs_event(bodies), Context(10_000))
    assert failed_ids(response) == {f"m{n}" for n in range(30)}
    assert len(table.unprocessed_items) == 30


def test_no_time_left_reports_everything_at_once_and_holds_nothing(endpoint, connect):
    _, name = make_table(endpoint("dynamodb"))
    table = abu.DynamoBatchDispatcher(name, "id", **connect("dynamodb"))
    bodies = [json.dumps({"id": f"k{n}"}) for n in range(12)]
    # 100 ms left and a 250 ms margin: no budget at all.
    response = sqs_to_dynamodb(table)(sqs_event(bodies), Context(100))
    assert failed_ids(response) == {f"m{n}" for n in range(12)}
    assert table.stats()["delivered"] == 0
    assert table.flush_payloads() == []


def test_a_stream_reports_its_lowest_failed_sequence_number():
    event = {
        "Records": [
            {"eventSource": "aws:kinesis", "kinesis": {"sequenceNumber": seq, "data": ""}}
            for seq in ["49590338271490256608559692538361571095921575989136588898", "995", "1000"]
        ]
    }
    batch = abu.PartialBatch(event)
    batch.fail(0)
    batch.fail(2)
    assert batch.response() == {"batchItemFailures": [{"itemIdentifier": "1000"}]}
    assert batch.failed == [0, 2]
    dynamodb_event = {"Records": [{"eventSource": "aws:dynamodb", "dynamodb": {"SequenceNumber": "7"}}]}
    assert abu.PartialBatch(dynamodb_event).response() == {"batchItemFailures": []}
    with pytest.raises(ValueError, match="eventSource"):
        abu.PartialBatch({"Records": [{"eventSource": "aws:s3"}]})


def test_the_budget_follows_the_remaining_time():
    assert abu.flush_budget(None) == 10.0
    assert abu.flush_budget(Context(3_000)) == pytest.approx(2.75, abs=0.05)
    assert abu.flush_budget(Context(100)) == 0.0
    assert abu.flush_budget(Context(-5)) == 0.0
    # Longer than an invocation can last: not a real remaining time.
    assert abu.flush_budget(Context(10**9), fallback=4.0) == 4.0
    assert abu.flush_budget(object(), margin_ms=0, fallback=1.5) == 1.5


def test_flush_at_end_leaves_nothing_held_when_the_handler_returns_or_raises(endpoint, connect):
    dynamodb, name = make_table(endpoint("dynamodb"))
    table = abu.DynamoBatchDispatcher(name, "id", **connect("dynamodb"))

    @abu.flush_at_end(table)
    def handler(event, context):
        for record in event["Records"]:
            table.submit_payload(json.loads(record["body"]))
        if event.get("fail"):
            raise RuntimeError("the handler failed")
        return {"ok": True}

    event = sqs_event([json.dumps({"id": f"k{n}"}) for n in range(7)])
    assert handler(event, Context(5_000)) == {"ok": True}
    assert table.stats()["delivered"] == 7
    failing = sqs_event([json.dumps({"id": f"j{n}"}) for n in range(3)])
    failing["fail"] = True
    with pytest.raises(RuntimeError, match="the handler failed"):
        handler(failing, Context(5_000))
    assert table.stats()["delivered"] == 10
    assert dynamodb.scan(TableName=name, Select="COUNT")["Count"] == 10


def test_the_readme_handler_as_written(monkeypatch, endpoint):
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", endpoint("dynamodb"))
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", CREDENTIALS["aws_access_key_id"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", CREDENTIALS["aws_secret_access_key"])
    dynamodb = boto3.client("dynamodb", endpoint_url=endpoint("dynamodb"), region_name=REGION, **CREDENTIALS)
    try:  # the example's table name is fixed: a rerun finds it
        dynamodb.create_table(
            TableName="orders",
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        dynamodb.get_waiter("table_exists").wait(TableName="orders")
    except dynamodb.exceptions.ResourceInUseException:
        pass
    readme = (pathlib.Path(__file__).resolve().parents[3] / "README.md").read_text()
    start = readme.index("```python\nimport json\nfrom aws_batch_utils import DynamoBatchDispatcher, PartialBatch")
    code = readme[start + len("```python\n") : readme.index("```", start + 3)]
    scope = {}
    exec(code, scope)  # noqa: S102 - the documented example, as written
    tag = unique("readme")
    bodies = [json.dumps({"id": f"{tag}-{n}"}) for n in range(5)] + ["{broken"]
    response = scope["handler"](sqs_event(bodies), Context(5_000))
    assert response == {"batchItemFailures": [{"itemIdentifier": "m5"}]}
    for n in range(5):
        assert "Item" in dynamodb.get_item(TableName="orders", Key={"id": {"S": f"{tag}-{n}"}})
