import pytest
from django.conf import settings

from tests.factories import PlayerFactory, StaffFactory


def on_postgis() -> bool:
    return settings.DATABASES["default"]["ENGINE"].endswith("postgis")


@pytest.fixture
def requires_postgis():
    if not on_postgis():
        pytest.skip("runs on PostGIS only (set DATABASE_URL=postgis://…)")


@pytest.fixture
def player(db):
    return PlayerFactory()


@pytest.fixture
def staff(db):
    return StaffFactory()


@pytest.fixture
def staff_client(client, staff):
    client.force_login(staff)
    return client


@pytest.fixture
def player_client(client, player):
    client.force_login(player)
    return client
