"""
channels_redis's publish/subscribe layer, from the inside: where its
`group_send` publishes a group's events.

The interest cells publish a batch of events in one pipelined round trip per
Redis host instead of one `group_send` (one round trip, behind one lock) per
event. For that they need the Redis channel the layer names for a group and
the host it shards that channel to: both are the layer's own
(`RedisPubSubLoopLayer._get_group_channel_name` and `_get_shard`), read here
and nowhere else.
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
