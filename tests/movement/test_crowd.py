"""Crowds: the nearest players heard at full rate, the rest at a lower one, batched frames."""

import asyncio
import logging
import time
from types import SimpleNamespace

import pytest
from channels.db import database_sync_to_async
from uvicorn.protocols.utils import ClientDisconnected

from mmo import realtime
from mmo.geo import point
from movement import crowd as crowd_module
from movement.models import PlayerPosition
from tests.realtime import Client, new_player, open_socket

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]

DEG_PER_M = 1 / 111_319.49  # along the equator


@pytest.fixture
def manual_ticks(settings):
    """Ticks only when the test calls `world.crowd.tick()`."""
    settings.WEBSOCKET_TICK_MS = 600_000


@database_sync_to_async
def place(player, lng, lat):
    PlayerPosition.objects.filter(pk=player.pk).update(location=point(lng, lat))


async def join_at(connect, metres_east: float, **authenticate):
    """A connected client of a new player standing `metres_east` of the origin."""
    player, login = await new_player()
    await place(player, metres_east * DEG_PER_M, 0)
    if not authenticate:
        return await connect(player=player, login=login)
    client = Client(await open_socket(), player, login)
    await client.send("authenticate", {"token": login.tokens.access, **authenticate})
    assert (await client.receive())["type"] == "authenticated"
    return client


async def step(client, world, metres_east: float):
    """Move a client to `metres_east` of the origin, a second later."""
    world.clock.advance(1)
    ack = await client.move(metres_east * DEG_PER_M, 0)
    assert ack["type"] == "move-ack", ack


async def refresh_nearest(world):
    """Let the nearest players of every connection be recomputed at the next tick."""
    world.clock.advance(2)
    await world.crowd.tick()


async def heard_moves(client, timeout=0.3) -> list[str]:
    """Ids of the movers in every `player-moved` frame that arrives within the timeout."""
    heard = []
    while client.backlog or not await client.communicator.receive_nothing(timeout=timeout):
        message = await client.receive()
        if message["type"] == "player-moved":
            heard.append(message["data"]["playerId"])
    return heard


def pid(client) -> str:
    return str(client.player.pk)


async def test_a_player_in_a_crowd_hears_its_nearest_at_every_move(
    connect, world, settings, manual_ticks
):
    settings.WEBSOCKET_VISIBLE_PLAYERS = 2
    settings.WEBSOCKET_FAR_UPDATES = 0
    listener = await join_at(connect, 0)
    near = [await join_at(connect, 10), await join_at(connect, 20)]
    far = [await join_at(connect, 100), await join_at(connect, 150)]
    for client, metres in ((far[0], 101), (far[1], 151), (near[0], 11), (near[1], 21)):
        await step(client, world, metres)  # the far ones first: they take the free places
    await refresh_nearest(world)
    await heard_moves(listener, timeout=0.1)

    for n in range(3):
        for client, metres in ((far[0], 100), (far[1], 150), (near[0], 10), (near[1], 20)):
            await step(client, world, metres + n % 2)

    heard = await heard_moves(listener)
    assert sorted(heard) == sorted([pid(near[0]), pid(near[1])] * 3)


async def test_a_far_member_of_the_crowd_is_heard_at_the_lower_rate(
    connect, world, settings, manual_ticks
):
    settings.WEBSOCKET_VISIBLE_PLAYERS = 1
    settings.WEBSOCKET_FAR_UPDATES = 1  # per second of the server's clock
    listener = await join_at(connect, 0)
    near, far = await join_at(connect, 10), await join_at(connect, 100)
    await step(near, world, 11)
    await step(far, world, 101)
    await refresh_nearest(world)
    await heard_moves(listener, timeout=0.1)

    for n in range(8):  # four seconds of moves, twice a second each, a tick after each
        world.clock.advance(0.5)
        await near.move((10 + n % 2) * DEG_PER_M, 0)
        await far.move((100 + n % 2) * DEG_PER_M, 0)
        await world.crowd.tick()

    heard = await heard_moves(listener)
    assert heard.count(pid(near)) == 8
    assert 3 <= heard.count(pid(far)) <= 5  # about once a second


async def test_a_far_player_who_stood_still_since_the_last_tick_is_not_sent_again(
    connect, world, settings, manual_ticks
):
    settings.WEBSOCKET_VISIBLE_PLAYERS = 1
    settings.WEBSOCKET_FAR_UPDATES = 5
    listener = await join_at(connect, 0)
    near, far = await join_at(connect, 10), await join_at(connect, 100)
    await step(near, world, 11)
    await step(far, world, 101)
    await refresh_nearest(world)
    await heard_moves(listener, timeout=0.1)

    await step(far, world, 100)
    await world.crowd.tick()
    assert await heard_moves(listener) == [pid(far)]

    world.clock.advance(0.5)  # within a second of its move, but no move since the last tick
    await world.crowd.tick()
    assert await heard_moves(listener) == []


