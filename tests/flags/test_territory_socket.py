"""Territories on the socket: where may I build, taking over, land in flag frames."""

import pytest
from channels.db import database_sync_to_async
from django.core.management import call_command

from tests.conftest import bearer_client
from tests.factories import FlagFactory, PlayerFactory
from tests.geodesy import north_of_equator

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def seeded(db):
    call_command("seed_world")


@pytest.fixture
def spot_searches_throttled(settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {
            **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
            "flag-spots": "2/minute",
        },
    }


async def test_spot_searches_share_one_budget_per_player_over_rest_and_socket(
    seeded, connect, spot_searches_throttled
):
    client = await connect()
    api = bearer_client(client.login.tokens.access)
    rest_search = database_sync_to_async(lambda: api.get("/api/flags/spots/?near=0,0&limit=1"))

    assert (await rest_search()).status_code == 200
    await client.send("find-flag-spots", {"limit": 1})
    assert len((await client.receive_type("flag-spots"))["spots"]) == 1

    await client.send("find-flag-spots", {"limit": 1})
    refused = await client.receive_type("error")
    throttled = await rest_search()

    assert refused["code"] == "rate_limited"
    assert throttled.status_code == 429 and int(throttled["Retry-After"]) > 0
    other = await connect()
    await other.send("find-flag-spots", {"limit": 1})
    assert len((await other.receive_type("flag-spots"))["spots"]) == 1


@pytest.mark.smoke
async def test_find_flag_spots_where_one_stands(seeded, connect):
    client = await connect()
    await database_sync_to_async(FlagFactory)(location=north_of_equator(0))

    await client.send("find-flag-spots", {"limit": 3})

    answer = await client.receive_type("flag-spots")
    assert answer["near"] == {"lat": 0.0, "lng": 0.0}
    assert len(answer["spots"]) == 3
    assert all(spot["share"] >= 0.25 for spot in answer["spots"])
    nearest = answer["spots"][0]
    await client.send("place-flag", {"position": nearest["position"], "name": "Here"})
    placed = await client.receive_type("flag-placed")
    assert placed["flag"]["territory"]["type"] == "MultiPolygon"


@pytest.mark.parametrize(
    "data, code",
    [({"limit": 0}, "invalid_data"), ({"position": {"lat": 91, "lng": 0}}, "invalid_position")],
)
async def test_find_flag_spots_refuses_bad_data(seeded, connect, data, code):
    client = await connect()

    await client.send("find-flag-spots", data)

    assert (await client.receive_type("error"))["code"] == code


async def test_a_refused_placement_names_the_nearest_spot(seeded, connect):
    client = await connect()
    await database_sync_to_async(FlagFactory)(location=north_of_equator(0))

    await client.send("place-flag", {"position": {"lat": 0.0, "lng": 0.0}, "name": "Mine"})

    refused = await client.receive_type("flag-placement-failed")
    assert refused["code"] == "claimed_land"
    assert refused["nearestSpot"]["share"] >= 0.25


@pytest.mark.smoke
async def test_takeover_over_the_socket(seeded, connect):
    client = await connect()
    flag = await database_sync_to_async(FlagFactory)(
        location=north_of_equator(0), is_abandoned=True, is_hardened=True
    )

    await client.send("takeover-flag", {"flagId": str(flag.pk)})

    taken = await client.receive_type("flag-taken-over")
    assert taken["flag"]["ownerId"] == str(client.player.pk)
    assert taken["flag"]["isHardened"] and not taken["flag"]["isAbandoned"]
    assert taken["flag"]["territory"]["type"] == "MultiPolygon"
    await client.send("takeover-flag", {"flagId": str(flag.pk)})
    refused = await client.receive_type("flag-takeover-failed")
    assert refused["code"] == "not_abandoned"


async def test_takeover_in_the_game_clients_dialect(seeded, connect):
    client = await connect()
    await client.send("request-flags", {})
    await client.receive_type("initial-flags")
    owner = await database_sync_to_async(PlayerFactory)()
    flag = await database_sync_to_async(FlagFactory)(
        owner=owner, location=north_of_equator(0), is_abandoned=True
    )

    await client.send("takeover-flag", {"flagId": str(flag.pk)})

    updated = await client.receive_type("flag-updated")
    assert updated["flag"]["ownerId"] == str(client.player.pk)
