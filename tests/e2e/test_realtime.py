"""
The game WebSocket across real server processes: two daphne processes on
PostGIS + Redis, clients speaking the protocol with the `websockets` package.
"""

import asyncio
import signal

import pytest

from tests.e2e.clients import DEG_PER_M, Player, call, place, stored

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio]
shares_the_test_database = pytest.mark.django_db(transaction=True)


@pytest.mark.smoke
async def test_the_protocol_end_to_end_on_the_embedded_default(embedded_server):
    walker, watcher = Player(embedded_server, "walker"), Player(embedded_server, "watcher")
    await walker.connect(embedded_server)
    await watcher.connect(embedded_server)

    await walker.move(3 * DEG_PER_M, 0)
    assert (await watcher.receive_type("player-moved"))["playerId"] == walker.id

    await watcher.send("chat-message", {"message": "hi", "scope": "private", "targetId": walker.id})
    assert (await walker.receive_type("chat-message"))["message"] == "hi"

    await walker.send("heartbeat")
    assert "timestamp" in await walker.receive_type("heartbeat-ack")

    status, _ = call(embedded_server.url, "POST", "/api/auth/logout/", token=walker.access)
    assert status == 204
    assert await walker.receive_type("force-disconnect", timeout=1.0)
    assert (await watcher.receive_type("player-disconnected"))["playerId"] == walker.id


@shares_the_test_database
async def test_two_processes_behave_as_one_world(start_server):
    server_a, server_b = start_server("a"), start_server("b")
    mover, near, far = Player(server_a, "mover"), Player(server_a, "near"), Player(server_b, "far")
    await place(far, 0.01, 0)  # about 1.1 km away: out of earshot
    await mover.connect(server_a)
    await near.connect(server_b)
    await far.connect(server_b)

    await mover.move(3 * DEG_PER_M, 0)

    seen = await near.receive_type("player-moved")
    assert seen["playerId"] == mover.id
    assert seen["position"] == {"lat": 0, "lng": 3 * DEG_PER_M}
    assert await far.silent("player-moved")

    await near.send("chat-message", {"message": "hello from b", "scope": "global"})
    assert (await mover.receive_type("chat-message"))["message"] == "hello from b"

    await near.send(
        "get-players",
        {"bounds": {"minLat": -0.01, "maxLat": 0.01, "minLng": -0.01, "maxLng": 0.01}},
    )
    listed = {p["playerId"] for p in (await near.receive_type("players-list"))["players"]}
    assert {mover.id, near.id} <= listed


@shares_the_test_database
async def test_a_batched_client_on_another_process_hears_moves_once_per_tick(start_server):
    server_a, server_b = start_server("a"), start_server("b")
    mover, watcher = Player(server_a, "mover"), Player(server_b, "watcher")
    await mover.connect(server_a)
    await watcher.connect(server_b, batchMoves=True)

    await mover.move(3 * DEG_PER_M, 0)
    await mover.move(4 * DEG_PER_M, 0)

    latest = pytest.approx(4 * DEG_PER_M, abs=1e-6)
    for _ in range(2):  # both moves in one tick, or one in each
        batch = await watcher.receive_type("players-moved")
        assert [move[0] for move in batch["moves"]] == [mover.id]
        if batch["moves"][0][2] == latest:  # [playerId, lat, lng, …]
            break
    assert batch["moves"][0][2] == latest
    assert await watcher.silent("player-moved")


@shares_the_test_database
async def test_logout_on_one_process_closes_the_socket_on_another(start_server):
    server_a, server_b = start_server("a"), start_server("b")
    player = Player(server_a, "leaver")
    await player.connect(server_b)

    status, _ = call(server_a.url, "POST", "/api/auth/logout/", token=player.access)
    assert status == 204

    assert (await player.receive_type("force-disconnect", timeout=1.0))["reason"]
    await asyncio.wait_for(player.socket.wait_closed(), 1.0)
    assert player.socket.close_code == 4003


@shares_the_test_database
async def test_sigterm_leaves_every_accepted_position_in_postgresql(start_server):
    # No periodic flush: only the shutdown can write these positions.
    server = start_server("doomed", MOVEMENT_FLUSH_INTERVAL=3600)
    walkers = [Player(server, f"walker{n}") for n in range(3)]
    for walker in walkers:
        await walker.connect(server)
    for step in range(1, 4):
        await asyncio.sleep(0.5)
        for walker in walkers:
            await walker.move(step * 2 * DEG_PER_M, 0)

    assert server.stop(signal.SIGTERM) is not None

    for walker in walkers:
        position = await stored(walker)
        assert position.location.x == pytest.approx(6 * DEG_PER_M), server.log()
        assert position.version > 0
