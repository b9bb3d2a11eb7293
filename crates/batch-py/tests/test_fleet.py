"""Writers of one fleet sharing a destination's quota through a coordination table in
DynamoDB (`fleet_table`): leases held there, every record delivered."""

import time

import pytest

import aws_batch_utils as abu
from conftest import unique


def lease_table(dynamodb):
    name = unique("py-leases")
    dynamodb.create_table(
        TableName=name,
        AttributeDefinitions=[
            {"AttributeName": "fleet", "AttributeType": "S"},
            {"AttributeName": "writer", "AttributeType": "S"},
        ],
        KeySchema=[
            {"AttributeName": "fleet", "KeyType": "HASH"},
            {"AttributeName": "writer", "KeyType": "RANGE"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    while dynamodb.describe_table(TableName=name)["Table"]["TableStatus"] != "ACTIVE":
        time.sleep(0.05)
    return name


def test_two_writers_of_a_fleet_table_hold_leases_and_deliver_everything(client, connect, endpoint):
    dynamodb, kinesis = client("dynamodb"), client("kinesis")
    table = lease_table(dynamodb)
    stream = unique("py-fleet")
    kinesis.create_stream(StreamName=stream, ShardCount=2)
    while kinesis.describe_stream(StreamName=stream)["StreamDescription"]["StreamStatus"] != "ACTIVE":
        time.sleep(0.05)
    fleet = {"fleet_table": table, "fleet_name": "clicks", "fleet_endpoint_url": endpoint("dynamodb")}
    writers = [abu.KinesisBatchDispatcher(stream, **fleet, **connect("kinesis")) for _ in range(2)]
    for n, writer in enumerate(writers):
        for i in range(50):
            writer.submit_payload({"writer": n, "i": i})
    assert [writer.flush_payloads() for writer in writers] == [[], []]
    leases = dynamodb.query(
        TableName=table,
        KeyConditionExpression="fleet = :f",
        ExpressionAttributeValues={":f": {"S": "clicks"}},
        ConsistentRead=True,
    )["Items"]
    assert len(leases) == 2
    # Each lease ends in the future: both writers are live.
    now_ms = time.time() * 1000
    assert all(int(lease["lease_ends_ms"]["N"]) > now_ms for lease in leases)


def test_fleet_settings_without_a_table_or_with_no_quota_are_refused():
    offline = {"region_name": "us-east-1", "aws_access_key_id": "x", "aws_secret_access_key": "y"}
    with pytest.raises(ValueError, match="fleet_table"):
        abu.KinesisBatchDispatcher("s", fleet_name="clicks", **offline)
    with pytest.raises(ValueError, match="fleet_quota"):
        abu.KinesisBatchDispatcher("s", fleet_table="t", fleet_quota=0, **offline)
