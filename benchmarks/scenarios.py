"""The benchmark's scenarios, each one run of one size, all through the path a browser
uses (players join with the form and live on their WebSocket), returning its figures.

Each measured window runs from a mark before the load to a mark after its last frame;
its server cost is the CPU the web process(es), the worker, PostgreSQL and Redis used in
it (harness.cost)."""

import asyncio
import re
import statistics
import time
from concurrent.futures import ThreadPoolExecutor

from .harness import Harness, post_json, ws
from .joins import join_many
from .measure import CountingProxy, answer_to_screen, connected, exactness, fanout, summary


def submit_all(submit, items: list[tuple], threads: int) -> None:
    """Call submit(*item) for every item on `threads` threads, as a web process's thread
    pool would; each call gives its database connection back to the pool, as a request does."""
    from django.db import connection

    def one(item):
        try:
            submit(*item)
        finally:
            connection.close()

    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(one, items))


def lock_in(records: list[dict]) -> dict:
    return summary([r["locked_at"] - r["sent_at"] for r in records if r["locked_at"] and r["sent_at"]])


async def players_live(h: Harness, url: str, sessions: list, per: int, *,
                       threads: int = 32) -> tuple[dict, dict, float]:
    """`per` players join each session by the form, then open their sockets to `url`:
    (nicknames by session, socket URL by session, seconds the joins took)."""
    names, urls = {}, {}
    started = time.monotonic()
    sockets = []
    for session in sessions:
        names[session.pk] = [f"Player {n:05d}" for n in range(per)]
        urls[session.pk] = f"{ws(url)}/ws/play/{session.code}"
        cookies = await asyncio.to_thread(join_many, url, session.code, names[session.pk], threads=threads)
        sockets += [(urls[session.pk], cookie, h.args.spread) for cookie in cookies]
    join_seconds = time.monotonic() - started
    await h.load.open(sockets, origin=url)
    return names, urls, join_seconds


async def connect_wait(h: Harness, timeout: float = 180) -> float:
    started = time.monotonic()
    await h.load.wait(lambda s: s["ready"] == s["sockets"], timeout)
    return round(time.monotonic() - started, 1)


async def answer_window(h: Harness, sessions: list, urls: dict) -> tuple[dict, dict, dict[int, float]]:
    """Open every session's question, let every player answer within the spread, wait
    until all is scored and every socket holds the last board: (start, end, opened at)."""
    start = await h.mark()
    opened = {}
    for session in sessions:
        opened[session.pk], _ = await asyncio.to_thread(h.open_question, session.pk)
    await asyncio.sleep(h.args.spread + 0.5)
    ids = [s.pk for s in sessions]
    await h.wait_scored(ids, expected=(await h.load.status())["sent"])
    await h.caught_up({urls[sid]: h.events.last_version.get(sid, 0) for sid in ids})
    return start, await h.mark(), opened


async def room(h: Harness, players: int) -> dict:
    """One session, `players` players each answering one question within the spread."""

    url = h.stack.url(h.stack.web)
    [session] = await asyncio.to_thread(h.sessions, 1)
    names, urls, join_seconds = await players_live(h, url, [session], players)
    connect_seconds = await connect_wait(h)
    await asyncio.sleep(0.5)
    start, end, opened = await answer_window(h, [session], urls)
    records = await h.load.results()
    answers = await asyncio.to_thread(h.answers, [session.pk])
    live = connected(records)
    latencies, missing = answer_to_screen(answers, h.events, {session.pk: live}, h.args.sample)
    when = opened[session.pk]
    await asyncio.to_thread(h.close_question, session.pk)  # the reveal
    exact, _ = await h.settle([session], urls, names)
    h.templates[players] = await asyncio.to_thread(board_template, session.pk)
    await h.load.close()
    await asyncio.to_thread(h.finish, [session.pk])
    return {
        "players": players, "connected": len(live), "failed": len(records) - len(live),
        "dropped": sum(1 for r in records if r["dropped"]), "join_seconds": round(join_seconds, 1),
        "connect_seconds": connect_seconds, "answers": len(answers), "lock_in": lock_in(live),
        "question_delivery": summary([r["questions"]["1"] - when for r in live if "1" in r["questions"]]),
        "answer_to_screen": summary(latencies), "answer_to_screen_missing": missing,
        "last_answer_to_last_score_ms": round((max(a[3] for a in answers) - max(a[2] for a in answers)) * 1000, 1),
        "fanout": fanout(live, when + 0.5, when + h.args.spread),
        "cost": h.cost(start, end, web=[h.stack.web.name], per={"answers": len(answers)}),
        **exact,
    }


