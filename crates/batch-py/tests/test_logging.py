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


def test_the_originals_logger_setting_applies(caplog):
    """The original's docs: logging.getLogger("boto3-batch-utils").setLevel(...)."""
    original = logging.getLogger("boto3-batch-utils")
    dispatcher = abu.SQSBatchDispatcher(OFFLINE_QUEUE, max_attempts=2, **OFFLINE)
    try:
        original.setLevel(logging.ERROR)
        abu.reset_logging_cache()
        with caplog.at_level(logging.NOTSET):
            dispatcher.submit_payload({"n": 1})
            assert len(dispatcher.flush_payloads()) == 1
        assert not [r for r in caplog.records if r.name.startswith("aws_batch_utils")], "silenced by the original's logger"
        # Its handlers see ours too.
        seen = []
        handler = logging.Handler()
        handler.emit = seen.append
        original.addHandler(handler)
        original.setLevel(logging.WARNING)
        abu.reset_logging_cache()
        dispatcher.submit_payload({"n": 2})
        assert len(dispatcher.flush_payloads()) == 1
        original.removeHandler(handler)
        assert any("giving up" in r.getMessage() for r in seen), [r.getMessage() for r in seen]
    finally:
        original.setLevel(logging.NOTSET)
        abu.reset_logging_cache()
