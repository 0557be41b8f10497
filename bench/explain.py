"""
Query review at scale: the plan and time of every spatial query the server sends.

Fills PostGIS with 100,000 players (positions spread over a region of about
480 × 440 km), 100,000 flags and 10,000 polygon areas, in SQL (`INSERT …
SELECT generate_series`), and runs ANALYZE. Then it drives the real code paths
(the REST list views, the WebSocket's flag listing, the flag services, the
movement start-up reads and the batched position flush), records the SQL they
send through `connection.execute_wrapper`, and runs EXPLAIN (ANALYZE, BUFFERS)
of each statement at the point where the application sends it. For each it
prints the indexes used and the median execution time of three runs.

Everything happens in one transaction that is rolled back at the end, so a
failed or interrupted run leaves no row behind (ANALYZE inside it samples the
transaction's own rows). Exits 1 if a statement scans one of the big tables
sequentially. PostGIS only.
"""

import argparse
import statistics
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass, field

import _django  # noqa: F401
from django.conf import settings
from django.db import connection, transaction
from django.urls import resolve
from django.utils import timezone
from rest_framework.test import APIRequestFactory, force_authenticate

from flags import services as flag_services
from flags.models import Flag
from flags.socket import _flags_in_box
from movement import services as movement_services
from movement.repositories import PositionRepository, PositionRow
from movement.selectors import player_snapshot
from players.models import Player

PREFIX = "bench-explain-"
CENTRE = (13.4, 52.5)  # lng, lat
SPREAD = (3.5, 2.0)  # degrees either side: about 480 × 440 km
AREA_GRID = 100  # 100 × 100 areas
FLUSH_BATCH = 1_000
BIG_TABLES = {"players", "player_positions", "player_profiles", "player_inventories"} | {
    "flags",
    "areas",
}
SPATIAL_MARKERS = ("ST_", "&&", "::geography")


# Rows ------------------------------------------------------------------------


