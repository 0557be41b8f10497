"""
channels_redis's publish/subscribe layer, from the inside: where its
`group_send` publishes a group's events, and its `group_add` for many groups
at once.

The layer sends each publish and each subscription on its own, one at a time
behind one lock per Redis host; a turn of that lock costs a turn of the event
loop, which under load is milliseconds. The process's outbox publishes a
batch of events in one pipelined round trip per host instead (`group_route`),
and group memberships join a batch of groups with one SUBSCRIBE per host
(`group_add_all`). Both need what the layer keeps to itself: the Redis channel
it names for a group and the host it shards that channel to
(`RedisPubSubLoopLayer._get_group_channel_name`, `_get_shard`), its groups,
and each host's subscriber (`RedisSingleShardConnection`'s lock, connection
and subscriptions). They are read here and nowhere else, for channels_redis
4.3.0 (requirements.txt); tests/servers/test_channel_layer.py fails when an
upgrade changes them.
"""

import logging
from collections.abc import Callable

logger = logging.getLogger(__name__)

# Where a group's events go: (address of the Redis host, Redis channel).
GroupRoute = Callable[[str], tuple[str, str]]


def pubsub_layer_problem(layer) -> str | None:
    """Why `group_route` cannot read `layer`; None if it can."""
    try:
        from channels_redis.pubsub import RedisPubSubChannelLayer, RedisPubSubLoopLayer
    except ImportError:
        return "channels_redis is not installed"
    if not isinstance(layer, RedisPubSubChannelLayer):
        return f"{type(layer).__name__} is not channels_redis's RedisPubSubChannelLayer"
    for name in ("_get_group_channel_name", "_get_shard"):
        if not callable(getattr(RedisPubSubLoopLayer, name, None)):
            return f"channels_redis's RedisPubSubLoopLayer.{name} is gone"
    if not callable(getattr(layer, "_get_layer", None)):
        return "channels_redis's RedisPubSubChannelLayer._get_layer is gone"
    return None


_SHARD_INTERNALS = ("_lock", "_subscribed_to", "_pubsub", "_ensure_redis", "_ensure_receiver")


def subscriber_problem(layer) -> str | None:
    """Why `group_add_all` cannot join many groups at once on `layer`; None if it can."""
    problem = pubsub_layer_problem(layer)
    if problem is not None:
        return problem
    loop_layer = layer._get_layer()
    for name in ("groups", "channels"):
        if not isinstance(getattr(loop_layer, name, None), dict):
            return f"channels_redis's RedisPubSubLoopLayer.{name} is gone"
    for shard in getattr(loop_layer, "_shards", ()):
        missing = [name for name in _SHARD_INTERNALS if not hasattr(shard, name)]
        if missing:
            return f"channels_redis's RedisSingleShardConnection has no {', '.join(missing)}"
    return None


async def group_add_all(layer, groups, channel: str) -> None:
    """
    `layer.group_add(group, channel)` for each of `groups`: on the
    publish/subscribe layer with one SUBSCRIBE per Redis host, elsewhere one
    call each.
    """
    if subscriber_problem(layer) is not None:
        for group in groups:
            await layer.group_add(group, channel)
        return
    loop_layer = layer._get_layer()
    if channel not in loop_layer.channels:
        raise RuntimeError(f"{channel!r} is not a channel of this process")
    by_shard = {}
    for group in groups:
        # What RedisPubSubLoopLayer.group_add does, but for the SUBSCRIBE.
        group_channel = loop_layer._get_group_channel_name(group)
        loop_layer.groups.setdefault(group_channel, set()).add(channel)
        shard = loop_layer._get_shard(group_channel)
        by_shard.setdefault(shard, []).append(group_channel)
    for shard, group_channels in by_shard.items():
        # What RedisSingleShardConnection.subscribe does, for all of them in one command.
        async with shard._lock:
            new = [name for name in group_channels if name not in shard._subscribed_to]
            if new:
                shard._ensure_redis()
                shard._ensure_receiver()
                await shard._pubsub.subscribe(*new)
                shard._subscribed_to.update(new)


def group_route(layer) -> GroupRoute | None:
    """
    For the running event loop: where `layer.group_send(group, …)` publishes,
    as (host address, Redis channel); None where that cannot be read (not the
    publish/subscribe layer, its internals changed, or a host given otherwise
    than by address), and events are then sent through `group_send` itself.
    """
    problem = pubsub_layer_problem(layer)
    if problem is not None:
        logger.debug("events go through group_send: %s", problem)
        return None
    loop_layer = layer._get_layer()
    shards = getattr(loop_layer, "_shards", ())
    addresses = {id(shard): getattr(shard, "host", {}).get("address") for shard in shards}
    if not shards or None in addresses.values():
        logger.debug("events go through group_send: a Redis host of the layer has no address")
        return None

    def route(group: str) -> tuple[str, str]:
        channel = loop_layer._get_group_channel_name(group)
        return addresses[id(loop_layer._get_shard(channel))], channel

    return route


def describe(layer) -> str:
    """The interest cells' publishing, for the start-up report."""
    problem = pubsub_layer_problem(layer)
    if problem is None:
        return "interest events pipelined per Redis host"
    return f"interest events through group_send ({problem})"
