"""Structured log lines, with the standard library only.

`event()` writes one line per thing that happened, keyed by the session's join code:

    INFO quizzes.services session=ABC123 event=round_closed round=3 round_id=41

The same fields travel on the record (`session`, `event`, `fields`), so with
LOG_FORMAT=json `JsonFormatter` writes one JSON object per line with a `session` key
that a log system can filter on. Values are quoted in plain text when they hold spaces,
quotes or `=`; JSON escapes everything itself (a nickname cannot break a line in either).
"""

import json
import logging
from datetime import datetime, timezone

# Attributes every LogRecord has; anything else on a record was passed as `extra`.
# (uvicorn's `color_message` is its message again, with terminal colours.)
_RECORD_ATTRIBUTES = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {
    "message", "asctime", "color_message", "session", "event", "fields",
}


def _plain(value: object) -> str:
    text = str(value)
    if not text or any(ch.isspace() or ch in '="\\' for ch in text):
        return json.dumps(text, ensure_ascii=False)
    return text


def event(
    logger: logging.Logger,
    name: str,
    *,
    session: str | None = None,
    level: int = logging.INFO,
    exc_info: bool = False,
    **fields: object,
) -> None:
    """Log event `name` of the session whose join code is `session`, with `fields`.

    Cheap when the level is off: nothing is formatted."""
    if not logger.isEnabledFor(level):
        return
    parts = [f"session={_plain(session)}"] if session is not None else []
    parts.append(f"event={name}")
    parts.extend(f"{key}={_plain(value)}" for key, value in fields.items())
    logger.log(
        level,
        " ".join(parts),  # no args: logging does not %-format it
        exc_info=exc_info,
        stacklevel=2,
        extra={"session": session, "event": name, "fields": fields},
    )


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, session, event, fields, message."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, tz=timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
        }
        session = getattr(record, "session", None)
        if session is not None:
            entry["session"] = session
        name = getattr(record, "event", None)
        if name is not None:
            entry["event"] = name
        for key, value in (getattr(record, "fields", None) or {}).items():
            entry.setdefault(key, value)
        # Other `extra` values given by a caller that does not use event().
        for key, value in vars(record).items():
            if key not in _RECORD_ATTRIBUTES:
                entry.setdefault(key, value)
        entry["message"] = record.getMessage()
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, ensure_ascii=False, default=str)
