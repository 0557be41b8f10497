import pytest
from django.core.management import call_command

from areas.repositories import AreaRepository
from mmo.geo import bounding_box, point

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    call_command("seed_world")


def ids(queryset):
    return sorted(area.pk for area in queryset)


@pytest.mark.smoke
def test_point_in_the_hole_of_a_polygon_is_not_in_that_area(world):
    assert ids(AreaRepository.containing(point(0.005, 0.005))) == ["starting-area"]
    assert ids(AreaRepository.containing(point(0.05, 0.05))) == ["wilderness"]
    assert ids(AreaRepository.containing(point(5, 5))) == []


def test_inactive_areas_contain_nothing(world):
    from areas.models import Area

    Area.objects.filter(pk="wilderness").update(is_active=False)

    assert ids(AreaRepository.containing(point(0.05, 0.05))) == []
    assert [area.pk for area in AreaRepository.active()] == ["city-area", "starting-area"]


def test_areas_in_a_box(world):
    box = bounding_box(min_lng=0.015, min_lat=-0.005, max_lng=0.02, max_lat=0.005)

    # The box lies inside the city, which is inside the wilderness's hole.
    assert ids(AreaRepository.in_box(box)) == ["city-area"]
