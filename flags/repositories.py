"""Data access for flags; the list of active flags is cached."""

import math
from dataclasses import dataclass

from django.contrib.gis.geos import GEOSGeometry, MultiPolygon, Point, Polygon
from django.db import connection
from django.db.models import Max, Q, QuerySet, Subquery
from django.utils import timezone

from flags.models import Flag, FlagType
from mmo import cache
from mmo.geo import claim_disc, from_geos, land_left, share_of, to_geos, within_metres

# Advisory locks for placements: namespaces of their own, cells of 0.02° (about 2.2 km).
PLACEMENT_ROW_NAMESPACE = 0x6D6D6F00  # "mmo\0"
PLACEMENT_CELL_NAMESPACE = 0x6D6D6F01
LOCK_CELL_DEGREES = 0.02
MAX_LOCKED_CELLS_PER_ROW = 16
METRES_PER_DEGREE_LAT = 110_574.0

ACTIVE_FLAGS_KEY = cache.key("flags", "active")

# A flag's territory on PostGIS: its disc (a geography buffer, in metres on the
# spheroid) minus the union of the other players' territories that touch it
# (found through the GiST index), made valid, kept as a MultiPolygon; and the
# share of the disc it holds. Slivers left where edges nearly coincide (under
# SMALLEST_PART_M2) are dropped: they hold no land and upset later overlays.
# `%(before)s` narrows the claims subtracted to
# those made before a given one (recomputing a flag that already stands).
_LAND_SQL = """
WITH disc AS (
    SELECT ST_Buffer(ST_GeogFromText(%(point)s), %(radius)s)::geometry AS geom
), taken AS (
    SELECT ST_Union(other.territory) AS geom
    FROM flags other, disc
    WHERE other.territory && disc.geom
      AND ST_Intersects(other.territory, disc.geom)
      AND other.owner_id IS NOT NULL
      AND other.owner_id <> %(owner)s
      {before}
), land AS (
    SELECT disc.geom AS disc, (
        SELECT COALESCE(ST_Multi(ST_Collect(part.geom)), ST_GeomFromText('MULTIPOLYGON EMPTY', 4326))
        FROM ST_Dump(ST_CollectionExtract(ST_MakeValid(
            CASE WHEN taken.geom IS NULL THEN disc.geom
                 ELSE ST_Difference(disc.geom, taken.geom) END
        ), 3)) AS part
        WHERE ST_Area(part.geom::geography) >= %(smallest_part)s
    ) AS geom
    FROM disc, taken
)
SELECT ST_AsBinary(land.geom), ST_Area(land.geom::geography) / ST_Area(land.disc::geography)
FROM land
"""
SMALLEST_PART_M2 = 1.0
_BEFORE_SQL = "AND (other.claimed_at, other.id) < (%(claimed_at)s, %(flag_id)s)"


