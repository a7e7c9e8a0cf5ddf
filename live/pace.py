"""How often a web process's rooms tick: drawing may take a share of its event loop, and
a late loop slows every room (live/hub.py measures what this rule is given)."""

import math
from typing import Collection, Iterable

from django.conf import settings

ROOM_SHARE = 0.5  # of FANOUT_SHARE, what one room's drawing may take
LAG_ALLOWANCE = 0.02  # loop lag that doubles every room's tick interval
MAX_BASE_INTERVAL = 2.0  # what drawing alone may stretch a tick to
MAX_INTERVAL = 5.0


def ticks_per_second(pace: float, changes: float) -> float:
    """How often a room ticks at `pace` if it changes `changes` times a second at random:
    after a tick it waits `pace`, then ticks at once if anything changed meanwhile, else at
    its next change. A room that changes all the time ticks every `pace`; one that changes
    twice a second ticks about twice a second whatever the pace under half a second."""
    return changes / (changes * pace + math.exp(-changes * pace))


def drawing_share(pace: float, rooms: Iterable[tuple[float, float]]) -> float:
    """The share of the loop that drawing takes at `pace`: each room's drawing (seconds
    a tick) times its ticks a second, for (cost, changes a second) of each room."""
    return sum(cost * ticks_per_second(pace, changes) for cost, changes in rooms)


def interval(rooms: Collection[tuple[float, float]], lag: float = 0.0, longest: float = 0.0) -> float:
    """How often a busy room ticks, the same for every room of this process.

    Drawing a tick (rendering, and one write per socket) is the hub's main cost, and it
    runs on the event loop that also takes the answers. Drawing may take at most
    FANOUT_SHARE of the loop: the interval is the shortest (from TICK_SECONDS) at which the
    rooms' drawing, each room's measured cost of a tick (`rooms`: cost, changes a second)
    times how often it ticks at that interval, fits in that share. A room that changes
    less often than it may tick costs only its changes: 200 classes of 20 answering twice
    a second each tick as their changes come, while a round of all of them would not fit
    in the share; a room of 5,000 that changes all the time ticks as slowly as its cost
    needs. One room's drawing (`longest`: the dearest busy room's) is one long stretch of
    the loop: drawn in steps, with the answers' batches going first between them
    (`send_in_steps`), but the rest of the loop's work waits for it; so one room may take
    at most ROOM_SHARE of that share (a room of 5,000, 130 ms of drawing, ticks at most
    every 0.43 s, leaving the loop room between its ticks). A faster machine ticks
    faster. When the loop still runs late (`lag`: answers, connects and question changes
    are more than it can do at once), every room ticks slower again: those go first, the
    leaderboard catches up (degrade, never collapse)."""
    share = settings.ELSA["FANOUT_SHARE"]
    fastest = max(settings.ELSA["TICK_SECONDS"], longest / (share * ROOM_SHARE))
    if fastest >= MAX_BASE_INTERVAL or drawing_share(fastest, rooms) <= share:
        base = min(MAX_BASE_INTERVAL, fastest)
    elif drawing_share(MAX_BASE_INTERVAL, rooms) > share:
        base = MAX_BASE_INTERVAL
    else:  # the share falls as the interval grows: halve the bracket until within 1%
        low, base = fastest, MAX_BASE_INTERVAL
        while base - low > 0.01 * base:
            middle = (low + base) / 2
            if drawing_share(middle, rooms) <= share:
                base = middle
            else:
                low = middle
    return min(MAX_INTERVAL, base * (1 + lag / LAG_ALLOWANCE))
