"""Every dispatcher of the original's API, and the added ones, against the emulators: what
was delivered is read back with boto3 and compared value for value."""

import copy
import json
import time
from datetime import datetime, timezone
from decimal import Decimal

import pytest

import aws_batch_utils as abu
from conftest import receive_all, unique


def orders(count):
    """Payloads with the values boto3 users pass: Decimal, big ints, floats, nesting."""
    return [
        {
            "order": n,
            "price": Decimal("19.990"),
            "huge": 10**30 + n,
            "ratio": 0.1 * n,
            "tags": ["a", "é", None, True],
            "nested": {"deep": {"n": n}},
        }
        for n in range(count)
    ]


def exact(text):
    """JSON text read back with numbers as Decimal or int, as written."""
    return json.loads(text, parse_float=Decimal)


def test_sqs_standard_delivers_every_payload_exactly_and_leaves_the_callers_dicts(client, connect):
    sqs = client("sqs")
    name = unique("py-std")
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    payloads = orders(25)
    before = copy.deepcopy(payloads)
    dispatcher = abu.SQSBatchDispatcher(name, **connect("sqs"))
    for n, payload in enumerate(payloads):
        dispatcher.submit_payload(
            payload,
            message_id=f"m{n}",
            message_attributes={"kind": "order", "n": n, "raw": b"\x00\x01"},
        )
    assert dispatcher.flush_payloads() == []
    assert payloads == before, "the caller's dicts are not changed"
    messages = receive_all(sqs, url, 25, attributes=True)
    assert len(messages) == 25
    got = sorted((exact(m["Body"]) for m in messages), key=lambda body: body["order"])
    for body, payload in zip(got, payloads):
        assert body["price"] == Decimal("19.990") and str(body["price"]) == "19.990"
        assert body["huge"] == payload["huge"], "ints of any size, exactly"
        assert body["ratio"] == Decimal(repr(payload["ratio"]))
        assert body["tags"] == payload["tags"] and body["nested"] == payload["nested"]
    attributes = messages[0]["MessageAttributes"]
    assert attributes["kind"] == {"StringValue": "order", "DataType": "String"}
    assert attributes["raw"]["BinaryValue"] == b"\x00\x01"
    assert attributes["n"]["DataType"] == "Number"
    assert dispatcher.stats()["requests_sent"] == 3
    # The emulator never throttled: nothing was paced.
    assert dispatcher.stats()["paced_rate"] is None
    assert dispatcher.stats()["paced_wait_seconds"] == 0.0
    assert str(dispatcher) == f"SQSBatchDispatcher::{name}"


def test_sqs_fifo_keeps_group_order_and_makes_deduplication_ids(client, connect):
    sqs = client("sqs")
    name = unique("py-fifo") + ".fifo"
    url = sqs.create_queue(QueueName=name, Attributes={"FifoQueue": "true"})["QueueUrl"]
    dispatcher = abu.SQSFifoBatchDispatcher(name, **connect("sqs"))
    for n in range(30):
        # No deduplication id: the original sent none, and SQS refused every message.
        dispatcher.submit_payload({"n": n}, message_group_id=f"g{n % 3}")
    assert dispatcher.flush_payloads() == []
    messages = receive_all(sqs, url, 30)
    assert len(messages) == 30
    by_group = {}
    for message in messages:
        body = json.loads(message["Body"])
        by_group.setdefault(body["n"] % 3, []).append(body["n"])
    for group, numbers in by_group.items():
        assert numbers == sorted(numbers), f"group {group} in submission order"


