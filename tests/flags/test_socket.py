"""Flag messages of the game's socket that the rule tests (test_gameplay.py) do not cover."""

import pytest
from django.core.management import call_command

from tests.geodesy import north_of_equator

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def seeded(db):
    call_command("seed_world")


@pytest.mark.smoke
async def test_request_flags_lists_the_flags_around_the_player(connect, world, seeded):
    client = await connect()

    await client.send("request-flags", {})
    listed = await client.receive_type("initial-flags")

    assert [flag["name"] for flag in listed["flags"]] == ["Start"]  # the portals are far away


async def test_request_flags_of_an_unknown_area_is_an_error(connect, world, seeded):
    client = await connect()

    await client.send("request-flags", {"areaId": "atlantis"})

    assert (await client.receive_type("error"))["code"] == "not_found"


@pytest.mark.smoke
async def test_a_flag_placed_in_the_clients_dialect_gets_its_default_name(connect, world, seeded):
    client = await connect(username="zoe")
    spot = north_of_equator(100)

    await client.send(
        "place-flag", {"position": {"lat": spot.y, "lng": spot.x}, "options": {"isPublic": True}}
    )
    placed = await client.receive_type("flag-placed")

    assert placed["success"] is True
    assert (placed["flag"]["name"], placed["flag"]["isPublic"]) == ("Flag of zoe", True)


@pytest.mark.parametrize(
    "options, problem",
    [("Camp", "`options` must be an object."), ({"toll": 1.5}, "`toll` must be an integer.")],
)
async def test_bad_options_are_named(connect, world, seeded, options, problem):
    client = await connect()

    await client.send("place-flag", {"position": {"lat": 0.001, "lng": 0}, "options": options})

    assert (await client.receive_type("error"))["message"] == problem


async def test_a_documented_place_flag_still_needs_a_name(connect, world, seeded):
    client = await connect()

    await client.send("place-flag", {"position": {"lat": 0.001, "lng": 0}})

    assert (await client.receive_type("error"))["message"] == "`name` is required."


async def test_neighbours_hear_who_placed_a_flag(connect, world, seeded):
    placer, neighbour = await connect(), await connect()

    await placer.send("place-flag", {"position": {"lat": 0.001, "lng": 0}, "name": "Camp"})
    heard = await neighbour.receive_type("flag-placed-by-other")

    assert heard["ownerId"] == str(placer.player.pk) == heard["flag"]["ownerId"]
