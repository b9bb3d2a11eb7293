"""Calls release the GIL while they wait, and one dispatcher can be shared by threads."""

import json
import socket
import threading

import aws_batch_utils as abu
from conftest import receive_all, unique


def test_other_threads_run_while_a_flush_waits():
    # An endpoint that accepts connections and never answers: the flush waits until its
    # timeout, and a Python thread counting meanwhile must get to run.
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(16)
    url = f"http://127.0.0.1:{silent.getsockname()[1]}"
    dispatcher = abu.SQSBatchDispatcher(
        f"{url}/000000000000/q",
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id="x",
        aws_secret_access_key="x",
    )
    dispatcher.submit_payload({"n": 1})
    counted, done = [0], threading.Event()

    def count():
        while not done.is_set():
            counted[0] += 1

    counter = threading.Thread(target=count)
    counter.start()
    try:
        failed = dispatcher.flush_payloads(timeout=1.0, details=True)
    finally:
        done.set()
        counter.join()
        silent.close()
    assert [item.reason for item in failed] == ["Abandoned"]
    assert counted[0] > 1000, f"the counting thread ran {counted[0]} times during the flush"


def test_threads_share_one_dispatcher(client, connect):
    sqs = client("sqs")
    name = unique("py-threads")
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    dispatcher = abu.SQSBatchDispatcher(name, **connect("sqs"))

    def produce(worker):
        for n in range(50):
            dispatcher.submit_payload({"worker": worker, "n": n})

    workers = [threading.Thread(target=produce, args=(w,)) for w in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert dispatcher.flush_payloads() == []
    bodies = [json.loads(m["Body"]) for m in receive_all(sqs, url, 200)]
    assert sorted((b["worker"], b["n"]) for b in bodies) == [(w, n) for w in range(4) for n in range(50)]
