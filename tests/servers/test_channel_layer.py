"""Publishing through channels_redis's pub/sub layer as mmo/servers/channel_layer.py reads it."""

import asyncio
import uuid

import pytest
from channels.layers import InMemoryChannelLayer
from channels_redis.pubsub import RedisPubSubChannelLayer
from django.conf import settings

from mmo.redis_client import async_client
from mmo.servers.channel_layer import group_route
from movement.interest import _batch_sender


def two_hosts() -> list[str]:
    """One Redis server under two names, as a sharded deployment has two servers."""
    other_name = settings.REDIS_URL.replace("127.0.0.1", "localhost")
    assert other_name != settings.REDIS_URL
    return [settings.REDIS_URL, other_name]


def two_host_layer(prefix: str) -> RedisPubSubChannelLayer:
    return RedisPubSubChannelLayer(hosts=two_hosts(), prefix=prefix)


@pytest.mark.asyncio
async def test_events_are_published_where_group_send_would_publish_them(requires_redis):
    prefix = f"mmo-test-route-{uuid.uuid4().hex[:8]}"
    publishing, listening = two_host_layer(prefix), two_host_layer(prefix)  # two processes
    groups = [f"cell-{n}" for n in range(12)]
    channel = await listening.new_channel()
    for group in groups:
        await listening.group_add(group, channel)
    await asyncio.sleep(0.2)  # subscriptions are asynchronous
    try:
        route = group_route(publishing)
        async with _batch_sender(publishing) as send:
            await send([(group, {"type": "player.moved", "group": group}) for group in groups])
        heard = [await asyncio.wait_for(listening.receive(channel), 5) for _ in groups]
    finally:
        await publishing.flush()
        await listening.flush()

    assert sorted(event["group"] for event in heard) == sorted(groups)
    assert {route(group)[0] for group in groups} == set(two_hosts())  # both hosts had some


@pytest.mark.asyncio
async def test_the_process_client_publishes_for_the_cache_s_own_redis(requires_redis):
    layer = RedisPubSubChannelLayer(**settings.CHANNEL_LAYERS["default"]["CONFIG"])
    try:
        address, _ = group_route(layer)("cell-0")
    finally:
        await layer.flush()

    assert async_client(address) is async_client()


@pytest.mark.asyncio
async def test_other_layers_send_each_event_through_group_send():
    layer = InMemoryChannelLayer()
    channel = await layer.new_channel()
    await layer.group_add("cell-1", channel)

    async with _batch_sender(layer) as send:
        await send([("cell-1", {"type": "player.moved", "n": 1})])

    assert group_route(layer) is None
    assert (await layer.receive(channel))["n"] == 1
