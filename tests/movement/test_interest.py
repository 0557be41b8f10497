"""
A cell's moves are published to Redis only while another process listens to
the cell: two processes' interest cells on the real publish/subscribe layer.
"""

import asyncio
import contextlib
import uuid

import pytest
from channels_redis.pubsub import RedisPubSubChannelLayer
from django.conf import settings

from mmo import realtime
from movement.crowd import Crowd
from movement.interest import InterestCells

pytestmark = pytest.mark.asyncio

GROUP = realtime.cell_group(10, 20)


class Process:
    """What a server process has of the interest cells: its layer, channel, outbox and listener."""

    def __init__(self, prefix: str):
        self.layer = RedisPubSubChannelLayer(
            **{**settings.CHANNEL_LAYERS["default"]["CONFIG"], "prefix": prefix}
        )
        self.outbox = realtime.Outbox()
        self.cells = InterestCells(Crowd(), self.outbox)
        self.heard: asyncio.Queue = asyncio.Queue()  # moves from other processes
        self.tasks: list[asyncio.Task] = []

    async def start(self) -> None:
        channel = await self.layer.new_channel()
        await self.cells.attach(self.layer, channel)
        self.tasks.append(asyncio.create_task(self.outbox.send_forever(self.layer)))
        self.tasks.append(asyncio.create_task(self._listen(channel)))

    async def _listen(self, channel: str) -> None:
        while True:
            event = await self.layer.receive(channel)
            if event.get("type") == "player.moved" and event["origin"] != self.cells.origin:
                await self.heard.put(event)
            await self.cells.heard(event)

    async def move(self, n: int) -> None:
        event = realtime.player_moved(
            player_id="mover", lng=0.0, lat=0.0, frame=f'{{"n":{n}}}', entry=f"[{n}]"
        )
        await self.cells.publish(GROUP, event)
        await asyncio.sleep(0.2)  # the batch goes out, Redis answers how many heard it

    async def stop(self) -> None:
        for task in self.tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.layer.flush()


async def test_moves_reach_another_process_only_while_it_listens_and_at_once_when_it_starts(
    requires_redis,
):
    prefix = f"mmo-test-interest-{uuid.uuid4().hex[:8]}"
    alone, other = Process(prefix), Process(prefix)
    await alone.start()
    await other.start()
    try:
        await alone.cells.follow(GROUP, object())
        await asyncio.sleep(0.2)  # subscribed

        await alone.move(1)  # reaches this process's own subscription only
        assert GROUP in alone.cells.unheard
        published = []
        alone.outbox.on_published = lambda batch, counts: published.extend(batch)
        await alone.move(2)
        assert published == []  # kept in the process: nobody else listens

        alone.outbox.on_published = alone.cells.published
        await other.cells.follow(GROUP, object())  # says so on the cell once subscribed
        await asyncio.sleep(0.3)
        assert GROUP not in alone.cells.unheard
        await alone.move(3)

        heard = await asyncio.wait_for(other.heard.get(), 5)
        assert heard["frame"] == '{"n":3}'
        assert GROUP not in alone.cells.unheard  # two subscribers: moves keep going out
        assert other.heard.empty()  # moves 1 and 2 went nowhere, as nobody listened then
    finally:
        await alone.stop()
        await other.stop()


async def test_a_cell_is_published_again_once_its_quiet_spell_ends(requires_redis, monkeypatch):
    monkeypatch.setattr("movement.interest.UNHEARD_FOR_S", 0.0)
    process = Process(f"mmo-test-interest-{uuid.uuid4().hex[:8]}")
    await process.start()
    try:
        await process.cells.follow(GROUP, object())
        await asyncio.sleep(0.2)
        await process.move(1)
        published = []
        process.outbox.on_published = lambda batch, counts: published.extend(batch)

        await process.move(2)

        assert [event["frame"] for _, event in published] == ['{"n":2}']
    finally:
        await process.stop()
