"""
The flag rules, at their boundaries, over both ways a client can act: the
REST API and the WebSocket (in both its dialects). Each test runs once per way (the
`actor` fixture).
"""

import asyncio
import threading
from dataclasses import dataclass
from datetime import timedelta

import pytest
from channels.db import database_sync_to_async
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from flags import services
from flags.models import Flag, FlagType
from flags.sample_world import START_FLAG_ID
from mmo.geo import point
from movement.models import PlayerPosition
from players.models import Inventory
from tests.conftest import bearer_client
from tests.factories import FlagFactory, PlayerFactory
from tests.geodesy import north_of_equator
from tests.realtime import new_player

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]


@dataclass
class Outcome:
    ok: bool
    code: str | None = None
    body: dict | None = None


class RestActor:
    def __init__(self, player, login):
        self.player = player
        self.api = bearer_client(login.tokens.access)

    async def _call(self, method, path, body=None):
        response = await database_sync_to_async(getattr(self.api, method))(
            path, body, format="json"
        )
        body = response.json()
        if response.status_code < 300:
            return Outcome(True, body=body)
        return Outcome(False, code=body.get("code") or body.get("detail"), body=body)

    async def place(self, location, name="Camp", is_public=False, toll=0):
        outcome = await self._call(
            "post",
            "/api/flags/",
            {
                "position": {"lat": location.y, "lng": location.x},
                "name": name,
                "isPublic": is_public,
                "toll": toll,
            },
        )
        if outcome.ok:
            outcome.body = {"id": outcome.body["id"], **outcome.body["properties"]}
        return outcome

    async def harden(self, flag_id):
        return await self._call("post", f"/api/flags/{flag_id}/harden/")

    async def remove(self, flag_id):
        outcome = await self._call("delete", f"/api/flags/{flag_id}/")
        if outcome.ok:
            outcome.body = outcome.body["resources"]
        return outcome

    async def teleport(self, flag_id):
        return await self._call("post", f"/api/flags/{flag_id}/teleport/")


class SocketActor:
    def __init__(self, client):
        self.client = client
        self.player = client.player

    async def _call(self, message_type, data, success, failure):
        await self.client.send(message_type, data)
        while True:
            message = await self.client.receive()
            if message["type"] == success:
                return Outcome(True, body=message["data"])
            if message["type"] == failure:
                return Outcome(False, code=message["data"]["code"], body=message["data"])
            if message["type"] == "error":
                return Outcome(False, code=message["data"]["code"], body=message["data"])

    async def place(self, location, name="Camp", is_public=False, toll=0):
        outcome = await self._call(
            "place-flag",
            {
                "position": {"lat": location.y, "lng": location.x},
                "name": name,
                "isPublic": is_public,
                "toll": toll,
            },
            "flag-placed",
            "flag-placement-failed",
        )
        if outcome.ok:
            outcome.body = outcome.body["flag"]
        return outcome

    async def harden(self, flag_id):
        return await self._call(
            "harden-flag", {"flagId": str(flag_id)}, "flag-hardened", "flag-harden-failed"
        )

    async def remove(self, flag_id):
        outcome = await self._call(
            "remove-flag", {"flagId": str(flag_id)}, "flag-removed", "flag-remove-failed"
        )
        if outcome.ok:
            outcome.body = outcome.body["resources"]
        return outcome

    async def teleport(self, flag_id):
        return await self._call(
            "teleport-to-flag", {"flagId": str(flag_id)}, "teleport-success", "teleport-failed"
        )


