import asyncio
import contextvars

import pytest
from asgiref.sync import sync_to_async
from django.core.cache import caches


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
