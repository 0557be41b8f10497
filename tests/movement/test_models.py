import pytest

from movement.models import PlayerPosition
from tests.assertions import refused_by_database

pytestmark = pytest.mark.django_db


@pytest.mark.smoke
@pytest.mark.parametrize("direction", [-0.1, 360, 720])
def test_direction_outside_0_to_360_is_refused(player, direction):
    with refused_by_database():
        PlayerPosition.objects.filter(pk=player.pk).update(direction=direction)


@pytest.mark.parametrize("direction", [0, 359.99])
def test_direction_inside_0_to_360_is_accepted(player, direction):
    PlayerPosition.objects.filter(pk=player.pk).update(direction=direction)

    assert PlayerPosition.objects.get(pk=player.pk).direction == direction


def test_negative_version_is_refused(player):
    with refused_by_database():
        PlayerPosition.objects.filter(pk=player.pk).update(version=-1)
