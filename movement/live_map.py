"""The staff's live map of online players: a page in the admin and the JSON it polls."""

import json

from django.conf import settings
from django.contrib import admin
from django.contrib.admin.views.decorators import staff_member_required
from django.core.exceptions import ValidationError
from django.http import JsonResponse
from django.template.response import TemplateResponse
from django.views.decorators.cache import never_cache

from flags.repositories import FlagRepository
from mmo.geo import bounding_box
from movement.world import live_world

WHOLE_WORLD = (-180.0, -90.0, 180.0, 90.0)
# The most players one poll returns; the map is for watching, not for export.
LIVE_MAP_LIMIT = 5000
# The most flags (with their territories) one view of the map draws.
TERRITORY_LIMIT = 2000


def live_map(request):
    context = {
        **admin.site.each_context(request),
        "title": "Live map of online players",
        "tile_url": settings.MAP_TILE_URL,
        "tile_attribution": settings.MAP_TILE_ATTRIBUTION,
        "refresh_seconds": 3,
    }
    return TemplateResponse(request, "admin/movement/live_map.html", context)


@never_cache
async def live_players(request):
    """Online players on every server process (staff only)."""
    user = await request.auser()
    if not (user.is_active and user.is_staff):
        return JsonResponse({"detail": "Staff only."}, status=403)
    entries = await live_world().presence.in_box(WHOLE_WORLD, LIVE_MAP_LIMIT)
    return JsonResponse({"players": [entry.frame() for entry in entries]})


@never_cache
@staff_member_required
def live_territories(request):
    """Flags in the map's view (`bbox=minLng,minLat,maxLng,maxLat`) with their land, as GeoJSON."""
    try:
        min_lng, min_lat, max_lng, max_lat = (float(v) for v in request.GET["bbox"].split(","))
        box = bounding_box(min_lng=min_lng, min_lat=min_lat, max_lng=max_lng, max_lat=max_lat)
    except (KeyError, ValueError, ValidationError):
        return JsonResponse({"detail": "Give bbox=minLng,minLat,maxLng,maxLat."}, status=400)
    flags = FlagRepository.in_box(box).order_by("claimed_at")[:TERRITORY_LIMIT]
    features = [
        {
            "type": "Feature",
            "id": str(flag.pk),
            "geometry": json.loads((flag.territory or flag.location).geojson),
            "properties": {
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
        for flag in flags
    ]
    return JsonResponse({"type": "FeatureCollection", "features": features})
