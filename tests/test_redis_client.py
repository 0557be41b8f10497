"""django-redis through mmo/redis_client.py: one redis-py client per server."""

import threading

from django.core.cache import caches


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
