"""
The game's own browser client, as its FlagService speaks, against the real
server: every flag message of its dialect, with the frame names and keys it
waits for, success and refusal alike.
"""

import pytest
from channels.db import database_sync_to_async
from django.core.management import call_command

from tests.e2e.clients import DEG_PER_M, Player, call

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]

# A position the client sends as it got it from the map: no round number.
SPOT = {"lat": 137.123456789 * DEG_PER_M, "lng": -41.987654321 * DEG_PER_M}
AROUND_THE_START = {"minLat": -0.01, "maxLat": 0.01, "minLng": -0.01, "maxLng": 0.01}


async def game_client(server, name) -> Player:
    player = Player(server, name)
    await player.open(server)
    await player.send(
        "authenticate", {"token": player.access, "playerId": player.id, "username": name}
    )
    assert (await player.receive())["type"] == "authenticated"
    return player


async def test_the_game_clients_flag_messages_work_unmodified(start_server):
    await database_sync_to_async(call_command)("seed_world")
    server = start_server()
    owner, neighbour = await game_client(server, "ada"), await game_client(server, "bob")

    # request-flags, in each of its three forms → initial-flags {flags}
    for data in ({}, {"bounds": AROUND_THE_START}, {"areaId": "starting-area"}):
        await owner.send("request-flags", data)
        listed = await owner.receive_type("initial-flags")
        assert set(listed) == {"flags"}
        assert "Start" in {flag["name"] for flag in listed["flags"]}, data
    await neighbour.send("request-flags", {})
    await neighbour.receive_type("initial-flags")

    # place-flag {position, options} → flag-placed {success: true, flag}, exactly where asked
    await owner.send("place-flag", {"position": SPOT, "options": {"isPublic": True, "toll": 3}})
    placed = await owner.receive_type("flag-placed")
    assert placed["success"] is True
    flag = placed["flag"]
    assert flag["position"] == SPOT
    assert (flag["name"], flag["ownerId"]) == ("Flag of ada", owner.id)
    assert (flag["isPublic"], flag["toll"], flag["isHardened"]) == (True, 3, False)

    # others nearby: flag-placed-by-other {ownerId, flag}
    heard = await neighbour.receive_type("flag-placed-by-other")
    assert heard["ownerId"] == owner.id and heard["flag"]["id"] == flag["id"]
    assert heard["flag"]["position"] == SPOT

    # harden-flag {flagId} → flag-updated {flag} with isHardened: true
    await owner.send("harden-flag", {"flagId": flag["id"]})
    updated = await owner.receive_type("flag-updated")
    assert updated["flag"]["id"] == flag["id"] and updated["flag"]["isHardened"] is True

    # teleport-to-flag {flagId} → teleport-result {success: true, position, visualBoundary}
    await neighbour.send("teleport-to-flag", {"flagId": flag["id"]})
    teleported = await neighbour.receive_type("teleport-result")
    assert teleported["success"] is True
    assert teleported["position"] == SPOT and teleported["visualBoundary"] == 600

    # remove-flag {flagId} → flag-removed {success: true, flagId, resources}
    await owner.send("remove-flag", {"flagId": flag["id"]})
    removed = await owner.receive_type("flag-removed")
    assert removed["success"] is True and removed["flagId"] == flag["id"]
    assert removed["resources"] == {"wood": 1, "leather": 1, "stone": 1}


async def test_the_game_client_sees_each_refusal_as_a_refusal(start_server):
    await database_sync_to_async(call_command)("seed_world")
    server = start_server()
    owner, other = await game_client(server, "cyd"), await game_client(server, "dee")
    for player in (owner, other):
        await player.send("request-flags", {})
        await player.receive_type("initial-flags")

    far_away = {"lat": 0.5, "lng": 0.5}
    await owner.send("place-flag", {"position": far_away, "options": {"name": "Too far"}})
    refused = await owner.receive_type("flag-placed")
    assert refused["success"] is False and refused["error"]

    await owner.send("place-flag", {"position": SPOT, "options": {}})
    flag = (await owner.receive_type("flag-placed"))["flag"]

    await other.send("remove-flag", {"flagId": flag["id"]})
    refused = await other.receive_type("flag-removed")
    assert refused["success"] is False and refused["error"] and refused["flagId"] == flag["id"]

    await other.send("teleport-to-flag", {"flagId": flag["id"]})  # a private flag
    refused = await other.receive_type("teleport-result")
    assert refused["success"] is False and refused["error"]

    await other.send("harden-flag", {"flagId": flag["id"]})
    refused = await other.receive_type("error")
    assert refused["code"] == "not_owner" and refused["message"]


async def test_a_documented_client_keeps_its_own_frames(start_server):
    await database_sync_to_async(call_command)("seed_world")
    server = start_server()
    client = Player(server, "eve")
    await client.connect(server)

    await client.send("place-flag", {"position": {"lat": 0.5, "lng": 0.5}, "name": "Far"})
    assert (await client.receive_type("flag-placement-failed"))["code"] == "too_far"

    await client.send("place-flag", {"position": SPOT, "name": "Camp"})
    flag = (await client.receive_type("flag-placed"))["flag"]
    await client.send("teleport-to-flag", {"flagId": flag["id"]})
    assert (await client.receive_type("teleport-success"))["position"] == SPOT


async def test_login_takes_the_username_as_simplejwt_clients_send_it(asgi_server):
    class Server:
        url = asgi_server

    player = Player(Server, "fay")

    status, body = call(
        asgi_server,
        "POST",
        "/api/auth/login/",
        {"username": "fay", "password": "correct-horse-battery"},
    )

    assert status == 200, body
    assert body["player"]["id"] == player.id
