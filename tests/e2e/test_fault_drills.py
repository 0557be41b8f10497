"""
Fault drills: real server processes (the production server) and real
clients while Redis or PostgreSQL go away, a process is killed, or a client
stops reading. docs/operations.md ("What survives what") sums up what each
one proves.
"""

import asyncio
import contextlib
import json
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg
import pytest
from channels.db import database_sync_to_async
from websockets.exceptions import ConnectionClosed

from chat.models import ChatMessage
from tests.e2e.clients import DEG_PER_M, Player, call, place, stored
from tests.e2e.conftest import ROOT, database_url_of, server_environment
from tests.e2e.infrastructure import PostgresCluster, RedisServer, eventually, wait_until

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
    # What needs Redis answers from this process alone, or says it cannot.
    assert await mover.listed_ids() == {mover.id}
    await mover.send("chat-message", {"message": "hi", "scope": "private", "targetId": watcher.id})
    assert (await mover.receive_type("error"))["code"] == "unavailable"

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


@shares_the_test_database
async def test_a_redis_outage_loses_no_acknowledged_chat_message(start_server, redis_server):
    own_redis = {"REDIS_URL": redis_server.url, "CHAT_RATE": 100, "CHAT_BURST": 100}
    server_a, server_b = start_server("a", **own_redis), start_server("b", **own_redis)
    talker, listener = Player(server_a, "talker"), Player(server_b, "listener")
    await talker.connect(server_a)
    await listener.connect(server_b)
    for player in (talker, listener):
        await player.send("join-room", {"roomId": "global"})
        await player.receive_type("room-history")

    async def say(text):
        await talker.send("send-message", {"roomId": "global", "message": text})
        while True:
            answer = await talker.receive()
            if answer["type"] in ("receive-message", "room-error", "error"):
                return answer

    redis_server.stop()

    # Every message acknowledged during the outage is stored, whatever fan-out lost.
    acknowledged = []
    for n in range(20):
        answer = await say(f"during {n}")
        assert answer["type"] == "receive-message", answer
        acknowledged.append((answer["data"]["id"], answer["data"]["message"]))

    @database_sync_to_async
    def stored_in_global():
        return list(ChatMessage.objects.filter(room_id="global").values_list("id", "text"))

    assert await stored_in_global() == acknowledged

    redis_server.start()

    async def listener_hears_the_talker():
        await say("after")
        with contextlib.suppress(TimeoutError):
            return (await listener.receive_type("receive-message", timeout=0.5))["message"]

    assert await eventually(listener_hears_the_talker, 15, "room fan-out back") == "after"
    # History reads PostgreSQL: a late joiner gets what fan-out missed.
    late = Player(server_b, "late")
    await late.connect(server_b)
    await late.send("join-room", {"roomId": "global"})
    history = [m["message"] for m in (await late.receive_type("room-history"))["messages"]]
    assert history[:20] == [text for _, text in acknowledged]


# SIGKILL -----------------------------------------------------------------------------

FLUSH_INTERVAL = 1.0
# The flusher's own delays (the write, a busy event loop) on top of the interval.
SCHEDULING_SLACK = 0.5


@shares_the_test_database
async def test_sigkill_loses_at_most_one_flush_interval_and_players_resume_elsewhere(
    start_server,
):
    timing = {"MOVEMENT_FLUSH_INTERVAL": FLUSH_INTERVAL, "PRESENCE_TTL": 3}
    doomed, survivor = start_server("doomed", **timing), start_server("survivor", **timing)
    walker, bystander = Player(doomed, "walker"), Player(doomed, "bystander")
    watcher = Player(survivor, "watcher")
    await walker.connect(doomed)
    await bystander.connect(doomed)
    await watcher.connect(survivor)
    walk, acked = Walk(walker), []  # (when the ack came, metres)
    deadline = time.monotonic() + 3 * FLUSH_INTERVAL
    while time.monotonic() < deadline:
        await walk.step()
        acked.append((time.monotonic(), walk.acked_metres))
        await asyncio.sleep(0.25)  # walking pace

    killed_at = time.monotonic()
    doomed.stop(signal.SIGKILL)

    kept = await stored_metres(walker)
    assert kept in [pytest.approx(metres) for _, metres in acked]
    surely_flushed = [m for t, m in acked if t < killed_at - FLUSH_INTERVAL - SCHEDULING_SLACK]
    assert kept >= max(surely_flushed), (kept, acked, killed_at)

    # The walker logs in on the other process at once, where the store left him.
    resumed = await walker.connect(survivor)
    assert time.monotonic() - killed_at < 3, "the reconnect waited for the presence TTL"
    assert resumed["position"]["lng"] == pytest.approx(kept * DEG_PER_M)
    status, position = call(survivor.url, "GET", "/api/players/me/position/", token=walker.access)
    assert status == 200, position
    assert position["lng"] == pytest.approx(kept * DEG_PER_M)
    walk.metres = kept
    await walk.step()  # from there, walking on is accepted

    # The killed process's players drop out of listings after PRESENCE_TTL.
    async def only_the_living_listed():
        return await watcher.listed_ids() == {watcher.id, walker.id}

    await eventually(only_the_living_listed, 10, "the bystander gone from get-players")


