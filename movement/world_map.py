"""
The staff's world map, a page of the admin: areas, flags with their territories
and the online players (pushed by movement/staff_socket.py) on the offline base
map, with search and the actions staff take on a player from it.

Everything here is staff only and loads by the map's view box (`bbox=minLng,
minLat,maxLng,maxLat`), so that a world of many flags draws only what is seen.
"""

import json

from django.conf import settings
from django.contrib import admin
from django.contrib.admin.views.decorators import staff_member_required
from django.contrib.gis.db.models import Extent, FloatField
from django.core.exceptions import ValidationError
from django.db.models import F, Func, Q
from django.http import JsonResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from areas.repositories import AreaRepository
from flags.repositories import FlagRepository
from mmo import realtime
from mmo.geo import bounding_box
from players.models import Player

# The most flags one view draws as points: a whole world's worth (WebGL draws them).
FLAG_LIMIT = 20_000
# Territories are polygons, drawn only when the view is small enough to hold few.
TERRITORY_LIMIT = 2_000
AREA_LIMIT = 5_000
SEARCH_LIMIT = 10
DISCONNECT_REASON = "Disconnected by staff."


class _X(Func):
    function = "ST_X"
    output_field = FloatField()


class _Y(Func):
    function = "ST_Y"
    output_field = FloatField()


def _box(request):
    min_lng, min_lat, max_lng, max_lat = (float(v) for v in request.GET["bbox"].split(","))
    return bounding_box(min_lng=min_lng, min_lat=min_lat, max_lng=max_lng, max_lat=max_lat)


def _needs_box(view):
    def wrapped(request):
        try:
            box = _box(request)
        except (KeyError, ValueError, ValidationError):
            return JsonResponse({"detail": "Give bbox=minLng,minLat,maxLng,maxLat."}, status=400)
        return view(request, box)

    wrapped.__name__ = view.__name__
    wrapped.__doc__ = view.__doc__
    return wrapped


def world_map(request):
    """The page; it opens on the extent of every area and flag."""
    extents = [
        extent
        for extent in (
            AreaRepository.all().aggregate(extent=Extent("boundary"))["extent"],
            FlagRepository.all().aggregate(extent=Extent("location"))["extent"],
        )
        if extent is not None
    ]
    if extents:
        world = (
            min(e[0] for e in extents), min(e[1] for e in extents),
            max(e[2] for e in extents), max(e[3] for e in extents),
        )  # fmt: skip
    else:
        world = (-170.0, -60.0, 170.0, 75.0)
    context = {
        "extent": ",".join(f"{value:.6f}" for value in world),
        **admin.site.each_context(request),
        "title": "World map",
        "tile_url": settings.MAP_TILE_URL,
        "tile_attribution": settings.MAP_TILE_ATTRIBUTION,
    }
    return TemplateResponse(request, "admin/movement/world_map.html", context)


@never_cache
@staff_member_required
@_needs_box
def world_areas(request, box):
    """Areas (active or not) meeting the view, as GeoJSON."""
    areas = AreaRepository.in_box(box, AreaRepository.all())[:AREA_LIMIT]
    features = [
        {
            "type": "Feature",
            "id": area.pk,
            "geometry": json.loads(area.boundary.geojson),
            "properties": {
                "kind": "area",
                "name": area.name,
                "type": area.area_type,
                "isActive": area.is_active,
                "adminUrl": reverse("admin:areas_area_change", args=[area.pk]),
            },
        }
        for area in areas
    ]
    return JsonResponse({"type": "FeatureCollection", "features": features})


@never_cache
@staff_member_required
@_needs_box
def world_flags(request, box):
    """Flags in the view as points: a compact list, the fields of the map's popup."""
    rows = (
        FlagRepository.in_box(box)
        .annotate(lng=_X(F("location")), lat=_Y(F("location")))
        .values_list(
            "id", "name", "flag_type", "owner__username", "radius",
            "is_start_hub", "is_abandoned", "is_hardened", "lng", "lat",
        )[: FLAG_LIMIT + 1]
    )  # fmt: skip
    rows = list(rows)
    keys = ("id", "name", "type", "owner", "radius", "isStartHub", "isAbandoned", "isHardened")
    flags = [
        {**dict(zip(keys, (str(row[0]), *row[1:8]), strict=True)), "lng": row[8], "lat": row[9]}
        for row in rows[:FLAG_LIMIT]
    ]
    return JsonResponse(
        {
            "flags": flags,
            "truncated": len(rows) > FLAG_LIMIT,
            "adminUrl": reverse("admin:flags_flag_change", args=["00000000"]).replace(
                "00000000", "{id}"
            ),
        }
    )


