"""Data access for persisted player positions."""

from dataclasses import dataclass
from datetime import datetime

from django.contrib.gis.geos import Point
from django.db import connection, transaction
from django.db.models import QuerySet

from mmo.geo import within_metres
from movement.models import PlayerPosition
from players.models import Player


@dataclass(frozen=True)
class PositionRow:
    """One accepted position on its way to `player_positions`."""

    player_id: object  # UUID
    lng: float
    lat: float
    direction: float
    area_id: str | None
    version: int
    updated_at: datetime


# PostGIS: COPY the batch into a temporary table, then one UPDATE joins it.
# That is the fastest way to update many rows (see docs/performance.md); rows
# whose stored version is not older are left alone, so a replayed batch is
# harmless, and an area deleted meanwhile becomes NULL instead of failing the
# foreign key.
_POSTGIS_TEMP_TABLE = """
CREATE TEMPORARY TABLE IF NOT EXISTS position_batch (
    player_id uuid, lng double precision, lat double precision,
    direction double precision, area_id varchar(64), version bigint,
    updated_at timestamptz
) ON COMMIT DELETE ROWS
"""
_POSTGIS_COPY = (
    "COPY position_batch (player_id, lng, lat, direction, area_id, version, updated_at) FROM STDIN"
)
_POSTGIS_UPDATE = """
UPDATE player_positions AS p
SET location = ST_SetSRID(ST_MakePoint(b.lng, b.lat), 4326),
    direction = b.direction,
    current_area_id = a.id,
    updated_at = b.updated_at,
    version = b.version
FROM position_batch AS b LEFT JOIN areas AS a ON a.id = b.area_id
WHERE p.player_id = b.player_id AND p.version < b.version
"""

_SPATIALITE_UPDATE = """
UPDATE player_positions
SET location = MakePoint(%s, %s, 4326),
    direction = %s,
    current_area_id = (SELECT id FROM areas WHERE id = %s),
    updated_at = %s,
    version = %s
WHERE player_id = %s AND version < %s
"""


class PositionRepository:
    @staticmethod
    def create(*, player, location: Point, anchor_flag=None, current_area=None) -> PlayerPosition:
        return PlayerPosition.objects.create(
            player=player, location=location, anchor_flag=anchor_flag, current_area=current_area
        )

    @staticmethod
    def get(player_id) -> PlayerPosition | None:
        return PlayerPosition.objects.select_related("current_area").filter(pk=player_id).first()

    @staticmethod
    def version_for_update(player_id) -> int:
        """The stored version, with the row locked until the transaction ends."""
        return (
            PlayerPosition.objects.select_for_update()
            .values_list("version", flat=True)
            .get(pk=player_id)
        )

    @staticmethod
    def jump(player_id, *, location: Point, area_id, anchor_flag_id, updated_at, version) -> None:
        """Store a teleport: the new position and the flag the player may now roam around."""
        PlayerPosition.objects.filter(pk=player_id).update(
            location=location,
            current_area_id=area_id,
            anchor_flag_id=anchor_flag_id,
            updated_at=updated_at,
            version=version,
        )

    # Players on the map, by their stored positions -----------------------------------

    @staticmethod
    def _players_placed() -> QuerySet[Player]:
        return Player.objects.filter(is_active=True).select_related("profile", "position")

    @classmethod
    def players_in_area(cls, area_id: str) -> QuerySet[Player]:
        return cls._players_placed().filter(position__current_area_id=area_id)

    @classmethod
    def players_in_box(cls, box) -> QuerySet[Player]:
        return cls._players_placed().filter(position__location__intersects=box)

    @classmethod
    def players_near(cls, center, metres: float) -> QuerySet[Player]:
        return cls._players_placed().filter(within_metres("position__location", center, metres))

    @staticmethod
    def of_player(player_id) -> PlayerPosition | None:
        """The stored position alone (no area row: its boundary may be large)."""
        return (
            PlayerPosition.objects.filter(pk=player_id)
            .only("location", "direction", "current_area_id", "updated_at", "version")
            .first()
        )

    @staticmethod
    def anchor_flag_of(player_id) -> QuerySet:
        """The flag the player last teleported to, as a subquery of flag ids."""
        return PlayerPosition.objects.filter(pk=player_id, anchor_flag__isnull=False).values(
            "anchor_flag_id"
        )

    @staticmethod
    def write_batch(rows: list[PositionRow]) -> int:
        """Store a batch of accepted positions in one statement; returns rows changed."""
        if not rows:
            return 0
        with transaction.atomic():
            with connection.cursor() as cursor:
                if connection.vendor == "postgresql":
                    cursor.execute(_POSTGIS_TEMP_TABLE)
                    with cursor.copy(_POSTGIS_COPY) as copy:
                        for row in rows:
                            copy.write_row(
                                (
                                    row.player_id,
                                    row.lng,
                                    row.lat,
                                    row.direction,
                                    row.area_id,
                                    row.version,
                                    row.updated_at,
                                )
                            )
                    cursor.execute(_POSTGIS_UPDATE)
                    return cursor.rowcount
                player_pk = PlayerPosition._meta.pk
                cursor.executemany(
                    _SPATIALITE_UPDATE,
                    [
                        (
                            row.lng,
                            row.lat,
                            row.direction,
                            row.area_id,
                            connection.ops.adapt_datetimefield_value(row.updated_at),
                            row.version,
                            player_pk.get_db_prep_value(row.player_id, connection),
                            row.version,
                        )
                        for row in rows
                    ],
                )
                return cursor.rowcount
