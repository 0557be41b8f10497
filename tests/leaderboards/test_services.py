"""Scores, seasons and ranks, on the database and Redis (embedded: the database alone)."""

from datetime import timedelta

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.db import transaction
from django.utils import timezone

from leaderboards import services
from leaderboards.models import Leaderboard, LeaderboardRecord
from leaderboards.repositories import RecordRepository, rank_index
from tests.factories import PlayerFactory

pytestmark = pytest.mark.django_db(transaction=True)


def record(key, scores, **options):
    with transaction.atomic():
        return services.scores_record(key=key, scores=scores, **options)


def ranking(key, **options):
    return [(e.username, e.score) for e in services.leaderboard_top(key=key, **options).entries]


def forget_redis():
    """What Redis loses when it restarts without persistence: every key of this deployment."""
    cache.delete_pattern("*")


@pytest.mark.smoke
def test_the_standard_categories_are_boards(boards):
    keys = set(Leaderboard.objects.values_list("key", flat=True))

    assert {"monstersKilled", "goldSpent", "mostGold", "flagsPlaced", "distanceWalked"} <= keys
    assert Leaderboard.objects.get(key="distanceWalked").authoritative


@pytest.mark.smoke
@pytest.mark.parametrize(
    "key, expected", [("flagsPlaced", 8), ("mostGold", 3), ("monstersKilled", 5)]
)
def test_each_operator_keeps_its_score(boards, key, expected):
    # flagsPlaced increments, mostGold sets, monstersKilled keeps the best.
    player = PlayerFactory()
    for score in (5, 3):
        record(key, {str(player.pk): score})

    assert services.leaderboard_rank(key=key, player_id=player.pk) == (1, expected)


@pytest.mark.smoke
def test_the_top_is_best_first_with_ranks_and_names(boards):
    players = [PlayerFactory(username=name) for name in ("ann", "bob", "cid")]
    record("monstersKilled", {str(p.pk): s for p, s in zip(players, (10, 30, 20), strict=True)})

    standing = services.leaderboard_top(key="monstersKilled", limit=2)

    assert standing.count == 3
    assert [(e.rank, e.username, e.display_name, e.score) for e in standing.entries] == [
        (1, "bob", "bob", 30),
        (2, "cid", "cid", 20),
    ]
    assert ranking("monstersKilled", offset=2, limit=2) == [("ann", 10)]


@pytest.mark.smoke
def test_around_a_player_shows_the_records_above_and_below(boards):
    players = [PlayerFactory(username=f"player-{score}") for score in range(10)]
    record("monstersKilled", {str(p.pk): score for score, p in enumerate(players)})

    around = services.leaderboard_around(key="monstersKilled", player_id=players[5].pk, count=2)

    assert (around.rank, around.score) == (5, 5)
    assert [(e.rank, e.username) for e in around.entries] == [
        (3, "player-7"),
        (4, "player-6"),
        (5, "player-5"),
        (6, "player-4"),
        (7, "player-3"),
    ]


def test_redis_and_the_database_rank_ties_alike(boards, requires_redis):
    players = [PlayerFactory() for _ in range(12)]
    record("monstersKilled", {str(p.pk): index % 3 for index, p in enumerate(players)})
    board = services.leaderboard_current(key="monstersKilled")

    from_redis = [e.player_id for e in services.leaderboard_top(key=board.pk, limit=20).entries]

    assert from_redis == [pid for pid, _ in RecordRepository.top(board, 1, 0, 20)]
    for rank, player_id in enumerate(from_redis):
        assert RecordRepository.rank(board, 1, player_id)[0] == rank
        complete, (redis_rank, _) = rank_index().rank(board, 1, player_id)
        assert complete and redis_rank == rank


def test_ranks_lost_by_redis_are_rebuilt_the_same_on_first_read(boards, requires_redis):
    players = [PlayerFactory() for _ in range(20)]
    record("goldSpent", {str(p.pk): (index * 7) % 5 for index, p in enumerate(players)})
    before = services.leaderboard_top(key="goldSpent", limit=50)

    forget_redis()
    assert not rank_index().is_complete("goldSpent", 1)
    after = services.leaderboard_top(key="goldSpent", limit=50)

    assert after == before
    assert rank_index().is_complete("goldSpent", 1)


def test_the_rebuild_command_fills_redis_from_the_database(boards, requires_redis):
    player = PlayerFactory()
    record("goldSpent", {str(player.pk): 4})
    forget_redis()

    call_command("rebuild_leaderboards", "goldSpent")

    board = services.leaderboard_current(key="goldSpent")
    assert rank_index().rank(board, 1, str(player.pk)) == (True, (0, 4))


def test_a_write_redis_missed_is_not_served_from_the_stale_set(boards, requires_redis):
    first, second = PlayerFactory(), PlayerFactory()
    record("monstersKilled", {str(first.pk): 5})
    services.leaderboard_top(key="monstersKilled")  # the set is complete
    index = rank_index()
    index.stale.add(("monstersKilled", 1))  # as after a write that failed to reach Redis
    LeaderboardRecord.objects.create(
        leaderboard_id="monstersKilled", season=1, player=second, score=9
    )

    assert ranking("monstersKilled")[0][1] == 9


