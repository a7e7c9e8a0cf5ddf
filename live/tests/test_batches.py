import asyncio

import pytest

from live.batches import Batches


class Recorder:
    """A batch runner that records each batch and takes `seconds` over it."""

    def __init__(self, seconds: float = 0.01):
        self.seconds = seconds
        self.batches: list[list[int]] = []

    async def __call__(self, items: list[int]) -> list:
        self.batches.append(list(items))
        await asyncio.sleep(self.seconds)
        return [ValueError(f"odd {n}") if n % 2 else n * 10 for n in items]


async def outcome(batches: Batches, n: int):
    try:
        return await batches.call(n)
    except ValueError as error:
        return str(error)


@pytest.mark.asyncio
async def test_a_call_alone_runs_at_once_and_calls_meanwhile_go_together_in_the_next_batch():
    runner = Recorder()
    batches: Batches[int, int] = Batches(runner)
    first = asyncio.ensure_future(outcome(batches, 2))
    await asyncio.sleep(0)  # the first batch is running
    rest = [asyncio.ensure_future(outcome(batches, n)) for n in range(3, 9)]
    assert await asyncio.gather(first, *rest) == [20, "odd 3", 40, "odd 5", 60, "odd 7", 80]
    assert runner.batches == [[2], [3, 4, 5, 6, 7, 8]]


@pytest.mark.asyncio
async def test_batches_are_at_most_max_size():
    runner = Recorder()
    batches: Batches[int, int] = Batches(runner, max_size=3)
    await asyncio.gather(*(outcome(batches, n) for n in range(8)))
    assert [len(batch) for batch in runner.batches] == [3, 3, 2]


@pytest.mark.asyncio
async def test_a_batch_that_fails_fails_each_of_its_calls_and_the_next_batch_still_runs():
    calls = []

    async def flaky(items):
        calls.append(items)
        if len(calls) == 1:
            raise ConnectionError("database away")
        return items

    batches: Batches[int, int] = Batches(flaky)
    first = asyncio.ensure_future(batches.call(1))
    await asyncio.sleep(0)
    second = asyncio.ensure_future(batches.call(2))
    with pytest.raises(ConnectionError):
        await first
    assert await second == 2


@pytest.mark.asyncio
async def test_a_caller_that_gives_up_is_left_out_and_holds_no_one_up():
    runner = Recorder()
    batches: Batches[int, int] = Batches(runner)
    first = asyncio.ensure_future(batches.call(2))
    await asyncio.sleep(0)
    gone = asyncio.ensure_future(batches.call(4))
    stays = asyncio.ensure_future(batches.call(6))
    await asyncio.sleep(0)
    gone.cancel()  # its socket closed while it waited
    assert await first == 20 and await stays == 60
    assert runner.batches == [[2], [6]]


@pytest.mark.asyncio
async def test_a_runner_that_miscounts_fails_its_calls_instead_of_leaving_them_waiting():
    async def short(items):
        return items[:-1]

    batches: Batches[int, int] = Batches(short)
    with pytest.raises(RuntimeError):
        await asyncio.wait_for(batches.call(1), timeout=1)
