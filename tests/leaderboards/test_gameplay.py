"""Scores the server sees itself: tolls, flags placed, metres walked."""

import pytest
from channels.db import database_sync_to_async
from django.core.management import call_command

from flags.models import Flag
from flags.services import FlagActionRefused, flag_place, flag_visit
from leaderboards import services
from players.models import Inventory
from tests.factories import FlagFactory, PlayerFactory
from tests.geodesy import north_of_equator

pytestmark = pytest.mark.django_db(transaction=True)


def score_of(key, player):
    found = services.leaderboard_rank(key=key, player_id=player.pk)
    return None if found is None else found[1]


@pytest.mark.smoke
def test_a_toll_paid_is_spent_collected_and_held(boards):
    owner, visitor = PlayerFactory(), PlayerFactory()
    flag = FlagFactory(owner=owner, is_public=True, toll=7)

    flag_visit(player=visitor, flag_id=flag.pk)

    assert score_of("goldSpent", visitor) == 7
    assert score_of("goldCollected", owner) == 7
    assert score_of("goldSpent", owner) is None
    gold = dict(Inventory.objects.values_list("player_id", "gold"))
    assert score_of("mostGold", visitor) == gold[visitor.pk] == 13
    assert score_of("mostGold", owner) == gold[owner.pk] == 27
    assert services.leaderboard_rank(key="mostGold", player_id=owner.pk)[0] == 1


@pytest.mark.smoke
def test_a_visit_refused_records_nothing(boards):
    visitor = PlayerFactory()
    flag = FlagFactory(is_public=True, toll=1000)

    with pytest.raises(FlagActionRefused):
        flag_visit(player=visitor, flag_id=flag.pk)

    assert score_of("goldSpent", visitor) is None


@pytest.mark.smoke
def test_a_flag_placed_counts(boards):
    call_command("seed_world")
    player = PlayerFactory()
    spot = north_of_equator(100)

    flag_place(player=player, lng=spot.x, lat=spot.y, name="Camp", is_public=True, toll=0)

    assert Flag.objects.filter(owner=player).count() == 1
    assert score_of("flagsPlaced", player) == 1


@pytest.mark.asyncio
async def test_metres_walked_are_written_with_the_position_flush(connect, world, boards):
    client = await connect()
    for step in range(1, 4):
        world.clock.advance(5)
        spot = north_of_equator(10.4 * step)
        assert (await client.move(spot.x, spot.y))["type"] == "move-ack"

    assert await database_sync_to_async(score_of)("distanceWalked", client.player) is None
    await world.flush()

    walked = await database_sync_to_async(score_of)("distanceWalked", client.player)
    assert walked == 31  # 31.2 m: the fraction waits for the next flush
    assert world.walked.take() == {}
