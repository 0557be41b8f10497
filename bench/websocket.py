"""
WebSocket figures of the server, each next to its limit, measured in the same run:

- move throughput: connected players, each sending its next move as soon as the
  last one is acknowledged, against as many connections on a bare Channels echo
  consumer served by the same process (bench/echo_app.py);
- daphne against uvicorn (uvloop, websockets-sansio), for both;
- one server process against two, the connections split between them;
- the memory a connected, idle player costs a process.

Players stand 2 km apart, so that no move is heard by anyone else: this
measures the move path itself (fan-out to neighbours has its figures from
`python -m loadtest`). The load runs in this process, beside the
servers it starts; its players are created and placed straight in the database. Median of --rounds rounds. Needs PostGIS and Redis
(DATABASE_URL, REDIS_URL), as production has.
"""

import argparse
import asyncio
import json
import os
import secrets
import statistics
import tempfile
import time
from pathlib import Path

# The servers and this process sign and check the same tokens.
os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(50))
os.environ.setdefault("DEBUG", "false")
os.environ.setdefault("ALLOWED_HOSTS", "127.0.0.1,localhost")

import _django  # noqa: E402, F401
from _servers import Server, free_port  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from websockets.asyncio.client import connect  # noqa: E402

from flags.models import Flag  # noqa: E402
from loadtest.players import open_game_socket  # noqa: E402
from mmo.geo import point  # noqa: E402
from movement.models import PlayerPosition  # noqa: E402
from players.models import Player  # noqa: E402
from players.services import player_register, session_start  # noqa: E402

SPACING_DEG = 0.02  # about 2.2 km between players: nobody hears anybody
STEP_DEG = 1e-7  # about 1 cm: a move the speed rule always allows
WARM_UP_SECONDS = 2.0


def start(kind: str, log_dir: Path) -> Server:
    """A server on bench/echo_app.py, with the settings of this run."""
    env = {
        **os.environ,
        "LOG_LEVEL": "WARNING",
        # Closed-loop clients send far faster than a player may.
        "WEBSOCKET_RATE": "1000000",
        "WEBSOCKET_BURST": "1000000",
    }
    return Server(kind, "bench.echo_app:application", env, log_dir / f"{kind}-{free_port()}.log")


# Players ------------------------------------------------------------------------


def settle(player_id, lng: float, lat: float) -> None:
    """
    Give the player a flag at the spot and stand them on it. The grid spans
    far more than the placement rules let a player's flags reach, and the
    rules are not what this measures.
    """
    with transaction.atomic():
        Flag.objects.create(owner_id=player_id, name="Benchmark base", location=point(lng, lat))
        PlayerPosition.objects.filter(pk=player_id).update(location=point(lng, lat), version=0)