@dataclass(frozen=True)
class Land:
    """The territory a flag would hold at a spot, and its share of the full disc."""

    territory: MultiPolygon
    share: float


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

    @staticmethod
    def unvisited_since(horizon) -> list:
        """Ids of standing normal flags not visited since `horizon`, oldest claim first."""
        return list(
            Flag.objects.filter(
                flag_type=FlagType.NORMAL, is_abandoned=False, last_visited_at__lt=horizon
            )
            .order_by("claimed_at", "id")
            .values_list("pk", flat=True)
        )

    @staticmethod
    def largest_radius() -> float:
        return Flag.objects.aggregate(largest=Max("radius"))["largest"] or 0.0

    # Territories ---------------------------------------------------------------------

    @staticmethod
    def claims_of_others(owner_id) -> QuerySet[Flag]:
        """Flags holding land that are not `owner_id`'s."""
        return Flag.objects.filter(territory__isnull=False, owner__isnull=False).exclude(
            owner_id=owner_id
        )

    @classmethod
    def claimant_at(cls, location: Point, *, owner_id) -> Flag | None:
        """The other player's flag whose territory covers `location` (its edge included)."""
        return (
            cls.claims_of_others(owner_id)
            .select_related("owner")
            .filter(territory__intersects=location)
            .order_by("claimed_at", "id")
            .first()
        )

    @classmethod
    def land_for(
        cls, location: Point, radius: float, *, owner_id, before: Flag | None = None
    ) -> Land:
        """
        The land a flag of `owner_id` at `location` would hold: its disc minus
        the territories of other players' flags (only those claimed before
        `before`, if given). PostGIS computes it on PostGIS; elsewhere GEOS
        does, in the portable form of mmo/geo.py.
        """
        if connection.vendor == "postgresql":
            params = {
                "point": location.wkt,
                "radius": float(radius),
                "owner": str(owner_id),
                "smallest_part": SMALLEST_PART_M2,
            }
            sql = _LAND_SQL.format(before=_BEFORE_SQL if before is not None else "")
            if before is not None:
                params.update(claimed_at=before.claimed_at, flag_id=before.pk)
            with connection.cursor() as cursor:
                cursor.execute(sql, params)
                wkb, share = cursor.fetchone()
            territory = GEOSGeometry(memoryview(wkb), srid=4326)
            return Land(territory=territory, share=float(share or 0.0))
        disc = claim_disc(location.x, location.y, radius)
        others = cls.claims_of_others(owner_id).filter(territory__intersects=to_geos(disc).envelope)
        if before is not None:
            others = others.filter(
                Q(claimed_at__lt=before.claimed_at)
                | Q(claimed_at=before.claimed_at, id__lt=before.pk)
            )
        taken = [from_geos(territory) for territory in others.values_list("territory", flat=True)]
        land = land_left(disc, taken, smallest_part_m2=SMALLEST_PART_M2)
        return Land(territory=to_geos(land), share=share_of(land, disc))

    @classmethod
    def claim(cls, flag: Flag) -> Flag:
        """Recompute and store `flag`'s territory against the claims made before it."""
        if flag.owner_id is None or flag.is_abandoned:
            territory = None
        else:
            territory = cls.land_for(
                flag.location, flag.radius, owner_id=flag.owner_id, before=flag
            ).territory
        Flag.objects.filter(pk=flag.pk).update(territory=territory)
        flag.territory = territory
        return flag

    @staticmethod
    def claims_after(flag: Flag, metres: float) -> list[Flag]:
        """
        Other players' flags holding land within `metres` of `flag` that
        claimed after it, in the order they claimed: those whose land may
        grow when `flag` lets go of its own.
        """
        return list(
            Flag.objects.filter(territory__isnull=False, owner__isnull=False)
            .exclude(owner_id=flag.owner_id)
            .exclude(pk=flag.pk)
            .filter(
                Q(claimed_at__gt=flag.claimed_at) | Q(claimed_at=flag.claimed_at, id__gt=flag.pk)
            )
            .filter(within_metres("location", flag.location, metres))
            .order_by("claimed_at", "id")
        )

    @staticmethod
    def territories(flag_ids=None) -> list[tuple]:
        """
        (id, owner_id, is_public, toll, claimed_at, territory) of flags holding
        land: all of them, or those of `flag_ids` (the in-memory territory index).
        """
        flags = Flag.objects.filter(territory__isnull=False, owner__isnull=False)
        if flag_ids is not None:
            flags = flags.filter(pk__in=list(flag_ids))
        return list(
            flags.values_list("id", "owner_id", "is_public", "toll", "claimed_at", "territory")
        )

    @staticmethod
    def in_disc_box(location: Point, metres: float) -> QuerySet[Flag]:
        """Flags holding land within a box of `metres` around `location` (the spots search)."""
        return Flag.objects.filter(
            territory__isnull=False,
            owner__isnull=False,
            territory__intersects=to_geos(claim_disc(location.x, location.y, metres)).envelope,
        )

    @staticmethod
    def database_now():
        """
        The database's clock now (not the transaction's start): claims that
        queue for the same locks are stamped in the order they got them.
        """
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT clock_timestamp()")
                return cursor.fetchone()[0]
        return timezone.now()

    # Start hubs ---------------------------------------------------------------------

    @staticmethod
    def start_hubs() -> list[Flag]:
        return list(
            Flag.objects.filter(is_start_hub=True, flag_type=FlagType.SYSTEM).order_by(
                "created_at", "id"
            )
        )

    @staticmethod
    def claims_near(location: Point, metres: float) -> int:
        """How many players' standing flags lie within `metres` of `location`."""
        return (
            Flag.objects.filter(owner__isnull=False, is_abandoned=False)
            .filter(within_metres("location", location, metres))
            .count()
        )

    @staticmethod
    def standing_of_players() -> QuerySet[Flag]:
        """Players' standing flags (where a first flag may join a settlement)."""
        return Flag.objects.filter(owner__isnull=False, is_abandoned=False)

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
    def anchor_points(owner_id, *, visited: QuerySet) -> list[tuple[float, float]]:
        """
        (lng, lat) of the owner's standing flags, oldest first, then of the
        flag in `visited` (a subquery of one flag id) if it still stands and
        is not among them: where the player may roam from, in one query.
        """
        rows = (
            Flag.objects.filter(
                # A scalar subquery, not IN: PostgreSQL then ORs the two indexes
                # instead of scanning every flag.
                Q(owner_id=owner_id, is_abandoned=False) | Q(pk=Subquery(visited[:1]))
            )
            .order_by("created_at")
            .values_list("owner_id", "is_abandoned", "location")
        )
        owner, standing, visited_points = str(owner_id), [], []
        for flag_owner, is_abandoned, location in rows:
            own = str(flag_owner) == owner and not is_abandoned
            (standing if own else visited_points).append((location.x, location.y))
        return standing + [point for point in visited_points if point not in standing]

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
