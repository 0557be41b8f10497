"""Staff manage boards in the admin: create one, reset it now, remove a cheater's record."""

import pytest
from django.db import transaction
from django.urls import reverse

from leaderboards import services
from leaderboards.models import Leaderboard, LeaderboardRecord
from tests.factories import PlayerFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.smoke]


def record(key, scores):
    with transaction.atomic():
        services.scores_record(key=key, scores={str(p.pk): s for p, s in scores.items()})


def test_the_leaderboard_pages_load(staff_client, boards):
    record("monstersKilled", {PlayerFactory(): 3})
    board_record = LeaderboardRecord.objects.get()
    for url in [
        reverse("admin:leaderboards_leaderboard_changelist"),
        reverse("admin:leaderboards_leaderboard_add"),
        reverse("admin:leaderboards_leaderboard_change", args=["monstersKilled"]),
        reverse("admin:leaderboards_leaderboardrecord_changelist"),
        reverse("admin:leaderboards_leaderboardrecord_change", args=[board_record.pk]),
    ]:
        assert staff_client.get(url).status_code == 200, url


def test_staff_create_a_board_with_its_first_season(staff_client, boards):
    response = staff_client.post(
        reverse("admin:leaderboards_leaderboard_add"),
        {
            "key": "fastestLap",
            "name": "Fastest lap (s)",
            "sort_order": "asc",
            "operator": "best",
            "reset_schedule": "monthly",
            "seasons-TOTAL_FORMS": 0,
            "seasons-INITIAL_FORMS": 0,
        },
    )

    assert response.status_code == 302
    board = services.leaderboard_current(key="fastestLap")
    assert (board.sort_order, board.season, board.authoritative) == ("asc", 1, False)
    assert board.seasons.get().number == 1


def test_reset_now_starts_a_new_season(staff_client, boards):
    player = PlayerFactory()
    record("monstersKilled", {player: 3})

    staff_client.post(
        reverse("admin:leaderboards_leaderboard_changelist"),
        {"action": "reset_now", "_selected_action": ["monstersKilled"]},
    )

    assert Leaderboard.objects.get(key="monstersKilled").season == 2
    assert services.leaderboard_top(key="monstersKilled").entries == []
    assert services.leaderboard_rank(key="monstersKilled", player_id=player.pk, season=1) == (1, 3)


def test_removing_a_cheaters_record_takes_it_off_the_board(staff_client, boards):
    cheater, honest = PlayerFactory(), PlayerFactory()
    record("monstersKilled", {cheater: 10**9, honest: 4})
    services.leaderboard_top(key="monstersKilled")
    cheat = LeaderboardRecord.objects.get(player=cheater)

    response = staff_client.post(
        reverse("admin:leaderboards_leaderboardrecord_delete", args=[cheat.pk]), {"post": "yes"}
    )

    assert response.status_code == 302
    assert [e.player_id for e in services.leaderboard_top(key="monstersKilled").entries] == [
        str(honest.pk)
    ]
