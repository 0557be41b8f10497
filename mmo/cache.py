"""
Cache keys, reads that fall back to the database, and invalidation after commit.

Redis errors never reach callers: django-redis runs with IGNORE_EXCEPTIONS, so
a read during an outage is a miss (the loader asks the database) and a write
or a delete is skipped.
"""

import threading
from collections.abc import Callable, Iterable
from typing import TypeVar

from django.core.cache import cache
from django.db import transaction
from django_redis.pool import ConnectionFactory

T = TypeVar("T")

PLAYER_TTL = 300  # seconds; the 5 minutes of player state
SESSION_TTL = 300
WORLD_TTL = 3600  # active areas and flags: changes invalidate them anyway


def key(*parts: object) -> str:
    """One spelling for every cache key: `key("player", id)` → "player:<id>"."""
    return ":".join(str(part) for part in parts)


def get_or_load(cache_key: str, loader: Callable[[], T | None], *, timeout: int) -> T | None:
    """The cached value, or the loader's (stored for next time unless None)."""
    value = cache.get(cache_key)
    if value is None:
        value = loader()
        if value is not None:
            cache.set(cache_key, value, timeout)
    return value


def invalidate(cache_keys: Iterable[str]) -> None:
    """
    Drop keys now and again after the surrounding transaction commits: the
    second delete removes a value that a concurrent reader loaded from the
    database before the commit.
    """
    cache_keys = list(cache_keys)
    cache.delete_many(cache_keys)
    transaction.on_commit(lambda: cache.delete_many(cache_keys))


class SharedClientFactory(ConnectionFactory):
    """
    django-redis connections with one client per server for the whole process.

    Django keeps a cache object per asynchronous context, and django-redis a
    Redis client per cache object. Every WebSocket connection is a context of
    its own, so each held a client for as long as it lasted: about 13 KiB, most
    of it the client's table of reply callbacks. Clients are safe to share
    between threads; their connections come from the pool, which django-redis
    already shares per server.
    """

    _clients: dict[str, object] = {}
    _lock = threading.Lock()

    def get_connection(self, params):
        url = params["url"]
        client = self._clients.get(url)
        if client is None:
            with self._lock:
                client = self._clients.get(url)
                if client is None:
                    client = self._clients[url] = super().get_connection(params)
        return client
