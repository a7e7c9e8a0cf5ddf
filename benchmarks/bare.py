"""The physical limit the hub is compared with: one prepared frame broadcast to N sockets.

A bare ASGI app (no Django, no Redis) served by the same uvicorn command line as the
product. Every socket gets the current frame when it connects, as the hub's snapshot does;
`POST /broadcast` then sends one frame to every socket per tick, for the given seconds,
paced by the hub's own rule (live.pace.interval: writing may take the given share of the
loop, and ticks come no faster than the given fastest tick), and answers with when each
tick started. The frame is a real leaderboard frame with its version number replaced by the
tick's, so clients measure it exactly as they measure the hub's.
"""

import asyncio
import json
import time

sockets: set = set()
frame = {"before": '<section id="leaderboard" data-version="', "after": '"></section>', "version": 0}


def current() -> dict:
    return {"type": "websocket.send", "text": f"{frame['before']}{frame['version']}{frame['after']}"}


async def broadcast(fastest: float, share: float, seconds: float) -> list[tuple[int, float]]:
    ticks = []
    started = time.monotonic()
    next_tick, cost = started, 0.0
    while next_tick < started + seconds:
        await asyncio.sleep(max(0.0, next_tick - time.monotonic()))
        frame["version"] += 1
        ticks.append((frame["version"], time.time()))
        message = current()
        began = time.perf_counter()
        for send in list(sockets):
            try:
                await send(message)
            except Exception:  # gone between the list and the send
                sockets.discard(send)
        writing = time.perf_counter() - began
        cost = writing if not cost else 0.7 * cost + 0.3 * writing
        next_tick += max(fastest, cost / share)
    return ticks


async def http(scope, receive, send) -> None:
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    if scope["path"] == "/broadcast" and scope["method"] == "POST":
        request = json.loads(body)
        frame.update(before=request["before"], after=request["after"])
        ticks = await broadcast(request["fastest"], request["share"], request["seconds"])
        reply = {"ticks": ticks, "sockets": len(sockets)}
        status, content = 200, json.dumps(reply).encode()
    elif scope["path"] == "/healthz":
        status, content = 200, b"ok"
    else:
        status, content = 404, b"not found"
    await send({"type": "http.response.start", "status": status, "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": content})


async def websocket(scope, receive, send) -> None:
    await receive()  # websocket.connect
    await send({"type": "websocket.accept"})
    await send(current())
    sockets.add(send)
    try:
        while (await receive())["type"] != "websocket.disconnect":
            pass
    finally:
        sockets.discard(send)


async def application(scope, receive, send) -> None:
    if scope["type"] == "http":
        await http(scope, receive, send)
    elif scope["type"] == "websocket":
        await websocket(scope, receive, send)