def fill(*, players: int, areas_per_side: int) -> None:
    """The bench world, in SQL: a COPY-free bulk insert is fast enough (seconds)."""
    lng, lat = CENTRE
    d_lng, d_lat = SPREAD
    kit = settings.GAME_STARTER_KIT
    with connection.cursor() as cursor:
        cursor.execute("SELECT setseed(0.42)")
        cursor.execute(
            "INSERT INTO players (id, password, is_superuser, username, email, is_active,"
            " is_staff, created_at, avatar_url)"
            " SELECT gen_random_uuid(), '!', false, %(prefix)s || n, %(prefix)s || n || '@example.com',"
            " true, false, now() - n * interval '1 second', ''"
            " FROM generate_series(1, %(players)s) AS n",
            {"prefix": PREFIX, "players": players},
        )
        mine = "SELECT id FROM players WHERE username LIKE %(pattern)s"
        pattern = {"pattern": PREFIX + "%"}
        cursor.execute(
            "INSERT INTO player_profiles (player_id, display_name, bio, experience, level,"
            " health, max_health, updated_at) SELECT id, username, '', 0, 1, 100, 100, now()"
            " FROM players WHERE username LIKE %(pattern)s",
            pattern,
        )
        cursor.execute(
            "INSERT INTO player_inventories (player_id, wood, leather, stone, roc_feathers, gold,"
            f" updated_at) SELECT id, %(wood)s, %(leather)s, %(stone)s, %(roc_feathers)s, %(gold)s,"
            f" now() FROM ({mine}) AS p",
            {**pattern, **kit},
        )
        # Positions uniform over the region; each player's flag a few hundred metres away.
        cursor.execute(
            "INSERT INTO player_positions (player_id, location, direction, updated_at, version)"
            " SELECT id, ST_SetSRID(ST_MakePoint(%(lng)s + (random() * 2 - 1) * %(d_lng)s,"
            " %(lat)s + (random() * 2 - 1) * %(d_lat)s), 4326), 0, now(), 0"
            f" FROM ({mine}) AS p",
            {**pattern, "lng": lng, "lat": lat, "d_lng": d_lng, "d_lat": d_lat},
        )
        cursor.execute(
            "INSERT INTO flags (id, owner_id, name, location, radius, visual_boundary, is_public,"
            " toll, is_hardened, is_abandoned, health, flag_type, last_visited_at, created_at,"
            " updated_at, claimed_at, is_start_hub)"
            " SELECT gen_random_uuid(), player_id, %(prefix)s || 'flag',"
            " ST_SetSRID(ST_MakePoint(ST_X(location) + (random() * 2 - 1) * 0.004,"
            " ST_Y(location) + (random() * 2 - 1) * 0.003), 4326),"
            " %(radius)s, %(visual)s, true, 0, false, false, %(health)s, 'normal',"
            " now(), now() - random() * interval '30 days', now(), now(), false"
            f" FROM player_positions WHERE player_id IN ({mine})",
            {
                **pattern,
                "prefix": PREFIX,
                "radius": settings.FLAG_RADIUS_M,
                "visual": settings.FLAG_VISUAL_BOUNDARY_M,
                "health": settings.FLAG_HEALTH,
            },
        )
        # Each flag holds its whole disc (the bench's flags overlap: plans, not rules, matter here).
        cursor.execute(
            "UPDATE flags SET territory = ST_Multi(ST_Buffer(location::geography, radius)::geometry)"
            " WHERE name = %(prefix)s || 'flag'",
            {"prefix": PREFIX},
        )
        # A grid of octagons (8 vertices) over the region, with gaps between them.
        step_lng, step_lat = 2 * d_lng / areas_per_side, 2 * d_lat / areas_per_side
        cursor.execute(
            "INSERT INTO areas (id, name, area_type, boundary, properties, is_active, created_at,"
            " updated_at)"
            " SELECT %(prefix)s || i || '-' || j, 'Bench ' || i || '-' || j, 'wilderness',"
            " ST_Multi(ST_Buffer(ST_SetSRID(ST_MakePoint("
            "   %(west)s + (i + 0.5) * %(step_lng)s, %(south)s + (j + 0.5) * %(step_lat)s), 4326),"
            "   0.45 * %(step_lat)s, 2)),"
            " %(properties)s, true, now(), now()"
            " FROM generate_series(0, %(side)s - 1) AS i, generate_series(0, %(side)s - 1) AS j",
            {
                "prefix": PREFIX,
                "west": lng - d_lng,
                "south": lat - d_lat,
                "step_lng": step_lng,
                "step_lat": step_lat,
                "side": areas_per_side,
                "properties": '{"description": "", "allow_pvp": false, "allow_building": true,'
                ' "resources": [], "hazards": []}',
            },
        )
        # What the flush would have written: each player's current area.
        cursor.execute(
            "UPDATE player_positions AS p SET current_area_id = a.id FROM areas AS a"
            " WHERE a.id LIKE %(pattern)s AND ST_Contains(a.boundary, p.location)",
            pattern,
        )
        for table in sorted(BIG_TABLES):
            cursor.execute(f"ANALYZE {table}")


def counts() -> dict[str, int]:
    with connection.cursor() as cursor:
        result = {}
        for table in ("players", "flags", "areas"):
            cursor.execute(f"SELECT count(*) FROM {table}")
            result[table] = cursor.fetchone()[0]
        return result


# Plans -----------------------------------------------------------------------


@dataclass
class Reviewed:
    scenario: str
    sql: str
    plan: dict
    times_ms: list[float]
    indexes: list[str] = field(default_factory=list)
    seq_scans: list[str] = field(default_factory=list)

    @property
    def spatial(self) -> bool:
        return any(marker in self.sql for marker in SPATIAL_MARKERS)

    @property
    def big_seq_scans(self) -> list[str]:
        return [table for table in self.seq_scans if table in BIG_TABLES]

    @property
    def what(self) -> str:
        sql = self.sql
        verb = "count" if "COUNT(*)" in sql else sql.split(None, 1)[0].lower()
        table = sql.split(" FROM ", 1)[1].split()[0].strip('"') if " FROM " in sql else ""
        if verb == "update":
            table = sql.split()[1].strip('"')
        if verb == "with":  # a territory: the land a flag would hold
            verb, table = "land", "flags"
        ops = [op for op in ("ST_DWithin", "ST_Distance", "ST_Intersects", "ST_Contains",
                             "ST_Difference", "MAX(")
               if op in sql]  # fmt: skip
        if "ORDER BY" in sql and "distance" in sql.split("ORDER BY", 1)[1]:
            ops.append("order by distance")
        return f"{verb} {table} {' '.join(op.rstrip('(') for op in ops)}".strip()


