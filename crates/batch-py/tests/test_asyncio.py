"""asyncio: asubmit_payload, aflush_payloads and `async with`, run under a real event loop.
The loop keeps running while a flush waits, a cancelled call loses nothing, and refusals raise
at once."""

import asyncio
import json
import socket

import pytest

import aws_batch_utils as abu
from conftest import receive_all, unique


class Silent:
    """An endpoint that accepts connections and never answers."""

    def __enter__(self):
        self.socket = socket.socket()
        self.socket.bind(("127.0.0.1", 0))
        self.socket.listen(64)
        self.url = f"http://127.0.0.1:{self.socket.getsockname()[1]}"
        return self

    def __exit__(self, *exc):
        self.socket.close()

    def table(self, **settings):
        return abu.DynamoBatchDispatcher(
            "t",
            "id",
            endpoint_url=self.url,
            region_name="us-east-1",
            aws_access_key_id="x",
            aws_secret_access_key="x",
            **settings,
        )


def test_tasks_submit_and_flush_under_a_running_loop(client, connect):
    sqs = client("sqs")
    name = unique("py-asyncio")
    url = sqs.create_queue(QueueName=name)["QueueUrl"]

    async def main():
        dispatcher = abu.SQSBatchDispatcher(name, **connect("sqs"))

        async def produce(worker):
            for n in range(30):
                await dispatcher.asubmit_payload({"worker": worker, "n": n})

        await asyncio.gather(*(produce(w) for w in range(4)))
        return await dispatcher.aflush_payloads(), dispatcher.stats()

    unprocessed, stats = asyncio.run(main())
    assert unprocessed == []
    assert stats["delivered"] == 120
    bodies = [json.loads(m["Body"]) for m in receive_all(sqs, url, 120)]
    assert sorted((b["worker"], b["n"]) for b in bodies) == [(w, n) for w in range(4) for n in range(30)]


def test_the_loop_runs_while_a_flush_waits():
    with Silent() as silent:
        dispatcher = silent.table()
        payload = {"id": "a", "n": 1}

        async def main():
            await dispatcher.asubmit_payload(payload)
            ticks = 0

            async def tick():
                nonlocal ticks
                while True:
                    await asyncio.sleep(0.01)
                    ticks += 1

            ticker = asyncio.create_task(tick())
            failed = await dispatcher.aflush_payloads(timeout=1.0, details=True)
            ticker.cancel()
            return failed, ticks

        failed, ticks = asyncio.run(main())
    assert [item.reason for item in failed] == ["Abandoned"]
    assert failed[0].payload is payload
    # 1 s of 10-ms sleeps: the loop was free for nearly all of it.
    assert ticks > 50, f"the loop ticked {ticks} times during a 1-s flush"


def test_a_cancelled_flush_loses_nothing():
    with Silent() as silent:
        dispatcher = silent.table()
        payloads = [{"id": str(n)} for n in range(5)]

        async def main():
            for payload in payloads:
                await dispatcher.asubmit_payload(payload)
            flush = asyncio.create_task(dispatcher.aflush_payloads())
            await asyncio.sleep(0.2)
            flush.cancel()
            with pytest.raises(asyncio.CancelledError):
                await flush
            # The next flush returns what the cancelled one would have.
            return await dispatcher.aflush_payloads(timeout=0.5)

        returned = asyncio.run(main())
    assert len(returned) == 5
    assert all(any(r is p for r in returned) for p in payloads)


def test_a_submit_cancelled_while_it_waits_for_room_is_not_taken():
    with Silent() as silent:
        # One batch of 25 in flight and 25 pending fill the dispatcher: the 51st waits.
        dispatcher = silent.table(max_in_flight=1)
        taken = [{"id": str(n)} for n in range(50)]
        late = {"id": "late"}

        async def main():
            for payload in taken:
                await dispatcher.asubmit_payload(payload)
            waiting = asyncio.create_task(dispatcher.asubmit_payload(late))
            await asyncio.sleep(0.3)
            assert not waiting.done(), "the 51st payload should wait for room"
            waiting.cancel()
            with pytest.raises(asyncio.CancelledError):
                await waiting
            return await dispatcher.aflush_payloads(timeout=0.5)

        returned = asyncio.run(main())
    assert len(returned) == 50
    assert not any(r is late for r in returned)
    assert all(any(r is p for r in returned) for p in taken)


def test_a_payload_that_can_never_be_sent_raises_at_once():
    with Silent() as silent:
        dispatcher = silent.table()
        bad = {"n": 1}  # no partition key

        async def main():
            with pytest.raises(abu.SubmitError) as refused:
                await dispatcher.asubmit_payload(bad)
            return refused.value

        error = asyncio.run(main())
    assert error.payload is bad
    assert error.field == "id"


def test_async_with_flushes_at_the_end_and_lets_an_exception_through(client, connect):
    sqs = client("sqs")
    name = unique("py-async-with")
    url = sqs.create_queue(QueueName=name)["QueueUrl"]

    async def main():
        dispatcher = abu.SQSBatchDispatcher(name, **connect("sqs"))
        with pytest.raises(KeyError):
            async with dispatcher as entered:
                assert entered is dispatcher
                for n in range(12):
                    await entered.asubmit_payload({"n": n})
                raise KeyError("the block failed")
        return dispatcher

    dispatcher = asyncio.run(main())
    assert dispatcher.unprocessed_items == []
    assert len(receive_all(sqs, url, 12)) == 12


def test_an_awaitable_needs_a_running_loop():
    with Silent() as silent:
        dispatcher = silent.table()
        with pytest.raises(RuntimeError):
            dispatcher.aflush_payloads()
        assert dispatcher.flush_payloads() == []


def test_the_readme_example_as_written(monkeypatch, endpoint, client):
    import pathlib

    from conftest import CREDENTIALS, REGION

    monkeypatch.setenv("AWS_ENDPOINT_URL_SQS", endpoint("sqs"))
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", CREDENTIALS["aws_access_key_id"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", CREDENTIALS["aws_secret_access_key"])
    sqs = client("sqs")
    url = sqs.create_queue(QueueName="my-queue")["QueueUrl"]  # the example's name: a rerun finds it
    try:
        sqs.purge_queue(QueueUrl=url)
    except sqs.exceptions.PurgeQueueInProgress:
        pass
    readme = (pathlib.Path(__file__).resolve().parents[3] / "README.md").read_text()
    start = readme.index("```python\nimport asyncio\nfrom aws_batch_utils import SQSBatchDispatcher")
    code = readme[start + len("```python\n") : readme.index("```", start + 3)]
    scope = {}
    exec(code, scope)  # noqa: S102 - the documented example, as written
    orders = [{"order": n} for n in range(15)]
    assert asyncio.run(scope["main"](orders)) == []
    bodies = [json.loads(m["Body"]) for m in receive_all(sqs, url, 15)]
    assert sorted(b["order"] for b in bodies) == list(range(15))
