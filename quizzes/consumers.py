import json
import logging

from leaderboard.threads import db
from django.conf import settings
from django.utils import timezone

from elsa.logs import event as log_event
from leaderboard import metrics
from leaderboard import limits
from leaderboard.consumers import LiveConsumer
from leaderboard.hub import hub

from . import frames, hosting, selectors, services
from .identity import joined_participant_id

# Close codes 4xxx end the page's socket for good; htmx does not reconnect after them.
CLOSE_NOT_ALLOWED = 4403
CLOSE_POLICY = limits.CLOSE_POLICY

log = logging.getLogger(__name__)


class PlayerConsumer(LiveConsumer):
    """A player's phone: receives the quiz as it runs and sends answers."""

    kind = "player"

    async def connect(self) -> None:
        code = self.scope["url_route"]["kwargs"]["code"]
        participant_id = joined_participant_id(self.scope["session"], code)
        if participant_id is None:
            await self.close(code=CLOSE_NOT_ALLOWED)
            return
        if not await limits.sockets.admit(self, participant_id=participant_id):
            await self.close(code=limits.CLOSE_POLICY)
            return
        participant = await db(selectors.participant_in)(participant_id=participant_id, code=code)
        if participant is None:
            await self.close(code=CLOSE_NOT_ALLOWED)
            return
        self.participant_id = participant.pk
        self.refused = 0

        async def snapshot() -> str:
            view = await db(selectors.player_view)(participant)
            return view["stage"] + view["me"] + await hub.leaderboard_frame(participant.session_id)

        await self.go_live(participant.session_id, snapshot)

    async def receive(self, text_data=None, bytes_data=None) -> None:
        received_at = timezone.now()
        if not limits.sockets.allow_message(self):
            metrics.answer_received("rate_limited")
            self.refused += 1
            if self.refused > settings.ELSA["WS_MESSAGE_BURST"] * 5:
                if self.refused == settings.ELSA["WS_MESSAGE_BURST"] * 5 + 1:
                    log_event(log, "socket_closed_for_flooding", session=self.session_code,
                              level=logging.WARNING, participant=self.participant_id)
                await self.close(code=CLOSE_POLICY)
            elif self.refused == 1 or self.refused % 10 == 0:
                await self.send(text_data=frames.flash("Slow down: too many messages."))
            return
        message = parse_message(text_data, bytes_data)
        if message is None:
            metrics.answer_received("invalid")
            await self.send(text_data=frames.flash("That message was not understood."))
            return
        locked = limits.sockets.known_answer(self.participant_id, message.get("round"))
        if locked is not None:  # answered already: no need to ask the database again
            metrics.answer_received("duplicate")
            await self.send(text_data=frames.flash("Your answer is already locked in.") + locked)
            return
        try:
            answer = await db(services.answer_submit)(
                participant_id=self.participant_id,
                session_id=self.session_id,
                choice_id=message.get("choice"),
                round_id=message.get("round"),
                received_at=received_at,
            )
        except services.AnswerRefused as refused:
            metrics.answer_received(refused.code)
            frame = frames.flash(refused.message)
            if refused.code == "duplicate":
                locked = await db(selectors.locked_in_frame)(
                    participant_id=self.participant_id, session_id=self.session_id
                )
                limits.sockets.remember_answer(self.participant_id, message.get("round"), locked)
                frame += locked
            await self.send(text_data=frame)
            return
        metrics.answer_received("stored")
        locked = frames.locked_in(answer)
        limits.sockets.remember_answer(self.participant_id, answer.round_id, locked)
        await self.send(text_data=locked + frames.flash(""))


def parse_message(text_data: str | None, bytes_data: bytes | None) -> dict | None:
    """An answer message is a small JSON object; anything else is refused."""
    if text_data is None or bytes_data is not None:
        return None
    if len(text_data) > settings.ELSA["WS_MAX_MESSAGE_BYTES"]:
        return None
    try:
        message = json.loads(text_data)
    except (ValueError, RecursionError):  # RecursionError: arrays nested a thousand deep
        return None
    if not isinstance(message, dict) or "choice" not in message:
        return None
    return message


class HostConsumer(limits.ListenOnly, LiveConsumer):
    """The host screen: receives the stage, the room's arrivals and answer counts."""

    kind = "host"

    async def connect(self) -> None:
        if not await limits.sockets.admit(self):
            await self.close(code=limits.CLOSE_POLICY)
            return
        # Watching is enough: the host socket only listens; controls are HTTP (host_next).
        user = self.scope.get("user")
        if user is None or not hosting.may_watch(user):
            await self.close(code=CLOSE_NOT_ALLOWED)
            return
        session = await db(selectors.session_by_code)(self.scope["url_route"]["kwargs"]["code"])
        if session is None:
            await self.close(code=4404)
            return

        async def snapshot() -> str:
            stage = await db(selectors.host_snapshot)(session)
            return stage + await hub.leaderboard_frame(session.pk)

        await self.go_live(session.pk, snapshot)