def board_template(session_id: int) -> list[str]:
    """The session's leaderboard frame as the hub renders it, split around its version."""
    from leaderboard import board, partials

    html = partials.board_html(board.top(session_id=session_id, limit=100))
    before, after = re.split(r'(?<=data-version=")\d+', html, maxsplit=1)
    return [before, after]


async def bare(h: Harness, players: int) -> dict:
    """The physical limit: the bare server sends the room's leaderboard frame (same size)
    to the same number of sockets, paced by the hub's rule, to the same clients."""
    from django.conf import settings

    template = h.templates[players]
    url = h.stack.url(h.stack.bare)
    await h.load.open([(f"{ws(url)}/ws/bare", "", 0)] * players, origin=url)
    await connect_wait(h)
    start = await h.mark()
    from live.pace import ROOM_SHARE

    # One room: the hub's rule gives it ROOM_SHARE of FANOUT_SHARE (live.pace.interval).
    pace = {"fastest": settings.ELSA["TICK_SECONDS"], "share": settings.ELSA["FANOUT_SHARE"] * ROOM_SHARE}
    body = {"before": template[0], "after": template[1], **pace, "seconds": h.args.spread}
    ticks = (await asyncio.to_thread(post_json, url + "/broadcast", body))["ticks"]
    await h.caught_up({f"{ws(url)}/ws/bare": ticks[-1][0]})
    end = await h.mark()
    records = connected(await h.load.results())
    await h.load.close()
    return {"players": players, "connected": len(records), "ticks": len(ticks),
            "fanout": fanout(records, ticks[0][1], ticks[0][1] + h.args.spread),
            "cost": h.cost(start, end, web=[h.stack.bare.name], per={}, with_backends=False)}


async def naive(h: Harness, players: int) -> dict:
    """The same room watched through the naive per-answer channel-layer broadcast
    (benchmarks/baseline.py); the answers enter through answer_submit from the harness."""
    from quizzes import services

    url = h.stack.url(h.stack.baseline)
    [session] = await asyncio.to_thread(h.sessions, 1)

    def make_players():
        return [services.participant_join(code=session.code, nickname=f"Naive {n:05d}").pk for n in range(players)]

    participant_ids = await asyncio.to_thread(make_players)
    feed = f"{ws(url)}/naive/{session.code}"
    await h.load.open([(feed, "", 0)] * players, origin=url)
    await connect_wait(h)
    start = await h.mark()
    opened, choice = await asyncio.to_thread(h.open_question, session.pk)
    began = time.monotonic()

    def submit(n: int, participant_id: int) -> None:
        time.sleep(max(0.0, began + n * h.args.spread / players - time.monotonic()))
        services.answer_submit(participant_id=participant_id, session_id=session.pk, choice_id=choice)

    await asyncio.to_thread(submit_all, submit, list(enumerate(participant_ids)), 8)
    await h.wait_scored([session.pk], expected=players)
    # The channel layer may drop frames (capacity, expiry): wait a while, not for ever.
    await h.caught_up({feed: h.events.last_version.get(session.pk, 0)}, timeout=10)
    end = await h.mark()
    records = connected(await h.load.results())
    answers = await asyncio.to_thread(h.answers, [session.pk])
    latencies, missing = answer_to_screen(answers, h.events, {session.pk: records}, h.args.sample)
    await h.load.close()
    await asyncio.to_thread(h.finish, [session.pk])
    return {
        "players": players, "connected": len(records), "failed": players - len(records), "answers": len(answers),
        "answer_to_screen": summary(latencies), "answer_to_screen_missing": missing,
        "frames_per_client": round(statistics.mean(r["frames"] for r in records), 1) if records else 0,
        "fanout": fanout(records, opened + 0.5, opened + h.args.spread),
        "cost": h.cost(start, end, web=[h.stack.baseline.name], per={"answers": len(answers)}),
    }


