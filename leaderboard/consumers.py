"""WebSocket transport for live pages. Consumers hold no rules: identity from the scope,
messages checked for shape, state changes through services, frames from the hub."""

from leaderboard.threads import db
from channels.generic.websocket import AsyncWebsocketConsumer

from quizzes import services

from . import limits
from .hub import Outlet, hub


class ServerSend:
    """ASGI middleware that keeps the server's own `send` in the scope.

    The hub writes each frame to thousands of sockets; going through Channels' consumer
    and session-middleware send wrappers on every frame cost about a fifth of the web
    process at 1,000 players (profiled). Frames pushed by the hub use this instead."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        return await self.app({**scope, "server_send": send}, receive, send)


class LiveConsumer(AsyncWebsocketConsumer):
    """A socket that joins its session's room in this process's hub."""

    kind = "screen"
    participant_id: int | None = None
    session_id: int | None = None
    session_code: str | None = None  # for log lines
    outlet: Outlet | None = None
    closing = False

    async def __call__(self, scope, receive, send):
        # However the socket ends (a close, a reply that fails because the client is
        # gone, a close sent twice), the consumer leaves the hub: Channels calls
        # disconnect() only for a websocket.disconnect message.
        try:
            await super().__call__(scope, receive, send)
        finally:
            self.leave()

    def leave(self) -> None:
        limits.sockets.release(self)
        if self.session_id is not None:
            hub.detach(self.session_id, self)

    async def close(self, code=None, reason=None) -> None:
        """Close once: the server refuses a second close (and any send after it)."""
        if self.closing:
            return
        self.closing = True
        await super().close(code=code, reason=reason)

    async def websocket_receive(self, message) -> None:
        if not self.closing:  # messages still in flight after our close are dropped
            await super().websocket_receive(message)

    async def go_live(self, session_id: int, snapshot) -> None:
        """Accept, join the room, then send the snapshot before any frame pushed meanwhile."""
        self.session_id = session_id
        # The route's code found this session, so it is the session's code (upper case).
        self.session_code = str(self.scope["url_route"]["kwargs"].get("code", "")).upper() or None
        self.outlet = Outlet(self.scope["server_send"], on_stuck=lambda: hub.give_up(session_id, self))
        self.outlet.hold()
        await self.accept()
        hub.attach(session_id, self)
        frame = await snapshot()
        if self.outlet.closed:
            return
        self.outlet.waiting = {"snapshot": frame, **self.outlet.waiting}
        try:
            await self.outlet.flush()
        except TimeoutError:
            hub.give_up(session_id, self)

    async def disconnect(self, code: int) -> None:
        self.leave()

    async def receive(self, text_data=None, bytes_data=None) -> None:
        """Viewers only listen."""


class ScreenConsumer(limits.ListenOnly, LiveConsumer):
    """The big-screen leaderboard at /livescore/<code>: HTML fragments for htmx."""

    kind = "screen"

    async def connect(self) -> None:
        if not await limits.sockets.admit(self):
            await self.close(code=limits.CLOSE_POLICY)
            return
        session = await visited_session(self)
        if session is None:
            return

        async def snapshot() -> str:
            return await hub.leaderboard_frame(session.pk)

        await self.go_live(session.pk, snapshot)


class FeedConsumer(limits.ListenOnly, LiveConsumer):
    """ws://HOST/livescore/<code>: the leaderboard as JSON in the original demo's format."""

    kind = "feed"

    async def connect(self) -> None:
        if not await limits.sockets.admit(self):
            await self.close(code=limits.CLOSE_POLICY)
            return
        session = await visited_session(self)
        if session is None:
            return

        async def snapshot() -> str:
            return await hub.leaderboard_frame(session.pk, json_feed=True)

        await self.go_live(session.pk, snapshot)


async def visited_session(consumer):
    """The session named in a public socket's URL, or None once the socket is closed.

    Accepting or refusing tells whether a code exists, so unknown codes count against the
    address's guess budget, as on the public pages (quizzes.services.session_for_visitor)."""
    client = (consumer.scope.get("client") or ("",))[0]
    try:
        session = await db(services.session_for_visitor)(code=consumer.scope["url_route"]["kwargs"]["code"],
                                                         client=client)
    except services.JoinError:
        await consumer.close(code=4429)
        return None
    if session is None:
        await consumer.close(code=4404)
    return session
