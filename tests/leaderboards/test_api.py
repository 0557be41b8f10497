"""The leaderboard REST API: reading boards and ranks, and who may post a score."""

import pytest
from django.contrib.auth.models import Permission
from django.db import transaction

from leaderboards import services
from leaderboards.models import LeaderboardRecord
from tests.conftest import bearer_client, login_tokens
from tests.factories import PlayerFactory

pytestmark = [pytest.mark.django_db, pytest.mark.smoke]


def record(key, scores):
    with transaction.atomic():
        services.scores_record(key=key, scores={str(p.pk): s for p, s in scores.items()})


def test_every_board_is_listed(player_api, boards):
    response = player_api.get("/api/leaderboards/")

    assert response.status_code == 200
    by_key = {board["key"]: board for board in response.json()["results"]}
    assert by_key["goldSpent"]["authoritative"] is True
    assert by_key["monstersKilled"] == {
        "key": "monstersKilled",
        "name": "Monsters killed",
        "sortOrder": "desc",
        "operator": "best",
        "resetSchedule": "never",
        "authoritative": False,
        "season": 1,
        "seasonStartedAt": by_key["monstersKilled"]["seasonStartedAt"],
        "nextResetAt": None,
    }


def test_a_board_is_read_a_page_at_a_time(player_api, boards):
    players = [PlayerFactory(username=f"runner-{n}") for n in range(5)]
    record("monstersKilled", {p: 10 * n for n, p in enumerate(players)})

    first = player_api.get("/api/leaderboards/monstersKilled/?pageSize=2").json()
    second = player_api.get(first["next"]).json()

    assert (first["count"], first["season"], first["previous"]) == (5, 1, None)
    assert first["results"][0] == {
        "rank": 1,
        "playerId": str(players[4].pk),
        "username": "runner-4",
        "displayName": "runner-4",
        "score": 40,
    }
    assert [e["rank"] for e in second["results"]] == [3, 4]
    assert second["previous"] is not None


def test_around_me_shows_my_rank_and_my_neighbours(player, player_api, boards):
    others = [PlayerFactory() for _ in range(4)]
    record("monstersKilled", {player: 25, **{p: 10 * n for n, p in enumerate(others)}})

    around = player_api.get("/api/leaderboards/monstersKilled/around/me/?count=1").json()

    assert (around["rank"], around["score"]) == (2, 25)
    assert [e["rank"] for e in around["results"]] == [1, 2, 3]


def test_around_a_player_without_a_record_says_so(player_api, other_player, boards):
    url = f"/api/leaderboards/goldSpent/around/{other_player.pk}/"

    assert player_api.get(url).json() | {"leaderboard": None} == {
        "leaderboard": None,
        "season": 1,
        "rank": None,
        "score": None,
        "results": [],
    }


def test_an_unknown_board_is_a_404(player_api, boards):
    response = player_api.get("/api/leaderboards/noSuchBoard/")

    assert (response.status_code, response.json()["code"]) == (404, "not_found")


@pytest.mark.parametrize("query", ["page=0", "page=x", "season=0", "season=2"])
def test_bad_paging_is_named(player_api, boards, query):
    response = player_api.get(f"/api/leaderboards/monstersKilled/?{query}")

    assert response.status_code == 400
    assert query.split("=")[0] in str(response.json())


def test_seasons_are_listed_newest_first(player_api, boards):
    services.leaderboard_reset(key="monstersKilled")

    seasons = player_api.get("/api/leaderboards/monstersKilled/seasons/").json()["results"]

    assert [s["number"] for s in seasons] == [2, 1]
    assert seasons[1]["endedAt"] == seasons[0]["startedAt"]


def test_a_player_posting_their_own_score_is_refused(player, player_api, boards):
    response = player_api.post(
        "/api/leaderboards/monstersKilled/update/", {"playerId": str(player.pk), "score": 99}
    )

    assert response.status_code == 403
    assert not LeaderboardRecord.objects.exists()


def test_a_player_posting_anothers_score_is_refused(player_api, other_player, boards):
    response = player_api.post(
        "/api/leaderboards/monstersKilled/update/", {"playerId": str(other_player.pk), "score": 1}
    )

    assert (response.status_code, response.json()["code"]) == (403, "forbidden")


def test_a_service_account_posts_a_score(player, boards):
    service = PlayerFactory(username="combat-service")
    service.user_permissions.add(Permission.objects.get(codename="submit_score"))
    api = bearer_client(login_tokens(service).tokens.access)

    response = api.post(
        "/api/leaderboards/monstersKilled/update/", {"playerId": str(player.pk), "score": 12}
    )

    assert response.status_code == 200, response.json()
    assert response.json() == {
        "rank": 1,
        "playerId": str(player.pk),
        "username": player.username,
        "displayName": player.username,
        "score": 12,
    }


@pytest.mark.parametrize(
    "key, body, status",
    [
        ("goldSpent", {"score": 5}, 403),  # authoritative: only the server writes it
        ("monstersKilled", {"score": -5}, 400),
        ("monstersKilled", {"score": "5"}, 400),
        ("monstersKilled", {"score": 5, "rank": 1}, 400),
        ("monstersKilled", {"score": 5, "playerId": "not-a-uuid"}, 400),
        ("monstersKilled", {"score": 5, "playerId": "7f0c2b9e-0000-4000-8000-000000000000"}, 400),
    ],
)
def test_staff_posts_are_held_to_the_rules(staff_api, player, boards, key, body, status):
    body = {"playerId": str(player.pk), **body}

    response = staff_api.post(f"/api/leaderboards/{key}/update/", body)

    assert response.status_code == status, response.json()
    assert not LeaderboardRecord.objects.exists()


def test_posting_scores_is_rate_limited(staff_api, player, boards, settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {
            **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
            "leaderboard-writes": "2/minute",
        },
    }
    body = {"playerId": str(player.pk), "score": 1}

    codes = [
        staff_api.post("/api/leaderboards/monstersKilled/update/", body).status_code
        for _ in range(3)
    ]

    assert codes == [200, 200, 429]
