"""A Spark job as a fleet: one DataFrame written by its tasks (local mode, one task per
partition, all at once) to one destination under a quota, with the Python package's
`write_dataframe` or with what a boto3 user writes in `foreachPartition` (the table's
`batch_writer`; for a stream, `put_records` with the failed entries sent again after a
backoff). Task p writes the records `w<p>-<n>`, so the endpoint's log tells who wrote what.

Reads one JSON spec argument (shared, sender, tasks, share, pad, endpoint) and prints one JSON
line: per task its start and end (Unix seconds) and the records it handed back (for boto3:
the records of a task that raised, less those it had acknowledged).
"""

import functools
import json
import os
import random
import sys
import time

NAME = "fleet"
KEYS = 200
CONNECT = {"region_name": "us-east-1", "aws_access_key_id": "bench", "aws_secret_access_key": "bench"}


def record(share, pad, row_id):
    """The row `row_id` of the range as task p's record n, with its partition key."""
    p, n = divmod(row_id, share)
    return {"pk": f"w{p}-{n}", "key": f"k{(n * 7 + p) % KEYS}", "pad": pad}


def package_dispatcher(spec):
    import aws_batch_utils as abu

    if spec["shared"] == "stream":
        return abu.KinesisBatchDispatcher(
            NAME, partition_key_identifier="key", endpoint_url=spec["endpoint"], **CONNECT
        )
    return abu.DynamoBatchDispatcher(NAME, "pk", endpoint_url=spec["endpoint"], **CONNECT)


def timed(task):
    """Runs a partition's writer, and gives its start, end and what it handed back."""

    def run(partition, rows):
        started = time.time()
        handed_back = task(partition, rows)
        yield {"partition": partition, "started": started, "finished": time.time(), "handed_back": handed_back}

    return run


def package_task(spec, partition, rows):
    import aws_batch_utils as abu

    to_payload = functools.partial(record, spec["share"], spec["pad"])
    make = functools.partial(package_dispatcher, spec)
    out = abu.write_partition(make, lambda row: to_payload(row.id), partition, rows)
    counts = next(values for kind, *values in out if kind == "counts")
    return counts[3] + counts[4]


def boto3_task(spec, partition, rows):
    import boto3

    records = [record(spec["share"], spec["pad"], row.id) for row in rows]
    try:
        if spec["shared"] == "table":
            table = boto3.resource("dynamodb", endpoint_url=spec["endpoint"], **CONNECT).Table(NAME)
            with table.batch_writer() as writer:
                for item in records:
                    writer.put_item(Item={"pk": item["pk"], "pad": item["pad"]})
            return 0
        kinesis = boto3.client("kinesis", endpoint_url=spec["endpoint"], **CONNECT)
        left = 0
        for start in range(0, len(records), 500):
            entries = [
                {"Data": json.dumps(r).encode(), "PartitionKey": r["key"]} for r in records[start : start + 500]
            ]
            for attempt in range(10):
                answer = kinesis.put_records(StreamName=NAME, Records=entries)
                entries = [e for e, r in zip(entries, answer["Records"]) if "ErrorCode" in r]
                if not entries:
                    break
                time.sleep(min(2.0, 0.05 * 2**attempt) * random.random())
            left += len(entries)
        return left
    except Exception as error:  # what a job without its own accounting loses
        print(f"spark fleet: task {partition}: {error}", file=sys.stderr)
        return -1


def main():
    spec = json.loads(sys.argv[1])
    from pyspark.sql import SparkSession

    os.environ["PYSPARK_PYTHON"] = sys.executable
    os.environ["PYSPARK_DRIVER_PYTHON"] = sys.executable
    tasks = spec["tasks"]
    spark = (
        SparkSession.builder.master(f"local[{tasks}]")
        .appName("aws-batch-utils-fleet")
        .config("spark.ui.enabled", "false")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    # A range splits into contiguous slices: partition p holds the rows of task p.
    df = spark.range(0, tasks * spec["share"], numPartitions=tasks)
    task = package_task if spec["sender"] == "spark-package" else boto3_task
    report = df.rdd.mapPartitionsWithIndex(timed(functools.partial(task, spec))).collect()
    spark.stop()
    print(json.dumps({"tasks": report}))


if __name__ == "__main__":
    main()
