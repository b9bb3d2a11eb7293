"""The hand-written batch loop in Python with boto3: what a user of the Python original writes.

Packs full batches (next-fit by count and bytes) and sends them one after another. Reads
one JSON spec argument (service, load, peer, records, endpoint) and prints one JSON line:
wall_s, cpu_s, peak_rss_kib, failed. Only the uniform load is generated here, with the same
records as the Rust peers (crates/bench/src/workload.rs).
"""

import json
import resource
import sys
import time
from datetime import datetime, timezone

import boto3
from botocore.config import Config

QUEUE_URL = "http://127.0.0.1/000000000000/bench"
NAME = "bench"
TOPIC_ARN = "arn:aws:sns:us-east-1:000000000000:bench"
EVENT_SOURCE, EVENT_DETAIL_TYPE = "bench", "record"
# Entries and bytes per request; the same limits as the library's.
LIMITS = {
    "sqs": (10, 1_048_576),
    "kinesis": (500, 5 * 1_048_576),
    "dynamodb": (25, 16 * 1_048_576),
    "cloudwatch": (1_000, None),
    "firehose": (500, 4 * 1_048_576),
    "eventbridge": (10, 1_048_576),
    "sns": (10, 1_048_576),
    "logs": (10_000, 1_048_576),
}
# Bytes CloudWatch Logs counts for an event besides its message.
LOG_EVENT_OVERHEAD = 26
UNIFORM_BYTES = 1_000
UNIFORM_METRIC_VALUES = 40


def text(n, length):
    head = f"{n:010d}"[:length]
    return head + "x" * (length - len(head))


def record(service, n):
    """The record n of the uniform load, as boto3 takes it, and its size."""
    if service == "sqs":
        return {"Id": None, "MessageBody": text(n, UNIFORM_BYTES)}, UNIFORM_BYTES
    if service == "kinesis":
        key = f"p{n % 4096:016d}"
        data = text(n, UNIFORM_BYTES - len(key)).encode()
        return {"PartitionKey": key, "Data": data}, UNIFORM_BYTES
    if service == "dynamodb":
        pk = f"i{n:010d}"
        data = text(n, UNIFORM_BYTES - (2 + len(pk) + 4))
        return {"PutRequest": {"Item": {"pk": {"S": pk}, "data": {"S": data}}}}, UNIFORM_BYTES
    if service == "firehose":
        return {"Data": text(n, UNIFORM_BYTES).encode()}, UNIFORM_BYTES
    if service == "eventbridge":
        envelope = len(EVENT_SOURCE) + len(EVENT_DETAIL_TYPE) + len('{"d":""}')
        detail = '{"d":"' + text(n, UNIFORM_BYTES - envelope) + '"}'
        return {"Source": EVENT_SOURCE, "DetailType": EVENT_DETAIL_TYPE, "Detail": detail}, UNIFORM_BYTES
    if service == "sns":
        return {"Id": None, "Message": text(n, UNIFORM_BYTES)}, UNIFORM_BYTES
    if service == "logs":
        event = {"timestamp": int(time.time() * 1000), "message": text(n, UNIFORM_BYTES - LOG_EVENT_OVERHEAD)}
        return event, UNIFORM_BYTES
    base = float(n % 1000)
    values = [base + i * 0.5 for i in range(UNIFORM_METRIC_VALUES)]
    datum = {
        "MetricName": f"metric-{n % 100}",
        "Dimensions": [
            {"Name": "host", "Value": f"host-{n % 16}"},
            {"Name": "region", "Value": "eu-west-1"},
            {"Name": "service", "Value": "checkout"},
        ],
        "Values": values,
        "Counts": [1.0] * len(values),
        "Unit": "Milliseconds",
        "Timestamp": datetime.now(timezone.utc),
    }
    return datum, 0


def sender(service, client):
    """A function that sends one batch and returns how many of its entries failed."""
    if service == "sqs":
        def send(batch):
            for i, entry in enumerate(batch):
                entry["Id"] = str(i)
            return len(client.send_message_batch(QueueUrl=QUEUE_URL, Entries=batch).get("Failed", []))
    elif service == "kinesis":
        def send(batch):
            return client.put_records(StreamName=NAME, Records=batch).get("FailedRecordCount", 0)
    elif service == "dynamodb":
        def send(batch):
            left = client.batch_write_item(RequestItems={NAME: batch}).get("UnprocessedItems", {})
            return sum(len(v) for v in left.values())
    elif service == "firehose":
        def send(batch):
            return client.put_record_batch(DeliveryStreamName=NAME, Records=batch)["FailedPutCount"]
    elif service == "eventbridge":
        def send(batch):
            return client.put_events(Entries=batch)["FailedEntryCount"]
    elif service == "sns":
        def send(batch):
            for i, entry in enumerate(batch):
                entry["Id"] = str(i)
            return len(client.publish_batch(TopicArn=TOPIC_ARN, PublishBatchRequestEntries=batch).get("Failed", []))
    elif service == "logs":
        def send(batch):
            answer = client.put_log_events(logGroupName=NAME, logStreamName=NAME, logEvents=batch)
            info = answer.get("rejectedLogEventsInfo", {})
            old = max(info.get("tooOldLogEventEndIndex", 0), info.get("expiredLogEventEndIndex", 0))
            new = len(batch) - info.get("tooNewLogEventStartIndex", len(batch))
            return old + new
    else:
        def send(batch):
            client.put_metric_data(Namespace=NAME, MetricData=batch)
            return 0
    return send


def main():
    spec = json.loads(sys.argv[1])
    service = spec["service"]
    if spec["load"] != "uniform":
        sys.exit(f"boto3 peer: only the uniform load, not {spec['load']}")
    client = boto3.client(
        {"eventbridge": "events"}.get(service, service),
        endpoint_url=spec["endpoint"],
        region_name="us-east-1",
        aws_access_key_id="bench",
        aws_secret_access_key="bench",
        config=Config(retries={"max_attempts": 0}),
    )
    send = sender(service, client)
    max_entries, max_bytes = LIMITS[service]
    started_cpu = resource.getrusage(resource.RUSAGE_SELF)
    started = time.perf_counter()
    failed = 0
    batch, batch_bytes = [], 0
    for n in range(spec["records"]):
        entry, size = record(service, n)
        full = len(batch) == max_entries or (max_bytes is not None and batch_bytes + size > max_bytes)
        if batch and full:
            failed += send(batch)
            batch, batch_bytes = [], 0
        batch.append(entry)
        batch_bytes += size
    if batch:
        failed += send(batch)
    wall = time.perf_counter() - started
    usage = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (usage.ru_utime - started_cpu.ru_utime) + (usage.ru_stime - started_cpu.ru_stime)
    print(json.dumps({"wall_s": wall, "cpu_s": cpu, "peak_rss_kib": usage.ru_maxrss, "failed": failed}))


if __name__ == "__main__":
    main()
