"""Data access for flags; the list of active flags is cached."""

import math

from django.contrib.gis.geos import Point, Polygon
from django.db import connection
from django.db.models import F, Max, QuerySet

from flags.models import Flag, FlagType
from mmo import cache
from mmo.geo import distance_to, within_metres

# Advisory locks for placements: namespaces of their own, cells of 0.02° (about 2.2 km).
PLACEMENT_ROW_NAMESPACE = 0x6D6D6F00  # "mmo\0"
PLACEMENT_CELL_NAMESPACE = 0x6D6D6F01
LOCK_CELL_DEGREES = 0.02
MAX_LOCKED_CELLS_PER_ROW = 16
METRES_PER_DEGREE_LAT = 110_574.0

ACTIVE_FLAGS_KEY = cache.key("flags", "active")


class FlagRepository:
    @staticmethod
    def all() -> QuerySet[Flag]:
        return Flag.objects.select_related("owner")

    @staticmethod
    def get(flag_id) -> Flag | None:
        return Flag.objects.select_related("owner").filter(pk=flag_id).first()

    @staticmethod
    def get_for_update(flag_id) -> Flag | None:
        return Flag.objects.select_for_update().filter(pk=flag_id).first()

    @staticmethod
    def only(flag_id) -> QuerySet[Flag]:
        return Flag.objects.filter(pk=flag_id)

    @staticmethod
    def create(**fields) -> Flag:
        return Flag.objects.create(**fields)  # the post_save receiver invalidates the cache

    @staticmethod
    def update(flag: Flag, **fields) -> Flag:
        for name, value in fields.items():
            setattr(flag, name, value)
        flag.save(update_fields=[*fields, "updated_at"])
        return flag

    @staticmethod
    def delete(flag: Flag) -> None:
        flag.delete()

    @classmethod
    def abandon_unvisited_since(cls, horizon, *, now) -> dict:
        """
        Mark normal flags not visited since `horizon` abandoned, in one UPDATE;
        returns how many each owner lost. (A bulk update sends no post_save.)
        """
        stale = list(
            Flag.objects.select_for_update()
            .filter(flag_type=FlagType.NORMAL, is_abandoned=False, last_visited_at__lt=horizon)
            .values_list("pk", "owner_id")
        )
        owners: dict = {}
        for _, owner_id in stale:
            owners[owner_id] = owners.get(owner_id, 0) + 1
        if stale:
            Flag.objects.filter(pk__in=[pk for pk, _ in stale]).update(
                is_abandoned=True, updated_at=now
            )
            cls.invalidate()
        return owners

    @staticmethod
    def largest_radius() -> float:
        return Flag.objects.aggregate(largest=Max("radius"))["largest"] or 0.0

    @staticmethod
    def too_close_for(location: Point, separation: float, *, owner_id, max_radius: float):
        """
        The nearest standing flag of another player closer to `location` than
        `separation` plus its own radius (system flags never count), with its
        `distance` in metres; None if there is none. The GiST index narrows the
        search to `separation + max_radius`, the exact test runs on the rest.
        """
        others = (
            Flag.objects.filter(is_abandoned=False, owner__isnull=False)
            .exclude(owner_id=owner_id)
            .exclude(flag_type=FlagType.SYSTEM)
            .filter(within_metres("location", location, separation + max_radius))
        )
        return (
            others.annotate(distance=distance_to("location", location))
            .filter(distance__lt=F("radius") + separation)
            .order_by("distance")
            .first()
        )

    @staticmethod
    def lock_region(location: Point, metres: float) -> None:
        """
        Serialize flag placements that could conflict: transaction-level
        advisory locks on every cell of a fixed grid that the box of `metres`
        around `location` touches. Two placements closer than `metres` share at
        least one cell, so the second waits for the first to commit and then
        sees its flag. Near the poles a box spans too many cells; such a
        placement takes its rows whole (an exclusive row lock, where ordinary
        placements hold the row shared). Locks are taken rows first, each in
        one order, so placements cannot deadlock. (SQLite writes one
        transaction at a time and needs none of this.)
        """
        if connection.vendor != "postgresql":
            return
        lat_margin = metres / METRES_PER_DEGREE_LAT
        cos_lat = max(math.cos(math.radians(min(abs(location.y) + lat_margin, 90.0))), 1e-9)
        lng_margin = min(metres / (METRES_PER_DEGREE_LAT * cos_lat), 180.0)
        rows = range(
            math.floor((location.y - lat_margin) / LOCK_CELL_DEGREES),
            math.floor((location.y + lat_margin) / LOCK_CELL_DEGREES) + 1,
        )
        cols = range(
            math.floor((location.x - lng_margin) / LOCK_CELL_DEGREES),
            math.floor((location.x + lng_margin) / LOCK_CELL_DEGREES) + 1,
        )
        whole_rows = len(cols) > MAX_LOCKED_CELLS_PER_ROW
        row_lock = "pg_advisory_xact_lock" if whole_rows else "pg_advisory_xact_lock_shared"
        with connection.cursor() as cursor:
            for row in rows:
                cursor.execute(f"SELECT {row_lock}(%s, %s)", [PLACEMENT_ROW_NAMESPACE, row])
            if whole_rows:
                return
            for row in rows:
                for col in cols:
                    cursor.execute(
                        "SELECT pg_advisory_xact_lock(%s, %s)",
                        [PLACEMENT_CELL_NAMESPACE, row * 100_000 + col],
                    )

    @staticmethod
    def active() -> list[Flag]:
        """Every flag not abandoned (cached until a flag changes)."""
        return cache.get_or_load(
            ACTIVE_FLAGS_KEY,
            lambda: list(Flag.objects.filter(is_abandoned=False).order_by("created_at")),
            timeout=cache.WORLD_TTL,
        )

    @staticmethod
    def of_owner(owner_id, queryset: QuerySet[Flag] | None = None) -> QuerySet[Flag]:
        return (FlagRepository.all() if queryset is None else queryset).filter(owner_id=owner_id)

    @staticmethod
    def anchor_points(owner_id) -> list[tuple[float, float]]:
        """(lng, lat) of the owner's standing flags: where they may roam from."""
        return [
            (location.x, location.y)
            for location in Flag.objects.filter(owner_id=owner_id, is_abandoned=False)
            .order_by("created_at")
            .values_list("location", flat=True)
        ]

    @staticmethod
    def within(center: Point, metres: float, queryset: QuerySet[Flag] | None = None):
        queryset = FlagRepository.all() if queryset is None else queryset
        return queryset.filter(within_metres("location", center, metres))

    @staticmethod
    def in_box(box: Polygon, queryset: QuerySet[Flag] | None = None) -> QuerySet[Flag]:
        return (FlagRepository.all() if queryset is None else queryset).filter(
            location__intersects=box
        )

    @staticmethod
    def invalidate() -> None:
        cache.invalidate([ACTIVE_FLAGS_KEY])
