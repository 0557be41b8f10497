"""Data access for flags; the list of active flags is cached."""

from django.contrib.gis.geos import Point, Polygon
from django.db.models import QuerySet

from flags.models import Flag
from mmo import cache
from mmo.geo import within_metres

ACTIVE_FLAGS_KEY = cache.key("flags", "active")


class FlagRepository:
    @staticmethod
    def all() -> QuerySet[Flag]:
        return Flag.objects.select_related("owner")

    @staticmethod
    def get(flag_id) -> Flag | None:
        return Flag.objects.select_related("owner").filter(pk=flag_id).first()

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