class GameClientActor(SocketActor):
    """The WebSocket in the game's own client's dialect: `options`, and `success` in every answer."""

    async def start(self):
        await self.client.send("request-flags", {})
        await self.client.receive_type("initial-flags")
        return self

    async def _answer(self, message_type, data, answer, flag_id=None):
        await self.client.send(message_type, data)
        while True:
            message = await self.client.receive()
            if message["type"] == "error":
                return Outcome(False, code=message["data"]["code"], body=message["data"])
            if message["type"] != answer:
                continue
            body = message["data"]
            if flag_id is not None and body.get("flagId") != str(flag_id):
                continue  # someone else's flag, removed nearby
            if body.get("success", True):
                return Outcome(True, body=body)
            assert body["error"], body
            return Outcome(False, code=body["code"], body=body)

    async def place(self, location, name="Camp", is_public=False, toll=0):
        outcome = await self._answer(
            "place-flag",
            {
                "position": {"lat": location.y, "lng": location.x},
                "options": {"name": name, "isPublic": is_public, "toll": toll},
            },
            "flag-placed",
        )
        if outcome.ok:
            outcome.body = outcome.body["flag"]
        return outcome

    async def harden(self, flag_id):
        return await self._answer("harden-flag", {"flagId": str(flag_id)}, "flag-updated")

    async def remove(self, flag_id):
        outcome = await self._answer(
            "remove-flag", {"flagId": str(flag_id)}, "flag-removed", flag_id=flag_id
        )
        if outcome.ok:
            outcome.body = outcome.body["resources"]
        return outcome

    async def teleport(self, flag_id):
        return await self._answer("teleport-to-flag", {"flagId": str(flag_id)}, "teleport-result")


@pytest.fixture(params=["rest", "websocket", "game-client"])
def actor(request, connect, world):
    """`await actor()` → a new player acting over REST, the WebSocket, or it in the client's dialect."""

    async def make(**fields):
        player, login = await new_player(**fields)
        if request.param == "rest":
            return RestActor(player, login)
        client = await connect(player=player, login=login)
        if request.param == "game-client":
            return await GameClientActor(client).start()
        return SocketActor(client)

    return make


@pytest.fixture
def seeded(db):
    call_command("seed_world")


@database_sync_to_async
def inventory_of(player):
    return Inventory.objects.get(pk=player.pk)


@database_sync_to_async
def set_inventory(player, **counts):
    Inventory.objects.filter(pk=player.pk).update(**counts)


@database_sync_to_async
def make_flag(**fields):
    return FlagFactory(**fields)


@database_sync_to_async
def flag_exists(**filters):
    return Flag.objects.filter(**filters).exists()


# Placing ----------------------------------------------------------------------------


@pytest.mark.parametrize("metres, accepted", [(2999, True), (3001, False)])
async def test_first_flag_within_range_of_a_start_hub(actor, seeded, metres, accepted):
    me = await actor()

    outcome = await me.place(north_of_equator(metres))

    assert outcome.ok is accepted, outcome
    if not accepted:
        assert outcome.code == "too_far"
        assert "nearest spot" in str(outcome.body)
    assert await flag_exists(owner=me.player) is accepted


@pytest.mark.parametrize("metres, accepted", [(599, True), (601, False)])
async def test_first_flag_at_the_edge_of_a_settlement(actor, seeded, metres, accepted):
    me = await actor()
    other = await database_sync_to_async(PlayerFactory)()
    await make_flag(owner=other, location=north_of_equator(3400))

    outcome = await me.place(north_of_equator(3400 + metres))

    assert outcome.ok is accepted, outcome


@pytest.mark.parametrize("metres, accepted", [(599, True), (601, False)])
async def test_later_flags_within_range_of_an_own_flag(actor, seeded, metres, accepted):
    me = await actor()
    await make_flag(owner=me.player, location=north_of_equator(500))

    outcome = await me.place(north_of_equator(500 + metres))

    assert outcome.ok is accepted, outcome


@pytest.mark.parametrize("metres, accepted", [(490, False), (510, True)])
async def test_a_flag_stands_only_outside_another_players_territory(
    actor, seeded, metres, accepted
):
    me = await actor()
    other = await database_sync_to_async(PlayerFactory)()
    await make_flag(owner=other, location=north_of_equator(-450), radius=500)

    outcome = await me.place(north_of_equator(metres - 450))

    assert outcome.ok is accepted, outcome
    if not accepted:
        assert outcome.code == "claimed_land"
        assert outcome.body["nearestSpot"]["position"]


