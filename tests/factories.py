import factory
from django.contrib.gis.geos import MultiPolygon, Polygon

from areas.models import Area, AreaType
from flags.models import Flag, FlagType
from flags.repositories import FlagRepository
from mmo.geo import point
from players.models import Player
from players.services import player_register

DEFAULT_PASSWORD = "correct-horse-battery-staple"


class PlayerFactory(factory.Factory):
    """Players through the registration service, so each has its game state."""

    class Meta:
        model = Player

    username = factory.Sequence(lambda n: f"player{n}")
    email = factory.LazyAttribute(lambda player: f"{player.username}@example.com")
    password = DEFAULT_PASSWORD

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        return player_register(**kwargs)


class StaffFactory(PlayerFactory):
    username = factory.Sequence(lambda n: f"staff{n}")
    is_staff = True
    is_superuser = True


def square(min_lng, min_lat, size):
    return MultiPolygon(
        Polygon(
            (
                (min_lng, min_lat),
                (min_lng + size, min_lat),
                (min_lng + size, min_lat + size),
                (min_lng, min_lat + size),
                (min_lng, min_lat),
            )
        ),
        srid=4326,
    )


class AreaFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Area

    id = factory.Sequence(lambda n: f"area-{n}")
    name = factory.Sequence(lambda n: f"Area {n}")
    area_type = AreaType.WILDERNESS
    boundary = factory.LazyFunction(lambda: square(10.0, 10.0, 0.01))


class FlagFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Flag
        skip_postgeneration_save = True

    owner = factory.SubFactory(PlayerFactory)
    name = factory.Sequence(lambda n: f"Flag {n}")
    location = factory.LazyFunction(lambda: point(0.001, 0.001))
    flag_type = FlagType.NORMAL

    @factory.post_generation
    def claim_land(flag, create, extracted, **kwargs):
        """A player's standing flag claims its land as placing it would (claim_land=False: none)."""
        if create and extracted is not False:
            FlagRepository.claim(flag)