async def test_a_neighbour_heard_at_full_rate_keeps_its_place_near_the_budgets_edge(
    connect, world, settings, manual_ticks
):
    settings.WEBSOCKET_VISIBLE_PLAYERS = 1
    settings.WEBSOCKET_FAR_UPDATES = 0
    listener = await join_at(connect, 0)
    heard, newcomer = await join_at(connect, 10), await join_at(connect, 12)
    await step(heard, world, 10)
    await step(newcomer, world, 12)
    await refresh_nearest(world)
    await heard_moves(listener, timeout=0.1)

    # The newcomer comes a little nearer than the one heard: 10.5 m is within
    # 1.25 times 9 m, so nothing changes at the refresh.
    await step(newcomer, world, 9)
    await step(heard, world, 10.5)
    await refresh_nearest(world)
    await heard_moves(listener, timeout=0.1)
    await step(newcomer, world, 9.5)
    await step(heard, world, 10)
    assert await heard_moves(listener) == [pid(heard)]

    # Farther than 1.25 times the nearest: it gives its place up.
    await step(heard, world, 14)
    await refresh_nearest(world)
    await heard_moves(listener, timeout=0.1)
    await step(newcomer, world, 9)
    await step(heard, world, 14.5)
    assert await heard_moves(listener) == [pid(newcomer)]


async def test_a_crowd_no_larger_than_the_budget_is_heard_at_once(
    connect, world, settings, manual_ticks
):
    settings.WEBSOCKET_VISIBLE_PLAYERS = 3
    listener = await join_at(connect, 0)
    others = [await join_at(connect, 10 * n) for n in (1, 2, 3)]

    for n, client in enumerate(others, start=1):  # no tick in between: heard as they happen
        await step(client, world, 10 * n + 1)

    assert sorted(await heard_moves(listener)) == sorted(map(pid, others))


async def test_a_batched_client_gets_one_frame_per_tick_with_the_latest_move_of_each(
    connect, world, manual_ticks
):
    listener = await join_at(connect, 0, batchMoves=True)
    first, second = await join_at(connect, 10), await join_at(connect, 20)

    await step(first, world, 11)
    await step(second, world, 21)
    world.clock.advance(1)
    assert (await first.move(12 * DEG_PER_M, 0, direction=271.54))["type"] == "move-ack"
    assert await listener.nothing_more(timeout=0.1)  # nothing before the tick
    await world.crowd.tick()

    batch = await listener.receive_type("players-moved")
    assert batch["around"] == 2
    assert [move[0] for move in batch["moves"]] == [pid(first), pid(second)]
    player_id, lat, lng, direction, timestamp = batch["moves"][0]  # no sentAt: none was sent
    assert (lat, lng) == (0, pytest.approx(12 * DEG_PER_M, abs=1e-6))
    assert direction == 271.5  # to 0.1°
    assert abs(timestamp - time.time() * 1000) < 60_000
    assert await listener.nothing_more()


async def test_a_batched_move_carries_the_movers_sent_at(connect, world, manual_ticks):
    listener = await join_at(connect, 0, batchMoves=True)
    mover = await join_at(connect, 10)

    world.clock.advance(1)
    await mover.move(11 * DEG_PER_M, 0, sentAt=1234.5)
    await world.crowd.tick()

    assert (await listener.receive_type("players-moved"))["moves"][0][5] == 1234.5


async def test_a_tick_without_moves_sends_a_batched_client_nothing(connect, world, manual_ticks):
    listener = await join_at(connect, 0, batchMoves=True)
    await join_at(connect, 10)

    await world.crowd.tick()

    assert await listener.nothing_more()


async def test_batched_frames_are_asked_for_with_a_boolean(world):
    player, login = await new_player()
    client = Client(await open_socket(), player, login)

    await client.send("authenticate", {"token": login.tokens.access, "batchMoves": "yes"})

    error = await client.receive()
    assert error["data"] == {
        "code": "invalid_data",
        "message": "`batchMoves` must be true or false.",
    }


async def test_a_client_that_does_not_ask_hears_each_move_as_a_frame_at_once(
    connect, world, manual_ticks
):
    listener = await join_at(connect, 0)
    batched = await join_at(connect, 5, batchMoves=True)
    mover = await join_at(connect, 10)

    await step(mover, world, 11)
    await step(mover, world, 12)

    assert await heard_moves(listener) == [pid(mover), pid(mover)]
    assert await batched.nothing_more()


async def test_a_delivery_to_a_socket_that_just_closed_is_counted_not_logged(
    connect, world, caplog
):
    listener = await join_at(connect, 0)
    mover = await join_at(connect, 10)
    (consumer,) = [
        viewer.connection
        for viewer in world.crowd.viewers.values()
        if viewer.live.player_id == pid(listener)
    ]

    async def closed(message):  # what uvicorn's send does once its client has gone
        raise ClientDisconnected()

    consumer.base_send = closed
    with caplog.at_level(logging.INFO):
        await step(mover, world, 11)

    assert world.crowd.dropped == 1
    assert not [record for record in caplog.records if record.levelno >= logging.WARNING]


