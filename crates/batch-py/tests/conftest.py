"""Fixtures: the emulators' endpoints (the file `cargo xtask` writes, or AWS_BATCH_ENDPOINT_*
variables), boto3 clients to read back what was delivered, and unique names."""

import os
import pathlib
import uuid

import boto3
import pytest

REGION = "us-east-1"
CREDENTIALS = {"aws_access_key_id": "test", "aws_secret_access_key": "test"}
# Nothing listens on port 9 of the loopback: a dispatcher with these settings either refuses a
# payload before sending or fails to connect.
OFFLINE = {"endpoint_url": "http://127.0.0.1:9", "region_name": REGION, **CREDENTIALS}
OFFLINE_QUEUE = "http://127.0.0.1:9/000000000000/q"
ROOT = pathlib.Path(__file__).resolve().parents[3]


def endpoints():
    found = {}
    path = os.environ.get("AWS_BATCH_EMULATOR_FILE", ROOT / ".emulator" / "endpoints")
    try:
        for line in pathlib.Path(path).read_text().splitlines():
            name, _, url = line.partition("=")
            if url:
                found[name] = url
    except FileNotFoundError:
        pass
    for name in ("sqs", "kinesis", "dynamodb", "cloudwatch", "firehose", "s3", "eventbridge", "sns", "logs"):
        url = os.environ.get(f"AWS_BATCH_ENDPOINT_{name.upper()}")
        if url:
            found[name] = url
    return found


@pytest.fixture(scope="session")
def endpoint():
    known = endpoints()

    def of(service):
        if service not in known:
            pytest.fail(f"no {service} emulator: run `cargo xtask test` or `cargo xtask emulator start`")
        return known[service]

    return of


@pytest.fixture(scope="session")
def connect(endpoint):
    """The keyword arguments a dispatcher of `service` takes to reach its emulator."""

    def kwargs(service):
        return {"endpoint_url": endpoint(service), "region_name": REGION, **CREDENTIALS}

    return kwargs


@pytest.fixture(scope="session")
def client(endpoint):
    """A boto3 client of `service` on its emulator."""

    def make(service):
        name = {"eventbridge": "events"}.get(service, service)
        return boto3.client(name, endpoint_url=endpoint(service), region_name=REGION, **CREDENTIALS)

    return make


def unique(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def receive_all(sqs, url, expected, attributes=False):
    """Every message of the queue, until `expected` have come or the queue stays empty."""
    messages, empty = [], 0
    while len(messages) < expected and empty < 3:
        extra = {"MessageAttributeNames": ["All"]} if attributes else {}
        got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1, **extra).get(
            "Messages", []
        )
        empty = 0 if got else empty + 1
        messages.extend(got)
        # A FIFO queue shows a group's next message once the one before is deleted.
        for message in got:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return messages


def create_table(dynamodb, prefix="py-table"):
    """A new on-demand table keyed by the string `id`."""
    name = unique(prefix)
    dynamodb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    dynamodb.get_waiter("table_exists").wait(TableName=name)
    return name


def scan_ids(dynamodb, table):
    """The `id` of every item of the table."""
    ids, start = [], None
    while True:
        page = dynamodb.scan(TableName=table, **({"ExclusiveStartKey": start} if start else {}))
        ids += [item["id"]["S"] for item in page["Items"]]
        start = page.get("LastEvaluatedKey")
        if not start:
            return ids
