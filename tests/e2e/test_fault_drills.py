"""
Fault drills: real server processes (daphne, production settings) and real
clients while Redis or PostgreSQL go away, a process is killed, or a client
stops reading. docs/operations.md ("What survives what") sums up what each
one proves.
"""

import asyncio
import contextlib
import time

import pytest

from tests.e2e.clients import DEG_PER_M, Player, call, place, stored
from tests.e2e.infrastructure import RedisServer, eventually, wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio]
shares_the_test_database = pytest.mark.django_db(transaction=True)


class Walk:
    """A player walking along the equator, `step_m` metres per step (west if negative)."""

    def __init__(self, player: Player, step_m: float = 1.0, start_m: float = 0.0):
        self.player = player
        self.step_m = step_m
        self.metres = start_m
        self.acked_metres = start_m

    async def step(self) -> dict:
        self.metres += self.step_m
        ack = await self.player.move(self.metres * DEG_PER_M, 0)
        self.acked_metres = self.metres
        return ack

    async def steps_for(self, seconds: float, pause: float = 0.2) -> int:
        """Step every `pause` seconds (walking speed) for `seconds`; returns the steps."""
        deadline, count = time.monotonic() + seconds, 0
        while time.monotonic() < deadline:
            await self.step()
            count += 1
            await asyncio.sleep(pause)
        return count


async def stored_metres(player: Player) -> float:
    return (await stored(player)).location.x / DEG_PER_M


@pytest.fixture
def redis_server(tmp_path):
    server = RedisServer(tmp_path)
    server.start()
    yield server
    server.stop()


@shares_the_test_database
async def test_redis_outage_degrades_to_the_database_and_recovers(start_server, redis_server):
    own_redis = {"REDIS_URL": redis_server.url, "MOVEMENT_FLUSH_INTERVAL": 0.3}
    server_a, server_b = start_server("a", **own_redis), start_server("b", **own_redis)
    mover, watcher = Player(server_a, "mover"), Player(server_b, "watcher")
    westerner = Player(server_b, "westerner")
    # 400 m west: an interest cell the mover hears only once he has walked west of 0°.
    await place(westerner, -400 * DEG_PER_M, 0)
    for player, server in ((mover, server_a), (watcher, server_b), (westerner, server_b)):
        await player.connect(server)
    walk = Walk(mover, step_m=-1.0, start_m=2.0)
    await walk.step()  # to 1 m east of 0°: the westerner's cell is out of earshot
    assert (await watcher.receive_type("player-moved"))["playerId"] == mover.id

    redis_server.stop()

    # HTTP answers from the database; the health check names the cache.
    status, me = call(server_a.url, "GET", "/api/players/me/", token=mover.access)
    assert (status, me["id"]) == (200, mover.id)
    status, health = call(server_a.url, "GET", "/api/health")
    assert (status, health["down"], health["database"]) == (503, ["cache"], "up")
    assert "connecting to 127.0.0.1" in health["errors"]["cache"], health
    # Open sockets keep working: every move is answered, also those into new
    # interest cells, whose groups the layer cannot join yet.
    assert await walk.steps_for(4) >= 10

    redis_server.start()

    wait_until(lambda: call(server_a.url, "GET", "/api/health")[0] == 200, 15, "health back to 200")

    async def watcher_hears_the_mover():
        await walk.step()
        with contextlib.suppress(TimeoutError):
            return (await watcher.receive_type("player-moved", timeout=0.5))["playerId"]

    # Groups joined before the outage: the layer subscribes them again.
    assert await eventually(watcher_hears_the_mover, 15, "fan-out from a to b") == mover.id

    async def mover_hears_the_westerner():
        await westerner.move(-401 * DEG_PER_M, 0)
        with contextlib.suppress(TimeoutError):
            return (await mover.receive_type("player-moved", timeout=0.5))["playerId"]

    # Groups joined during the outage: retried until Redis took them.
    assert await eventually(mover_hears_the_westerner, 15, "fan-out from b to a") == westerner.id

    # The restarted Redis came back empty: the idle watcher is listed again anyway.
    async def watcher_listed():
        return watcher.id in await mover.listed_ids()

    await eventually(watcher_listed, 10, "the idle watcher listed by get-players on a")

    # Every accepted position reaches PostgreSQL (the last one at the latest on disconnect).
    await mover.close()

    async def last_move_stored():
        return await stored_metres(mover) == pytest.approx(walk.acked_metres)

    await eventually(last_move_stored, 10, "the last accepted position in PostgreSQL")
