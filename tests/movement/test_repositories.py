import pytest

from mmo.geo import bounding_box, point
from movement.models import PlayerPosition
from movement.repositories import PositionRepository
from tests.assertions import plan_of
from tests.factories import PlayerFactory
from tests.geodesy import north_of_equator, spheroid_distance

pytestmark = pytest.mark.django_db


def place(player, location, area_id=None):
    PlayerPosition.objects.filter(pk=player.pk).update(location=location, current_area_id=area_id)


def test_near_finds_players_just_inside_the_radius_only(requires_postgis):
    center = point(0, 0)
    inside, outside = PlayerFactory(), PlayerFactory()
    place(inside, north_of_equator(499))
    place(outside, north_of_equator(501))
    assert (
        spheroid_distance(center, north_of_equator(499))
        < 500
        < spheroid_distance(center, north_of_equator(501))
    )

    assert list(PositionRepository.players_near(center, 500)) == [inside]


@pytest.mark.smoke
def test_near_works_on_the_embedded_database_too():
    center = point(10, 10)
    close, far = PlayerFactory(), PlayerFactory()
    place(close, point(10.001, 10))  # about 110 m east
    place(far, point(10.01, 10))  # about 1.1 km east

    assert list(PositionRepository.players_near(center, 500)) == [close]


def test_in_box_includes_the_edge_and_excludes_just_outside():
    on_edge, inside, outside = PlayerFactory(), PlayerFactory(), PlayerFactory()
    place(on_edge, point(1.0, 0.5))
    place(inside, point(0.5, 0.5))
    place(outside, point(1.0001, 0.5))
    box = bounding_box(min_lng=0, min_lat=0, max_lng=1, max_lat=1)

    assert set(PositionRepository.players_in_box(box)) == {on_edge, inside}


def test_in_area_uses_the_current_area(player, other_player):
    from django.core.management import call_command

    call_command("seed_world")
    place(player, point(0, 0), "starting-area")
    place(other_player, point(0.02, 0), "city-area")

    assert list(PositionRepository.players_in_area("starting-area")) == [player]


def test_deactivated_players_are_not_listed(player):
    place(player, point(0, 0))
    player.is_active = False
    player.save()

    assert not PositionRepository.players_near(point(0, 0), 100).exists()


def test_players_near_is_answered_from_the_geography_index(requires_postgis, player):
    plan = plan_of(PositionRepository.players_near(point(0, 0), 1000))

    assert "player_positions_location_geography_gist" in plan, plan
