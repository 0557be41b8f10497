"""Where the simulated players stand: scattered spots, and their flags there."""

import math
import random
from dataclasses import dataclass

from loadtest.rest import http_json

METRES_PER_DEGREE = 111_320.0
FLAG_NAME = "Load test base"


def placement_settings(radius: float) -> dict[str, str]:
    """
    Server settings under which every player of a run scattered within
    `radius` metres of the start point (the default `--centre`, like the
    server's GAME_START_POINT) gets a flag of their own: the first
    flag may stand anywhere in the scatter, and players' flags only 1 m apart
    (a flag's radius must be positive).
    """
    return {
        # The margin covers the scatter's flat-earth arithmetic against the server's spheroid.
        "FLAG_PLACEMENT_RANGE_M": f"{radius + 100:g}",
        "FLAG_SEPARATION_M": "0",
        "FLAG_RADIUS_M": "1",
    }


def scatter(centre: tuple[float, float], radius: float, rng: random.Random) -> tuple[float, float]:
    """A spot uniformly spread within `radius` metres of the centre (lng, lat)."""
    distance = radius * math.sqrt(rng.random())
    bearing = rng.uniform(0, 2 * math.pi)
    lng0, lat0 = centre
    lat = lat0 + distance * math.cos(bearing) / METRES_PER_DEGREE
    lng = lng0 + distance * math.sin(bearing) / (METRES_PER_DEGREE * math.cos(math.radians(lat0)))
    return lng, lat


@dataclass(frozen=True)
class Settled:
    lng: float
    lat: float
    refusal: str | None  # the server's code when it refused the flag


def settle(server: str, token: str, lng: float, lat: float) -> Settled:
    """
    Place the player's flag at the spot and teleport them onto it (free on
    one's own flag). If the rules refuse the flag, the player stays where the
    server put them at registration, the start point, and may roam there.
    """
    spot = {"position": {"lat": lat, "lng": lng}, "name": FLAG_NAME}
    status, answer = http_json("POST", f"{server}/api/flags/", spot, token)
    if status == 201:
        status, answer = http_json(
            "POST", f"{server}/api/flags/{answer['id']}/teleport/", None, token
        )
        if status != 200:
            raise RuntimeError(f"teleport to one's own flag: {status} {answer}")
        position, refusal = answer["position"], None
    elif status in (400, 403) and isinstance(answer, dict) and "code" in answer:
        refusal = answer["code"]
        status, position = http_json("GET", f"{server}/api/players/me/position/", None, token)
        if status != 200:
            raise RuntimeError(f"GET /api/players/me/position/: {status} {position}")
    else:
        raise RuntimeError(f"POST /api/flags/: {status} {answer}")
    return Settled(position["lng"], position["lat"], refusal)
