"""Publishing through channels_redis's pub/sub layer as mmo/servers/channel_layer.py reads it."""

import asyncio
import uuid

import pytest
from channels.layers import InMemoryChannelLayer, get_channel_layer
from channels_redis.pubsub import RedisPubSubChannelLayer
from django.conf import settings

from mmo.realtime import Memberships, Outbox, batch_sender
from mmo.redis_client import async_client
from mmo.servers.channel_layer import group_route, pubsub_layer_problem, subscriber_problem


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
        async with batch_sender(publishing) as send:
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

    async with batch_sender(layer) as send:
        await send([("cell-1", {"type": "player.moved", "n": 1})])

    assert group_route(layer) is None
    assert (await layer.receive(channel))["n"] == 1


@pytest.mark.asyncio
async def test_the_outbox_publishes_what_it_is_given_in_order_while_the_layer_s_lock_is_held(
    requires_redis,
):
    # The layer's own publishing waits behind one lock per Redis host, shared
    # with its subscriptions; the outbox's batches do not.
    config = settings.CHANNEL_LAYERS["default"]["CONFIG"]
    listening = RedisPubSubChannelLayer(**config)
    channel = await listening.new_channel()
    await listening.group_add("room.outbox-test", channel)
    await asyncio.sleep(0.2)  # subscriptions are asynchronous
    layer = get_channel_layer()
    outbox = Outbox()
    sending = asyncio.create_task(outbox.send_forever(layer))
    shards = layer._get_layer()._shards
    try:
        for shard in shards:
            await shard._lock.acquire()
        for n in range(30):
            outbox.send("room.outbox-test", {"type": "room.message", "n": n})
        heard = [await asyncio.wait_for(listening.receive(channel), 5) for _ in range(30)]
    finally:
        for shard in shards:
            if shard._lock.locked():
                shard._lock.release()
        sending.cancel()
        await listening.flush()

    assert [event["n"] for event in heard] == list(range(30))


@pytest.mark.asyncio
async def test_the_outbox_goes_on_sending_after_a_batch_the_layer_refused(caplog):
    layer = InMemoryChannelLayer()
    channel = await layer.new_channel()
    await layer.group_add("room.1", channel)
    outbox = Outbox()
    sending = asyncio.create_task(outbox.send_forever(layer))
    try:
        outbox.send("not a group name", {"type": "room.message", "n": 0})
        await asyncio.sleep(0.05)
        outbox.send("room.1", {"type": "room.message", "n": 1})
        heard = await asyncio.wait_for(layer.receive(channel), 5)
    finally:
        sending.cancel()

    assert heard["n"] == 1
    assert "could not publish 1 events" in caplog.text


@pytest.mark.asyncio
async def test_the_configured_layer_has_the_internals_read_for_batches(requires_redis):
    # Fails when an upgrade of channels_redis changes what mmo/servers/channel_layer.py reads.
    layer = RedisPubSubChannelLayer(**settings.CHANNEL_LAYERS["default"]["CONFIG"])
    try:
        assert pubsub_layer_problem(layer) is None
        assert subscriber_problem(layer) is None
    finally:
        await layer.flush()


async def subscribe_calls() -> int:
    stats = await async_client().info("commandstats")
    return stats.get("cmdstat_subscribe", {}).get("calls", 0)


@pytest.mark.asyncio
async def test_groups_joined_at_once_are_subscribed_in_one_command_and_heard(requires_redis):
    prefix = f"mmo-test-join-{uuid.uuid4().hex[:8]}"
    joining = RedisPubSubChannelLayer(
        **{**settings.CHANNEL_LAYERS["default"]["CONFIG"], "prefix": prefix}
    )
    publishing = RedisPubSubChannelLayer(
        **{**settings.CHANNEL_LAYERS["default"]["CONFIG"], "prefix": prefix}
    )
    channel = await joining.new_channel()
    memberships = Memberships(joining, channel)
    groups = [f"cell.{n}.0" for n in range(200)]
    try:
        await memberships.join("cell.warm.0")  # the subscriber's connection is open
        before = await subscribe_calls()
        await asyncio.gather(*(memberships.join(group) for group in groups))
        subscribed = await subscribe_calls() - before
        await asyncio.sleep(0.2)  # subscriptions are asynchronous
        for group in groups:
            await publishing.group_send(group, {"type": "player.moved", "group": group})
        heard = [await asyncio.wait_for(joining.receive(channel), 5) for _ in groups]
    finally:
        await publishing.flush()
        await joining.flush()

    assert subscribed == 1
    assert sorted(event["group"] for event in heard) == sorted(groups)


@pytest.mark.asyncio
async def test_a_group_left_while_it_was_being_joined_is_not_heard(requires_redis):
    layer = RedisPubSubChannelLayer(**settings.CHANNEL_LAYERS["default"]["CONFIG"])
    channel = await layer.new_channel()
    memberships = Memberships(layer, channel)
    try:
        joining = asyncio.create_task(memberships.join("room.left-at-once"))
        await asyncio.sleep(0)  # asked for, not yet sent
        await memberships.leave("room.left-at-once")
        await joining
        group_channel = layer._get_layer()._get_group_channel_name("room.left-at-once")
        still_in = group_channel in layer._get_layer().groups
    finally:
        await layer.flush()

    assert not still_in
