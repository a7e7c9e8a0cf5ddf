"""The naive design the benchmark compares against, served side by side with the product.

Every viewer is a consumer in a Channels group on channels-redis's default layer, and
every scored answer is broadcast at once: the leaderboard is read and rendered per
answer and sent with one group_send, which the layer delivers as one message per client.
Run: uvicorn benchmarks.baseline:application (same settings and Redis as the product).
"""

import asyncio
import json
import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "elsa.settings")
import django  # noqa: E402

django.setup()

from channels.db import database_sync_to_async  # noqa: E402
from channels.generic.websocket import AsyncWebsocketConsumer  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.core.asgi import get_asgi_application  # noqa: E402
from django.urls import re_path  # noqa: E402

from leaderboard import board  # noqa: E402
from live.events import CHANNEL_PATTERN  # noqa: E402
from live.redis import async_client  # noqa: E402
from quizzes import selectors  # noqa: E402

_bridge: asyncio.Task | None = None


def group(session_id: int) -> str:
    return f"naive-{session_id}"


async def board_text(session_id: int) -> str:
    standings = await board.top_async(session_id=session_id, limit=100)
    return json.dumps({"v": standings.version, "board": [s.as_json() for s in standings.standings]})


async def bridge(layer) -> None:
    """Per scored answer: read the board, render it, broadcast it. No coalescing."""
    pubsub = async_client().pubsub(ignore_subscribe_messages=True)
    await pubsub.psubscribe(CHANNEL_PATTERN)
    async for message in pubsub.listen():
        if message["type"] != "pmessage":
            continue
        event = json.loads(message["data"])
        if event.get("t") != "board" or not event.get("items"):
            continue
        session_id = int(message["channel"].rsplit(b":", 1)[1])
        text = await board_text(session_id)
        await layer.group_send(group(session_id), {"type": "leaderboard", "text": text})


class NaiveFeed(AsyncWebsocketConsumer):
    channel_layer_alias = "baseline"

    async def connect(self) -> None:
        global _bridge
        session = await database_sync_to_async(selectors.session_by_code)(self.scope["url_route"]["kwargs"]["code"])
        if session is None:
            await self.close()
            return
        if _bridge is None or _bridge.done():
            _bridge = asyncio.get_running_loop().create_task(bridge(self.channel_layer))
        self.group = group(session.pk)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()
        # The board as it stands, as any viewer's first frame (the product's hub does the
        # same): a viewer that joins a quiet room sees it, and the harness knows it is in.
        await self.send(text_data=await board_text(session.pk))

    async def disconnect(self, code: int) -> None:
        if hasattr(self, "group"):
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def leaderboard(self, event: dict) -> None:
        await self.send(text_data=event["text"])


application = ProtocolTypeRouter({
    "http": get_asgi_application(),
    "websocket": URLRouter([re_path(r"^naive/(?P<code>[A-Za-z0-9]{6})$", NaiveFeed.as_asgi())]),
})
