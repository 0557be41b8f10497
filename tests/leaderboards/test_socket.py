"""Leaderboard messages of the game's socket, and rank updates pushed to a player."""

import pytest
from channels.db import database_sync_to_async
from django.db import transaction

from leaderboards import services
from tests.factories import PlayerFactory

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]


@database_sync_to_async
def record(key, scores, **options):
    with transaction.atomic():
        services.scores_record(key=key, scores={str(p.pk): s for p, s in scores.items()}, **options)


@database_sync_to_async
def seed():
    services.leaderboards_seed()


@pytest.mark.smoke
async def test_get_leaderboard_sends_the_top_and_the_players_rank(connect, world):
    await seed()
    client = await connect(username="zoe")
    others = [await database_sync_to_async(PlayerFactory)() for _ in range(3)]
    await record("monstersKilled", {client.player: 15, **{p: 10 * n for n, p in enumerate(others)}})

    await client.send("get-leaderboard", {"category": "monstersKilled", "limit": 2})
    data = await client.receive_type("leaderboard-data")

    assert (data["category"], data["season"], data["count"]) == ("monstersKilled", 1, 4)
    assert [(e["rank"], e["score"]) for e in data["entries"]] == [(1, 20), (2, 15)]
    assert data["entries"][1]["username"] == data["entries"][1]["displayName"] == "zoe"
    assert data["player"] == {"rank": 2, "score": 15}


@pytest.mark.smoke
async def test_get_leaderboards_lists_every_board(connect, world):
    await seed()
    client = await connect()

    await client.send("get-leaderboards")
    boards = (await client.receive_type("leaderboards-list"))["leaderboards"]

    assert "distanceWalked" in {board["key"] for board in boards}


@pytest.mark.smoke
async def test_get_leaderboard_around_sends_the_neighbours(connect, world):
    await seed()
    client = await connect()
    others = [await database_sync_to_async(PlayerFactory)() for _ in range(4)]
    await record("monstersKilled", {client.player: 15, **{p: 10 * n for n, p in enumerate(others)}})

    await client.send("get-leaderboard-around", {"category": "monstersKilled", "count": 1})
    data = await client.receive_type("leaderboard-around")

    assert (data["rank"], data["score"]) == (3, 15)
    assert [e["score"] for e in data["entries"]] == [20, 15, 10]


@pytest.mark.parametrize(
    "data, code",
    [
        ({"category": "noSuchBoard"}, "not_found"),
        ({"category": "monstersKilled", "limit": 0}, "invalid_data"),
        ({"category": "monstersKilled", "limit": 10_000}, "invalid_data"),
        ({"category": "monstersKilled", "season": 5}, "invalid_season"),
        ({"limit": 5}, "invalid_data"),
    ],
)
async def test_a_bad_leaderboard_request_is_an_error(connect, world, data, code):
    await seed()
    client = await connect()

    await client.send("get-leaderboard", data)

    assert (await client.receive_type("error"))["code"] == code


async def test_a_player_hears_their_rank_change_at_most_once_per_interval(
    connect, world, settings, requires_redis
):
    settings.LEADERBOARD_RANK_UPDATE_INTERVAL = 0.5
    await seed()
    client = await connect()
    rivals = [await database_sync_to_async(PlayerFactory)() for _ in range(3)]
    await record("monstersKilled", {rival: 10 * (n + 1) for n, rival in enumerate(rivals)})
    await client.send("get-leaderboard", {"category": "monstersKilled"})
    await client.receive_type("leaderboard-data")  # the set is complete from here on

    await record("monstersKilled", {client.player: 15})  # rank 3
    first = await client.receive_type("player-rank-updated")
    await record("monstersKilled", {client.player: 25})  # rank 2: held back
    await record("monstersKilled", {client.player: 35})  # rank 1: replaces it

    assert first == {"category": "monstersKilled", "rank": 3, "score": 15}
    assert await client.nothing_more(timeout=0.3)
    assert await client.receive_type("player-rank-updated", timeout=2) == {
        "category": "monstersKilled",
        "rank": 1,
        "score": 35,
    }
    assert await client.nothing_more(timeout=0.7)