def make_players(count: int, prefix: str) -> list[tuple[float, float, str]]:
    """`count` players on a grid 2 km apart: (lng, lat, access token) of each."""
    players = []
    try:
        for n in range(count):
            player = player_register(username=f"{prefix}-{n}", email=f"{prefix}-{n}@example.com",
                                     password=None)  # fmt: skip
            lng, lat = (n % 100) * SPACING_DEG, (n // 100) * SPACING_DEG
            settle(player.pk, lng, lat)
            login = session_start(player, ip_address="127.0.0.1", user_agent="bench/websocket.py")
            players.append((lng, lat, login.tokens.access))
    finally:
        # This runs in a worker thread: give its connection back rather than leave it open.
        connection.close()
    return players


def remove_players(prefix: str) -> None:
    Player.objects.filter(username__startswith=f"{prefix}-").delete()


async def authenticated(url: str, token: str):
    # Opened as the game's clients open it: a handshake refused while the
    # process has its logins in hand (503, Retry-After) is tried again.
    socket_ = await open_game_socket(f"{url}/ws/game/", time.monotonic() + 60, max_queue=None)
    await socket_.send(json.dumps({"type": "authenticate", "data": {"token": token}}))
    reply = json.loads(await socket_.recv())
    if reply["type"] != "authenticated":
        raise RuntimeError(f"authentication refused: {reply}")
    return socket_


# Load ---------------------------------------------------------------------------


def move_frame(lng: float, lat: float, seq: int) -> str:
    position = {"lat": lat, "lng": lng + (STEP_DEG if seq % 2 else 0.0)}
    return json.dumps({"type": "player-move", "data": {"position": position, "seq": seq}})


async def closed_loop(servers, players, endpoint: str, seconds: float) -> dict:
    """Round trips per second and their latency, every connection one at a time."""
    if endpoint == "echo":
        sockets = [
            await connect(f"{servers[n % len(servers)].ws_url}/ws/echo/", max_queue=None)
            for n in range(len(players))
        ]
    else:
        sockets = await asyncio.gather(
            *(
                authenticated(servers[n % len(servers)].ws_url, token)
                for n, (_, _, token) in enumerate(players)
            )
        )
    started = time.perf_counter()
    measure_from = started + WARM_UP_SECONDS
    until = measure_from + seconds
    latencies: list[float] = []
    failures = 0

    async def drive(socket_, lng, lat):
        nonlocal failures
        seq = 0
        while True:
            seq += 1
            sent = time.perf_counter()
            if sent >= until:
                return
            await socket_.send(move_frame(lng, lat, seq))
            reply = await socket_.recv()
            done = time.perf_counter()
            if endpoint == "moves" and not reply.startswith('{"type":"move-ack"'):
                failures += 1
            elif done >= measure_from:
                latencies.append((done - sent) * 1000)

    try:
        await asyncio.gather(
            *(
                drive(socket_, lng, lat)
                for socket_, (lng, lat, _) in zip(sockets, players, strict=True)
            )
        )
    finally:
        await asyncio.gather(*(socket_.close() for socket_ in sockets))
    latencies.sort()
    return {
        "per_second": len(latencies) / seconds,
        "p50": latencies[len(latencies) // 2] if latencies else None,
        "p99": latencies[int(len(latencies) * 0.99)] if latencies else None,
        "failures": failures,
    }


async def idle_memory(server: Server, players) -> float:
    """KiB of the server's resident memory per connected idle player."""
    # Warm the paths up first: the first connections load code and fill caches.
    for socket_ in [await authenticated(server.ws_url, token) for _, _, token in players[:20]]:
        await socket_.close()
    await asyncio.sleep(2)
    before = server.rss_kib()
    sockets = []
    for start in range(0, len(players), 50):
        batch = players[start : start + 50]
        sockets += await asyncio.gather(
            *(authenticated(server.ws_url, token) for _, _, token in batch)
        )
    await asyncio.sleep(3)  # a presence refresh and a flush have run
    after = server.rss_kib()
    await asyncio.gather(*(socket_.close() for socket_ in sockets))
    return (after - before) / len(players)


# The run --------------------------------------------------------------------------


def median_of(results: list[dict]) -> dict:
    return {
        key: statistics.median(r[key] for r in results if r[key] is not None)
        if any(r[key] is not None for r in results)
        else None
        for key in results[0]
    }


async def run(arguments) -> None:
    prefix = f"bench-ws-{secrets.token_hex(3)}"
    needed = max(arguments.connections if arguments.rounds else 0, arguments.idle_players)
    print(f"creating {needed} players…", flush=True)
    players = await asyncio.to_thread(make_players, needed, prefix)
    log_dir = Path(tempfile.mkdtemp(prefix="bench-websocket-"))
    configurations = [
        (kind, processes) for processes in (1, 2) for kind in arguments.servers.split(",")
    ]
    results: dict[tuple, list[dict]] = {}
    try:
        for round_ in range(1, arguments.rounds + 1):
            for kind, processes in configurations:
                servers = [start(kind, log_dir) for _ in range(processes)]
                try:
                    for endpoint in ("echo", "moves"):
                        result = await closed_loop(
                            servers, players[: arguments.connections], endpoint, arguments.seconds
                        )
                        results.setdefault((kind, processes, endpoint), []).append(result)
                        print(
                            f"round {round_}: {kind} ×{processes} {endpoint}: "
                            f"{result['per_second']:,.0f}/s, p50 {result['p50']:.1f} ms, "
                            f"p99 {result['p99']:.1f} ms, failures {result['failures']}",
                            flush=True,
                        )
                finally:
                    for server in servers:
                        server.stop()
        memory = {}
        if arguments.idle_players:
            for kind in arguments.servers.split(","):
                server = start(kind, log_dir)
                try:
                    memory[kind] = await idle_memory(server, players[: arguments.idle_players])
                finally:
                    server.stop()
    finally:
        await asyncio.to_thread(remove_players, prefix)

    print()
    if results:
        print_throughput(arguments, configurations, results, log_dir)
    for kind, kib in memory.items():
        print(
            f"{kind}: {kib:.1f} KiB per connected idle player "
            f"({arguments.idle_players} players; target ≤ 50 KiB)"
        )


def print_throughput(arguments, configurations, results, log_dir) -> None:
    print(
        f"{arguments.connections} connections, closed loop, median of {arguments.rounds} "
        f"rounds of {arguments.seconds:.0f} s; server logs in {log_dir}"
    )
    print("server   processes  echo round trips/s  moves acked/s  moves/echo  move p50 / p99")
    for kind, processes in configurations:
        echo = median_of(results[(kind, processes, "echo")])
        moves = median_of(results[(kind, processes, "moves")])
        print(
            f"{kind:8} {processes:9}  {echo['per_second']:18,.0f}  {moves['per_second']:13,.0f}"
            f"  {moves['per_second'] / echo['per_second']:10.2f}  "
            f"{moves['p50']:.1f} / {moves['p99']:.1f} ms   (target: moves/echo ≥ 0.50)"
        )
    for kind in arguments.servers.split(","):
        one = median_of(results[(kind, 1, "moves")])["per_second"]
        two = median_of(results[(kind, 2, "moves")])["per_second"]
        print(f"{kind}: two processes move {two / one:.2f}× what one does")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--connections", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument(
        "--rounds", type=int, default=3, help="0: no throughput rounds, only the idle memory"
    )
    parser.add_argument("--servers", default="daphne,uvicorn")
    parser.add_argument(
        "--idle-players", type=int, default=1000, help="0: no idle-memory measurement"
    )
    arguments = parser.parse_args()
    # The load runs on uvloop where it is installed, to leave the servers more of the CPU.
    try:
        import uvloop
    except ImportError:
        uvloop = None
    (uvloop.run if uvloop else asyncio.run)(run(arguments))


if __name__ == "__main__":
    main()
