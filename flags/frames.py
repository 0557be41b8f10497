"""A flag as the game client's frames carry it (WebSocket, events)."""

import json


def territory_geojson(territory) -> dict | None:
    """A territory as a GeoJSON MultiPolygon, or None for a flag that holds no land."""
    return json.loads(territory.geojson) if territory is not None else None


def flag_frame(flag) -> dict:
    return {
        "id": str(flag.pk),
        "ownerId": str(flag.owner_id) if flag.owner_id else None,
        "name": flag.name,
        "position": {"lat": flag.location.y, "lng": flag.location.x},
        "radius": flag.radius,
        "visualBoundary": flag.visual_boundary,
        "isPublic": flag.is_public,
        "toll": flag.toll,
        "isHardened": flag.is_hardened,
        "isAbandoned": flag.is_abandoned,
        "health": flag.health,
        "type": flag.flag_type,
        "isStartHub": flag.is_start_hub,
        "territory": territory_geojson(flag.territory),
    }
