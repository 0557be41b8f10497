"""Where the simulated players stand: scattered spots, and their flags there."""

import math
import random
from dataclasses import dataclass

from loadtest.rest import http_json

METRES_PER_DEGREE = 111_320.0
FLAG_NAME = "Load test base"


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


# Rounds of asking for spots and placing there: players settling at the same
# time near each other may take a spot another was offered; it asks again.
SETTLE_ROUNDS = 4
SPOTS_PER_ROUND = 3
# Refusals another player's flag placed meanwhile explains: ask again.
TAKEN_MEANWHILE = {"claimed_land", "too_little_land"}


def flags_at_spots(radius: float) -> dict[str, str]:
    """
    Server settings under which every player's first flag stands at the spot it
    picked within `radius` metres of the start point (the default --centre, the
    server's GAME_START_POINT): the start hub's range covers the scatter, takes
    every new player, and flags claim 1 m. Under the game's own rules a hub takes
    50 players' flags within 3 km and each claims 500 m, so 1,000 players spread
    over hubs the world over. The rules a move is checked against do not change.
    """
    return {
        # The margin covers the scatter's flat-earth arithmetic against the server's spheroid.
        "FLAG_HUB_RANGE_M": f"{radius + 100:g}",
        "FLAG_HUB_CAPACITY": "1000000",
        "FLAG_RADIUS_M": "1",
    }


def settle(server: str, token: str, lng: float, lat: float) -> Settled:
    """
    Place the player's flag at the spot, or where the server says the player may
    build nearest to it, and teleport them onto it (free on one's own flag).
    If the server offers no land or refuses every spot, the player stays
    where the server put them at registration (a start hub) and may roam there.
    """
    # The spot itself first: where the rules allow it, that spares the search for spots.
    placed, refusal = _place(server, token, {"lat": lat, "lng": lng})
    if placed is not None:
        return _teleport(server, token, placed)
    for _ in range(SETTLE_ROUNDS):
        status, answer = http_json(
            "GET",
            f"{server}/api/flags/spots/?near={lng},{lat}&limit={SPOTS_PER_ROUND}",
            None,
            token,
        )
        if status != 200:
            raise RuntimeError(f"GET /api/flags/spots/: {status} {answer}")
        # No land offered: placing at the spot itself gets the server's reason.
        offered = [spot["position"] for spot in answer["spots"]] or [{"lat": lat, "lng": lng}]
        for position in offered:
            placed, refusal = _place(server, token, position)
            if placed is not None:
                return _teleport(server, token, placed)
            if refusal not in TAKEN_MEANWHILE:
                break
        if refusal not in TAKEN_MEANWHILE:
            break
    status, position = http_json("GET", f"{server}/api/players/me/position/", None, token)
    if status != 200:
        raise RuntimeError(f"GET /api/players/me/position/: {status} {position}")
    return Settled(position["lng"], position["lat"], refusal)


def _place(server: str, token: str, position: dict) -> tuple[str | None, str | None]:
    """(the new flag's id, None), or (None, the server's refusal code)."""
    status, answer = http_json(
        "POST", f"{server}/api/flags/", {"position": position, "name": FLAG_NAME}, token
    )
    if status == 201:
        return answer["id"], None
    if status in (400, 403) and isinstance(answer, dict) and "code" in answer:
        return None, answer["code"]
    raise RuntimeError(f"POST /api/flags/: {status} {answer}")


def _teleport(server: str, token: str, flag_id: str) -> Settled:
    status, answer = http_json("POST", f"{server}/api/flags/{flag_id}/teleport/", None, token)
    if status != 200:
        raise RuntimeError(f"teleport to one's own flag: {status} {answer}")
    position = answer["position"]
    return Settled(position["lng"], position["lat"], None)
