"""
Channels' consumers, from the inside: the loop that reads a connection's
messages and dispatches them.

`AsyncConsumer.__call__` reads each message in a task of its own and waits
for it with asyncio.wait (`channels.utils.await_many_dispatch`), so that a
consumer with a channel of its own hears both its client and the channel
layer. That costs three turns of the event loop between a frame's arrival and
its handler, each as long as everything else ready meanwhile (a crowd's tick,
hundreds of other moves): under load most of a move's wait. A consumer
without a channel has one source, and `serve` reads it in the consumer's own
task, one turn per message.

`serve` does what `AsyncConsumer.__call__` does for such a consumer (it sets
`scope`, `channel_layer` and `base_send`, and ends at `StopConsumer`), as
channels 4.3.2 does it (requirements.txt); tests/servers/test_consumers.py
fails when an upgrade changes that.
"""

from channels.exceptions import StopConsumer


async def serve(consumer, scope, receive, send) -> None:
    """Run `consumer`, an AsyncConsumer without a channel, on one connection."""
    consumer.scope = scope
    consumer.channel_layer = None
    consumer.base_send = send
    try:
        while True:
            await consumer.dispatch(await receive())
    except StopConsumer:
        pass
