"""A socket's way out for pushed frames, which never makes the pusher wait."""

import asyncio
from typing import Awaitable, Callable

from django.conf import settings


def write_now(send, message: dict) -> bool:
    """Write `message` with the server's ASGI `send` if the socket can take it without
    waiting; False, with nothing written, if it cannot.

    uvicorn's send() (the websockets-sansio protocol this project runs) first waits until
    the transport is writable, that is until the socket's buffer is under its high-water
    mark, and then writes without waiting again. So one step of the coroutine either
    finishes the write or stops at that first wait, before anything was written; closing
    it there abandons only the wait. Exceptions (a socket already gone) propagate."""
    step = send(message)
    try:
        step.send(None)
    except StopIteration:
        return True
    step.close()
    return False


class Outlet:
    """One socket's way out, for frames the hub pushes.

    A frame is written at once when the socket can take it. Otherwise (the socket's
    buffer is full: a frozen tab, a bad link, a client that never reads) it waits here,
    one frame per slot (the part of the page it updates), the newest winning, and a task
    of this socket's own writes them as the socket drains. Frames also wait here while
    the socket's snapshot is being built (`hold` ... `flush`). A socket that takes nothing
    for WS_STUCK_SECONDS is given up: `on_stuck` is called."""

    def __init__(self, send, *, on_stuck: Callable[[], None]):
        self.send = send
        self.on_stuck = on_stuck
        self.waiting: dict[str, str] | None = None
        self.closed = False
        self._drainer: asyncio.Task | None = None

    def hold(self) -> None:
        self.waiting = {}

    def offer(self, slot: str, frame: str) -> None:
        if self.closed:
            return
        if self.waiting is not None:
            self.waiting.pop(slot, None)  # the newest frame of a slot goes last
            self.waiting[slot] = frame
            return
        try:
            if write_now(self.send, {"type": "websocket.send", "text": frame}):
                return
        except Exception:  # the socket is gone; its consumer's end detaches it
            self.closed = True
            return
        self.waiting = {slot: frame}
        self._drainer = asyncio.get_running_loop().create_task(self._drain())

    def put_first(self, slot: str, frame: str) -> None:
        """Ahead of everything held: a snapshot, which the held frames then update."""
        self.waiting = {slot: frame, **(self.waiting or {})}

    async def flush(self) -> None:
        """Write what waits, oldest slot first, then write straight through again."""
        bound = settings.ELSA["WS_STUCK_SECONDS"]
        while self.waiting and not self.closed:
            slot = next(iter(self.waiting))
            frame = self.waiting.pop(slot)
            await asyncio.wait_for(self.send({"type": "websocket.send", "text": frame}), timeout=bound)
        self.waiting = None

    async def _drain(self) -> None:
        try:
            await self.flush()
        except TimeoutError:
            self.on_stuck()
        except Exception:  # the socket went away while draining
            self.closed = True

    def close_later(self, code: int) -> None:
        """Close the socket without waiting for it: a stuck socket's close waits too."""
        if self.closed:
            return
        self.closed = True
        self.waiting = None
        if self._drainer is not None and not self._drainer.done():
            self._drainer.cancel()
        background(self.send({"type": "websocket.close", "code": code}))


_background_tasks: set[asyncio.Task] = set()


def background(awaitable: Awaitable) -> None:
    """Run `awaitable` on the loop, nobody waiting for it, its failure ignored."""

    async def run():
        try:
            await awaitable
        except Exception:  # a socket that is gone cannot be closed again
            pass

    task = asyncio.get_running_loop().create_task(run())
    _background_tasks.add(task)
    task.add_done_callback(_background_tasks.discard)
