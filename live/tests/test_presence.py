import asyncio

import pytest

from live import presence
from live.hub import Hub
from live.outlet import Outlet


class Phone:
    def __init__(self, person_id: int):
        self.kind: str = "player"
        self.label: str | None = None
        self.person_id: int | None = person_id
        self.outlet = Outlet(send=None, on_stuck=lambda: None)


@pytest.mark.asyncio
async def test_a_player_counts_as_connected_as_soon_as_their_socket_joins(settings):
    settings.ELSA = {**settings.ELSA, "PRESENCE_SECONDS": 60}  # no beat during the test
    hub = Hub()
    await hub.attach(991, Phone(7))
    for _ in range(50):  # marked on the hub's next poll (20 ms), not at the next beat
        if presence.present(991) == {7}:
            break
        await asyncio.sleep(0.02)
    assert presence.present(991) == {7}
