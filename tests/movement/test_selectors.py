"""Where a player may roam from, as a socket's login reads it (movement/selectors.py)."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from flags.models import Flag
from mmo.geo import point
from movement.models import PlayerPosition
from movement.selectors import player_anchors
from tests.factories import FlagFactory, PlayerFactory

pytestmark = pytest.mark.django_db


def visit(player, flag):
    PlayerPosition.objects.filter(pk=player.pk).update(anchor_flag=flag)


def test_a_new_player_roams_from_the_start_point():
    player = PlayerFactory()

    assert player_anchors(player_id=player.pk) == [tuple(settings.GAME_START_POINT)]


def test_own_standing_flags_oldest_first_then_the_flag_last_visited():
    player = PlayerFactory()
    FlagFactory(owner=player, location=point(0.001, 0.0))
    older = FlagFactory(owner=player, location=point(0.002, 0.0))
    Flag.objects.filter(pk=older.pk).update(created_at=timezone.now() - timedelta(days=1))
    visited = FlagFactory(location=point(0.003, 0.0))  # another player's
    visit(player, visited)

    assert player_anchors(player_id=player.pk) == [(0.002, 0.0), (0.001, 0.0), (0.003, 0.0)]


def test_an_abandoned_flag_is_no_anchor_and_a_visited_own_flag_counts_once():
    player = PlayerFactory()
    standing = FlagFactory(owner=player, location=point(0.001, 0.0))
    FlagFactory(owner=player, location=point(0.002, 0.0), is_abandoned=True)
    visit(player, standing)

    assert player_anchors(player_id=player.pk) == [(0.001, 0.0)]
