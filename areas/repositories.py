"""Data access for areas; the list of active areas is cached."""

from django.contrib.gis.geos import Point, Polygon
from django.db.models import QuerySet

from areas.models import Area
from mmo import cache

ACTIVE_AREAS_KEY = cache.key("areas", "active")


class AreaRepository:
    @staticmethod
    def all() -> QuerySet[Area]:
        return Area.objects.all()

    @staticmethod
    def get(area_id: str) -> Area | None:
        return Area.objects.filter(pk=area_id).first()

    @staticmethod
    def active() -> list[Area]:
        """Every active area (cached until an area changes)."""
        return cache.get_or_load(
            ACTIVE_AREAS_KEY,
            lambda: list(Area.objects.filter(is_active=True).order_by("id")),
            timeout=cache.WORLD_TTL,
        )

    @staticmethod
    def containing(location: Point, queryset: QuerySet[Area] | None = None) -> QuerySet[Area]:
        queryset = Area.objects.filter(is_active=True) if queryset is None else queryset
        return queryset.filter(boundary__contains=location)

    @staticmethod
    def in_box(box: Polygon, queryset: QuerySet[Area] | None = None) -> QuerySet[Area]:
        queryset = Area.objects.filter(is_active=True) if queryset is None else queryset
        return queryset.filter(boundary__intersects=box)

    @staticmethod
    def save(area: Area) -> Area:
        area.save()  # the post_save receiver invalidates the cache
        return area

    @staticmethod
    def delete(area: Area) -> None:
        area.delete()

    @staticmethod
    def invalidate() -> None:
        cache.invalidate([ACTIVE_AREAS_KEY])
