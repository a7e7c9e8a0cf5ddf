"""Redis clients: one pool per process for sync code, one per event loop for async code."""

import asyncio
import weakref

import redis
import redis.asyncio
from django.conf import settings

_sync_client: redis.Redis | None = None
_async_clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, redis.asyncio.Redis] = weakref.WeakKeyDictionary()


def sync_client() -> redis.Redis:
    global _sync_client
    if _sync_client is None:
        # redis-py resets the pool by itself after a fork (Celery's prefork children).
        _sync_client = redis.Redis.from_url(
            settings.REDIS_URL, socket_timeout=5, socket_connect_timeout=2, health_check_interval=30
        )
    return _sync_client


def async_client() -> redis.asyncio.Redis:
    # Keyed by the loop itself, weakly: a loop's id can be reused by a later loop once the
    # first is gone, and a client bound to a dead loop never answers.
    loop = asyncio.get_running_loop()
    client = _async_clients.get(loop)
    if client is None:
        # A blocking pool waits for a free connection instead of raising "Too many
        # connections" when a burst of connects arrives (a pitfall met with channels-redis's defaults).
        pool = redis.asyncio.BlockingConnectionPool.from_url(
            settings.REDIS_URL, max_connections=128, timeout=20, socket_connect_timeout=2
        )
        client = _async_clients[loop] = redis.asyncio.Redis(connection_pool=pool)
    return client