async def sessions(h: Harness, count: int, per: int) -> dict:
    """Many sessions at once, each with its own players answering its own question."""
    url = h.stack.url(h.stack.web)
    chosen = await asyncio.to_thread(h.sessions, count)
    names, urls, join_seconds = await players_live(h, url, chosen, per, threads=16)
    connect_seconds = await connect_wait(h)
    await asyncio.sleep(0.5)
    start, end, _ = await answer_window(h, chosen, urls)
    records = await h.load.results()
    ids = [s.pk for s in chosen]
    answers = await asyncio.to_thread(h.answers, ids)
    viewers, n = {}, 0
    for sid in ids:
        viewers[sid] = connected(records[n:n + per])
        n += per
    latencies, missing = answer_to_screen(answers, h.events, viewers, h.args.sample)
    exact, _ = await h.settle(chosen, urls, names)
    await h.load.close()
    await asyncio.to_thread(h.finish, ids)
    live = connected(records)
    return {
        "sessions": count, "players": count * per, "connected": len(live), "failed": len(records) - len(live),
        "dropped": sum(1 for r in records if r["dropped"]), "join_seconds": round(join_seconds, 1),
        "connect_seconds": connect_seconds, "answers": len(answers), "lock_in": lock_in(live),
        "answer_to_screen": summary(latencies), "answer_to_screen_missing": missing,
        "cost": h.cost(start, end, web=[h.stack.web.name], per={"answers": len(answers)}), **exact,
    }


async def burst(h: Harness, clients: int, seconds: float) -> dict:
    """`clients` sockets offered evenly over `seconds` (0: all at once, as fast as the
    generators open them): all accepted, no server error. Each socket's connect runs from
    its offer to its snapshot; the time the last one opened is at least `seconds`, and how
    far it runs past them is the server's delay."""
    url = h.stack.url(h.stack.web)
    [session] = await asyncio.to_thread(h.sessions, 1)
    log_offset = len(h.stack.web.output())
    start = await h.mark()
    await h.load.open([(f"{ws(url)}/ws/livescore/{session.code}", "", 0)] * clients, origin=url,
                      per_second=clients / seconds if seconds else None)
    await connect_wait(h, 60)
    end = await h.mark()
    records = await h.load.results()
    await h.load.close()
    await asyncio.to_thread(h.finish, [session.pk])
    accepted = connected(records)
    return {
        "clients": clients, "accepted": len(accepted), "with_snapshot": sum(1 for r in accepted if r["snapshot_at"]),
        "failed": clients - len(accepted),
        "opened_within_s": round(max(r["connected_at"] for r in accepted) - start["time"], 2) if accepted else None,
        "last_offered_s": round(max(r["offered_at"] for r in records) - start["time"], 2),
        "connect": summary([r["snapshot_at"] - r["offered_at"] for r in accepted if r["snapshot_at"]]),
        "server_errors": h.stack.server_errors(log_offset)[:5],
        "cost": h.cost(start, end, web=[h.stack.web.name], per={"connects": len(accepted)}),
    }


