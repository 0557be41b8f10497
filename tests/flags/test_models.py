import pytest

from flags.models import Flag, FlagType
from mmo.geo import point
from tests.assertions import refused_by_database
from tests.factories import FlagFactory

pytestmark = pytest.mark.django_db


@pytest.mark.smoke
def test_system_flag_with_an_owner_is_refused(player):
    with refused_by_database():
        FlagFactory(owner=player, flag_type=FlagType.SYSTEM)


def test_normal_flag_without_owner_is_refused():
    with refused_by_database():
        FlagFactory(owner=None, flag_type=FlagType.NORMAL)


def test_unknown_flag_type_is_refused():
    with refused_by_database():
        FlagFactory(flag_type="castle")


@pytest.mark.parametrize(
    "fields",
    [{"radius": 0}, {"radius": 700, "visual_boundary": 600}, {"toll": -1}, {"health": -1}],
)
def test_flag_out_of_range_values_are_refused(fields):
    with refused_by_database():
        FlagFactory(**fields)


def test_flag_defaults_follow_the_original_game(player):
    flag = Flag.objects.create(owner=player, name="Home", location=point(0.001, 0.002))

    assert (flag.radius, flag.visual_boundary, flag.health) == (500, 600, 200)
    assert (flag.is_public, flag.toll, flag.is_hardened, flag.is_abandoned) == (
        False,
        0,
        False,
        False,
    )
    assert flag.flag_type == FlagType.NORMAL