def test_kinesis_partition_key_identifier_and_exact_data(client, connect):
    kinesis = client("kinesis")
    stream = unique("py-stream")
    kinesis.create_stream(StreamName=stream, ShardCount=1)
    while kinesis.describe_stream(StreamName=stream)["StreamDescription"]["StreamStatus"] != "ACTIVE":
        time.sleep(0.1)
    dispatcher = abu.KinesisBatchDispatcher(stream, partition_key_identifier="user", **connect("kinesis"))
    payloads = [{"user": n % 7, "price": Decimal("0.10"), "n": n} for n in range(120)]
    for payload in payloads:
        dispatcher.submit_payload(payload)
    dispatcher.submit_payload(b"raw bytes", partition_key="bytes-key")
    assert dispatcher.flush_payloads() == []
    shard = kinesis.describe_stream(StreamName=stream)["StreamDescription"]["Shards"][0]["ShardId"]
    iterator = kinesis.get_shard_iterator(StreamName=stream, ShardId=shard, ShardIteratorType="TRIM_HORIZON")[
        "ShardIterator"
    ]
    records = kinesis.get_records(ShardIterator=iterator, Limit=1000)["Records"]
    assert len(records) == 121
    for record, payload in zip(records, payloads):
        assert exact(record["Data"]) == {"user": payload["user"], "price": Decimal("0.10"), "n": payload["n"]}
        assert record["PartitionKey"] == str(payload["user"])
    assert records[-1]["Data"] == b"raw bytes" and records[-1]["PartitionKey"] == "bytes-key"