# A client that stops reading ---------------------------------------------------------

CHAT_LENGTH = 8000  # large frames: megabytes within seconds
DROP_WITHIN = 30  # seconds of flooding


def resident_memory_bytes(server) -> int:
    status = Path(f"/proc/{server.process.pid}/status").read_text()
    kilobytes = next(line.split()[1] for line in status.splitlines() if line.startswith("VmRSS:"))
    return int(kilobytes) * 1024


async def move_ack_seconds(player: Player, metres: float) -> float:
    started = time.monotonic()
    await player.move(metres * DEG_PER_M, 0)
    return time.monotonic() - started


@shares_the_test_database
@pytest.mark.parametrize(
    "kind, flood_with",
    [
        ("production", "private chat"),
        ("daphne", "private chat"),
        # Frames a process writes straight to its players' transports (uvicorn).
        ("production", "moves"),
    ],
)
async def test_a_client_that_stops_reading_is_dropped_without_stalling_the_others(
    start_server, kind, flood_with
):
    # One sender flooding a player with private messages, or with the moves it
    # hears, stands for the traffic of a crowded place; the limits are raised to let it.
    server = start_server(
        kind=kind,
        WEBSOCKET_RATE=20000,
        WEBSOCKET_BURST=20000,
        CHAT_RATE=2000,
        CHAT_BURST=2000,
        CHAT_MAX_LENGTH=CHAT_LENGTH,
    )
    sleeper, flooder, steady = (Player(server, name) for name in ("sleeper", "flooder", "steady"))
    # A small receive buffer, a client library that stops reading the socket
    # once a frame waits, no pings: TCP soon stops taking the server's frames.
    sock = socket.create_connection(("127.0.0.1", server.port))
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    await sleeper.open(server, sock=sock, max_queue=1, ping_interval=None)
    await sleeper.authenticate()
    await flooder.connect(server)
    await steady.connect(server)
    memory_before = resident_memory_bytes(server)

    # Dropped by the server, which tells its neighbours as for any disconnect.
    gone = {"type": "player-disconnected", "data": {"playerId": sleeper.id}}
    message = "x" * CHAT_LENGTH
    sleeper_gone = asyncio.Event()
    sent, heard = 0, []

    async def send_one(count):
        if flood_with == "moves":
            # A tenth of a millimetre back and forth, within any speed limit.
            await flooder.send(
                "player-move", {"position": {"lat": 0, "lng": (count % 2) * 1e-4 * DEG_PER_M}}
            )
        else:
            await flooder.send(
                "chat-message", {"message": message, "scope": "private", "targetId": sleeper.id}
            )

    async def flood():
        nonlocal sent
        while not sleeper_gone.is_set():
            for _ in range(20):
                await send_one(sent)
                sent += 1
            answered = 0
            while answered < 20:  # the sender reads its answers: it is no slow client
                reply = await flooder.receive(timeout=10)
                heard.append(reply)
                if reply["type"] == "error":  # the sleeper is no longer online
                    assert reply["data"]["code"] == "recipient_offline", reply
                    sleeper_gone.set()
                if reply == gone:
                    sleeper_gone.set()
                answered += reply["type"] in ("chat-sent", "move-ack", "error")

    latencies = []

    async def steady_walk():
        metres = 0.0
        # A few moves at least: the sleeper may be dropped within a fraction of a second.
        while not sleeper_gone.is_set() or len(latencies) < 5:
            metres += 0.2
            latencies.append(await move_ack_seconds(steady, metres))
            await asyncio.sleep(0.05)  # 4 m/s

    try:
        await asyncio.wait_for(asyncio.gather(flood(), steady_walk()), timeout=DROP_WITHIN)
    except TimeoutError:
        growth = resident_memory_bytes(server) - memory_before
        pytest.fail(f"still connected after {sent} messages; the server grew by {growth} bytes")
    growth = resident_memory_bytes(server) - memory_before

    if gone not in heard:
        assert await flooder.receive_type("player-disconnected", timeout=5) == gone["data"]
    assert "dropping a WebSocket client that stopped reading" in server.log()
    # Reset, not closed: the client learns at once, without first reading what
    # the server's kernel had taken for it (megabytes, at the stalled pace).
    late_bytes = 0
    with pytest.raises(ConnectionClosed):
        while True:  # what the client's own buffers still hold, then the end
            late_bytes += len(json.dumps(await sleeper.receive(timeout=5)))
    assert late_bytes < 64 * 1024, late_bytes
    # Bounded memory, and the others were served throughout.
    assert growth < 32 * 1024 * 1024, growth
    assert len(latencies) >= 5 and max(latencies) < 1.0, latencies


