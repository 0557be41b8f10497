import pytest

from flags.repositories import FlagRepository
from mmo.geo import bounding_box, point
from tests.assertions import plan_of, plan_of_query_sent_by
from tests.factories import FlagFactory
from tests.geodesy import north_of_equator, spheroid_distance

pytestmark = pytest.mark.django_db


def test_within_finds_flags_just_inside_the_radius_only(requires_postgis):
    inside = FlagFactory(location=north_of_equator(999))
    FlagFactory(location=north_of_equator(1001))
    assert spheroid_distance(point(0, 0), inside.location) < 1000

    assert list(FlagRepository.within(point(0, 0), 1000)) == [inside]


def test_within_is_answered_from_the_geography_index(requires_postgis):
    for n in range(50):
        FlagFactory(location=point(n * 0.01, 0))

    plan = plan_of(FlagRepository.within(point(0, 0), 1000))

    assert "flags_location_geography_gist" in plan, plan


def test_largest_radius_is_read_from_the_radius_index(requires_postgis):
    FlagFactory(radius=500)
    FlagFactory(radius=800, visual_boundary=900)

    plan = plan_of_query_sent_by(FlagRepository.largest_radius)

    assert FlagRepository.largest_radius() == 800
    assert "flags_radius_idx" in plan, plan


def test_in_box_and_of_owner(player):
    mine_inside = FlagFactory(owner=player, location=point(0.5, 0.5))
    FlagFactory(owner=player, location=point(2, 2))
    FlagFactory(location=point(0.6, 0.6))
    box = bounding_box(min_lng=0, min_lat=0, max_lng=1, max_lat=1)

    assert list(FlagRepository.of_owner(player.pk, FlagRepository.in_box(box))) == [mine_inside]


def test_active_flags_leave_out_abandoned_ones():
    kept = FlagFactory()
    FlagFactory(is_abandoned=True)

    assert [flag.pk for flag in FlagRepository.active()] == [kept.pk]
