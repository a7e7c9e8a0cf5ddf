"""The player's and the host's sockets. Transport only: identity from the scope, each
message checked for shape and paid for (live.limits), the answer stored by a service."""

import json
import logging

from django.conf import settings
from django.utils import timezone

from leaderboard import live as leaderboard_live
from live import limits
from live.batches import Batches
from live.consumers import ListeningConsumer, LiveConsumer
from live.hub import hub
from live.threads import db
from monitoring.logs import event as log_event

from . import hosting, metrics, partials, selectors, services
from .identity import joined_participant_id
from .models import Answer, QuizSession

# Close codes 4xxx end the page's socket for good; htmx does not reconnect after them.
CLOSE_NOT_ALLOWED = 4403
CLOSE_UNKNOWN = 4404

log = logging.getLogger(__name__)

# The answers that arrive while one batch is being stored go together in the next: one
# thread hop, one statement and one commit for them all (live/batches.py).
answers_in: Batches[dict, Answer] = Batches(db(services.answers_submit), first=True)  # before drawing: live.hub


class PlayerConsumer(LiveConsumer):
    """A player's phone: receives the quiz as it runs and sends answers."""

    kind = "player"
    refused = 0
    # The locked-in frame of the last round this socket's player answered, by round id:
    # a repeated answer is refused without asking the database again.
    answered: tuple[str, str] | None = None

    async def connect(self) -> None:
        code = self.scope["url_route"]["kwargs"]["code"]
        participant_id = joined_participant_id(self.scope["session"], code)
        if participant_id is None:
            await self.close(code=CLOSE_NOT_ALLOWED)
            return
        if not await limits.sockets.admit(self, person_id=participant_id):
            await self.close(code=limits.CLOSE_POLICY)
            return
        participant = await db(selectors.participant_in)(participant_id=participant_id, code=code)
        if participant is None:
            await self.close(code=CLOSE_NOT_ALLOWED)
            return
        self.person_id = participant.pk

        async def snapshot() -> str:
            page = partials.player_page(await db(selectors.player_view)(participant))
            board = await leaderboard_live.board_frame(hub, participant.session_id, person_id=participant.pk)
            return page["stage"] + page["me"] + board

        await self.go_live(participant.session_id, snapshot, label=participant.session.code)

    async def receive(self, text_data=None, bytes_data=None) -> None:
        received_at = timezone.now()
        if not limits.sockets.allow_message(self):
            await self.refuse_flood()
            return
        message = parse_message(text_data, bytes_data)
        if message is None:
            metrics.answer_received("invalid")
            await self.send(text_data=partials.flash("That message was not understood."))
            return
        if self.answered is not None and self.answered[0] == str(message.get("round")):
            metrics.answer_received("duplicate")
            await self.send(text_data=partials.flash("Your answer is already locked in.") + self.answered[1])
            return
        given = {name: message[key] for key, name in ANSWER_PARTS.items() if key in message}
        try:
            answer = await answers_in.call({
                "participant_id": self.person_id,
                "session_id": self.room_id,
                "round_id": message.get("round"),
                "received_at": received_at,
                **given,
            })
        except services.AnswerRefused as refused:
            metrics.answer_received(refused.code)
            frame = partials.flash(refused.message)
            if refused.code == "duplicate":
                locked = await db(locked_in_frame)(participant_id=self.person_id, session_id=self.room_id)
                self.answered = (str(message.get("round")), locked)
                frame += locked
            await self.send(text_data=frame)
            return
        metrics.answer_received("stored")
        locked = partials.locked_in(answer)
        self.answered = (str(answer.round_id), locked)
        await self.send(text_data=locked + partials.flash(""))

    async def refuse_flood(self) -> None:
        metrics.answer_received("rate_limited")
        self.refused += 1
        limit = settings.ELSA["WS_MESSAGE_BURST"] * 5
        if self.refused > limit:
            if self.refused == limit + 1:
                log_event(log, "socket_closed_for_flooding", session=self.label, level=logging.WARNING,
                          participant=self.person_id)
            await self.close(code=limits.CLOSE_POLICY)
        elif self.refused == 1 or self.refused % 10 == 0:
            await self.send(text_data=partials.flash("Slow down: too many messages."))


def locked_in_frame(*, participant_id: int, session_id: int) -> str:
    session = QuizSession.objects.get(pk=session_id)
    answer = selectors.current_answer(participant_id=participant_id, session=session)
    return partials.locked_in(answer) if answer else ""


# What an answer message may carry, and the service's name for it: a tapped choice, typed
# text, or the words of a sentence in the order the player put them.
ANSWER_PARTS = {"choice": "choice_id", "text": "text", "words": "words"}


def parse_message(text_data: str | None, bytes_data: bytes | None) -> dict | None:
    """An answer message is a small JSON object with one answer; anything else is refused."""
    if text_data is None or bytes_data is not None:
        return None
    if len(text_data) > settings.ELSA["WS_MAX_MESSAGE_BYTES"]:
        return None
    try:
        message = json.loads(text_data)
    except (ValueError, RecursionError):  # RecursionError: arrays nested a thousand deep
        return None
    if not isinstance(message, dict) or not any(part in message for part in ANSWER_PARTS):
        return None
    return message


class HostConsumer(ListeningConsumer):
    """The host screen: receives the stage, the room's arrivals and answer counts. It only
    listens: the controls are HTTP (views.host_next), so watching is enough to connect."""

    kind = "host"

    async def connect(self) -> None:
        if not await limits.sockets.admit(self):
            await self.close(code=limits.CLOSE_POLICY)
            return
        user = self.scope.get("user")
        if user is None or not hosting.may_watch(user):
            await self.close(code=CLOSE_NOT_ALLOWED)
            return
        session = await db(selectors.session_by_code)(self.scope["url_route"]["kwargs"]["code"])
        if session is None:
            await self.close(code=CLOSE_UNKNOWN)
            return

        async def snapshot() -> str:
            stage = partials.host_stage(await db(selectors.host_view)(session))
            return stage + await leaderboard_live.board_frame(hub, session.pk)

        await self.go_live(session.pk, snapshot, label=session.code)
