"""The base of every live socket: join a room of the hub, get a snapshot first, leave the
room however the socket ends. Consumers hold no rules: identity from the scope, messages
checked for shape, state changes through services, frames from the hub."""

from channels.consumer import get_handler_name
from channels.exceptions import StopConsumer
from channels.generic.websocket import AsyncWebsocketConsumer

from . import limits, metrics
from .hub import hub
from .outlet import Outlet


class ServerSend:
    """ASGI middleware that keeps the server's own `send` in the scope.

    The hub writes each frame to thousands of sockets; going through Channels' consumer
    and session-middleware send wrappers on every frame cost about a fifth of the web
    process at 1,000 players (profiled). Frames pushed by the hub use this instead."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        return await self.app({**scope, "server_send": send}, receive, send)


async def lifespan(scope, receive, send) -> None:
    """ASGI lifespan: the hub connects to Redis and listens as the server starts. Started
    by the first socket instead, a fresh process's listener raced a storm of thousands of
    connects for the event loop; its first connect to Redis timed out, and every socket
    already in a room was sent away to reconnect (seen in the 200 x 20 benchmark)."""
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            hub.start()
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


class LiveConsumer(AsyncWebsocketConsumer):
    """A socket that joins a room in this process's hub."""

    kind = "screen"
    kinds: tuple[str, ...] = ()  # every kind a subclass's sockets can be (default: its kind)
    person_id: int | None = None
    room_id: int | None = None
    label: str | None = None  # the room's name for log lines (a session's join code)
    outlet: Outlet | None = None
    closing = False

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        # The open-socket gauge reports every kind, at 0 when none is open.
        metrics.socket_kinds.update(cls.kinds or (cls.kind,))

    async def __call__(self, scope, receive, send):
        # However the socket ends (a close, a reply that fails because the client is
        # gone, a close sent twice), the consumer leaves the hub and its limits: Channels
        # calls disconnect() only for a websocket.disconnect message.
        try:
            await super().__call__(scope, receive, send)
        finally:
            self.leave()

    def leave(self) -> None:
        limits.sockets.release(self)
        if self.room_id is not None:
            hub.detach(self.room_id, self)

    async def dispatch(self, message) -> None:
        """As Channels' own, without its hop to the one shared sync thread before every
        message to close stale database connections (Channels 4.2): each answer, connect
        and close waited its turn there (profiled: a tenth of the event loop in a connect
        burst). These consumers never use the database on the event loop; every query runs
        in `live.threads.db`, which closes stale connections around each call itself."""
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

    async def websocket_disconnect(self, message) -> None:
        """As Channels' own, without its hop to that same shared thread after every close
        (Channels 4.3): when a quiz ends, thousands of sockets close at once and each
        waited its turn. These consumers join no Channels groups."""
        await self.disconnect(message["code"])
        raise StopConsumer()

    async def close(self, code=None, reason=None) -> None:
        """Close once: the server refuses a second close (and any send after it)."""
        if self.closing:
            return
        self.closing = True
        await super().close(code=code, reason=reason)

    async def websocket_receive(self, message) -> None:
        if not self.closing:  # messages still in flight after our close are dropped
            await super().websocket_receive(message)

    async def go_live(self, room_id: int, snapshot, *, label: str | None = None) -> None:
        """Accept, join the room, then send the snapshot before any frame pushed meanwhile."""
        self.room_id, self.label = room_id, label
        self.outlet = Outlet(self.scope["server_send"], on_stuck=lambda: hub.give_up(room_id, self))
        self.outlet.hold()
        await self.accept()
        await hub.attach(room_id, self)
        frame = await snapshot()
        if self.outlet.closed:
            return
        self.outlet.put_first("snapshot", frame)
        try:
            await self.outlet.flush()
        except TimeoutError:
            hub.give_up(room_id, self)

    async def disconnect(self, code: int) -> None:
        self.leave()


class ListeningConsumer(LiveConsumer):
    """A socket that only listens (big screen, JSON feed, host screen): its pages never
    send, so any message is a misbehaving client, and the socket is closed."""

    async def receive(self, text_data=None, bytes_data=None) -> None:
        await self.close(code=limits.CLOSE_POLICY)
