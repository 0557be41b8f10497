import pytest
from django.conf import settings
from django.core.cache import cache
from rest_framework.test import APIClient

from players.services import player_login
from tests.factories import DEFAULT_PASSWORD, PlayerFactory, StaffFactory


def on_postgis() -> bool:
    return settings.DATABASES["default"]["ENGINE"].endswith("postgis")


def on_redis() -> bool:
    return settings.CACHES["default"]["BACKEND"].startswith("django_redis")


@pytest.fixture
def requires_postgis():
    if not on_postgis():
        pytest.skip("runs on PostGIS only (set DATABASE_URL=postgis://…)")


@pytest.fixture
def requires_redis():
    if not on_redis():
        pytest.skip("runs on Redis only (set REDIS_URL=redis://…)")


@pytest.fixture(scope="session", autouse=True)
def no_connection_left_behind(django_db_setup, django_db_blocker):
    """
    End every other session on the test database before it is dropped: a
    connection still checked out by a worker thread of a cancelled WebSocket
    task would otherwise keep the database from being dropped.
    """
    yield
    if not on_postgis():
        return
    from django.db import connection

    with django_db_blocker.unblock(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )


@pytest.fixture(autouse=True)
def empty_cache():
    """Each test starts and ends with an empty cache (only this suite's keys)."""

    def clear():
        if hasattr(cache, "delete_pattern"):
            cache.delete_pattern("*")
        else:
            cache.clear()

    clear()
    yield
    clear()


@pytest.fixture
def player(db):
    return PlayerFactory()


@pytest.fixture
def other_player(db):
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


def login_tokens(player, user_agent="pytest"):
    """Log the player in through the service: a new session and its tokens."""
    return player_login(
        login=player.username,
        password=DEFAULT_PASSWORD,
        ip_address="127.0.0.1",
        user_agent=user_agent,
    )


def bearer_client(access_token: str) -> APIClient:
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {access_token}")
    return api


@pytest.fixture
def api():
    return APIClient()


@pytest.fixture
def player_api(player):
    return bearer_client(login_tokens(player).tokens.access)


@pytest.fixture
def other_api(other_player):
    return bearer_client(login_tokens(other_player).tokens.access)


@pytest.fixture
def staff_api(staff):
    return bearer_client(login_tokens(staff).tokens.access)


# The WebSocket fixtures, for every test package.
from tests.realtime import connect, world  # noqa: E402, F401