@pytest.mark.smoke
def test_a_weekly_board_starts_a_new_season_on_monday_and_keeps_the_old(weekly):
    player = PlayerFactory()
    record("weeklyKills", {str(player.pk): 3})
    next_week = services.next_reset_at(weekly) + timedelta(hours=1)

    record("weeklyKills", {str(player.pk): 2}, now=next_week)

    board = services.leaderboard_current(key="weeklyKills", now=next_week)
    assert board.season == 2
    assert board.season_started_at == services.next_reset_at(weekly)
    assert services.leaderboard_rank(key="weeklyKills", player_id=player.pk) == (1, 2)
    assert services.leaderboard_rank(key="weeklyKills", player_id=player.pk, season=1) == (1, 3)
    assert [(s.number, s.ended_at) for s in board.seasons.order_by("number")] == [
        (1, board.season_started_at),
        (2, None),
    ]


def test_a_season_is_not_advanced_twice(weekly):
    later = timezone.now() + timedelta(days=8)

    services.leaderboard_current(key="weeklyKills", now=later)
    cache.delete_pattern("*")
    services.leaderboard_current(key="weeklyKills", now=later)

    assert Leaderboard.objects.get(key="weeklyKills").season == 2


@pytest.mark.smoke
def test_reset_now_starts_a_season_and_keeps_the_last_readable(boards):
    player = PlayerFactory()
    record("monstersKilled", {str(player.pk): 7})

    assert services.leaderboard_reset(key="monstersKilled") == 2

    assert services.leaderboard_top(key="monstersKilled").entries == []
    assert ranking("monstersKilled", season=1) == [(player.username, 7)]
    with pytest.raises(services.LeaderboardError):
        services.leaderboard_top(key="monstersKilled", season=3)


@pytest.mark.smoke
def test_a_removed_record_leaves_the_ranks(boards):
    cheater, honest = PlayerFactory(), PlayerFactory()
    record("monstersKilled", {str(cheater.pk): 10**9, str(honest.pk): 5})
    services.leaderboard_top(key="monstersKilled")

    assert services.record_remove(key="monstersKilled", player_id=cheater.pk)

    assert ranking("monstersKilled") == [(honest.username, 5)]


@pytest.mark.smoke
def test_a_service_account_with_the_permission_posts_scores(boards):
    from django.contrib.auth.models import Permission

    service, player = PlayerFactory(), PlayerFactory()
    service.user_permissions.add(Permission.objects.get(codename="submit_score"))
    service = type(service).objects.get(pk=service.pk)  # permissions are cached per instance

    entry = services.score_submit(
        actor=service, key="dungeonsCompleted", player_id=player.pk, score=4
    )

    assert (entry.rank, entry.player_id, entry.score) == (1, str(player.pk), 4)


@pytest.mark.smoke
@pytest.mark.parametrize(
    "actor, key, score, code",
    [
        ("player", "monstersKilled", 5, "forbidden"),
        ("self", "monstersKilled", 5, "own_score"),
        ("staff", "goldSpent", 5, "authoritative"),
        ("staff", "monstersKilled", -1, "invalid_score"),
        ("staff", "monstersKilled", 10**13, "invalid_score"),
        ("staff", "noSuchBoard", 5, "not_found"),
    ],
)
def test_scores_are_refused_to_the_untrusted_and_out_of_bounds(boards, actor, key, score, code):
    staff, player = PlayerFactory(is_staff=True), PlayerFactory()
    actor = {"player": PlayerFactory(), "self": player, "staff": staff}[actor]
    if actor is player:
        actor.is_staff = True  # even staff may not post about themselves

    with pytest.raises(services.LeaderboardError) as refused:
        services.score_submit(actor=actor, key=key, player_id=player.pk, score=score)

    assert refused.value.code == code
    assert not LeaderboardRecord.objects.exists()


def test_a_rank_change_is_announced_to_the_player(boards, requires_redis):
    first, second = PlayerFactory(), PlayerFactory()
    record("monstersKilled", {str(first.pk): 5})
    services.leaderboard_top(key="monstersKilled")
    notices = []

    record("monstersKilled", {str(second.pk): 9}, notices=notices)
    record("monstersKilled", {str(second.pk): 10}, notices=notices)  # same rank: no news

    assert notices == [
        (
            f"player.{second.pk}",
            {"type": "leaderboard.rank", "category": "monstersKilled", "rank": 1, "score": 9},
        )
    ]


def test_a_batch_of_scores_is_ranked_before_and_after_in_one_write(boards, requires_redis):
    leader, follower, newcomer = (str(PlayerFactory().pk) for _ in range(3))
    record("monstersKilled", {leader: 50, follower: 30})
    services.leaderboard_top(key="monstersKilled")  # the set is rebuilt: complete
    board = services.leaderboard_current(key="monstersKilled")
    index = rank_index()

    ranks = index.write(board, board.season, {follower: 60, newcomer: 40})

    # The follower overtakes the leader; the newcomer enters behind both.
    assert ranks == {follower: (1, 0), newcomer: (None, 2)}
    assert index.rank(board, board.season, leader) == (True, (1, 50))


def test_scores_written_to_an_incomplete_set_are_kept_but_not_ranked(boards, requires_redis):
    player = str(PlayerFactory().pk)
    board = services.leaderboard_current(key="monstersKilled")
    forget_redis()
    index = rank_index()

    assert index.write(board, board.season, {player: 7}) is None
    assert not index.is_complete("monstersKilled", board.season)
    assert index.client.zscore(index.key("monstersKilled", board.season), player) == 7
