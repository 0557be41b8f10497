"""The move use case over the live state alone: no socket, no channel layer, no database."""

import asyncio
from datetime import UTC, datetime

import pytest
import pytest_asyncio
from django.contrib.gis.geos import MultiPolygon, Polygon

from mmo.realtime import cell_of
from movement.area_index import AreaIndex
from movement.moves import land_player, move_player
from movement.rules import OUT_OF_RANGE, TOO_FAST, MovementLimits, SpeedAllowance
from movement.world import LivePlayer, World
from tests.realtime import FakeClock

DEG_PER_M = 1 / 111_319.49
LIMITS = MovementLimits(max_speed=5, jitter_m=5, burst_seconds=10, range_m=600)


class Area:
    def __init__(self, pk, boundary):
        self.pk, self.boundary = pk, boundary


pytestmark = pytest.mark.asyncio


@pytest_asyncio.fixture
async def world():
    # A World of its own, never started: no listener, flusher or presence refresh runs.
    world = World(asyncio.get_running_loop())
    world.clock = FakeClock()
    east_of_100_m = Polygon.from_bbox((100 * DEG_PER_M, -0.01, 0.01, 0.01))
    world.area_index = AreaIndex([Area("east", MultiPolygon(east_of_100_m, srid=4326))])
    return world


@pytest.fixture
def live(world):
    player = LivePlayer(
        player_id="p1",
        username="walker",
        display_name="Walker",
        session_id="s1",
        lng=0.0,
        lat=0.0,
        direction=0.0,
        area_id=None,
        version=1,
        updated_at=datetime(2026, 1, 1, tzinfo=UTC),
        allowance=SpeedAllowance(LIMITS, now=world.clock(), metres=0),
        anchors=[(0.0, 0.0)],
    )
    world.join(player)
    return player


async def test_an_allowed_move_updates_the_live_player_and_marks_it_for_the_flush(world, live):
    world.clock.advance(10)

    move = move_player(world, live, lng=40 * DEG_PER_M, lat=0.0, direction=-90, now=world.clock())

    assert move.refused is None
    assert (live.lng, live.lat, live.direction) == (40 * DEG_PER_M, 0.0, 270.0)
    assert live.version > 1
    assert [row.player_id for row in world._take_batch()] == ["p1"]
    assert move.cell == cell_of(live.lng, live.lat)


async def test_a_move_faster_than_the_speed_rule_is_refused_and_changes_nothing(world, live):
    world.clock.advance(1)

    move = move_player(world, live, lng=50 * DEG_PER_M, lat=0.0, direction=None, now=world.clock())

    assert move.refused == TOO_FAST
    assert (live.lng, live.version) == (0.0, 1)
    assert world._take_batch() == []


async def test_a_move_out_of_range_is_refused_without_spending_the_allowance(world, live):
    world.clock.advance(200)
    before = live.allowance.available(world.clock())

    move = move_player(world, live, lng=700 * DEG_PER_M, lat=0.0, direction=None, now=world.clock())

    assert move.refused == OUT_OF_RANGE
    assert live.allowance.available(world.clock()) == before


async def test_crossing_into_an_area_reports_the_area_entered(world, live):
    live.lng = 95 * DEG_PER_M
    world.clock.advance(3)

    move = move_player(world, live, lng=105 * DEG_PER_M, lat=0.0, direction=None, now=world.clock())

    assert (move.area_changed, move.left_area, move.entered_area) == (True, None, "east")
    assert live.area_id == "east"


async def test_a_teleport_older_than_the_live_position_is_ignored(world, live):
    live.version = 10

    assert land_player(world, live, lng=1.0, lat=1.0, version=9) is None
    assert (live.lng, live.lat) == (0.0, 0.0)


async def test_a_teleport_lands_with_a_fresh_allowance(world, live):
    landed = land_player(world, live, lng=105 * DEG_PER_M, lat=0.0, version=11)

    assert landed.entered_area == "east"
    assert (live.lng, live.version) == (105 * DEG_PER_M, 11)
    assert live.allowance.available(world.clock()) == LIMITS.jitter_m