async def test_a_flag_that_would_keep_too_little_land_is_refused(actor, seeded):
    me = await actor()
    other = await database_sync_to_async(PlayerFactory)()
    # 505 m on either side: each takes about 38 % of the disc, leaving 23 % (< 25 %).
    await make_flag(owner=other, location=north_of_equator(60 - 505))
    await make_flag(owner=other, location=north_of_equator(60 + 505))

    outcome = await me.place(north_of_equator(60))

    assert not outcome.ok and outcome.code == "too_little_land", outcome
    assert outcome.body["nearestSpot"]["share"] >= 0.25


async def test_a_system_flag_nearby_does_not_block(actor, seeded):
    me = await actor()

    # 100 m from the start flag, a system flag of radius 500.
    assert (await me.place(north_of_equator(100))).ok


async def test_abandoned_flags_of_others_do_not_block(actor, seeded):
    me = await actor()
    other = await database_sync_to_async(PlayerFactory)()
    await make_flag(owner=other, location=north_of_equator(-200), is_abandoned=True)

    assert (await me.place(north_of_equator(100))).ok


async def test_placing_costs_three_wood_and_three_leather(actor, seeded):
    me = await actor()
    before = await inventory_of(me.player)

    assert (await me.place(north_of_equator(100))).ok

    after = await inventory_of(me.player)
    assert (before.wood - after.wood, before.leather - after.leather) == (3, 3)


async def test_placing_without_the_resources_is_refused_and_debits_nothing(actor, seeded):
    me = await actor()
    await set_inventory(me.player, wood=10, leather=2)

    outcome = await me.place(north_of_equator(100))

    assert not outcome.ok and outcome.code == "insufficient_resources"
    inventory = await inventory_of(me.player)
    assert (inventory.wood, inventory.leather) == (10, 2)
    assert not await flag_exists(owner=me.player)


# Hardening and removing ----------------------------------------------------------------


async def test_hardening_costs_two_stone_and_happens_once(actor, seeded):
    me = await actor()
    flag = await make_flag(owner=me.player)
    before = await inventory_of(me.player)

    first, second = await me.harden(flag.pk), await me.harden(flag.pk)

    assert first.ok and not second.ok and second.code == "already_hardened"
    assert before.stone - (await inventory_of(me.player)).stone == 2


async def test_only_the_owner_hardens(actor, seeded):
    me = await actor()
    theirs = await make_flag()

    outcome = await me.harden(theirs.pk)

    assert not outcome.ok and outcome.code == "not_owner"


@pytest.mark.parametrize(
    "fields, refund",
    [
        ({}, {"wood": 1, "leather": 1}),
        ({"is_hardened": True}, {"wood": 1, "leather": 1, "stone": 1}),
        ({"flag_type": FlagType.ROC_SHRINE}, {"wood": 5, "stone": 5}),
        ({"flag_type": FlagType.GUARD_TOWER}, {"wood": 10, "stone": 10}),
    ],
    ids=["normal", "hardened", "roc-shrine", "guard-tower"],
)
async def test_removing_refunds_by_type(actor, seeded, fields, refund):
    me = await actor()
    flag = await make_flag(owner=me.player, **fields)
    before = await inventory_of(me.player)

    outcome = await me.remove(flag.pk)

    assert outcome.ok and outcome.body == refund
    after = await inventory_of(me.player)
    for resource, amount in refund.items():
        assert getattr(after, resource) - getattr(before, resource) == amount
    assert not await flag_exists(pk=flag.pk)


async def test_system_flags_and_others_flags_cannot_be_removed(actor, seeded):
    me = await actor()
    theirs = await make_flag()

    system, other = await me.remove(START_FLAG_ID), await me.remove(theirs.pk)

    assert (system.code, other.code) == ("system_flag", "not_owner")
    assert await flag_exists(pk=START_FLAG_ID) and await flag_exists(pk=theirs.pk)


# Teleporting ------------------------------------------------------------------------