# PostgreSQL ----------------------------------------------------------------------

SERVER_APPLICATION = "mmo-drill-server"
HEALTHY = {"status": "ok", "database": "up", "cache": "up"}


def libpq_url(postgis_url: str) -> str:
    return "postgresql://" + postgis_url.split("://", 1)[1].split("?", 1)[0]


@pytest.fixture
def test_database_url():
    from django.db import connection

    return database_url_of(connection.settings_dict)


@pytest.fixture
def position_writes(test_database_url):
    """
    Every write to player_positions, recorded by a trigger: (player_id,
    version before, version after), in order.
    """
    url = libpq_url(test_database_url)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            """
            CREATE TABLE drill_position_writes (
                id bigserial, player_id uuid, old_version bigint, new_version bigint
            );
            CREATE FUNCTION drill_record_position_write() RETURNS trigger AS $$
            BEGIN
                INSERT INTO drill_position_writes (player_id, old_version, new_version)
                VALUES (NEW.player_id, OLD.version, NEW.version);
                RETURN NEW;
            END $$ LANGUAGE plpgsql;
            CREATE TRIGGER drill_position_writes AFTER UPDATE ON player_positions
            FOR EACH ROW EXECUTE FUNCTION drill_record_position_write();
            """
        )

    def writes(player: Player) -> list[tuple[int, int]]:
        with psycopg.connect(url) as conn:
            rows = conn.execute(
                "SELECT old_version, new_version FROM drill_position_writes"
                " WHERE player_id = %s ORDER BY id",
                (player.id,),
            ).fetchall()
        return [tuple(row) for row in rows]

    yield writes
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            "DROP TRIGGER drill_position_writes ON player_positions;"
            " DROP FUNCTION drill_record_position_write(); DROP TABLE drill_position_writes;"
        )


async def terminate_server_connections(admin: psycopg.AsyncConnection) -> int:
    cursor = await admin.execute(
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = %s",
        (SERVER_APPLICATION,),
    )
    return (await cursor.fetchone())[0]


@shares_the_test_database
async def test_killed_database_connections_cost_no_request_and_no_position(
    start_server, test_database_url, position_writes
):
    server = start_server(
        DATABASE_URL=f"{test_database_url}?application_name={SERVER_APPLICATION}",
        MOVEMENT_FLUSH_INTERVAL=0.3,
        MOVEMENT_FLUSH_MAX_BACKOFF=1,
    )
    walkers = [Walk(Player(server, f"walker{n}")) for n in range(3)]
    for walk in walkers:
        await walk.player.connect(server)
        await walk.step()
    url = libpq_url(test_database_url)
    async with (
        await psycopg.AsyncConnection.connect(url, autocommit=True) as admin,
        await psycopg.AsyncConnection.connect(url) as blocker,
    ):
        # Hold the first walker's row so that the next flush waits on it, then
        # kill every connection of the server: the waiting flush among them.
        await blocker.execute(
            "SELECT 1 FROM player_positions WHERE player_id = %s FOR UPDATE",
            (walkers[0].player.id,),
        )
        for walk in walkers:
            await walk.step()

        async def flush_waiting():
            cursor = await admin.execute(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE application_name = %s AND wait_event_type = 'Lock'",
                (SERVER_APPLICATION,),
            )
            return (await cursor.fetchone())[0]

        await eventually(flush_waiting, 10, "a flush waiting on the held row")
        assert await terminate_server_connections(admin) >= 1
        await blocker.rollback()

    # The next requests get working connections, though the pool held dead ones.
    assert call(server.url, "GET", "/api/health") == (200, HEALTHY)
    status, sessions = call(
        server.url, "GET", "/api/auth/sessions/", token=walkers[0].player.access
    )
    assert status == 200, sessions
    assert len(sessions["results"]) == 1
    for walk in walkers:
        await walk.step()

    for walk in walkers:

        async def last_move_stored(walk=walk):
            return await stored_metres(walk.player) == pytest.approx(walk.acked_metres)

        await eventually(last_move_stored, 10, f"{walk.player.id}'s last position stored")
    assert "position flush failed" in server.log()

    # Each version written once, and never over a newer one.
    for walk in walkers:
        writes = position_writes(walk.player)
        versions = [new for _, new in writes]
        assert all(new > old for old, new in writes), writes
        assert len(versions) == len(set(versions)), writes
        assert (await stored(walk.player)).version == versions[-1]