class _Connection:
    """What the crowd needs of a connection: its live player, and a way to send."""

    def __init__(self, player_id: str, metres_east: float):
        self.live = SimpleNamespace(player_id=player_id, lng=metres_east * DEG_PER_M, lat=0.0)
        self.frames: list[str] = []

    async def send_shared(self, event):
        self.frames.append(event["frame"])


async def test_a_player_who_leaves_while_a_tick_gives_way_is_skipped(settings, monkeypatch):
    settings.WEBSOCKET_VISIBLE_PLAYERS = 1
    settings.WEBSOCKET_FAR_UPDATES = 5
    monkeypatch.setattr(crowd_module, "TICK_SLICE_S", 0.0)  # give way before every connection
    clock = SimpleNamespace(now=100.0)
    crowd = crowd_module.Crowd(clock=lambda: clock.now)
    connections = [_Connection(f"p{n}", 10 * n) for n in range(4)]
    cell = realtime.cell_of(0.0, 0.0)
    group = realtime.cell_group(*cell)
    for connection in connections:
        crowd.watch(connection, connection.live, cell, batched=True)
    clock.now += 1
    for connection in connections:
        live = connection.live
        entry = f'{{"playerId":"{live.player_id}"}}'
        event = {"player_id": live.player_id, "cell": group, "lng": live.lng, "lat": live.lat}
        await crowd.moved({**event, "entry": entry, "frame": entry}, connections)
    clock.now += 0.1

    tick = asyncio.create_task(crowd.tick())
    await asyncio.sleep(0)  # the tick gives way before the first connection
    await asyncio.sleep(0)  # ... and before the second, once the first was sent the far moves
    crowd.gone("p3")
    await tick

    assert all(connection.frames for connection in connections[:3])


async def tick_starts(count: int, tick_seconds) -> list[float]:
    """
    When the ticker started its first `count` ticks, each taking
    `tick_seconds(n)` (giving way to the event loop meanwhile, as sending does).
    """
    loop = asyncio.get_running_loop()
    started: list[float] = []

    class TimedCrowd(crowd_module.Crowd):
        async def tick(self):
            started.append(loop.time())
            await asyncio.sleep(tick_seconds(len(started)))

    ticker = asyncio.create_task(TimedCrowd().tick_forever())
    while len(started) < count:
        await asyncio.sleep(0.005)
    ticker.cancel()
    return started[:count]


async def test_ticks_keep_their_period_however_long_a_tick_takes(settings):
    """A tick that takes most of its period does not push the next one back by that much."""
    settings.WEBSOCKET_TICK_MS = 50

    started = await tick_starts(9, lambda n: 0.03)

    periods = [later - earlier for earlier, later in zip(started, started[1:], strict=False)]
    # Counted from each tick's end, the period would be 80 ms.
    assert sum(periods) / len(periods) < 0.065, periods


async def test_a_tick_that_overran_its_period_is_not_followed_by_a_burst(settings):
    settings.WEBSOCKET_TICK_MS = 20

    started = await tick_starts(3, lambda n: 0.1 if n == 1 else 0)

    # After the 100 ms tick, the next comes at once and the one after it a period later,
    # not four more at once to make up for the periods the long tick took.
    assert started[2] - started[1] >= 0.015, started


async def test_the_tick_lengthens_to_keep_the_batched_frames_a_process_writes_within_budget(
    settings,
):
    settings.WEBSOCKET_TICK_MS, settings.WEBSOCKET_TICK_MAX_MS = 50, 200
    settings.WEBSOCKET_TICK_FRAMES = 100  # batched frames a second
    crowd = crowd_module.Crowd()
    cell = realtime.cell_of(0.0, 0.0)

    def connect(count: int, batched: bool) -> list[_Connection]:
        connections = [_Connection(f"{batched}-{n}", n) for n in range(count)]
        for connection in connections:
            crowd.watch(connection, connection.live, cell, batched=batched)
        return connections

    batched = connect(4, batched=True)
    per_move = connect(30, batched=False)  # their frames do not wait for the tick
    assert crowd.tick_period() == 0.05  # 4 frames every 50 ms: 80 a second
    batched += connect(6, batched=True)
    assert crowd.tick_period() == 0.1  # 10 frames every 100 ms
    for connection in per_move:
        crowd.unwatch(connection)
    assert crowd.tick_period() == 0.1
    crowding = connect(30, batched=True)
    assert crowd.tick_period() == 0.2  # 40 of them would want 400 ms: never longer than the longest
    for connection in crowding:
        crowd.unwatch(connection)
        crowd.unwatch(connection)  # a connection leaves once, however often it is told
    assert crowd.tick_period() == 0.1