async def test_teleport_to_an_own_flag_is_free_and_counts_as_a_visit(actor, seeded):
    me = await actor()
    long_ago = timezone.now() - timedelta(days=10)
    flag = await make_flag(owner=me.player, location=point(0.3, 0.3), last_visited_at=long_ago)
    before = await inventory_of(me.player)

    outcome = await me.teleport(flag.pk)

    assert outcome.ok, outcome
    assert outcome.body["cost"] == {}
    assert await inventory_of(me.player) == before
    position = await database_sync_to_async(PlayerPosition.objects.get)(pk=me.player.pk)
    assert (position.location.x, position.location.y) == (0.3, 0.3)
    stored = await database_sync_to_async(Flag.objects.get)(pk=flag.pk)
    assert stored.last_visited_at > long_ago


async def test_teleport_to_a_system_flag_costs_two_roc_feathers(actor, seeded):
    me = await actor()
    portal = await database_sync_to_async(
        Flag.objects.exclude(pk=START_FLAG_ID).filter(flag_type="system").first
    )()
    await set_inventory(me.player, roc_feathers=3)

    outcome = await me.teleport(portal.pk)

    assert outcome.ok and outcome.body["cost"] == {"roc_feathers": 2}
    assert (await inventory_of(me.player)).roc_feathers == 1
    again = await me.teleport(portal.pk)
    assert not again.ok and again.code == "insufficient_resources"


async def test_a_public_flags_toll_goes_to_its_owner(actor, seeded):
    me = await actor()
    owner = await database_sync_to_async(PlayerFactory)()
    await set_inventory(owner, gold=0)
    toll_flag = await make_flag(owner=owner, is_public=True, toll=7)
    gold_before = (await inventory_of(me.player)).gold

    outcome = await me.teleport(toll_flag.pk)

    assert outcome.ok and outcome.body["cost"] == {"gold": 7}
    assert gold_before - (await inventory_of(me.player)).gold == 7
    assert (await inventory_of(owner)).gold == 7


async def test_private_flags_of_others_are_refused(actor, seeded):
    me = await actor()
    private = await make_flag(is_public=False)

    outcome = await me.teleport(private.pk)

    assert not outcome.ok and outcome.code == "private_flag"


async def test_unknown_flag_is_refused(actor, seeded):
    me = await actor()

    outcome = await me.teleport("00000000-0000-0000-0000-000000000000")

    assert not outcome.ok and outcome.code == "not_found"


async def test_a_normal_move_after_a_teleport_is_accepted(connect, world, seeded):
    client = await connect()
    portal = await database_sync_to_async(
        Flag.objects.exclude(pk=START_FLAG_ID).filter(flag_type="system").first
    )()
    me = SocketActor(client)

    assert (await me.teleport(portal.pk)).ok
    world.clock.advance(2)
    reply = await client.move(portal.location.x + 0.00002, portal.location.y)

    assert reply["type"] == "move-ack", reply


async def test_a_rest_teleport_moves_the_live_connection(connect, world, seeded):
    client = await connect()
    flag = await make_flag(owner=client.player, location=point(0.3, 0.3))

    response = await database_sync_to_async(bearer_client(client.login.tokens.access).post)(
        f"/api/flags/{flag.pk}/teleport/"
    )
    assert response.status_code == 200
    for _ in range(40):  # the player.teleported event reaches the socket after commit
        live = world.players[str(client.player.pk)]
        if (live.lng, live.lat) == (0.3, 0.3):
            break
        await asyncio.sleep(0.05)

    world.clock.advance(2)
    await client.send("player-move", {"position": {"lat": 0.3, "lng": 0.30002}})
    reply = await client.receive()
    while reply["type"] not in ("move-ack", "move-rejected"):  # area events of the jump
        reply = await client.receive()
    assert reply["type"] == "move-ack", reply


# Broadcasts -----------------------------------------------------------------------------


async def test_players_nearby_see_flags_placed_and_removed(connect, world, seeded):
    placer = await connect()
    watcher = await connect()
    me = SocketActor(placer)

    placed = await me.place(north_of_equator(100), name="Outpost")
    seen = await watcher.receive_type("flag-placed-by-other")
    assert seen["flag"]["name"] == "Outpost" and seen["flag"]["ownerId"] == str(placer.player.pk)

    assert (await me.remove(placed.body["id"])).ok
    assert (await watcher.receive_type("flag-removed"))["flagId"] == placed.body["id"]