@never_cache
@staff_member_required
@_needs_box
def world_territories(request, box):
    """Flags in the view with their land (their point where they have none), as GeoJSON."""
    flags = FlagRepository.in_box(box).select_related("owner").order_by("claimed_at")
    features = [
        {
            "type": "Feature",
            "id": str(flag.pk),
            "geometry": json.loads((flag.territory or flag.location).geojson),
            "properties": {
                "kind": "territory",
                "name": flag.name,
                "owner": flag.owner.username if flag.owner else None,
                "ownerId": str(flag.owner_id) if flag.owner_id else None,
                "type": flag.flag_type,
                "isStartHub": flag.is_start_hub,
                "isAbandoned": flag.is_abandoned,
                "lng": flag.location.x,
                "lat": flag.location.y,
            },
        }
        for flag in flags[:TERRITORY_LIMIT]
    ]
    return JsonResponse({"type": "FeatureCollection", "features": features})


@never_cache
@staff_member_required
def world_search(request):
    """Players (by username or display name) and flags (by name) to fly to."""
    query = request.GET.get("q", "").strip()
    if not query:
        return JsonResponse({"detail": "Give q, a part of a name."}, status=400)
    players = (
        Player.objects.filter(
            Q(username__icontains=query) | Q(profile__display_name__icontains=query)
        )
        .filter(position__isnull=False)
        .select_related("position")
        .order_by("username")[:SEARCH_LIMIT]
    )
    flags = FlagRepository.all().filter(name__icontains=query).order_by("name")[:SEARCH_LIMIT]
    results = [
        {
            "kind": "player",
            "id": str(player.pk),
            "name": player.username,
            "lng": player.position.location.x,
            "lat": player.position.location.y,
            "adminUrl": reverse("admin:players_player_change", args=[player.pk]),
        }
        for player in players
    ] + [
        {
            "kind": "flag",
            "id": str(flag.pk),
            "name": flag.name,
            "lng": flag.location.x,
            "lat": flag.location.y,
            "adminUrl": reverse("admin:flags_flag_change", args=[flag.pk]),
        }
        for flag in flags
    ]
    return JsonResponse({"results": results})


def _player_and_admin(request, player_id):
    player = get_object_or_404(Player, pk=player_id)
    player_admin = admin.site.get_model_admin(Player)
    if not player_admin.has_change_permission(request, player):
        return player, None
    return player, player_admin


FORBIDDEN = {"detail": "You may not change players."}


@require_POST
@staff_member_required
def disconnect_player(request, player_id):
    """Close the player's sockets, on whichever process holds them."""
    player, player_admin = _player_and_admin(request, player_id)
    if player_admin is None:
        return JsonResponse(FORBIDDEN, status=403)
    realtime.emit(realtime.player_group(player.pk), realtime.player_ended(reason=DISCONNECT_REASON))
    player_admin.log_change(request, player, "Disconnected from the world map.")
    return JsonResponse({"detail": f"{player.username} is disconnected."})


@require_POST
@staff_member_required
def deactivate_player(request, player_id):
    """Deactivate the account: it can no longer log in, and its sockets close."""
    player, player_admin = _player_and_admin(request, player_id)
    if player_admin is None:
        return JsonResponse(FORBIDDEN, status=403)
    if player.is_active:
        player.is_active = False
        player.save(update_fields=["is_active"])  # players/signals.py closes its sockets
        player_admin.log_change(request, player, "Deactivated from the world map.")
    return JsonResponse({"detail": f"{player.username} is deactivated."})


urlpatterns = [
    path("", admin.site.admin_view(world_map), name="world-map"),
    path("areas/", world_areas, name="world-map-areas"),
    path("flags/", world_flags, name="world-map-flags"),
    path("territories/", world_territories, name="world-map-territories"),
    path("search/", world_search, name="world-map-search"),
    path("players/<uuid:player_id>/disconnect/", disconnect_player, name="world-map-disconnect"),
    path("players/<uuid:player_id>/deactivate/", deactivate_player, name="world-map-deactivate"),
]
