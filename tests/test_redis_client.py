"""mmo/redis_client.py: one redis-py client per server for the cache, one configuration for all."""

import asyncio
import contextvars
import threading

import pytest
from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.cache import caches

from mmo.redis_client import async_client


def redis_client_of(cache):
    return cache.client.get_client(write=True)


def in_another_thread(function):
    result = []
    thread = threading.Thread(target=lambda: result.append(function()))
    thread.start()
    thread.join()
    return result[0]


def test_every_thread_cache_object_uses_the_same_client(requires_redis):
    here = caches["default"]
    there = in_another_thread(lambda: caches["default"])

    assert there is not here  # Django's cache objects stay per thread
    assert redis_client_of(there) is redis_client_of(here)


def test_what_one_cache_object_stores_another_reads(requires_redis):
    in_another_thread(lambda: caches["default"].set("shared-client-probe", 42, 30))

    assert caches["default"].get("shared-client-probe") == 42


def test_another_server_gets_a_client_of_its_own(requires_redis, settings):
    here = redis_client_of(caches["default"])
    settings.CACHES = {
        "default": {**settings.CACHES["default"], "LOCATION": "redis://127.0.0.1:9/0"}
    }

    elsewhere = redis_client_of(caches["default"])

    assert elsewhere is not here
    assert elsewhere.connection_pool.connection_kwargs["port"] == 9


def _cache_and_client():
    cache = caches["default"]
    cache.set("shared-client-probe", 1, 5)
    assert cache.get("shared-client-probe") == 1
    return cache, cache.client.get_client()


@pytest.mark.asyncio
async def test_connections_have_caches_of_their_own_but_share_one_redis_client(requires_redis):
    def as_a_connection():  # a task with a context of its own, as each WebSocket has
        task = sync_to_async(_cache_and_client)()
        return asyncio.create_task(task, context=contextvars.Context())

    (first_cache, first_client), (second_cache, second_client) = await asyncio.gather(
        as_a_connection(), as_a_connection()
    )

    assert first_cache is not second_cache
    assert first_client is second_client


@pytest.mark.asyncio
async def test_presence_and_interest_share_the_loop_s_one_asyncio_client(requires_redis):
    from movement.world import World

    world = World(asyncio.get_running_loop())

    assert world.presence.redis is async_client()
    assert async_client(settings.REDIS_URL) is async_client()


@pytest.mark.asyncio
async def test_the_asyncio_client_has_the_cache_s_url_timeouts_and_pool_size(requires_redis):
    cache_pool = redis_client_of(caches["default"]).connection_pool
    pool = async_client().connection_pool

    for option in ("host", "port", "db", "socket_timeout", "socket_connect_timeout"):
        assert pool.connection_kwargs.get(option) == cache_pool.connection_kwargs.get(option)
    assert pool.max_connections == cache_pool.max_connections == settings.REDIS_MAX_CONNECTIONS
    assert pool.connection_kwargs["socket_timeout"] == settings.REDIS_TIMEOUT


@pytest.mark.asyncio
async def test_new_connections_do_not_look_up_the_library_version(requires_redis, monkeypatch):
    """Each client names its library version without a scan of the installed packages."""
    import redis.utils
    from channels.layers import get_channel_layer

    def scan(*args, **kwargs):
        raise AssertionError("redis-py looked its version up")

    monkeypatch.setattr(redis.utils, "get_lib_version", scan)

    client = async_client()
    await client.connection_pool.disconnect()  # the next command opens a connection anew
    assert await client.ping()
    cache_client = redis_client_of(caches["default"])
    cache_client.connection_pool.disconnect()
    assert cache_client.ping()
    layer = get_channel_layer()
    await layer.group_add("driver-info-probe", await layer.new_channel())
    await layer.group_discard("driver-info-probe", "driver-info-probe")
