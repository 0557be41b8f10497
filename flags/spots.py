"""
Where a player may place a flag now ("where may I build?"): spots on a grid
around a point that pass every placement rule, each with the territory it
would hold, nearest first.

The search runs in memory over the claims near the point (one query for
them, one for the places the range rules measure from): a grid of candidate
spots `FLAG_SPOTS_STEP_M` apart is cut to the land the range rules allow and
no other player holds, and the nearest candidates are tried until enough
hold at least the minimum share of their disc. It widens (coarser) when the
nearby land is taken. The spots are a guide; placing runs the rules again,
on PostGIS with PostGIS's geometry, so a spot keeps a small margin on both
rules (`SHARE_MARGIN`, `EDGE_MARGIN_M`) that the two computations never
disagree about it.
"""

import math
from dataclasses import dataclass

import shapely
from django.conf import settings

from flags.repositories import FlagRepository
from mmo.geo import claim_disc, distance_m, land_left, metres_per_degree, point, share_of

SHARE_MARGIN = 0.01
EDGE_MARGIN_M = 2.0
# Each widening doubles the search radius and the grid's spacing grows with it,
# so that no search tries more than about (2 × radius / step)² candidates.
SEARCH_RADII_M = (1500.0, 3000.0, 6000.0, 12000.0)
MAX_CANDIDATES_PER_AXIS = 60
MAX_TRIES = 600


@dataclass(frozen=True)
class Spot:
    lng: float
    lat: float
    distance_m: float  # from the point asked about
    share: float  # of the full disc the flag would hold
    territory: object  # shapely MultiPolygon, lng/lat

    def frame(self) -> dict:
        return {
            "position": {"lat": self.lat, "lng": self.lng},
            "distance": round(self.distance_m, 1),
            "share": round(self.share, 4),
            "territory": shapely.geometry.mapping(self.territory),
        }


def spots_near(*, player_id, lng: float, lat: float, limit: int) -> list[Spot]:
    """
    Up to `limit` spots where the player may place a flag now, nearest to
    (lng, lat) first. If the land around the point is all taken or out of
    the player's range, the spots near the nearest place the player may
    build from (an own flag, or for a first flag a start hub).
    """
    spots = _search(player_id, lng, lat, limit)
    if spots:
        return spots
    anchor = _nearest_anchor(player_id, lng, lat)
    if anchor is None or distance_m(lng, lat, *anchor) < 1.0:
        return []
    return _search(player_id, *anchor, limit)


def _search(player_id, lng: float, lat: float, limit: int) -> list[Spot]:
    radius_m = settings.FLAG_RADIUS_M
    for search_m in SEARCH_RADII_M:
        step = max(settings.FLAG_SPOTS_STEP_M, 2 * search_m / MAX_CANDIDATES_PER_AXIS)
        spots = _search_within(player_id, lng, lat, search_m, step, radius_m, limit)
        if spots:
            return spots
    return []


def _search_within(player_id, lng, lat, search_m, step, radius_m, limit) -> list[Spot]:
    allowed = _allowed_land(player_id, lng, lat, search_m)
    if allowed.is_empty:
        return []
    per_lng, per_lat = metres_per_degree(lat)
    count = int(search_m // step)
    grid = [
        (math.hypot(east, north), lng + east / per_lng, lat + north / per_lat)
        for east in (n * step for n in range(-count, count + 1))
        for north in (n * step for n in range(-count, count + 1))
        if math.hypot(east, north) <= search_m
    ]
    lngs = [spot_lng for _, spot_lng, _ in grid]
    lats = [spot_lat for _, _, spot_lat in grid]
    inside = shapely.contains_xy(allowed, lngs, lats).tolist()
    claims = [
        shapely.from_wkb(bytes(territory.wkb))
        for territory in FlagRepository.in_disc_box(point(lng, lat), search_m + radius_m)
        .exclude(owner_id=player_id)
        .values_list("territory", flat=True)
    ]
    taken = shapely.union_all(claims) if claims else shapely.GeometryCollection()
    if not taken.is_empty:
        margin = shapely.buffer(taken, EDGE_MARGIN_M / per_lat)
        shapely.prepare(margin)
        held = shapely.intersects_xy(margin, lngs, lats).tolist()
        inside = [free and not claimed for free, claimed in zip(inside, held, strict=True)]
    candidates = sorted(
        (spot for spot, free in zip(grid, inside, strict=True) if free), key=lambda s: s[0]
    )
    minimum = settings.FLAG_MIN_TERRITORY_SHARE + SHARE_MARGIN
    spots: list[Spot] = []
    for _, spot_lng, spot_lat in candidates[:MAX_TRIES]:
        disc = claim_disc(spot_lng, spot_lat, radius_m)
        try:
            nearby = shapely.intersection(taken, shapely.box(*disc.bounds))
            land = land_left(disc, [nearby])
        except shapely.errors.GEOSException:
            continue  # a degenerate overlay: this spot is skipped, the next one tried
        share = share_of(land, disc)
        if share >= minimum:
            spots.append(
                Spot(
                    lng=spot_lng,
                    lat=spot_lat,
                    distance_m=distance_m(lng, lat, spot_lng, spot_lat),
                    share=share,
                    territory=land,
                )
            )
            if len(spots) >= limit:
                break
    return spots


def _allowed_land(player_id, lng, lat, search_m):
    """Where the range rules let the player place a flag, within reach of the search."""
    discs = [
        claim_disc(a_lng, a_lat, metres)
        for a_lng, a_lat, metres in _anchors(player_id, lng, lat, search_m)
    ]
    return shapely.union_all(discs) if discs else shapely.Polygon()


def _anchors(player_id, lng, lat, search_m) -> list[tuple[float, float, float]]:
    """
    (lng, lat, range) of the places a flag of the player's may be measured
    from: their own standing flags, or for a first flag the start hubs and
    every player's standing flag.
    """
    placement = settings.FLAG_PLACEMENT_RANGE_M
    centre = point(lng, lat)
    own = FlagRepository.standing_of_players().filter(owner_id=player_id)
    if own.exists():
        flags = FlagRepository.within(centre, search_m + placement, own)
        return [(f.x, f.y, placement) for f in flags.values_list("location", flat=True)]
    hub_range = settings.FLAG_HUB_RANGE_M
    anchors = [
        (hub.location.x, hub.location.y, hub_range)
        for hub in FlagRepository.start_hubs()
        if distance_m(lng, lat, hub.location.x, hub.location.y) <= search_m + hub_range
    ]
    settled = FlagRepository.within(
        centre, search_m + placement, FlagRepository.standing_of_players()
    )
    anchors += [(f.x, f.y, placement) for f in settled.values_list("location", flat=True)]
    return anchors


def _nearest_anchor(player_id, lng, lat) -> tuple[float, float] | None:
    own = FlagRepository.standing_of_players().filter(owner_id=player_id)
    places = [(f.x, f.y) for f in own.values_list("location", flat=True)]
    if not places:
        places = [(hub.location.x, hub.location.y) for hub in FlagRepository.start_hubs()]
    if not places:
        return None
    return min(places, key=lambda place: distance_m(lng, lat, *place))


def spots_text(spots: list[Spot]) -> str:
    if not spots:
        return ""
    spot = spots[0]
    return (
        f" The nearest spot where you may place one: lat {spot.lat:.6f}, lng {spot.lng:.6f} "
        f"({spot.distance_m:.0f} m away)."
    )
