"""
Cache keys, reads that fall back to the database, and invalidation after commit.

Redis errors never reach callers: django-redis runs with IGNORE_EXCEPTIONS, so
a read during an outage is a miss (the loader asks the database) and a write
or a delete is skipped.
"""

from collections.abc import Callable, Iterable
from typing import TypeVar

from django.core.cache import BaseCache, caches
from django.core.signals import setting_changed
from django.db import transaction
from django.dispatch import receiver

T = TypeVar("T")

PLAYER_TTL = 300  # seconds; the 5 minutes of player state
SESSION_TTL = 300
WORLD_TTL = 3600  # active areas and flags: changes invalidate them anyway


_shared: BaseCache | None = None


def shared_cache() -> BaseCache:
    """
    The process's one object for the default cache. Django's own `cache` is one
    per thread and per asyncio task (an asgiref Local): every game socket's task
    would build a backend of its own on its first read (the backend, its client,
    serializer and compressor, redis-py's client: about 3.5 KiB) and keep it for
    as long as the socket lives. Both configured backends may be shared between
    threads: django-redis through redis-py's connection pool, locmem behind its lock.
    """
    global _shared
    if _shared is None:
        _shared = caches.create_connection("default")
    return _shared


@receiver(setting_changed)
def _forget_shared_cache(*, setting, **kwargs):
    global _shared
    if setting == "CACHES":
        _shared = None


def key(*parts: object) -> str:
    """One spelling for every cache key: `key("player", id)` → "player:<id>"."""
    return ":".join(str(part) for part in parts)


def get_many(cache_keys: Iterable[str]) -> dict[str, object]:
    """The cached ones of these keys, in one round trip: for `get_or_load(..., cached=)`."""
    return shared_cache().get_many(list(cache_keys))


def get_or_load(
    cache_key: str,
    loader: Callable[[], T | None],
    *,
    timeout: int,
    cached: dict[str, object] | None = None,
) -> T | None:
    """
    The cached value, or the loader's (stored for next time unless None).
    With `cached`, what an earlier get_many found stands for the cache.
    """
    cache = shared_cache()
    value = cache.get(cache_key) if cached is None else cached.get(cache_key)
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
    cache = shared_cache()
    cache.delete_many(cache_keys)
    transaction.on_commit(lambda: cache.delete_many(cache_keys))
