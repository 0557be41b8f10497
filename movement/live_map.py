"""The staff's live map of online players: a page in the admin and the JSON it polls."""

from django.conf import settings
from django.contrib import admin
from django.http import JsonResponse
from django.template.response import TemplateResponse
from django.views.decorators.cache import never_cache

from movement.world import live_world

WHOLE_WORLD = (-180.0, -90.0, 180.0, 90.0)
# The most players one poll returns; the map is for watching, not for export.
LIVE_MAP_LIMIT = 5000


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
