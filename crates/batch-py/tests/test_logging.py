"""The engine's diagnostics reach Python's logging, under the logger `aws_batch_utils`."""

import logging

import aws_batch_utils as abu
from conftest import OFFLINE, OFFLINE_QUEUE


def test_giving_up_is_logged_as_a_warning(caplog):
    dispatcher = abu.SQSBatchDispatcher(OFFLINE_QUEUE, max_attempts=2, **OFFLINE)
    with caplog.at_level(logging.WARNING, logger="aws_batch_utils"):
        dispatcher.submit_payload({"n": 1})
        assert len(dispatcher.flush_payloads()) == 1
    warnings = [
        r for r in caplog.records if r.name.startswith("aws_batch_utils.batch_core") and r.levelno == logging.WARNING
    ]
    assert any("giving up" in r.getMessage() for r in warnings), [r.getMessage() for r in caplog.records]
