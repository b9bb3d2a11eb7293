"""Spark: a DataFrame written with a dispatcher per partition by PySpark in local mode (2
cores, 4 partitions) against the emulators. Every row is delivered or comes back in the
undelivered DataFrame, and the counts of the partitions add up exactly."""

import functools
import json
import os
import sys

import pytest

import aws_batch_utils as abu
from conftest import REGION, create_table, receive_all, scan_ids, unique

@pytest.fixture(scope="module")
def spark():
    try:
        from pyspark import cloudpickle
        from pyspark.sql import SparkSession
    except ImportError:
        pytest.fail("no pyspark: run `cargo xtask test` (it installs it), or pip install pyspark")
    # The workers cannot import this test module: its functions travel by value.
    cloudpickle.register_pickle_by_value(sys.modules[__name__])
    # The workers run this interpreter, which has the package.
    os.environ["PYSPARK_PYTHON"] = sys.executable
    os.environ["PYSPARK_DRIVER_PYTHON"] = sys.executable
    session = (
        SparkSession.builder.master("local[2]")
        .appName("aws-batch-utils-test")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .getOrCreate()
    )
    yield session
    session.stop()


def test_a_dataframe_goes_to_a_table_and_the_rows_refused_come_back(spark, client, connect):
    dynamodb = client("dynamodb")
    table = create_table(dynamodb)
    good = [(f"k{n}", n, "é✓") for n in range(2000)]
    # Rows without a key can never be written: they come back, and only they.
    bad = [(None, n, "no key") for n in range(7)]
    df = spark.createDataFrame(good + bad, "id string, n long, note string").repartition(4)
    make = functools.partial(abu.DynamoBatchDispatcher, table, "id", **connect("dynamodb"))

    failed, counts = abu.write_dataframe(df, make)

    rows = failed.collect()
    assert sorted(json.loads(row.payload)["n"] for row in rows) == list(range(7))
    assert {(row.code, row.reason) for row in rows} == {("SubmitError", "Refused")}
    assert failed.columns == ["partition", "payload", "code", "message", "reason"]
    assert sorted(c["partition"] for c in counts) == [0, 1, 2, 3]
    assert sum(c["rows"] for c in counts) == 2007
    assert sum(c["delivered"] for c in counts) == 2000
    assert sum(c["refused"] for c in counts) == 7
    assert sum(c["unprocessed"] for c in counts) == 0
    for c in counts:
        assert c["rows"] == c["delivered"] + c["refused"] + c["unprocessed"]
    ids = scan_ids(dynamodb, table)
    assert len(ids) == 2000, "each row once"
    assert sorted(ids) == sorted(f"k{n}" for n in range(2000))


def to_message(row):
    if row.n % 100 == 99:
        raise ValueError(f"row {row.n} cannot be made a message")
    return {"n": row.n, "text": row.text}


def test_rows_become_messages_through_to_payload_and_what_is_not_delivered_comes_back(
    spark, client, connect
):
    sqs = client("sqs")
    name = unique("py-spark")
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    df = spark.createDataFrame([(n, f"m{n}") for n in range(500)], "n long, text string")
    df = df.repartition(4)
    make = functools.partial(abu.SQSBatchDispatcher, name, **connect("sqs"))

    failed, counts = abu.write_dataframe(df, make, to_payload=to_message)

    rows = failed.collect()
    assert len(rows) == 5
    assert {row.code for row in rows} == {"PayloadError"}
    assert all("cannot be made a message" in row.message for row in rows)
    assert sum(c["delivered"] for c in counts) == 495
    bodies = [json.loads(m["Body"]) for m in receive_all(sqs, url, 495)]
    assert sorted(b["n"] for b in bodies) == [n for n in range(500) if n % 100 != 99]


def test_a_destination_that_is_gone_hands_every_row_back(spark):
    df = spark.createDataFrame([(f"k{n}",) for n in range(60)], "id string").repartition(3)
    make = functools.partial(
        abu.DynamoBatchDispatcher,
        "t",
        "id",
        endpoint_url="http://127.0.0.1:9",
        region_name=REGION,
        aws_access_key_id="x",
        aws_secret_access_key="x",
        max_attempts=1,
    )

    failed, counts = abu.write_dataframe(df, make)

    rows = failed.collect()
    assert sorted(json.loads(row.payload)["id"] for row in rows) == sorted(f"k{n}" for n in range(60))
    assert {row.code for row in rows} == {"DispatchFailure"}
    assert sum(c["unprocessed"] for c in counts) == 60
