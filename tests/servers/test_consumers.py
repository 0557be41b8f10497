"""A consumer's messages read as mmo/servers/consumers.py reads them, against Channels' own loop."""

import asyncio

import pytest
from channels.consumer import AsyncConsumer
from channels.exceptions import StopConsumer

from mmo.servers import consumers

pytestmark = pytest.mark.asyncio


class Recording(AsyncConsumer):
    channel_layer_alias = "no layer of this name"

    def __init__(self):
        self.handled: list[tuple[str, asyncio.Task]] = []

    async def dispatch(self, message):
        self.handled.append((message["type"], asyncio.current_task()))
        if message["type"] == "websocket.disconnect":
            raise StopConsumer()


def messages(*types: str):
    queue = asyncio.Queue()
    for message_type in types:
        queue.put_nowait({"type": message_type})
    return queue.get


async def sent(message):
    pass


async def test_serve_sets_up_a_consumer_as_channels_does_for_one_without_a_channel():
    by_channels, by_serve = Recording(), Recording()
    scope = {"type": "websocket", "path": "/ws/game/"}

    await by_channels(scope, messages("websocket.connect", "websocket.disconnect"), sent)
    await consumers.serve(
        by_serve, scope, messages("websocket.connect", "websocket.disconnect"), sent
    )

    # What AsyncConsumer.__call__ sets on the consumer is what serve sets: if an
    # upgrade of Channels sets more, read its __call__ again and do the same.
    assert (
        set(vars(by_serve))
        == set(vars(by_channels))
        == {"handled", "scope", "channel_layer", "base_send"}
    )
    assert by_serve.scope is by_channels.scope is scope
    assert by_serve.channel_layer is by_channels.channel_layer is None
    assert by_serve.base_send is by_channels.base_send is sent
    assert [kind for kind, _ in by_serve.handled] == [kind for kind, _ in by_channels.handled]


async def test_serve_handles_every_message_in_the_task_that_serves_the_connection():
    consumer = Recording()

    serving = asyncio.create_task(
        consumers.serve(
            consumer,
            {},
            messages("websocket.connect", "websocket.receive", "websocket.disconnect"),
            sent,
        )
    )
    await serving

    assert [kind for kind, _ in consumer.handled] == [
        "websocket.connect",
        "websocket.receive",
        "websocket.disconnect",
    ]
    assert {task for _, task in consumer.handled} == {serving}