async def scoring(h: Harness, seconds: float, rate: float) -> dict:
    """Answers through answer_submit at `rate`/s for `seconds`, spread over sessions of 500."""
    from quizzes import services
    from quizzes.models import Participant
    from quizzes.nicknames import nickname_key

    total, per_session = int(seconds * rate), 500

    def setup():
        plan = []
        for session in h.sessions(-(-total // per_session)):
            names = [f"S{n:04d}" for n in range(per_session)]
            Participant.objects.bulk_create(
                [Participant(session=session, nickname=name, skeleton=nickname_key(name)) for name in names])
            services.leaderboard_rebuild(session.pk)
            _, choice = h.open_question(session.pk)
            plan += [(session.pk, pid, choice) for pid in session.participants.values_list("pk", flat=True)]
        return plan[:total], sorted({s for s, _, _ in plan[:total]})

    plan, ids = await asyncio.to_thread(setup)
    refused = []
    start = await h.mark()
    began = time.monotonic()

    def submit(n: int, item: tuple[int, int, int]) -> None:
        session_id, participant_id, choice = item
        time.sleep(max(0.0, began + n / rate - time.monotonic()))
        try:
            services.answer_submit(participant_id=participant_id, session_id=session_id, choice_id=choice)
        except services.AnswerRefused as error:
            refused.append(error.code)

    await asyncio.to_thread(submit_all, submit, list(enumerate(plan)), 12)
    offered_seconds = time.monotonic() - began
    await h.wait_scored(ids, expected=total - len(refused), timeout=300)
    end = await h.mark()
    answers = await asyncio.to_thread(h.answers, ids)
    scored = sorted(a[3] for a in answers)
    window = scored[-1] - scored[0]

    def audit():
        from quizzes.models import QuizSession

        return exactness(list(QuizSession.objects.filter(pk__in=ids)), {})

    exact = await asyncio.to_thread(audit)
    await asyncio.to_thread(h.finish, ids)
    return {
        "answers": len(answers), "refused": len(refused), "offered_per_s": round(total / offered_seconds, 1),
        "scored_per_s": round(len(scored) / window, 1) if window else None, "scoring_window_s": round(window, 1),
        "last_answer_to_last_score_ms": round((scored[-1] - max(a[2] for a in answers)) * 1000, 1),
        "scoring_lag": summary([a[3] - a[2] for a in answers]),
        "cost": h.cost(start, end, web=[h.stack.web.name], per={"answers": len(answers)}), **exact,
    }


async def fleet(h: Harness, processes: int, per_process: int, players: int) -> dict:
    """Several web processes, each serving its own sessions: how many live events each
    process receives (a counting proxy between it and Redis), against the events its own
    sessions published and those of all sessions."""
    proxies = [CountingProxy(h.stack.redis.port) for _ in range(processes)]
    webs = []
    for n, proxy in enumerate(proxies):
        port = await proxy.start()
        webs.append(h.stack.web_server(f"fleet-{n}", REDIS_URL=f"redis://127.0.0.1:{port}/0",
                                       DB_POOL_SIZE="4"))
    await asyncio.to_thread(h.stack.start_all, webs)
    for web in webs:
        h.meter.track(web.name, web)
    try:
        chosen = await asyncio.to_thread(h.sessions, processes * per_process)
        owner = {s.pk: n % processes for n, s in enumerate(chosen)}
        names, urls = {}, {}
        for n in range(processes):
            mine = [s for s in chosen if owner[s.pk] == n]
            got_names, got_urls, _ = await players_live(h, h.stack.url(webs[n]), mine, players, threads=16)
            names.update(got_names)
            urls.update(got_urls)
        await connect_wait(h)
        received = [p.messages for p in proxies]
        published = dict(h.events.published)
        start, end, _ = await answer_window(h, chosen, urls)
        received = [p.messages - before for p, before in zip(proxies, received)]
        events = {sid: h.events.published[sid] - published.get(sid, 0) for sid in owner}
        answers = await asyncio.to_thread(h.answers, list(owner))
        exact, records = await h.settle(chosen, urls, names)
        await h.load.close()
        await asyncio.to_thread(h.finish, list(owner))
    finally:
        await asyncio.to_thread(h.stack.stop, webs)
        for proxy in proxies:
            await proxy.stop()
    own = [sum(count for sid, count in events.items() if owner[sid] == n) for n in range(processes)]
    return {
        "processes": processes, "sessions": len(chosen), "players": len(chosen) * players,
        "connected": len(connected(records)), "answers": len(answers), "events_published": sum(events.values()),
        "per_process": [{"received": r, "own_sessions": o} for r, o in zip(received, own)],
        "received_over_own": round(sum(received) / sum(own), 2) if sum(own) else None,
        "cost": h.cost(start, end, web=[w.name for w in webs], per={"answers": len(answers)}), **exact,
    }
