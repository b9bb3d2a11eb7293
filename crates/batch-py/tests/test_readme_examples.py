"""The examples of the original's documentation (README and the per-client pages), run as
written against the emulators, with one change: the import names this package. The
connection comes from the environment (AWS_ENDPOINT_URL_*, as boto3 reads it too). What the
examples delivered is read back with boto3."""

import json

import pytest

import aws_batch_utils
from conftest import CREDENTIALS, REGION, receive_all


@pytest.fixture
def environment(monkeypatch, endpoint):
    for service, variable in [
        ("sqs", "SQS"),
        ("kinesis", "KINESIS"),
        ("dynamodb", "DYNAMODB"),
        ("cloudwatch", "CLOUDWATCH"),
    ]:
        monkeypatch.setenv(f"AWS_ENDPOINT_URL_{variable}", endpoint(service))
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", CREDENTIALS["aws_access_key_id"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", CREDENTIALS["aws_secret_access_key"])


def example(code):
    """Runs an example with the import changed from the original's package to this one."""
    code = code.replace("from boto3_batch_utils import", "from aws_batch_utils import")
    scope = {}
    exec(code, scope)  # noqa: S102 - the documented example, as written
    return scope


def queue(client, name, fifo=False):
    """The queue the example names, empty (the names are fixed: a rerun finds them)."""
    sqs = client("sqs")
    attributes = {"FifoQueue": "true"} if fifo else {}
    url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
    sqs.purge_queue(QueueUrl=url)
    return sqs, url


def fresh(delete, *args, **kwargs):
    """Deletes what an earlier run of the example left, if anything."""
    try:
        delete(*args, **kwargs)
    except Exception:  # noqa: BLE001 - absent is the usual case
        pass


def test_readme(environment, client):
    sqs, url = queue(client, "MySqsQueue")
    scope = example(
        "from boto3_batch_utils import SQSBatchDispatcher\n"
        'sqs_client = SQSBatchDispatcher("MySqsQueue")\n'
        "sqs_client.submit_payload({'test': 'message'})\n"
        "unprocessed_items = sqs_client.flush_payloads()\n"
    )
    assert scope["unprocessed_items"] == []
    assert [json.loads(m["Body"]) for m in receive_all(sqs, url, 1)] == [{"test": "message"}]


def test_sqs_standard_page(environment, client):
    sqs, url = queue(client, "aQueueWithAName")
    scope = example(
        "from boto3_batch_utils import SQSBatchDispatcher\n\n\n"
        "sqs = SQSBatchDispatcher('aQueueWithAName')\n\n"
        "payload = {'myId': 'abc123', 'something': 'in', 'my': 'message'}\n\n"
        "sqs.submit_payload(payload)\n\n"
        "unprocessed_records = sqs.flush_payloads()\n"
        'sqs.submit_payload(payload, message_id="abc123")\n'
        "sqs.submit_payload(payload, message_id=payload['myId'])\n"
        "sqs.submit_payload(payload, delay_seconds=45)\n"
        "unprocessed_records += sqs.flush_payloads()\n"
    )
    assert scope["unprocessed_records"] == []
    # The second "abc123" is a duplicate of a pending message and is dropped (as in the
    # original); the delayed one is not visible for 45 seconds.
    assert scope["sqs"].stats()["duplicates_dropped"] == 1
    bodies = [json.loads(m["Body"]) for m in receive_all(sqs, url, 2)]
    assert bodies == [scope["payload"]] * 2


def test_sqs_fifo_page(environment, client):
    # SQS requires a FIFO queue's name to end in .fifo: the example's name gets the suffix.
    sqs, url = queue(client, "aQueueWithAName.fifo", fifo=True)
    scope = example(
        "from boto3_batch_utils import SQSFifoBatchDispatcher\n\n\n"
        'sqs = SQSFifoBatchDispatcher("aQueueWithAName.fifo")\n\n'
        "payload = {'myId': 'abc123', 'something': 'in', 'my': 'message'}\n\n"
        "sqs.submit_payload(payload)\n\n"
        "unprocessed_records = sqs.flush_payloads()\n"
        "sqs.submit_payload(payload, message_id=\"abc123\", message_deduplication_id='cde123')\n"
        "sqs.submit_payload(payload, message_id=\"abc123\", message_deduplication_id=payload['myId'])\n"
        "unprocessed_records += sqs.flush_payloads()\n"
        "sqs.submit_payload(payload, message_id=\"abc123\", message_group_id='mg1A')\n"
        "unprocessed_records += sqs.flush_payloads()\n"
    )
    assert scope["unprocessed_records"] == []
    # The original sent no deduplication id for the first message, which SQS refused; here it
    # is the body's hash, so SQS takes the last one (same body, no id) as a repeat of it. The
    # third reuses the pending second's message id: dropped as a duplicate, as the original
    # did. So two messages arrive.
    assert scope["sqs"].stats()["duplicates_dropped"] == 1
    bodies = [json.loads(m["Body"]) for m in receive_all(sqs, url, 3)]
    assert bodies == [scope["payload"]] * 2


