"""Ray Data: a `Datasink` that writes every row of a dataset through one dispatcher per write
task, and gathers what was not delivered.

```python
import functools
import ray
from aws_batch_utils import DynamoBatchDispatcher
from aws_batch_utils.ray import DispatcherDatasink

sink = DispatcherDatasink(functools.partial(DynamoBatchDispatcher, "orders", "id"))
ray.data.read_parquet("s3://bucket/orders/").write_datasink(sink)
for row in sink.failed:          # what was not delivered, for a dead-letter table
    print(row["payload"], row["code"], row["reason"])
print(sum(c["delivered"] for c in sink.counts))
```

Each task makes its dispatcher with `make_dispatcher()`, submits its rows (`to_payload(row)`,
or the row as a dict), flushes, and returns one record per row not delivered and its counts;
Ray hands those to `on_write_complete` on the driver. The task's work is the same function
Spark's `write_dataframe` runs per partition (`aws_batch_utils.write_partition`).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any, Callable, Iterable, Iterator, List, Optional

from ray.data import Datasink
from ray.data.block import BlockAccessor

from . import write_partition

__all__ = ["DispatcherDatasink"]


def _rows(blocks: Iterable[Any]) -> Iterator[Any]:
    """The rows of a write task's blocks, each as a plain dict."""
    for block in blocks:
        for row in BlockAccessor.for_block(block).iter_rows(public_row_format=True):
            yield dict(row) if isinstance(row, Mapping) else row


class DispatcherDatasink(Datasink):
    """Writes a Ray dataset through one dispatcher per write task.

    `make_dispatcher` makes a dispatcher in each task (a class with its arguments bound, e.g.
    `functools.partial(KinesisBatchDispatcher, "stream")`: it must pickle). `to_payload`, if
    given, turns a row (a dict) into the payload submitted; by default the row is the payload.

    After `Dataset.write_datasink(sink)`:

    - `sink.failed`: one dict per row not delivered, `partition` (the write task), `payload`
      (as JSON text), `code`, `message` and `reason` (`Refused` at submit, or the reason the
      flush gave: `RetriesExhausted`, `Rejected`, ...);
    - `sink.counts`: one dict per write task, `partition`, `rows`, `delivered`, `refused`,
      `unprocessed`; `rows` is always `delivered + refused + unprocessed`.
    """

    def __init__(
        self,
        make_dispatcher: Callable[[], Any],
        to_payload: Optional[Callable[[Any], Any]] = None,
    ) -> None:
        self.make_dispatcher = make_dispatcher
        self.to_payload = to_payload
        self.failed: List[dict] = []
        self.counts: List[dict] = []

    def get_name(self) -> str:
        return "AwsBatchUtils"

    def write(self, blocks: Iterable[Any], ctx: Any) -> list:
        task = functools.partial(write_partition, self.make_dispatcher, self.to_payload)
        return task(ctx.task_idx, _rows(blocks))

    def on_write_complete(self, write_result: Any) -> None:
        failed, counts = [], []
        for returned in write_result.write_returns:
            for kind, *values in returned:
                if kind == "counts":
                    keys = ("partition", "rows", "delivered", "refused", "unprocessed")
                    counts.append(dict(zip(keys, values)))
                else:
                    keys = ("partition", "payload", "code", "message", "reason")
                    failed.append(dict(zip(keys, values)))
        self.failed, self.counts = failed, counts