def walk(node: dict):
    yield node
    for child in node.get("Plans", []):
        yield from walk(child)


def explain(cursor, sql: str, params) -> tuple[dict, float]:
    cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) {sql}", params)
    document = cursor.fetchone()[0]
    document = document[0] if isinstance(document, list) else document
    return document, document["Execution Time"]


@contextmanager
def reviewing(scenario: str, reviewed: list[Reviewed]):
    """
    Record the plan of each SELECT and UPDATE the block sends, where it sends
    it. A SELECT runs as the application sent it, then under EXPLAIN ANALYZE
    three times (warm). An UPDATE runs under EXPLAIN ANALYZE instead of plainly,
    since that executes it too.
    """

    def wrapper(execute, sql, params, many, context):
        verb = sql.lstrip().split(None, 1)[0].upper()
        if many or verb not in {"SELECT", "WITH", "UPDATE"} or "pg_advisory" in sql:
            return execute(sql, params, many, context)
        cursor = context["cursor"].cursor  # the driver's: no wrapper around it
        if verb == "UPDATE":
            plan, elapsed = explain(cursor, sql, params)
            times = [elapsed]
            result = None
        else:
            execute(sql, params, many, context)
            times = []
            for _ in range(3):
                plan, elapsed = explain(cursor, sql, params)
                times.append(elapsed)
            # The caller reads the application's rows, not the plan's.
            result = cursor.execute(sql, params)
        entry = Reviewed(scenario, sql, plan["Plan"], times)
        for node in walk(plan["Plan"]):
            if "Index Name" in node:
                entry.indexes.append(node["Index Name"])
            if node["Node Type"] == "Seq Scan":
                entry.seq_scans.append(node["Relation Name"])
        reviewed.append(entry)
        return result

    with connection.execute_wrapper(wrapper):
        yield


# The application's queries ------------------------------------------------------


def rest_get(path: str, player) -> None:
    request = APIRequestFactory().get(path)
    force_authenticate(request, user=player)
    match = resolve(path.split("?", 1)[0])
    response = match.func(request, *match.args, **match.kwargs)
    assert response.status_code == 200, (path, response.status_code, response.data)


def scenarios(player, flag, position, other_flag) -> list[tuple[str, object]]:
    """(name, action) for every path that sends a spatial query."""
    lng, lat = flag.location.x, flag.location.y
    # A phone's map view: about 3.5 × 3.3 km.
    box = (lng - 0.025, lat - 0.015, lng + 0.025, lat + 0.015)
    bbox = ",".join(f"{v:.6f}" for v in box)
    near = f"near={lng:.6f},{lat:.6f}&radius=1000"
    area_id, inside = position.current_area_id, position.location

    def place_flag():
        # 300 m north of the player's flag: refused or not, the rule queries run.
        try:
            flag_services.flag_place(
                player=player, lng=lng, lat=lat + 0.0027, name="bench", is_public=False, toll=0
            )
        except flag_services.FlagActionRefused:
            pass

    # The flush's batch is picked now, so that picking it is not reviewed.
    batch = list(
        Player.objects.filter(username__startswith=PREFIX)
        .values_list("pk", "position__location", "position__current_area_id")
        .order_by("?")[:FLUSH_BATCH]
    )
    now = timezone.now()
    rows = [PositionRow(pid, point.x, point.y, 90.0, area, 1, now) for pid, point, area in batch]

    return [
        ("GET /api/flags/?near", lambda: rest_get(f"/api/flags/?{near}", player)),
        ("GET /api/flags/?bbox", lambda: rest_get(f"/api/flags/?bbox={bbox}", player)),
        ("GET /api/players/?near", lambda: rest_get(f"/api/players/?{near}", player)),
        ("GET /api/players/?bbox", lambda: rest_get(f"/api/players/?bbox={bbox}", player)),
        ("GET /api/players/?area", lambda: rest_get(f"/api/players/?area={area_id}", player)),
        (
            "GET /api/areas/?contains",
            lambda: rest_get(f"/api/areas/?contains={inside.x},{inside.y}", player),
        ),
        ("GET /api/areas/?bbox", lambda: rest_get(f"/api/areas/?bbox={bbox}", player)),
        ("ws get-flags (box)", lambda: _flags_in_box(box, settings.WEBSOCKET_LIST_LIMIT)),
        (
            "GET /api/flags/spots/",
            lambda: rest_get(f"/api/flags/spots/?near={lng:.6f},{lat:.6f}&limit=3", player),
        ),
        ("flag_place", place_flag),
        (
            "player_teleport",
            lambda: movement_services.player_teleport(player=player, flag_id=other_flag.pk),
        ),
        ("movement start", lambda: player_snapshot(player_id=player.pk)),
        (f"position flush ({FLUSH_BATCH:,} rows)", lambda: PositionRepository.write_batch(rows)),
    ]