def test_kinesis_page(environment, client):
    kinesis = client("kinesis")
    fresh(kinesis.delete_stream, StreamName="MyExampleStreamName")
    kinesis.create_stream(StreamName="MyExampleStreamName", ShardCount=1)
    scope = example(
        "from boto3_batch_utils import KinesisBatchDispatcher\n\n\n"
        "kn = KinesisBatchDispatcher('MyExampleStreamName')\n\n"
        "kn.submit_payload({'something': 'in', 'my': 'message'})\n"
        "kn.submit_payload({'tells': 'me', 'this': 'is', 'easy': True})\n\n"
        "unprocessed_records = kn.flush_payloads()\n"
        "record = {'id': 'a4f315f8ef6b40d9bfdc3837fa6c0d64', 'type': 'furniture', 'name': 'table', 'legs': {'count': 4,\n"
        "'material': 'wood'}}\n"
        "kn_client = KinesisBatchDispatcher('MyExampleStreamName', partition_key_identifier='id')\n"
        "kn_client.submit_payload(record)\n"
        "unprocessed_records += kn_client.flush_payloads()\n"
    )
    assert scope["unprocessed_records"] == []
    shard = kinesis.describe_stream(StreamName="MyExampleStreamName")["StreamDescription"]["Shards"][0]["ShardId"]
    iterator = kinesis.get_shard_iterator(
        StreamName="MyExampleStreamName", ShardId=shard, ShardIteratorType="TRIM_HORIZON"
    )["ShardIterator"]
    records = kinesis.get_records(ShardIterator=iterator)["Records"]
    assert [json.loads(r["Data"]) for r in records] == [
        {"something": "in", "my": "message"},
        {"tells": "me", "this": "is", "easy": True},
        scope["record"],
    ]
    assert records[2]["PartitionKey"] == "a4f315f8ef6b40d9bfdc3837fa6c0d64"


def test_dynamodb_page(environment, client):
    dynamodb = client("dynamodb")
    for table, key in [("MyExampleDynamoTable", "id"), ("MyExampleDynamoTableByMyId", "myId")]:
        fresh(dynamodb.delete_table, TableName=table)
        dynamodb.get_waiter("table_not_exists").wait(TableName=table, WaiterConfig={"Delay": 0.2})
        dynamodb.create_table(
            TableName=table,
            KeySchema=[{"AttributeName": key, "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": key, "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
    # The first example's item has an empty partition key, which DynamoDB refuses: the
    # original sent it and got it back as unprocessed; here it is refused at submit.
    with pytest.raises(aws_batch_utils.SubmitError) as caught:
        example(
            "from boto3_batch_utils import DynamoBatchDispatcher\n\n\n"
            "dy = DynamoBatchDispatcher('MyExampleDynamoTable', partition_key='id')\n\n"
            "dy.submit_payload({'id': '', 'something': 'in', 'my': 'message'})\n"
        )
    assert caught.value.field == "id"
    scope = example(
        "from boto3_batch_utils import DynamoBatchDispatcher\n"
        "dy = DynamoBatchDispatcher('MyExampleDynamoTableByMyId', partition_key='myId')\n\n"
        "dy.submit_payload({'id': 'abc123', 'something': 'in', 'my': 'message'}, partition_key_location='id')\n"
        "unprocessed_records = dy.flush_payloads()\n"
        "dy = DynamoBatchDispatcher('MyExampleDynamoTable', partition_key='myId', partition_key_data_type=int)\n"
        "dy = DynamoBatchDispatcher('MyExampleDynamoTable', partition_key='myId', sort_key='createdDatetime')\n"
    )
    assert scope["unprocessed_records"] == []
    items = dynamodb.scan(TableName="MyExampleDynamoTableByMyId")["Items"]
    # The documented result: the key copied into myId, the rest as it was.
    assert items == [
        {"myId": {"S": "abc123"}, "id": {"S": "abc123"}, "something": {"S": "in"}, "my": {"S": "message"}}
    ]


def test_cloudwatch_page(environment, client):
    scope = example(
        "from boto3_batch_utils import CloudwatchBatchDispatcher\n\n\n"
        "cw = CloudwatchBatchDispatcher('TestService')\n\n"
        "cw.submit_metric('DoingACountMetric', value=555)\n"
        "cw.submit_metric('DoingACountMetric', value=4, unit='Seconds')\n\n"
        "unprocessed_records = cw.flush_payloads()\n"
        "from boto3_batch_utils import CloudwatchBatchDispatcher, cloudwatch_dimension as cd\n\n\n"
        "cw = CloudwatchBatchDispatcher('TestService')\n\n"
        "cw.submit_metric('DoingACountMetric', value=1234, dimensions=cd('dimA', '12345'))\n"
        "cw.submit_metric('DoingASecondsMetric', value=978, dimensions=[cd('timeA', '11'), cd('timeB', '4')])\n\n"
        "unprocessed_records += cw.flush_payloads()\n"
    )
    assert scope["unprocessed_records"] == []
    metrics = client("cloudwatch").list_metrics(Namespace="TestService")["Metrics"]
    found = {(m["MetricName"], tuple(sorted((d["Name"], d["Value"]) for d in m.get("Dimensions", [])))) for m in metrics}
    assert ("DoingACountMetric", ()) in found
    assert ("DoingACountMetric", (("dimA", "12345"),)) in found
    assert ("DoingASecondsMetric", (("timeA", "11"), ("timeB", "4"))) in found
