"""Calls from many sockets, run together: a group commit.

Thousands of players answering within seconds each cost a thread hop, a transaction and
its commit, and a Redis write or two when they go one by one; the event loop's threads
queue up and "locked in" waits behind the queue (docs/performance.md). Gathered, the
calls that arrive while one batch runs go together in the next: one hop, one statement,
one commit. A call alone still runs at once: nothing waits for a batch to fill.
"""

import asyncio
from typing import Awaitable, Callable, Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")

# Runs a whole batch: one result per item, in order; an exception in the list is that
# item's own failure, an exception raised is every item's.
RunMany = Callable[[list[T]], Awaitable[list]]

# The batches that go before drawing (`first=True`: the answers' path): between the steps
# of a big room's tick, the hub lets the batch running at that moment finish first.
FIRST: list["Batches"] = []


class Batches(Generic[T, R]):
    def __init__(self, run_many: RunMany, *, max_size: int = 500, first: bool = False):
        self.run_many = run_many
        self.max_size = max_size
        self.pending: list[tuple[T, asyncio.Future]] = []
        self._runner: asyncio.Task | None = None
        self._running: asyncio.Future | None = None  # done when the batch running now is
        if first:
            FIRST.append(self)

    async def settled(self, timeout: float) -> None:
        """Return once the batch running now, if any, is done (at most `timeout` seconds):
        not the batches that start meanwhile."""
        running = self._running
        if running is not None and not running.done() and running.get_loop() is asyncio.get_running_loop():
            await asyncio.wait([running], timeout=timeout)

    async def call(self, item: T) -> R:
        """`item`'s result, or its exception raised, once the batch it joined has run."""
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self.pending.append((item, future))
        if self._runner is not None and self._runner.get_loop() is not loop:  # a new event loop (tests)
            self.pending = [(item, waiting) for item, waiting in self.pending if waiting.get_loop() is loop]
            self._runner = None
        if self._runner is None or self._runner.done():
            self._runner = loop.create_task(self._run())
        return await future

    async def _run(self) -> None:
        while self.pending:
            batch, self.pending = self.pending[: self.max_size], self.pending[self.max_size:]
            waiting = [(item, future) for item, future in batch if not future.done()]  # callers gone
            if not waiting:
                continue
            self._running = running = asyncio.get_running_loop().create_future()
            try:
                results = await self.run_many([item for item, _ in waiting])
                if len(results) != len(waiting):
                    raise RuntimeError(f"{len(results)} results for a batch of {len(waiting)}")
            except Exception as error:
                results = [error] * len(waiting)
            finally:
                running.set_result(None)
            for (_, future), result in zip(waiting, results):
                if future.done():
                    continue
                if isinstance(result, BaseException):
                    future.set_exception(result)
                else:
                    future.set_result(result)
