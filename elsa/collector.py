"""The web process's cycle collector, tuned for a process that holds thousands of sockets.

Python's collector scans every tracked object in a full (oldest-generation) collection.
A web process holding a room of 5,000 sockets tracks millions of objects, and with the
default thresholds (700, 10, 10) a full collection came every few seconds while answers
arrived, each stopping the event loop for 0.5-0.95 s and collecting almost nothing: the
tail of "locked in" (docs/performance.md, measured with a gc callback in the web process).

Young collections run less often (every 50,000 net allocations, not 700), so the
short-lived objects of a request or a message are mostly freed by reference counting
before a collection sees them and are not promoted; full collections are checked after
100 middle ones, not 10. What the process loaded at start-up (Django, the apps, their
modules) is frozen out of every later collection. Cyclic garbage waits longer to be
freed: at most the young and middle generations' worth, some tens of megabytes.
"""

import gc

THRESHOLDS = (50_000, 20, 100)


def tune() -> None:
    """Call once the application is loaded, before it serves anything."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*THRESHOLDS)
