"""The transport's metrics: frames written, tick times, open sockets by kind.

Counted as things happen in this process (frames, ticks), or counted at scrape time
from the hub's rooms (open sockets), so the socket gauge cannot drift from the rooms."""

from typing import Callable

from prometheus_client import Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily

from monitoring.metrics import REGISTRY

frames_sent = Counter(
    "elsa_frames_sent",
    "Frames this process's hub offered to its sockets (written, or kept for a socket that is not reading).",
    registry=REGISTRY,
)

tick_seconds = Histogram(
    "elsa_tick_seconds",
    "Time of one hub tick of one room: redraw what changed once, offer it to the room's sockets.",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
    registry=REGISTRY,
)


loop_lag = Gauge(
    "elsa_event_loop_lag_seconds",
    "How late this process's event loop runs (smoothed): when it grows, leaderboards tick slower.",
    registry=REGISTRY,
)

tick_interval = Gauge(
    "elsa_tick_interval_seconds",
    "How often this process's busy rooms may tick now (live.pace.interval): their drawing's "
    "share of the loop, stretched by the loop's lag.",
    registry=REGISTRY,
)

live_events = Counter(
    "elsa_live_events_received",
    "Live events this process's hub received, by whether it has sockets in the event's room "
    "(it subscribes per room, so 'no' is only a room that ended a moment ago).",
    ["for_local_room"],
    registry=REGISTRY,
)
_live_event_children = {True: live_events.labels("yes"), False: live_events.labels("no")}


def live_event(*, local: bool) -> None:
    _live_event_children[local].inc()


def frames_written(count: int) -> None:
    if count:
        frames_sent.inc(count)


socket_kinds: set[str] = set()  # every kind of live socket (live.consumers)


class SocketCollector:
    """Open WebSockets of this process, by kind, counted from the hub's rooms at scrape time.

    Runs on the view's thread while the event loop may add or drop sockets: `list()` of
    a dict's values or a set is one C call under the GIL, so it sees a consistent copy."""

    def __init__(self, rooms: Callable[[], dict]):
        self.rooms = rooms

    def describe(self):
        yield GaugeMetricFamily("elsa_open_websockets", "")

    def collect(self):
        counts = dict.fromkeys(socket_kinds, 0)
        for room in list(self.rooms().values()):
            for client in list(room.clients):
                counts[client.kind] = counts.get(client.kind, 0) + 1
        family = GaugeMetricFamily(
            "elsa_open_websockets", "WebSockets open in this process's hub, by kind.", labels=["kind"]
        )
        for kind, count in sorted(counts.items()):
            family.add_metric([kind], count)
        yield family
