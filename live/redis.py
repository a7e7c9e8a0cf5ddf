"""Redis clients: one pool per process for sync code, one per event loop for async code."""

import asyncio

import redis
import redis.asyncio
from django.conf import settings

_sync_client: redis.Redis | None = None
_async_clients: dict[int, redis.asyncio.Redis] = {}


def sync_client() -> redis.Redis:
    global _sync_client
    if _sync_client is None:
        # redis-py resets the pool by itself after a fork (Celery's prefork children).
        _sync_client = redis.Redis.from_url(
            settings.REDIS_URL, socket_timeout=5, socket_connect_timeout=2, health_check_interval=30
        )
    return _sync_client


def async_client() -> redis.asyncio.Redis:
    loop_id = id(asyncio.get_running_loop())
    client = _async_clients.get(loop_id)
    if client is None:
        # A blocking pool waits for a free connection instead of raising "Too many
        # connections" when a burst of connects arrives (see DESIGN.md pitfalls).
        pool = redis.asyncio.BlockingConnectionPool.from_url(
            settings.REDIS_URL, max_connections=128, timeout=20, socket_connect_timeout=2
        )
        client = _async_clients[loop_id] = redis.asyncio.Redis(connection_pool=pool)
    return client
