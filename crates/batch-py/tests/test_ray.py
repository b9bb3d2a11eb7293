"""Ray Data: a dataset written through `DispatcherDatasink` on a local Ray cluster (2 CPUs,
4 blocks) against the emulators. Every row is delivered or comes back in `sink.failed`, and
the counts of the write tasks add up exactly."""

import functools
import json
import os
import sys

import pytest

import aws_batch_utils as abu
from conftest import REGION, create_table, receive_all, scan_ids, unique


@pytest.fixture(scope="module")
def ray():
    try:
        import ray
    except ImportError:
        pytest.fail("no ray: run `cargo xtask test` (it installs it), or pip install 'ray[data]'")
    # The workers cannot import this test module: its functions travel by value.
    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    # The loopback only: the tests may run where no other interface exists.
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, _node_ip_address="127.0.0.1")
    ray.data.DataContext.get_current().enable_progress_bars = False
    yield ray
    ray.shutdown()


def sink_of(make, to_payload=None):
    from aws_batch_utils.ray import DispatcherDatasink

    return DispatcherDatasink(make, to_payload)


def test_a_dataset_goes_to_a_table_and_the_rows_refused_come_back(ray, client, connect):
    dynamodb = client("dynamodb")
    table = create_table(dynamodb)
    good = [{"id": f"k{n}", "n": n, "note": "é✓"} for n in range(2000)]
    # Rows without a key can never be written: they come back, and only they.
    bad = [{"id": None, "n": n, "note": "no key"} for n in range(7)]
    dataset = ray.data.from_items(good + bad, override_num_blocks=4)
    sink = sink_of(functools.partial(abu.DynamoBatchDispatcher, table, "id", **connect("dynamodb")))

    dataset.write_datasink(sink)

    assert sorted(json.loads(row["payload"])["n"] for row in sink.failed) == list(range(7))
    assert {(row["code"], row["reason"]) for row in sink.failed} == {("SubmitError", "Refused")}
    assert len(sink.counts) == 4, "one count per write task"
    assert sum(c["rows"] for c in sink.counts) == 2007
    assert sum(c["delivered"] for c in sink.counts) == 2000
    assert sum(c["refused"] for c in sink.counts) == 7
    for c in sink.counts:
        assert c["rows"] == c["delivered"] + c["refused"] + c["unprocessed"]
    ids = scan_ids(dynamodb, table)
    assert len(ids) == 2000, "each row once"
    assert sorted(ids) == sorted(f"k{n}" for n in range(2000))


def to_message(row):
    if row["n"] % 100 == 99:
        raise ValueError(f"row {row['n']} cannot be made a message")
    return {"n": row["n"], "text": row["text"]}


def test_rows_become_messages_through_to_payload_and_a_gone_destination_hands_all_back(
    ray, client, connect
):
    sqs = client("sqs")
    name = unique("py-ray")
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    dataset = ray.data.from_items([{"n": n, "text": f"m{n}"} for n in range(500)], override_num_blocks=4)
    sink = sink_of(functools.partial(abu.SQSBatchDispatcher, name, **connect("sqs")), to_message)

    dataset.write_datasink(sink)

    assert len(sink.failed) == 5
    assert {row["code"] for row in sink.failed} == {"PayloadError"}
    assert all("cannot be made a message" in row["message"] for row in sink.failed)
    assert sum(c["delivered"] for c in sink.counts) == 495
    bodies = [json.loads(m["Body"]) for m in receive_all(sqs, url, 495)]
    assert sorted(b["n"] for b in bodies) == [n for n in range(500) if n % 100 != 99]

    gone = functools.partial(
        abu.DynamoBatchDispatcher,
        "t",
        "id",
        endpoint_url="http://127.0.0.1:9",
        region_name=REGION,
        aws_access_key_id="x",
        aws_secret_access_key="x",
        max_attempts=1,
    )
    sink = sink_of(gone)
    ray.data.from_items([{"id": f"k{n}"} for n in range(60)], override_num_blocks=3).write_datasink(sink)

    assert sorted(json.loads(row["payload"])["id"] for row in sink.failed) == sorted(f"k{n}" for n in range(60))
    assert {row["code"] for row in sink.failed} == {"DispatchFailure"}
    assert sum(c["unprocessed"] for c in sink.counts) == 60
