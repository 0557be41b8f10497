"""
`GET /api/players/me/` under load, from one production server process.

Starts the server as production runs it (uvicorn through deploy/serve.sh, or
daphne with `--server daphne`; the production settings, DEBUG off, plain HTTP),
registers one player per client, warms the cache, then keeps
`--clients` keep-alive HTTP/1.1 connections busy for `--duration` seconds,
each sending its next request as soon as the last one is answered. Prints
requests/s and latency percentiles next to the target (p99 < 20 ms with 50
clients on a warm cache), and the database transactions the server made
meanwhile (a warm request should make none). With `--cold`, a second round
deletes the player's cache entries (session validity, player, state) before
each request, so every request loads them from the database.

The client is one asyncio event loop on raw streams: no thread hand-offs in
the measuring process. It needs DATABASE_URL (PostGIS) and REDIS_URL; the
server uses the same ones. The players it registers (`bench-rest-…`) are
deleted at the end, and those an interrupted run left behind at the next run.
"""

import argparse
import asyncio
import base64
import json
import os
import random
import secrets
import statistics
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import _django  # noqa: F401
from _servers import COMMANDS, Server, production_environment
from django.conf import settings
from django.core.cache import cache
from django.db import connection

from players.repositories import PlayerRepository, PlayerStateRepository, SessionRepository
from players.tokens import SESSION_CLAIM

PREFIX = "bench-rest-"
PATH = "/api/players/me/"
TARGET_P99_MS = 20.0
# A server process reports its statistics to pg_stat_database within 10 s of going idle.
STATS_DELAY = 11.0


# The server -------------------------------------------------------------------


def server_environment(workdir: str) -> dict:
    """Production settings over plain HTTP, sharing this process's cache keys."""
    return production_environment(
        STATIC_ROOT=workdir,
        MMO_VAR_DIR=workdir,
        CACHE_KEY_PREFIX=settings.CACHES["default"].get("KEY_PREFIX", "mmo"),
        THROTTLE_LOGIN="100000/minute",
    )


# Players ------------------------------------------------------------------------


def register(port: int, username: str) -> tuple[str, str, str]:
    """Register a player over the API: (player id, session id, access token)."""
    body = json.dumps(
        {
            "username": username,
            "email": f"{username}@example.com",
            "password": secrets.token_hex(12),
        }
    ).encode()
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/auth/register/",
        data=body,
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=30) as reply:
        login = json.load(reply)
    claims = json.loads(base64.urlsafe_b64decode(login["access"].split(".")[1] + "=="))
    return str(claims[settings.SIMPLE_JWT["USER_ID_CLAIM"]]), claims[SESSION_CLAIM], login["access"]


def remove_players(prefix: str, *, older_than_minutes: int = 0) -> None:
    """
    Raw deletes: the ORM's would send a signal (and a socket event) per player.
    Leftovers of an interrupted run go only once they are old enough not to
    belong to a run going on beside this one.
    """
    with connection.cursor() as cursor:
        owned = (
            "SELECT id FROM players WHERE username LIKE %s"
            " AND created_at < now() - %s * interval '1 minute'"
        )
        pattern = [f"{prefix}%", older_than_minutes]
        for table in ("sessions", "player_positions", "player_profiles", "player_inventories"):
            cursor.execute(f"DELETE FROM {table} WHERE player_id IN ({owned})", pattern)
        cursor.execute(f"DELETE FROM players WHERE id IN ({owned})", pattern)


def cache_keys_of(player_id: str, session_id: str) -> list[str]:
    """The cache entries a request of this player reads: session validity, player, state."""
    return [
        SessionRepository.cache_key(session_id),
        PlayerRepository.cache_key(player_id),
        PlayerStateRepository.cache_key(player_id),
    ]


def database_transactions() -> int:
    """Transactions committed in the database so far (the server's queries run in autocommit)."""
    time.sleep(STATS_DELAY)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_force_next_flush()")
        cursor.execute(
            "SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()"
        )
        return cursor.fetchone()[0]


# The load ------------------------------------------------------------------------


