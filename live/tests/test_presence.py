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


async def eventually(check, seconds: float = 5.0) -> bool:
    for _ in range(int(seconds / 0.02)):
        if check():
            return True
        await asyncio.sleep(0.02)
    return check()


@pytest.mark.asyncio
async def test_presence_is_what_the_live_processes_say_now(settings):
    settings.ELSA = {**settings.ELSA, "PRESENCE_SECONDS": 0.2}
    one, two = Hub(), Hub()  # two web processes serving one room
    ann, cat, bob = Phone(7), Phone(9), Phone(8)
    await one.attach(992, ann)
    await one.attach(992, cat)
    await two.attach(992, bob)
    assert await eventually(lambda: presence.present(992) == {7, 8, 9})
    one.detach(992, ann)  # Ann leaves: gone at the next beat of her process
    assert await eventually(lambda: presence.present(992) == {8, 9}, seconds=0.6)
    presence.vouch_now("a process that then dies", {992: {10}}, seconds=0.3)
    assert presence.present(992) == {8, 9, 10}
    assert await eventually(lambda: presence.present(992) == {8, 9}, seconds=1.0)
