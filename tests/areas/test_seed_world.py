import pytest
from django.core.management import call_command

from areas.models import Area
from flags.models import Flag, FlagType
from flags.sample_world import START_FLAG_ID
from mmo.geo import point

pytestmark = pytest.mark.django_db


def world_rows():
    areas = sorted(
        (a.id, a.name, a.area_type, a.boundary.wkt, a.is_active) for a in Area.objects.all()
    )
    flags = sorted(
        (str(f.id), f.name, f.flag_type, f.location.wkt, f.owner_id) for f in Flag.objects.all()
    )
    return areas, flags


@pytest.mark.smoke
def test_seed_world_twice_gives_the_same_rows():
    call_command("seed_world")
    first = world_rows()
    call_command("seed_world")

    assert world_rows() == first
    assert [area[0] for area in first[0]] == ["city-area", "starting-area", "wilderness"]
    assert len(first[1]) == 7


def test_seed_world_keeps_staff_edits():
    call_command("seed_world")
    Area.objects.filter(id="city-area").update(name="Capital")

    call_command("seed_world")

    assert Area.objects.get(id="city-area").name == "Capital"


def test_start_flag_is_a_system_flag_at_the_start_point(settings):
    call_command("seed_world")

    start = Flag.objects.get(id=START_FLAG_ID)
    assert start.flag_type == FlagType.SYSTEM and start.owner is None
    assert (start.location.x, start.location.y) == settings.GAME_START_POINT
    assert Flag.objects.filter(flag_type=FlagType.SYSTEM).count() == 7


def test_sample_areas_split_the_map_around_the_start():
    call_command("seed_world")

    def areas_at(lng, lat):
        return sorted(
            Area.objects.filter(boundary__contains=point(lng, lat)).values_list("id", flat=True)
        )

    assert areas_at(0, 0) == ["starting-area"]
    assert areas_at(0.02, 0) == ["city-area"]
    # The wilderness has a hole where the starting area and the city lie.
    assert areas_at(0.05, 0.05) == ["wilderness"]
