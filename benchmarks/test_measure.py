"""The benchmark's instruments, each checked against something that knows the answer."""

import asyncio
import os
import sys
import time
import uuid

import redis.asyncio

from elsa.processes import Process

from .measure import CountingProxy, Meter, fanout


def test_the_meter_counts_the_cpu_of_a_process_group_children_included(tmp_path):
    """A parent whose child burns CPU and writes down how much it used: the meter, which
    tracks the parent's process group, counts what the child reported."""
    report = tmp_path / "child-cpu"
    child = ("import time; sum(range(40_000_000)); "
             f"open({str(report)!r}, 'w').write(str(time.process_time())); time.sleep(60)")
    parent = f"import subprocess, sys, time; subprocess.Popen([sys.executable, '-c', {child!r}]); time.sleep(60)"
    server = os.environ["DATABASE_URL"].rsplit("/", 1)[0]
    meter = Meter(server, "no-such-database")
    process = Process("burner", [sys.executable, "-c", parent], env=dict(os.environ), log_path=tmp_path / "burner.log")
    try:
        process.start()
        meter.track("burner", process)
        deadline = time.monotonic() + 60
        while not report.exists() or not report.read_text():
            assert time.monotonic() < deadline, "the child never finished its work"
            time.sleep(0.1)
        used = meter.reading()["burner"]
    finally:
        process.stop()
        meter.stop()
    child_cpu = float(report.read_text())
    # /proc counts in clock ticks (user and system time each rounded down to one).
    tick = 2 / os.sysconf("SC_CLK_TCK")
    assert child_cpu - tick <= used <= child_cpu + 0.5, (child_cpu, used)


def test_the_proxy_counts_each_pubsub_message_it_delivers():
    async def scenario() -> int:
        publisher = redis.asyncio.Redis.from_url(os.environ["REDIS_URL"])
        proxy = CountingProxy(publisher.connection_pool.connection_kwargs["port"])
        subscriber = redis.asyncio.Redis(host="127.0.0.1", port=await proxy.start())
        pubsub = subscriber.pubsub()
        channel = f"bench-test-{uuid.uuid4()}"  # pub/sub is global to the server: a name of our own
        await pubsub.subscribe(channel)
        assert (await pubsub.get_message(timeout=5))["type"] == "subscribe"  # through the proxy
        for n in range(25):
            await publisher.publish(channel, "x" * (n * 5000))  # larger ones split across reads
        received = 0
        while received < 25 and await pubsub.get_message(timeout=5):
            received += 1
        await pubsub.aclose()
        await subscriber.aclose()
        await publisher.aclose()
        await proxy.stop()
        return proxy.messages

    assert asyncio.run(scenario()) == 25


def test_fanout_measures_each_socket_from_the_first_that_got_the_version():
    records = [
        {"versions": [[1, 10.00], [2, 10.50]]},
        {"versions": [[1, 10.02], [2, 10.51]]},
        {"versions": [[1, 10.04], [3, 11.00]]},  # missed 2: coalesced, counts nothing for it
    ]
    result = fanout(records, 9.0, 11.0)
    assert result["frames_per_s"] == 3.0  # 6 arrivals in 2 s (version 3 at 11.00 is inside)
    assert round(result["spread"]["max"]) == 40 and result["spread"]["n"] == 6