async def read_response(reader: asyncio.StreamReader) -> int:
    """Read one HTTP/1.1 response off a keep-alive connection; returns its status."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = dict(line.lower().split(": ", 1) for line in lines[1:] if ": " in line)
    if "content-length" in headers:
        await reader.readexactly(int(headers["content-length"]))
    elif headers.get("transfer-encoding") == "chunked":
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            await reader.readexactly(size + 2)
            if size == 0:
                break
    return status


async def client(port, token, until, rate, latencies, errors, before_each=None) -> None:
    """
    One keep-alive connection. Without `rate`, each request goes as soon as the
    last is answered; with it, requests go at `rate` per second and latency
    counts from when a request was due, so a server falling behind shows as
    latency instead of as fewer requests.
    """
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    request = (
        f"GET {PATH} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"Authorization: Bearer {token}\r\nAccept: application/json\r\n\r\n"
    ).encode()
    # Paced clients start spread over one interval, not all at once.
    due = time.perf_counter() + (random.random() / rate if rate else 0.0)
    try:
        while due < until:
            if rate:
                await asyncio.sleep(max(0.0, due - time.perf_counter()))
            if before_each is not None:
                await before_each()
            started = due if rate else time.perf_counter()
            writer.write(request)
            status = await read_response(reader)
            finished = time.perf_counter()
            latencies.append(finished - started)
            if status != 200:
                errors.append(status)
            due = due + 1 / rate if rate else finished
    finally:
        writer.close()


async def drive(port, players, seconds, *, rate=None, cold=False) -> tuple[list, list, float]:
    """Every player's client for `seconds`: (latencies, error statuses, elapsed)."""
    latencies, errors = [], []
    redis = None
    if cold:
        from redis.asyncio import Redis

        redis = Redis.from_url(os.environ["REDIS_URL"])
    tasks = []
    started = time.perf_counter()
    until = started + seconds
    for player_id, session_id, token in players:
        before_each = None
        if redis is not None:
            keys = [cache.make_key(key) for key in cache_keys_of(player_id, session_id)]

            async def before_each(keys=keys):
                await redis.delete(*keys)

        tasks.append(client(port, token, until, rate, latencies, errors, before_each))
    await asyncio.gather(*tasks)
    elapsed = time.perf_counter() - started
    if redis is not None:
        await redis.aclose()
    return latencies, errors, elapsed


def measure(title, server, port, players, seconds, *, rate=None, cold=False) -> None:
    transactions_before, cpu_before = database_transactions(), server.cpu_seconds()
    latencies, errors, elapsed = asyncio.run(drive(port, players, seconds, rate=rate, cold=cold))
    cpu = server.cpu_seconds() - cpu_before
    transactions = database_transactions() - transactions_before - 1  # the reading itself
    count = len(latencies)
    ms = sorted(latency * 1000 for latency in latencies)
    q = statistics.quantiles(ms, n=100, method="inclusive")
    verdict = "met" if q[98] < TARGET_P99_MS else "missed"
    print(
        f"{title}\n"
        f"    {count:,} requests in {elapsed:.1f} s = {count / elapsed:,.0f} requests/s;"
        f" latency p50 {q[49]:.1f} ms, p95 {q[94]:.1f} ms, p99 {q[98]:.1f} ms,"
        f" max {ms[-1]:.1f} ms (target p99 < {TARGET_P99_MS:.0f} ms: {verdict})\n"
        f"    server CPU {cpu * 1000 / count:.2f} ms per request ({cpu / elapsed:.0%} of a core);"
        f" {transactions / count:.2f} database transactions per request;"
        f" errors {len(errors)}{f' {sorted(set(errors))}' if errors else ''}"
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--clients", type=int, default=50, help="concurrent connections")
    parser.add_argument("--duration", type=float, default=20.0, help="seconds of load per round")
    parser.add_argument(
        "--rate",
        type=float,
        default=4.0,
        help="requests per second per client in the paced rounds (default 4: 200/s with 50)",
    )
    parser.add_argument("--cold", action="store_true", help="also a paced round on a cold cache")
    parser.add_argument("--server", choices=sorted(COMMANDS), default="uvicorn")
    parser.add_argument(
        "--app",
        default="mmo.asgi:application",
        help="the ASGI application served (bench/django_handler_app.py: Django's own handler)",
    )
    args = parser.parse_args()
    if connection.vendor != "postgresql" or not os.environ.get("REDIS_URL"):
        raise SystemExit("bench/rest.py runs on PostGIS and Redis: set DATABASE_URL and REDIS_URL")

    remove_players(PREFIX, older_than_minutes=30)
    run = f"{PREFIX}{secrets.token_hex(3)}-"
    players = []
    with tempfile.TemporaryDirectory(prefix="bench-rest-") as workdir:
        server = Server(
            args.server,
            args.app,
            server_environment(workdir),
            Path(workdir) / "server.log",
        )
        port = server.port
        try:
            print(
                f"{args.server} (production settings) serving {args.app} on 127.0.0.1:{port},"
                f" pid {server.pid}"
            )
            players = [register(port, f"{run}{n}") for n in range(args.clients)]
            print(f"registered {len(players)} players; warming up")
            # Every entry cached, every connection of the server's database pool opened.
            asyncio.run(drive(port, players, 2.0))
            clients, offered = args.clients, args.clients * args.rate
            measure(
                f"warm cache, {clients} clients each sending as soon as answered (saturation)",
                server, port, players, args.duration,
            )  # fmt: skip
            measure(
                f"warm cache, {clients} clients at {args.rate:g}/s each ({offered:g} requests/s)",
                server, port, players, args.duration, rate=args.rate,
            )  # fmt: skip
            if args.cold:
                measure(
                    f"cold cache (entries deleted before each request), {clients} clients"
                    f" at {args.rate:g}/s each ({offered:g} requests/s)",
                    server, port, players, args.duration, rate=args.rate, cold=True,
                )  # fmt: skip
        finally:
            server.stop()
            connection.close()  # a new connection, should the database have dropped ours
            remove_players(run)
            cache.delete_many([key for player in players for key in cache_keys_of(*player[:2])])


if __name__ == "__main__":
    main()
