"""
Batched position flush vs the fastest way PostgreSQL updates many rows.

For 10k and 100k players: the movement system's flush (dirty live players →
rows → PositionRepository.write_batch) against a bare COPY of the same rows into
a temporary table + one UPDATE … FROM, on the same table, in the same run.
Median of three rounds each. PostGIS only.
"""

import statistics
import time
import uuid

import _django  # noqa: F401
from django.db import connection, transaction

from movement.models import PlayerPosition
from movement.moves import next_version
from movement.repositories import PositionRepository, PositionRow
from players.models import Player

SIZES = (10_000, 100_000)


def remove_players(prefix: str) -> None:
    """Raw deletes: the ORM's would send a signal (and a socket event) per player."""
    with connection.cursor() as cursor:
        owned = "SELECT id FROM players WHERE username LIKE %s"
        for table in ("player_positions", "player_profiles", "player_inventories"):
            cursor.execute(f"DELETE FROM {table} WHERE player_id IN ({owned})", [f"{prefix}-%"])
        cursor.execute("DELETE FROM players WHERE username LIKE %s", [f"{prefix}-%"])


def make_players(count: int, prefix: str) -> list:
    players = [
        Player(username=f"{prefix}-{n}", email=f"{prefix}-{n}@example.com", password="!")
        for n in range(count)
    ]
    Player.objects.bulk_create(players, batch_size=5000)
    from django.conf import settings

    from mmo.geo import point
    from players.models import Inventory, PlayerProfile

    PlayerProfile.objects.bulk_create(
        [PlayerProfile(player=p, display_name=p.username) for p in players], batch_size=5000
    )
    PlayerPosition.objects.bulk_create(
        [PlayerPosition(player=p, location=point(0, 0)) for p in players], batch_size=5000
    )
    Inventory.objects.bulk_create(
        [Inventory(player=p, **settings.GAME_STARTER_KIT) for p in players], batch_size=5000
    )
    return [p.pk for p in players]


def rows_for(player_ids, round_: int) -> list[PositionRow]:
    from django.utils import timezone

    now = timezone.now()
    return [
        PositionRow(
            player_id=pid,
            lng=0.001 * ((n + round_) % 1000),
            lat=0.001 * ((n * 7 + round_) % 1000),
            direction=float((n + round_) % 360),
            area_id=None,
            version=next_version(0) + round_,
            updated_at=now,
        )
        for n, pid in enumerate(player_ids)
    ]


def bare_copy_update(rows) -> None:
    """The limit: COPY into a temp table, then UPDATE … FROM (no version check, no area join)."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "CREATE TEMP TABLE IF NOT EXISTS bench_batch (player_id uuid, lng float8, "
            "lat float8, direction float8) ON COMMIT DELETE ROWS"
        )
        with cursor.copy("COPY bench_batch (player_id, lng, lat, direction) FROM STDIN") as copy:
            for row in rows:
                copy.write_row((row.player_id, row.lng, row.lat, row.direction))
        cursor.execute(
            "UPDATE player_positions AS p SET location = ST_SetSRID(ST_MakePoint(b.lng, b.lat), 4326), "
            "direction = b.direction FROM bench_batch AS b WHERE p.player_id = b.player_id"
        )


def timed(action) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def main():
    if connection.vendor != "postgresql":
        raise SystemExit("bench/flush.py measures PostGIS; set DATABASE_URL=postgis://…")
    for size in SIZES:
        prefix = f"bench-{uuid.uuid4().hex[:6]}"
        player_ids = make_players(size, prefix)
        try:
            ours, limit = [], []
            for round_ in range(1, 4):
                batch = rows_for(player_ids, round_ * 2)
                limit.append(timed(lambda batch=batch: bare_copy_update(batch)))
                batch = rows_for(player_ids, round_ * 2 + 1)
                ours.append(timed(lambda batch=batch: PositionRepository.write_batch(batch)))
            ours_s, limit_s = statistics.median(ours), statistics.median(limit)
            print(
                f"flush {size:>7,} positions: {ours_s * 1000:8.1f} ms ({size / ours_s:>9,.0f} rows/s)"
                f" | COPY + UPDATE … FROM: {limit_s * 1000:8.1f} ms ({size / limit_s:>9,.0f} rows/s)"
                f" | ratio {limit_s / ours_s:5.2f} (target ≥ 0.50)"
            )
        finally:
            remove_players(prefix)


if __name__ == "__main__":
    main()