# Abandonment -----------------------------------------------------------------------------


@pytest.mark.parametrize("days, abandoned", [(13, False), (15, True)])
async def test_flags_unvisited_for_14_days_are_abandoned(seeded, days, abandoned):
    flag = await make_flag(last_visited_at=timezone.now() - timedelta(days=days))

    await database_sync_to_async(call_command)("abandon_flags")

    stored = await database_sync_to_async(Flag.objects.get)(pk=flag.pk)
    assert stored.is_abandoned is abandoned
    assert await flag_exists(pk=START_FLAG_ID, is_abandoned=False)


# Races ---------------------------------------------------------------------------------


def race(*actions):
    """Run the actions at the same moment, each in its own thread and database connection."""
    barrier = threading.Barrier(len(actions))
    results = [None] * len(actions)

    def run(index, action):
        try:
            barrier.wait()
            results[index] = action()
        except Exception as error:  # the refusal is the result
            results[index] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(n, a)) for n, a in enumerate(actions)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


@pytest.mark.parametrize("round_", range(5))
async def test_two_players_racing_for_overlapping_spots_place_one_flag(seeded, round_):
    first, second = await database_sync_to_async(lambda: (PlayerFactory(), PlayerFactory()))()

    def place(player, metres):
        spot = north_of_equator(metres)
        return services.flag_place(
            player=player, lng=spot.x, lat=spot.y, name="Mine", is_public=False, toll=0
        )

    results = await database_sync_to_async(race)(
        lambda: place(first, 150), lambda: place(second, -150)
    )

    placed = [r for r in results if isinstance(r, Flag)]
    refused = [r for r in results if isinstance(r, services.FlagActionRefused)]
    assert len(placed) == 1 and len(refused) == 1, results
    assert refused[0].code == "claimed_land"
    assert await database_sync_to_async(Flag.objects.filter(flag_type="normal").count)() == 1


@pytest.mark.parametrize("round_", range(3))
async def test_two_players_racing_for_the_same_gap_place_one_flag(seeded, round_):
    first, second, neighbour = await database_sync_to_async(
        lambda: (PlayerFactory(), PlayerFactory(), PlayerFactory())
    )()
    # Two flags 1,200 m apart leave a gap around the start: room for one more flag.
    await make_flag(owner=neighbour, location=north_of_equator(-600))
    await make_flag(owner=neighbour, location=north_of_equator(600))

    def place(player, lng):
        return services.flag_place(
            player=player, lng=lng, lat=0.0, name="Gap", is_public=False, toll=0
        )

    results = await database_sync_to_async(race)(
        lambda: place(first, 0.0005), lambda: place(second, -0.0005)
    )

    placed = [r for r in results if isinstance(r, Flag)]
    refused = [r for r in results if isinstance(r, services.FlagActionRefused)]
    assert len(placed) == 1 and len(refused) == 1, results
    assert refused[0].code in ("claimed_land", "too_little_land")
    assert await database_sync_to_async(Flag.objects.filter(owner__in=[first, second]).count)() == 1


async def test_concurrent_spends_never_drive_a_count_below_zero(seeded):
    player = await database_sync_to_async(PlayerFactory)()
    await set_inventory(player, stone=2)
    flags = [await make_flag(owner=player) for _ in range(2)]

    results = await database_sync_to_async(race)(
        *[lambda flag=flag: services.flag_harden(player=player, flag_id=flag.pk) for flag in flags]
    )

    assert sum(isinstance(r, Flag) for r in results) == 1, results
    assert (await inventory_of(player)).stone == 0


async def test_placing_near_a_pole_takes_whole_rows_of_the_lock_grid(seeded):
    player = await database_sync_to_async(PlayerFactory)()
    await make_flag(owner=player, location=point(10, 89.999))

    flag = await database_sync_to_async(services.flag_place)(
        player=player, lng=-170, lat=89.9995, name="Pole", is_public=False, toll=0
    )

    assert flag.location.y == 89.9995
