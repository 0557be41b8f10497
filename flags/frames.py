"""A flag as the game client's frames carry it (WebSocket, events)."""


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
    }
