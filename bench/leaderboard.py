"""
Leaderboard reads and writes at 100,000 records on one board, at the server
(the service functions a request or a socket message calls; no HTTP).

Fills a board of its own with 100,000 records (players `bench-…`), rebuilds
its Redis sorted set from PostgreSQL, then times, over random players: a rank
read, the rank with the records around it, the top 10, a score write (one
transaction: the upsert, the commit, the sorted set updated after it), and the
rank computed by the database (the path without Redis). Everything it made is
deleted at the end. PostGIS + Redis.

    .venv/bin/python bench/leaderboard.py [--records 100000] [--samples 2000]
"""

import argparse
import random
import statistics
import time
import uuid

import _django  # noqa: F401
from django.conf import settings
from django.db import connection, transaction

from leaderboards import services
from leaderboards.models import Leaderboard
from leaderboards.repositories import RecordRepository, rank_index
from players.models import Player, PlayerProfile


def make_players(count: int, prefix: str) -> list[str]:
    players = [
        Player(username=f"{prefix}-{n}", email=f"{prefix}-{n}@example.com", password="!")
        for n in range(count)
    ]
    Player.objects.bulk_create(players, batch_size=5000)
    PlayerProfile.objects.bulk_create(
        [PlayerProfile(player=p, display_name=p.username) for p in players], batch_size=5000
    )
    return [str(p.pk) for p in players]


def remove(prefix: str, key: str) -> None:
    """Raw deletes: the ORM's would send a signal per player."""
    Leaderboard.objects.filter(pk=key).delete()
    with connection.cursor() as cursor:
        owned = "SELECT id FROM players WHERE username LIKE %s"
        cursor.execute(f"DELETE FROM player_profiles WHERE player_id IN ({owned})", [f"{prefix}-%"])
        cursor.execute("DELETE FROM players WHERE username LIKE %s", [f"{prefix}-%"])


def percentiles(samples: list[float]) -> str:
    samples = sorted(samples)
    p50 = statistics.median(samples)
    p90 = samples[int(len(samples) * 0.90) - 1]
    p99 = samples[int(len(samples) * 0.99) - 1]
    return f"p50 {p50 * 1000:7.3f} ms   p90 {p90 * 1000:7.3f} ms   p99 {p99 * 1000:7.3f} ms"


def timed_each(action, arguments) -> list[float]:
    durations = []
    for argument in arguments:
        started = time.perf_counter()
        action(argument)
        durations.append(time.perf_counter() - started)
    return durations


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--samples", type=int, default=2000)
    options = parser.parse_args()
    if connection.vendor != "postgresql" or not settings.REDIS_URL:
        raise SystemExit(
            "bench/leaderboard.py measures PostGIS + Redis; set DATABASE_URL and REDIS_URL"
        )

    prefix = f"bench-{uuid.uuid4().hex[:6]}"
    key = prefix.replace("-", "_")
    random.seed(7)
    try:
        board = services.leaderboard_create(key=key, name="bench", operator="increment")
        started = time.perf_counter()
        player_ids = make_players(options.records, prefix)
        scores = {pid: random.randrange(1_000_000) for pid in player_ids}
        with transaction.atomic():
            RecordRepository.write(board, 1, scores, now=board.created_at)
        print(
            f"{options.records:,} players and records made in {time.perf_counter() - started:.1f} s"
        )

        index = rank_index()
        started = time.perf_counter()
        index.drop(key, 1)
        index.rebuild(key, 1, RecordRepository.scores(key, 1))
        print(
            f"rebuild of the sorted set from PostgreSQL: {time.perf_counter() - started:.2f} s "
            f"({index.count(key, 1):,} members)"
        )

        sample = random.sample(player_ids, options.samples)
        top_ids = [entry.player_id for entry in services.leaderboard_top(key=key, limit=10).entries]
        for pid in sample[:50]:  # warm the board cache and the connections
            services.leaderboard_rank(key=key, player_id=pid)

        rows = [
            ("rank read (leaderboard_rank)", lambda pid: services.leaderboard_rank(key=key, player_id=pid)),
            ("  of it, Redis EXISTS + ZREVRANK + ZSCORE", lambda pid: index.rank(board, 1, pid)),
            ("rank with 5 around (leaderboard_around)", lambda pid: services.leaderboard_around(key=key, player_id=pid, count=5)),
            ("top 10 with names (leaderboard_top)", lambda pid: services.leaderboard_top(key=key, limit=10)),
            ("  of it, the names of 10 players (PostgreSQL)", lambda pid: RecordRepository.names(top_ids)),
            ("score write (scores_record, commit, ZADD)", lambda pid: _write(key, pid)),
        ]  # fmt: skip
        for label, action in rows:
            print(f"{label:<44} {percentiles(timed_each(action, sample))}")
        database = timed_each(lambda pid: RecordRepository.rank(board, 1, pid), sample[:200])
        print(f"{'rank computed by PostgreSQL (no Redis)':<44} {percentiles(database)}")
    finally:
        remove(prefix, key)
        try:
            rank_index().drop(key, 1)
        except Exception:
            pass


def _write(key: str, player_id: str) -> None:
    with transaction.atomic():
        services.scores_record(key=key, scores={player_id: 5})


if __name__ == "__main__":
    main()