def test_dynamodb_items_round_trip_through_boto3(client, connect):
    dynamodb = client("dynamodb")
    table = unique("py-table")
    dynamodb.create_table(
        TableName=table,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "N"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    dispatcher = abu.DynamoBatchDispatcher(table, "pk", sort_key="sk", **connect("dynamodb"))
    payloads = [
        {
            "pk": f"user#{n % 5}",
            "sk": n,
            "price": Decimal("12345678901234567890.123456789012345678"),
            "ratio": 0.25,
            "blob": b"\x00\xff",
            "names": {"x", "y"},
            "scores": {1, 2, 3},
            "flag": n % 2 == 0,
            "nothing": None,
            "nested": {"list": [1, "two", {"three": Decimal("3.0")}]},
        }
        for n in range(40)
    ]
    before = copy.deepcopy(payloads)
    for payload in payloads:
        dispatcher.submit_payload(payload)
    # The original's partition_key_location: the key copied from another field, converted.
    keyed = {"id": 7, "sk": 1000, "note": "copied"}
    dispatcher.submit_payload(keyed, partition_key_location="id")
    assert dispatcher.flush_payloads() == []
    assert payloads == before and keyed == {"id": 7, "sk": 1000, "note": "copied"}
    from boto3.dynamodb.types import TypeDeserializer

    read = TypeDeserializer()
    items = []
    for page in dynamodb.get_paginator("scan").paginate(TableName=table):
        items.extend({k: read.deserialize(v) for k, v in item.items()} for item in page["Items"])
    assert len(items) == 41
    by_sk = {int(item["sk"]): item for item in items}
    for payload in payloads:
        item = by_sk[payload["sk"]]
        assert item["pk"] == payload["pk"]
        assert item["price"] == payload["price"], "38 digits, exactly"
        assert item["ratio"] == Decimal("0.25")
        assert bytes(item["blob"]) == b"\x00\xff"
        assert item["names"] == {"x", "y"} and item["scores"] == {1, 2, 3}
        assert item["flag"] == payload["flag"] and item["nothing"] is None
        assert item["nested"] == {"list": [1, "two", {"three": Decimal("3.0")}]}
    assert by_sk[1000]["pk"] == "7" and by_sk[1000]["note"] == "copied"


def test_dynamodb_submit_delete_removes_the_item(client, connect):
    dynamodb = client("dynamodb")
    table = unique("py-del")
    dynamodb.create_table(
        TableName=table,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    dispatcher = abu.DynamoBatchDispatcher(table, "pk", **connect("dynamodb"))
    for n in range(5):
        dispatcher.submit_payload({"pk": f"k{n}"})
    assert dispatcher.flush_payloads() == []
    dispatcher.submit_delete({"pk": "k2"})
    assert dispatcher.flush_payloads() == []
    keys = {item["pk"]["S"] for item in dynamodb.scan(TableName=table)["Items"]}
    assert keys == {"k0", "k1", "k3", "k4"}


def test_cloudwatch_submit_metric_with_dimensions(client, connect):
    cloudwatch = client("cloudwatch")
    namespace = unique("PyService")
    dispatcher = abu.CloudwatchBatchDispatcher(namespace, **connect("cloudwatch"))
    dispatcher.submit_metric("Requests", value=555)
    dispatcher.submit_metric(
        "Latency",
        value=Decimal("4.5"),
        unit="Seconds",
        timestamp=datetime.now(timezone.utc),
        dimensions=[abu.cloudwatch_dimension("host", 7), abu.cloudwatch_dimension("az", "a")],
    )
    dispatcher.submit_payload({"MetricName": "Sizes", "Values": [1.0, 2.0], "Counts": [3.0, 1.0], "Unit": "Bytes"})
    assert dispatcher.flush_payloads() == []
    metrics = cloudwatch.list_metrics(Namespace=namespace)["Metrics"]
    names = {m["MetricName"]: m for m in metrics}
    assert set(names) == {"Requests", "Latency", "Sizes"}
    assert sorted((d["Name"], d["Value"]) for d in names["Latency"]["Dimensions"]) == [("az", "a"), ("host", "7")]


def test_sqs_delete_dispatcher_deletes_received_messages(client, connect):
    sqs = client("sqs")
    name = unique("py-consume")
    url = sqs.create_queue(QueueName=name, Attributes={"VisibilityTimeout": "1"})["QueueUrl"]
    for n in range(12):
        sqs.send_message(QueueUrl=url, MessageBody=str(n))
    received = []
    while len(received) < 12:
        received += sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", [])
    deletes = abu.SQSDeleteDispatcher(url, **connect("sqs"))
    for message in received:
        deletes.submit_payload(message["ReceiptHandle"])
    assert deletes.flush_payloads() == []
    time.sleep(1.5)
    assert receive_all(sqs, url, 1) == []


def test_sns_publishes_through_a_subscribed_queue(client, connect):
    sns, sqs = client("sns"), client("sqs")
    topic = sns.create_topic(Name=unique("py-topic"))["TopicArn"]
    url = sqs.create_queue(QueueName=unique("py-sub"))["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn, Attributes={"RawMessageDelivery": "true"})
    dispatcher = abu.SNSBatchDispatcher(topic, **connect("sns"))
    for n in range(15):
        dispatcher.submit_payload({"n": n} if n % 2 else f"text {n}")
    assert dispatcher.flush_payloads() == []
    bodies = sorted(m["Body"] for m in receive_all(sqs, url, 15))
    expected = sorted(json.dumps({"n": n}, separators=(",", ":")) if n % 2 else f"text {n}" for n in range(15))
    assert bodies == expected


def test_logs_stores_events_in_order_of_time_and_hands_back_what_cloudwatch_would_reject(client, connect):
    logs = client("logs")
    group, stream = unique("/py/group"), "s"
    logs.create_log_group(logGroupName=group)
    logs.create_log_stream(logGroupName=group, logStreamName=stream)
    dispatcher = abu.LogsBatchDispatcher(group, stream, **connect("logs"))
    now = time.time()
    # Submitted newest first; one dict, written as JSON.
    for n in range(20):
        dispatcher.submit_payload(f"event {n} · ünï" if n else {"n": 0}, timestamp=now - n * 60)
    too_old = "fifteen days old"
    with pytest.raises(abu.SubmitError) as caught:
        dispatcher.submit_payload(too_old, timestamp=now - 15 * 86400)
    assert caught.value.field == "timestamp" and caught.value.payload is too_old
    assert dispatcher.flush_payloads() == []
    stored = logs.get_log_events(logGroupName=group, logStreamName=stream, startFromHead=True)["events"]
    expected = [f"event {n} · ünï" for n in range(19, 0, -1)] + ['{"n":0}']
    assert [e["message"] for e in stored] == expected
