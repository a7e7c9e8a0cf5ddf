"""The big screen's socket (/ws/livescore/<code>, htmx fragments) and the JSON feed
(ws://HOST/livescore/<code>, the original demo's format): one consumer, two formats."""

from live import limits
from live.consumers import ListeningConsumer
from live.hub import hub
from live.threads import db

from .live import FEED, board_frame
from .lookup import FindBoardAsync, LookupRefused

CLOSE_UNKNOWN = 4404
CLOSE_THROTTLED = 4429


class BoardConsumer(ListeningConsumer):
    kinds = ("screen", FEED)

    def __init__(self, *, find_board: FindBoardAsync, json_feed: bool = False):
        super().__init__()
        self.find_board, self.json_feed = find_board, json_feed
        self.kind = FEED if json_feed else "screen"

    async def connect(self) -> None:
        if not await limits.sockets.admit(self):
            await self.close(code=limits.CLOSE_POLICY)
            return
        # Accepting or refusing tells whether a code exists: unknown codes count against
        # the address's guess budget (the lookup's business), as on the public pages.
        client = (self.scope.get("client") or ("",))[0]
        try:
            ref = await self.find_board(code=self.scope["url_route"]["kwargs"]["code"], client=client)
        except LookupRefused:
            await self.close(code=CLOSE_THROTTLED)
            return
        if ref is None:
            await self.close(code=CLOSE_UNKNOWN)
            return

        async def snapshot() -> str:
            frame = await board_frame(hub, ref.session_id, json_feed=self.json_feed)
            if self.json_feed:
                return frame
            return (ref.kept_status() or await db(ref.status)()) + frame

        await self.go_live(ref.session_id, snapshot, label=ref.code)
