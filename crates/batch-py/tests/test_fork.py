"""Forked processes: a process that used the package and then forks (os.fork, multiprocessing
with the fork start method, a prefork server's workers) gets children whose own dispatchers
deliver, and whose copies of the parent's dispatchers refuse at once with a clear error;
never a hang. The spawn start method for comparison."""

import json
import multiprocessing
import os
import signal
import time

import pytest

import aws_batch_utils as abu
from conftest import receive_all, unique

# Long enough for a child on a loaded machine, short enough that a hang fails the test.
DEADLINE = 60


def send(name, kwargs, first, count):
    """What a worker runs: a dispatcher of its own, `count` messages, a flush; returns how
    many were not delivered."""
    dispatcher = abu.SQSBatchDispatcher(name, **kwargs)
    for n in range(first, first + count):
        dispatcher.submit_payload({"n": n})
    return len(dispatcher.flush_payloads())


def wait_for(pid):
    """The child's exit code; kills it and fails when it outlives the deadline."""
    deadline = time.monotonic() + DEADLINE
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        time.sleep(0.05)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    pytest.fail(f"the forked child {pid} hung for {DEADLINE} s")


def numbers(sqs, url, expected):
    return sorted(json.loads(m["Body"])["n"] for m in receive_all(sqs, url, expected))


@pytest.fixture
def queue(client, connect):
    sqs = client("sqs")
    name = unique("py-fork")
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    # The parent uses the package first, so that its runtime threads exist when it forks.
    assert send(name, connect("sqs"), 1000, 5) == 0
    assert numbers(sqs, url, 5) == list(range(1000, 1005))
    return sqs, name, url


def test_a_child_forked_after_use_delivers_with_its_own_dispatcher(queue, connect):
    sqs, name, url = queue
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            code = 0 if send(name, connect("sqs"), 0, 20) == 0 else 2
        finally:
            os._exit(code)
    assert wait_for(pid) == 0
    assert numbers(sqs, url, 20) == list(range(20))


def test_a_parents_dispatcher_used_in_a_child_refuses_at_once(queue, connect):
    sqs, name, url = queue
    dispatcher = abu.SQSBatchDispatcher(name, **connect("sqs"))
    dispatcher.submit_payload({"n": 1})
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            started = time.monotonic()
            try:
                dispatcher.submit_payload({"n": 2})
            except RuntimeError as err:
                quick = time.monotonic() - started < 5
                code = 0 if quick and "fork" in str(err) else 3
            try:
                dispatcher.flush_payloads()
                code = 4
            except RuntimeError:
                pass
        finally:
            os._exit(code)
    assert wait_for(pid) == 0
    # The parent still delivers what it held, once.
    assert dispatcher.flush_payloads() == []
    assert numbers(sqs, url, 1) == [1]


@pytest.mark.parametrize("method", ["fork", "spawn"])
def test_multiprocessing_workers_each_deliver(queue, connect, method):
    sqs, name, url = queue
    context = multiprocessing.get_context(method)
    with context.Pool(3) as pool:
        jobs = [(name, connect("sqs"), 20 * w, 20) for w in range(3)]
        failed = pool.starmap_async(send, jobs).get(timeout=DEADLINE)
    assert failed == [0, 0, 0]
    assert numbers(sqs, url, 60) == list(range(60))


def test_prefork_workers_serve_after_the_parent_loaded_the_package(queue, connect):
    """As gunicorn or uwsgi with the application preloaded: the master made a dispatcher
    and used it, then forks workers that each make their own and serve."""
    sqs, name, url = queue
    master = abu.SQSBatchDispatcher(name, **connect("sqs"))
    master.submit_payload({"n": 500})
    assert master.flush_payloads() == []
    workers = []
    for w in range(2):
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                code = 0 if send(name, connect("sqs"), 100 * (w + 1), 10) == 0 else 2
            finally:
                os._exit(code)
        workers.append(pid)
    assert [wait_for(pid) for pid in workers] == [0, 0]
    assert numbers(sqs, url, 21) == list(range(100, 110)) + list(range(200, 210)) + [500]
