"""The one way live events leave a service: a Redis PUBLISH on the session's channel.

Every web process that has viewers of the session receives each event once (see
leaderboard.hub) and turns it into frames for its own sockets. Events are sent after
the database commit, so a viewer never sees a state the database does not have.
"""

import json
import logging

import redis

from elsa.logs import event as log_event

from .redis import sync_client

log = logging.getLogger(__name__)


CHANNEL_PATTERN = "elsa:session:*"


def channel_for(session_id: int) -> str:
    return CHANNEL_PATTERN.replace("*", str(session_id))


def publish(session_id: int, event: dict) -> None:
    try:
        sync_client().publish(channel_for(session_id), json.dumps(event, separators=(",", ":")))
    except redis.RedisError:
        # Live pushes are best effort: the database has the truth, and every client
        # gets a full snapshot when it (re)connects.
        log_event(log, "publish_failed", level=logging.WARNING, exc_info=True, session_id=session_id,
                  type=event.get("t"))
