from types import SimpleNamespace

import pytest

from live.limits import Sockets, TokenBucket


def test_a_bucket_allows_its_burst_then_refuses():
    bucket = TokenBucket(rate=0.001, burst=3)
    assert [bucket.take() for _ in range(4)] == [True, True, True, False]


def test_rate_zero_means_no_limit():
    bucket = TokenBucket(rate=0, burst=0)
    assert all(bucket.take() for _ in range(100))


@pytest.mark.asyncio
async def test_a_message_refused_for_its_address_costs_the_person_nothing(settings):
    settings.ELSA = {**settings.ELSA, "WS_MESSAGES_PER_SECOND": 0.001, "WS_MESSAGE_BURST": 2,
                     "WS_ADDRESS_MESSAGES_PER_SECOND": 0.001, "WS_ADDRESS_MESSAGE_BURST": 2}
    sockets = Sockets()
    crowd = SimpleNamespace(scope={"client": ("10.0.0.9", 1)})
    mine = SimpleNamespace(scope={"client": ("10.0.0.9", 2)})
    await sockets.admit(crowd, person_id=1)
    await sockets.admit(mine, person_id=2)
    assert sockets.allow_message(crowd) and sockets.allow_message(crowd)  # the address's budget is spent
    assert not sockets.allow_message(mine)
    assert sockets.people[2].bucket.tokens == 2  # refused by the address: the person paid nothing
