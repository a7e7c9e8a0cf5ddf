import time


def server_time(request) -> dict:
    """The server's clock, so countdowns follow the server's deadline, not the phone's clock."""
    return {"server_now_ms": int(time.time() * 1000)}
