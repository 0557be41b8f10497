"""
Leaderboards against the real server: scores the server writes as play
happens, scores only trusted callers may post, ranks that survive Redis
losing them, and seasons that turn on schedule.
"""

from datetime import timedelta

import pytest
import redis
from channels.db import database_sync_to_async
from django.conf import settings
from django.contrib.auth.models import Permission
from django.core.management import call_command

from leaderboards import services
from leaderboards.models import Leaderboard, LeaderboardSeason
from leaderboards.repositories import LeaderboardRepository
from players.models import Player as PlayerModel
from tests.e2e.clients import DEG_PER_M, Player, call

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def world(db):
    call_command("seed_world")
    services.leaderboards_seed()


def rank(server, player, key):
    status, around = call(
        server.url,
        "GET",
        f"/api/leaderboards/{key}/around/{player.id}/?count=0",
        token=player.access,
    )
    assert status == 200, around
    return around["rank"], around["score"]


def service_account(server, name="combat-service") -> Player:
    account = Player(server, name)
    PlayerModel.objects.get(pk=account.id).user_permissions.add(
        Permission.objects.get(codename="submit_score")
    )
    return account


def post_score(server, caller, key, player, score):
    return call(
        server.url,
        "POST",
        f"/api/leaderboards/{key}/update/",
        {"playerId": player.id, "score": score},
        token=caller.access,
    )


def board_page(server, reader, key, query=""):
    status, body = call(server.url, "GET", f"/api/leaderboards/{key}/{query}", token=reader.access)
    assert status == 200, body
    return body


@pytest.mark.asyncio
async def test_a_toll_paid_moves_the_gold_boards_and_the_ranks_of_both_players(start_server, world):
    server = start_server()
    owner, visitor, rich = (
        Player(server, "owner"),
        Player(server, "visitor"),
        Player(server, "rich"),
    )
    await database_sync_to_async(services.scores_record)(key="mostGold", scores={rich.id: 25})
    await database_sync_to_async(services.scores_record)(key="goldSpent", scores={rich.id: 5})
    status, flag = call(
        server.url,
        "POST",
        "/api/flags/",
        {"position": {"lat": 100 * DEG_PER_M, "lng": 0}, "name": "Toll gate", "toll": 7,
         "isPublic": True},
        token=owner.access,
    )  # fmt: skip
    assert status == 201, flag
    assert rank(server, visitor, "goldSpent") == (None, None)
    assert rank(server, owner, "goldCollected") == (None, None)
    assert rank(server, owner, "mostGold") == (None, None)
    await owner.connect(server)

    status, teleported = call(
        server.url, "POST", f"/api/flags/{flag['id']}/teleport/", token=visitor.access
    )

    assert status == 200, teleported
    assert teleported["cost"] == {"gold": 7}
    assert rank(server, visitor, "goldSpent") == (1, 7)
    assert rank(server, rich, "goldSpent") == (2, 5)
    assert rank(server, owner, "goldCollected") == (1, 7)
    assert rank(server, owner, "mostGold") == (1, 27)
    assert rank(server, rich, "mostGold") == (2, 25)
    assert rank(server, visitor, "mostGold") == (3, 13)
    heard = {}
    for _ in range(2):
        update = await owner.receive_type("player-rank-updated")
        heard[update["category"]] = (update["rank"], update["score"])
    assert heard == {"goldCollected": (1, 7), "mostGold": (1, 27)}
    await owner.close()


def test_a_player_posting_their_own_score_is_refused_and_a_services_score_lands(
    start_server, world
):
    server = start_server()
    player = Player(server, "hunter")
    service = service_account(server)

    status, refused = post_score(server, player, "monstersKilled", player, 10**6)
    assert (status, refused["code"]) == (403, "forbidden")
    status, refused = post_score(server, service, "goldSpent", player, 10)
    assert (status, refused["code"]) == (403, "authoritative")

    status, landed = post_score(server, service, "monstersKilled", player, 12)

    assert status == 200, landed
    assert (landed["rank"], landed["playerId"], landed["score"]) == (1, player.id, 12)
    assert board_page(server, player, "monstersKilled")["results"] == [landed]


def test_after_redis_loses_everything_the_ranks_read_the_same(start_server, world):
    server = start_server()
    service = service_account(server)
    players = [Player(server, f"runner-{n}") for n in range(12)]
    for n, player in enumerate(players):
        assert post_score(server, service, "dungeonsCompleted", player, n % 4)[0] == 200
    before = board_page(server, service, "dungeonsCompleted", "?pageSize=50")
    around_before = [rank(server, player, "dungeonsCompleted") for player in players]

    redis_url = settings.REDIS_URL
    assert redis_url, "the end-to-end server runs on Redis"
    redis.Redis.from_url(redis_url).flushdb()

    assert board_page(server, service, "dungeonsCompleted", "?pageSize=50") == before
    assert [rank(server, player, "dungeonsCompleted") for player in players] == around_before


def test_a_weekly_board_starts_a_new_season_on_schedule_and_keeps_the_last(start_server, world):
    board = services.leaderboard_create(
        key="weeklyKills", name="Kills this week", operator="increment", reset_schedule="weekly"
    )
    server = start_server()
    service, player = service_account(server), Player(server, "hunter")
    assert post_score(server, service, "weeklyKills", player, 3)[0] == 200
    assert board_page(server, player, "weeklyKills")["season"] == 1

    # A week goes by: the season began eight days ago, so its Monday is behind us.
    started = board.season_started_at - timedelta(days=8)
    Leaderboard.objects.filter(pk=board.pk).update(season_started_at=started)
    LeaderboardSeason.objects.filter(leaderboard=board, number=1).update(started_at=started)
    LeaderboardRepository.invalidate(board.pk)

    current = board_page(server, player, "weeklyKills")
    assert (current["season"], current["count"], current["results"]) == (2, 0, [])
    assert post_score(server, service, "weeklyKills", player, 2)[0] == 200
    assert rank(server, player, "weeklyKills") == (1, 2)
    past = board_page(server, player, "weeklyKills", "?season=1")
    assert [(e["playerId"], e["score"]) for e in past["results"]] == [(player.id, 3)]
    status, seasons = call(
        server.url, "GET", "/api/leaderboards/weeklyKills/seasons/", token=player.access
    )
    assert [(s["number"], s["endedAt"] is None) for s in seasons["results"]] == [
        (2, True),
        (1, False),
    ]
