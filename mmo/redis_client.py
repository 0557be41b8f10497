"""
One Redis client configuration for the whole process: django-redis's cache
(one redis-py client per server and client class) and the asyncio client the
presence and the interest cells share, with the cache's URL, timeouts and pool
size.
"""

import asyncio
import threading
import weakref

import redis.asyncio
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django_redis.pool import ConnectionFactory


class SharedClientConnectionFactory(ConnectionFactory):
    """
    django-redis connection factory that hands out the same client again.

    Django builds a cache object per thread, and under ASGI one for every
    request; django-redis then builds a new redis-py client for it, whose
    constructor registers some 170 response callbacks: more CPU than the
    request's own cache reads. The client is safe to share between threads:
    each command borrows a connection from the pool, which django-redis
    already keeps per server.
    """

    _clients: dict = {}
    _lock = threading.Lock()

    def get_connection(self, params):
        key = (
            params["url"],
            self.redis_client_cls,
            repr(sorted(self.redis_client_cls_kwargs.items())),
        )
        client = self._clients.get(key)
        if client is None:
            with self._lock:
                client = self._clients.get(key)
                if client is None:
                    client = self._clients[key] = super().get_connection(params)
        return client


def client_options() -> dict:
    """
    Timeouts and pool size of every Redis client of the process: those
    django-redis's cache is configured with (settings.CACHES), so that the
    presence and the interest cells give up as soon as the cache does.
    """
    cache = settings.CACHES["default"]
    if cache["BACKEND"] != "django_redis.cache.RedisCache":
        raise ImproperlyConfigured("The asyncio Redis client follows a django-redis cache.")
    options = cache.get("OPTIONS", {})
    return {
        "socket_timeout": options.get("SOCKET_TIMEOUT"),
        "socket_connect_timeout": options.get("SOCKET_CONNECT_TIMEOUT"),
        **options.get("CONNECTION_POOL_KWARGS", {}),
    }


_async_clients: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict]" = (
    weakref.WeakKeyDictionary()
)


def async_client(url: str | None = None) -> redis.asyncio.Redis:
    """
    The running event loop's asyncio client of the Redis server at `url` (the
    cache's, by default), shared by the presence and the interest cells: one
    pool per server, with the cache's timeouts and pool size. Its connections
    belong to the loop, hence a client per loop.
    """
    url = url or settings.CACHES["default"]["LOCATION"]
    clients = _async_clients.setdefault(asyncio.get_running_loop(), {})
    client = clients.get(url)
    if client is None:
        client = clients[url] = redis.asyncio.Redis.from_url(url, **client_options())
    return client
