"""The quiz's live events, and the one that renders a change of state for everyone."""

from dataclasses import dataclass

from live.events import Event

from . import partials, selectors
from .models import QuizSession

State = QuizSession.State


@dataclass(frozen=True)
class Joined(Event, name="joined"):
    """Someone joined: the host's roster changes."""


@dataclass(frozen=True)
class Answered(Event, name="answered"):
    """An answer was stored: the host's answered count changes."""


@dataclass(frozen=True)
class Kicked(Event, name="kicked"):
    """The host removed a player: their sockets close, the host's roster changes."""

    participant_id: int


@dataclass(frozen=True)
class StageChanged(Event, name="stage"):
    """A session changed state. The player's and host's stages are rendered once, by the
    process that made the change; `results` ({participant id: Result as a list}) comes
    with a closed question and the end, and each process renders personal results only
    for its own players."""

    state: str
    player: str
    host: str
    results: dict | None = None
    screen: str = ""  # the big screen's panel


def stage_changed(session_id: int) -> StageChanged:
    session = QuizSession.objects.select_related("quiz", "current_round__question").get(pk=session_id)
    current = selectors.round_view(session)
    results = None
    if session.state in {State.QUESTION_CLOSED, State.FINISHED}:
        results = {pid: list(result) for pid, result in selectors.results(session).items()}
    return StageChanged(
        state=session.state,
        player=partials.player_stage({"session": session, "current": current}),
        host=partials.host_stage(selectors.host_view(session)),
        results=results,
        screen=partials.screen_status({"session": session, "current": current}),
    )
