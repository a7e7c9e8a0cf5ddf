"""The web processes' part in moving quizzes on (decision 10).

Each web process checks, a few times a second, the deadlines of the sessions it has
sockets for, and closes or advances them through the same services as the worker's
timers and the sweep. Those lock the session row, so a session moves once, whoever
sees its deadline first; with every worker gone, a quiz still runs to its end.
"""

from leaderboard.threads import db

from . import services


async def move_sessions_on(session_ids: list[int]) -> None:
    await db(services.sessions_move_on)(session_ids=session_ids)
