"""Which participant this browser is, per session code, kept in the signed session cookie."""

PLAYERS_KEY = "elsa_players"


def joined_participant_id(session, code: str) -> int | None:
    joined = session.get(PLAYERS_KEY, {})
    participant_id = joined.get(code.upper()) if isinstance(joined, dict) else None
    return participant_id if isinstance(participant_id, int) else None


def remember_participant(session, code: str, participant_id: int) -> None:
    joined = session.get(PLAYERS_KEY, {})
    if not isinstance(joined, dict):
        joined = {}
    joined[code.upper()] = participant_id
    # Keep the cookie small: the most recent sessions only.
    session[PLAYERS_KEY] = dict(list(joined.items())[-8:])
