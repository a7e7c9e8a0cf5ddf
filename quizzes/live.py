"""What the quiz's events mean on each screen, installed into the hub at start-up, and the
web processes' part in moving quizzes on.

- StageChanged: the host's stage to hosts; to each player the stage, and after a close
  their own result, score and rank (rendered here, for this process's players only).
- Answered, Joined: the host's panels redraw on the room's next tick (one query set per
  tick, however many answers arrived).
- Kicked: the removed player's sockets close for good (4xxx: no reconnecting), and the
  host's panels redraw.
- BoardChanged (the leaderboard's): each listed player's own score, at once.
- Every DEADLINE_POLL_SECONDS, this process closes or advances the sessions it serves
  whose deadlines have passed (decision 10), so a quiz never waits for a Celery worker.
"""

from django.conf import settings

from leaderboard.events import BoardChanged
from leaderboard.partials import rank_badge
from live.hub import Hub, Room, send_all
from live.hub import hub as process_hub
from live.threads import db

from . import partials, selectors, services
from .events import Answered, Joined, Kicked, StageChanged
from .selectors import Result

HOST, PLAYER, SCREEN = "host", "player", "screen"  # kinds of socket
STAGE, SCORE, HOST_PANELS = "stage", "score", "host-panels"  # parts of a page
SCREEN_STATUS = "screen-status"  # the big screen's panel, kept for snapshots
CLOSE_KICKED = 4401  # 4xxx: htmx does not reconnect


def on_stage(room: Room, event: StageChanged) -> None:
    send_all(room.by_kind[HOST], STAGE, event.host)
    send_all(room.by_kind[SCREEN], STAGE, event.screen)
    room.frames[SCREEN_STATUS] = event.screen  # for the snapshots of screens that connect meanwhile
    if event.results is None:
        send_all(room.by_kind[PLAYER], STAGE, event.player)
        return
    for participant_id, clients in list(room.people.items()):
        row = event.results.get(str(participant_id))
        result = Result(*row) if row is not None else None
        frame = event.player + partials.player_result(state=event.state, result=result)
        if result is not None:
            frame += partials.my_score(result.score) + rank_badge(result.rank)
        send_all(clients, STAGE, frame)


def last_screen_status(session_id: int) -> str | None:
    """The big screen's panel as the room's last stage change drew it, if this process
    serves the room and has seen one: a crowd of screens connecting reads nothing more.
    (Read from the database threads too: one dict lookup, written only by the loop.)"""
    room = process_hub.rooms.get(session_id)
    return room.frames.get(SCREEN_STATUS) if room is not None else None


def keep_screen_status(session_id: int, frame: str) -> str:
    """Keep a panel just read from the database for the next screens' snapshots, unless a
    stage change got there first (then that newer panel is returned): in a connect burst
    before any stage change, each screen read the session and rendered it again. Called
    from the database threads: `setdefault` is one C call under the GIL, so it cannot
    overwrite what the loop wrote meanwhile; kept only once the room hears its events."""
    room = process_hub.rooms.get(session_id)
    if room is None or not room.subscribed.is_set():
        return frame
    return room.frames.setdefault(SCREEN_STATUS, frame)


def on_host_news(room: Room, event: Answered | Joined | Kicked) -> None:
    if room.by_kind[HOST]:
        room.mark(HOST_PANELS)


def on_kicked(room: Room, event: Kicked) -> None:
    for client in list(room.people.get(event.participant_id, ())):
        client.outlet.close_later(CLOSE_KICKED)
    on_host_news(room, event)


def on_board_changed(room: Room, event: BoardChanged) -> None:
    for participant_id, score in event.items:
        mine = room.people.get(participant_id)
        if mine:
            send_all(mine, SCORE, partials.my_score(score))


async def read_host_panels(room: Room):
    return await db(selectors.host_panels)(room.id) if room.by_kind[HOST] else None


def draw_host_panels(room: Room, panels) -> None:
    if panels is not None:
        send_all(room.by_kind[HOST], HOST_PANELS, partials.host_panels(*panels))


async def move_sessions_on(session_ids: list[int]) -> None:
    await db(services.sessions_move_on)(session_ids=session_ids)


def install(hub: Hub) -> None:
    hub.on(StageChanged, on_stage)
    hub.on(Answered, on_host_news)
    hub.on(Joined, on_host_news)
    hub.on(Kicked, on_kicked)
    hub.on(BoardChanged, on_board_changed)
    hub.redraw(HOST_PANELS, read_host_panels, draw_host_panels)
    hub.every(settings.ELSA["DEADLINE_POLL_SECONDS"], move_sessions_on)