@pytest.fixture
def own_postgres(collected_static, tmp_path):
    """A migrated database `mmo` in a PostgreSQL cluster of this test's own."""
    if not PostgresCluster.available():
        pytest.skip("initdb is not installed")
    # Outside pytest's temporary root, which the postgres user cannot enter.
    workdir = Path(tempfile.mkdtemp(prefix="mmo-drill-postgres-"))
    cluster = PostgresCluster(workdir)
    try:
        cluster.start()
        cluster.create_database("mmo")
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "--noinput", "-v0"],
            cwd=ROOT,
            env=server_environment(tmp_path, collected_static, DATABASE_URL=cluster.url("mmo")),
            check=True,
            timeout=300,
        )
        yield cluster
    finally:
        cluster.stop()
        shutil.rmtree(workdir, ignore_errors=True)


OUTAGE_SECONDS = 17


async def test_a_database_restart_costs_no_accepted_move(own_postgres, start_server):
    server = start_server(
        DATABASE_URL=own_postgres.url("mmo"),
        MOVEMENT_FLUSH_INTERVAL=0.3,
        MOVEMENT_FLUSH_MAX_BACKOFF=1,
        DATABASE_POOL_TIMEOUT=3,
    )
    walkers = [Walk(Player(server, f"walker{n}")) for n in range(2)]
    latecomer = Player(server, "latecomer")
    for walk in walkers:
        await walk.player.connect(server)
        await walk.step()
    database = own_postgres.libpq_url("mmo")

    async def stored_in_own_database(walk: Walk) -> bool:
        async with await psycopg.AsyncConnection.connect(database) as conn:
            cursor = await conn.execute(
                "SELECT ST_X(location) FROM player_positions WHERE player_id = %s",
                (walk.player.id,),
            )
            lng = (await cursor.fetchone())[0]
        return lng / DEG_PER_M == pytest.approx(walk.acked_metres)

    for walk in walkers:
        await eventually(lambda walk=walk: stored_in_own_database(walk), 10, "a first flush")

    own_postgres.stop()
    stopped_at = time.monotonic()

    status, health = call(server.url, "GET", "/api/health")
    assert (status, health["down"], health["cache"]) == (503, ["database"], "up"), health
    player = walkers[0].player
    status, refused = call(server.url, "GET", "/api/auth/sessions/", token=player.access)
    assert (status, refused["code"]) == (503, "database_unavailable"), refused
    # A login needs the database: refused for now, with the socket left open.
    await latecomer.open(server)
    await latecomer.send("authenticate", {"token": latecomer.access})
    assert (await latecomer.receive_type("error", timeout=10))["code"] == "unavailable"
    # Moves are checked in memory: the players walk on. The outage lasts long
    # enough for the pool's reconnection attempts (1, 2, 4, 8 s apart…) to be
    # further apart than a request waits for a connection.
    walking = max(3.0, OUTAGE_SECONDS - (time.monotonic() - stopped_at))
    steps = await asyncio.gather(*(walk.steps_for(walking) for walk in walkers))
    assert min(steps) >= 8

    own_postgres.start()

    # The first request after the restart succeeds, and so does the flush.
    status, sessions = call(server.url, "GET", "/api/auth/sessions/", token=player.access)
    assert status == 200, sessions
    assert len(sessions["results"]) == 1
    assert call(server.url, "GET", "/api/health") == (200, HEALTHY)
    # (Its unauthenticated socket has timed out meanwhile; the client logs in anew.)
    await latecomer.close()
    assert (await latecomer.connect(server))["playerId"] == latecomer.id
    for walk in walkers:
        await eventually(lambda walk=walk: stored_in_own_database(walk), 10, "the last position")
    assert "position flush failed" in server.log()
