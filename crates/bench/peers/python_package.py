"""The Python package (aws_batch_utils) as a user of the original's API writes it: submit
every record, flush, count what came back. The same records as the boto3 loop
(boto3_batch_loop.py) and the Rust peers. Reads one JSON spec argument and prints one JSON
line: wall_s, cpu_s (all threads of the process), peak_rss_kib, failed."""

import json
import resource
import sys
import time

import aws_batch_utils

from boto3_batch_loop import NAME, QUEUE_URL, UNIFORM_BYTES, record, text

CONNECT = {"region_name": "us-east-1", "aws_access_key_id": "bench", "aws_secret_access_key": "bench"}


def dispatcher(service, endpoint):
    if service == "sqs":
        return aws_batch_utils.SQSBatchDispatcher(QUEUE_URL, endpoint_url=endpoint, **CONNECT)
    if service == "kinesis":
        return aws_batch_utils.KinesisBatchDispatcher(NAME, endpoint_url=endpoint, **CONNECT)
    if service == "dynamodb":
        return aws_batch_utils.DynamoBatchDispatcher(NAME, "pk", endpoint_url=endpoint, **CONNECT)
    if service == "cloudwatch":
        return aws_batch_utils.CloudwatchBatchDispatcher(NAME, endpoint_url=endpoint, **CONNECT)
    sys.exit(f"python package peer: no {service} run")


def submit(service, target, n):
    """Record n of the uniform load, submitted the way the original's users do."""
    if service == "sqs":
        target.submit_payload(text(n, UNIFORM_BYTES))
    elif service == "kinesis":
        entry, _ = record(service, n)
        target.submit_payload(entry["Data"], partition_key=entry["PartitionKey"])
    elif service == "dynamodb":
        entry, _ = record(service, n)
        item = entry["PutRequest"]["Item"]
        target.submit_payload({"pk": item["pk"]["S"], "data": item["data"]["S"]})
    else:
        datum, _ = record(service, n)
        target.submit_payload(datum)


def main():
    spec = json.loads(sys.argv[1])
    service = spec["service"]
    if spec["load"] != "uniform":
        sys.exit(f"python package peer: only the uniform load, not {spec['load']}")
    target = dispatcher(service, spec["endpoint"])
    started_cpu = resource.getrusage(resource.RUSAGE_SELF)
    started = time.perf_counter()
    for n in range(spec["records"]):
        submit(service, target, n)
    failed = len(target.flush_payloads())
    wall = time.perf_counter() - started
    usage = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (usage.ru_utime - started_cpu.ru_utime) + (usage.ru_stime - started_cpu.ru_stime)
    print(json.dumps({"wall_s": wall, "cpu_s": cpu, "peak_rss_kib": usage.ru_maxrss, "failed": failed}))


if __name__ == "__main__":
    main()