def pick_subjects():
    """
    A bench player near the centre who stands in an area, their flag, that area,
    and another player's flag further east.
    """
    lng, lat = CENTRE
    flag = (
        Flag.objects.filter(
            owner__username__startswith=PREFIX, owner__position__current_area__isnull=False
        )
        .filter(location__intersects=_box_around(lng, lat, 0.3))
        .select_related("owner__position")
        .first()
    )
    other_flag = (
        Flag.objects.filter(owner__username__startswith=PREFIX, is_public=True)
        .exclude(owner=flag.owner)
        .filter(location__intersects=_box_around(lng + 0.5, lat, 0.3))
        .first()
    )
    return flag.owner, flag, flag.owner.position, other_flag


def _box_around(lng, lat, half):
    from mmo.geo import bounding_box

    return bounding_box(
        min_lng=lng - half, min_lat=lat - half, max_lng=lng + half, max_lat=lat + half
    )


# Report ----------------------------------------------------------------------


def report(reviewed: list[Reviewed]) -> int:
    print(f"\n{'query':<58} {'index used':<52} {'rows':>5} {'buffers':>7} {'median ms':>9}")
    failures = 0
    for entry in reviewed:
        label = f"{entry.scenario}: {entry.what}"
        used = ", ".join(dict.fromkeys(entry.indexes)) or "-"
        flag = ""
        if entry.big_seq_scans:
            flag = f"  SEQ SCAN on {', '.join(entry.big_seq_scans)}"
            failures += 1
        elif entry.seq_scans:
            flag = f"  (seq scan on {', '.join(entry.seq_scans)})"
        marker = "*" if entry.spatial else " "
        rows = entry.plan["Actual Rows"]
        buffers = entry.plan["Shared Hit Blocks"] + entry.plan["Shared Read Blocks"]
        print(
            f"{marker}{label[:57]:<57} {used[:52]:<52} {rows:>5} {buffers:>7}"
            f" {statistics.median(entry.times_ms):>9.2f}{flag}"
        )
    print(
        "\n* spatial. rows: returned; buffers: shared pages read or hit;"
        " times: EXPLAIN ANALYZE execution time, median of 3 (an UPDATE runs once)."
    )
    return failures


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--players", type=int, default=100_000, help="players, and as many flags")
    parser.add_argument("--area-grid", type=int, default=AREA_GRID, help="areas: this squared")
    parser.add_argument("--verbose", action="store_true", help="print each statement and plan")
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        raise SystemExit("bench/explain.py reviews PostGIS plans; set DATABASE_URL=postgis://…")

    reviewed: list[Reviewed] = []
    with transaction.atomic():
        started = time.perf_counter()
        fill(players=args.players, areas_per_side=args.area_grid)
        sizes = counts()
        print(
            f"filled and analysed in {time.perf_counter() - started:.1f} s: "
            + ", ".join(f"{count:,} {table}" for table, count in sizes.items())
        )
        for name, action in scenarios(*pick_subjects()):
            with reviewing(name, reviewed):
                action()
        # Nothing of the run is kept, whatever happened above.
        transaction.set_rollback(True)

    if args.verbose:
        import json

        for entry in reviewed:
            print(
                f"\n== {entry.scenario}: {entry.what}\n{entry.sql}\n{json.dumps(entry.plan, indent=1)}"
            )
    failures = report(reviewed)
    if failures:
        print(f"\n{failures} statement(s) scan a big table sequentially.")
        sys.exit(1)
    print("\nNo statement scans a big table sequentially.")


if __name__ == "__main__":
    main()
