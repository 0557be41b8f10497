"""
Whose land am I on? Moves across other players' territories, answered from
the in-memory territory index (no query per move), kept fresh by the events
that placements and removals send to every process.
"""

import asyncio

import pytest
from channels.db import database_sync_to_async
from django.core.management import call_command

from flags import services as flag_services
from tests.factories import FlagFactory, PlayerFactory
from tests.geodesy import north_of_equator
from tests.realtime import new_player

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]

DEG_PER_M_LAT = 1 / 110_574.27


@pytest.fixture
def seeded(db):
    call_command("seed_world")


async def walk_north(client, world, start_m: float, end_m: float, step_m: float = 40.0):
    """Walk along the meridian at walking speed; every frame received on the way."""
    frames = []
    metres = start_m
    while metres < end_m:
        metres = min(metres + step_m, end_m)
        world.clock.advance(10)
        reply = await client.move(0, metres * DEG_PER_M_LAT)
        assert reply["type"] == "move-ack", reply
        frames.append(reply)
        while client.backlog:
            frames.append(client.backlog.popleft())
        while not await client.communicator.receive_nothing(timeout=0.05):
            frames.append(await client.communicator.receive_json_from())
    return frames


@pytest.mark.smoke
async def test_walking_into_and_out_of_another_players_territory(connect, world, settings):
    settings.MOVEMENT_FLUSH_INTERVAL = 3600
    owner = await database_sync_to_async(PlayerFactory)()
    # Their land reaches from 200 m to 1,200 m north of the start.
    theirs = await database_sync_to_async(FlagFactory)(
        owner=owner, location=north_of_equator(700), is_public=True, toll=4
    )
    client = await connect()

    into = await walk_north(client, world, 0, 240)
    entered = [f for f in into if f["type"] == "territory-entered"]
    assert [f["data"] for f in entered] == [
        {"flagId": str(theirs.pk), "ownerId": str(owner.pk), "isPublic": True, "toll": 4}
    ]
    back = []
    for metres in (200, 160):
        world.clock.advance(10)
        back.append(await client.move(0, metres * DEG_PER_M_LAT))
    left = await client.receive_type("territory-left")
    assert left == {"flagId": str(theirs.pk)}


async def test_own_land_sends_nothing(connect, world):
    player, login = await new_player()
    await database_sync_to_async(FlagFactory)(owner=player, location=north_of_equator(400))
    client = await connect(player=player, login=login)

    frames = await walk_north(client, world, 0, 120)

    assert not [f for f in frames if f["type"].startswith("territory-")]


async def test_land_placed_after_connecting_is_known_without_a_query_per_move(
    seeded, connect, world, settings, monkeypatch
):
    from django.db.backends import utils

    settings.MOVEMENT_FLUSH_INTERVAL = 3600
    client = await connect()
    owner = await database_sync_to_async(PlayerFactory)()
    flag = await database_sync_to_async(flag_services.flag_place)(
        player=owner, lng=0, lat=700 * DEG_PER_M_LAT, name="Theirs", is_public=False, toll=0
    )
    # The placement's event reaches this process's listener, which reloads that flag.
    for _ in range(100):
        if world.territory_index.get(str(flag.pk)) is not None:
            break
        await asyncio.sleep(0.02)
    statements = []
    real_execute = utils.CursorWrapper._execute_with_wrappers

    def counting(self, sql, *args, **kwargs):
        statements.append(sql)
        return real_execute(self, sql, *args, **kwargs)

    monkeypatch.setattr(utils.CursorWrapper, "_execute_with_wrappers", counting)
    frames = await walk_north(client, world, 0, 240)

    assert statements == []
    assert [f["data"]["flagId"] for f in frames if f["type"] == "territory-entered"] == [
        str(flag.pk)
    ]


async def test_a_removed_territory_is_forgotten(seeded, connect, world):
    owner = await database_sync_to_async(PlayerFactory)()
    flag = await database_sync_to_async(flag_services.flag_place)(
        player=owner, lng=0, lat=700 * DEG_PER_M_LAT, name="Theirs", is_public=False, toll=0
    )
    client = await connect()
    assert world.territory_index.get(str(flag.pk)) is not None

    await database_sync_to_async(flag_services.flag_remove)(player=owner, flag_id=flag.pk)

    for _ in range(100):
        if world.territory_index.get(str(flag.pk)) is None:
            break
        await asyncio.sleep(0.02)
    assert world.territory_index.get(str(flag.pk)) is None
    frames = await walk_north(client, world, 0, 240)
    assert not [f for f in frames if f["type"].startswith("territory-")]
