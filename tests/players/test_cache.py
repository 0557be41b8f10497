import pytest
from django.core.cache import cache

from areas.repositories import ACTIVE_AREAS_KEY
from players.repositories import PlayerRepository, PlayerStateRepository, SessionRepository
from tests.conftest import bearer_client, login_tokens

pytestmark = pytest.mark.django_db

DEAD_REDIS = {
    "default": {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": "redis://127.0.0.1:9/0",  # nothing listens on the discard port
        "OPTIONS": {
            "SOCKET_CONNECT_TIMEOUT": 0.2,
            "SOCKET_TIMEOUT": 0.2,
            "IGNORE_EXCEPTIONS": True,
        },
    }
}


@pytest.fixture
def redis(requires_redis):
    from django_redis import get_redis_connection

    return get_redis_connection("default")


def stored(redis, key) -> bool:
    return bool(redis.exists(cache.make_key(key)))


def test_reading_a_player_fills_redis_for_five_minutes(redis, player):
    key = PlayerRepository.cache_key(player.pk)
    assert not stored(redis, key)

    PlayerRepository.get_by_id(player.pk)

    assert stored(redis, key)
    assert 295 <= redis.ttl(cache.make_key(key)) <= 300


def test_profile_update_invalidates_the_cached_state(redis, player, player_api):
    state_key = PlayerStateRepository.cache_key(player.pk)
    assert player_api.get("/api/players/me/").json()["displayName"] == player.username
    assert stored(redis, state_key)

    player_api.patch("/api/players/me/", {"displayName": "Renamed"}, format="json")

    assert player_api.get("/api/players/me/").json()["displayName"] == "Renamed"


def test_a_request_on_a_warm_cache_makes_no_query(redis, player_api, django_assert_num_queries):
    player_api.get("/api/players/me/")

    with django_assert_num_queries(0):
        assert player_api.get("/api/players/me/").status_code == 200


def test_a_session_and_player_missing_from_the_cache_are_loaded_and_stored(redis, player):
    login = login_tokens(player)
    keys = [SessionRepository.cache_key(login.session.pk), PlayerRepository.cache_key(player.pk)]
    cache.delete_many(keys)

    assert bearer_client(login.tokens.access).get("/api/players/me/").status_code == 200

    assert all(stored(redis, key) for key in keys)


def test_an_ended_session_is_refused_without_loading_its_player(redis, player):
    login = login_tokens(player)
    client = bearer_client(login.tokens.access)
    client.post("/api/auth/logout/")
    cache.delete(PlayerRepository.cache_key(player.pk))

    assert client.get("/api/players/me/").status_code == 401

    assert not stored(redis, PlayerRepository.cache_key(player.pk))


def test_write_removes_the_cached_player(redis, player):
    PlayerRepository.get_by_id(player.pk)

    PlayerRepository.update(player, avatar_url="https://example.com/a.png")

    assert not stored(redis, PlayerRepository.cache_key(player.pk))
    assert PlayerRepository.get_by_id(player.pk).avatar_url == "https://example.com/a.png"


def test_logout_invalidates_the_cached_session(redis, player):
    login = login_tokens(player)
    client = bearer_client(login.tokens.access)
    client.get("/api/players/me/")
    assert stored(redis, SessionRepository.cache_key(login.session.pk))

    client.post("/api/auth/logout/")

    assert client.get("/api/players/me/").status_code == 401


def test_area_change_invalidates_the_active_areas(redis, staff_api):
    from areas.repositories import AreaRepository
    from tests.factories import AreaFactory

    area = AreaFactory()
    AreaRepository.active()
    assert stored(redis, ACTIVE_AREAS_KEY)

    staff_api.patch(f"/api/areas/{area.pk}/", {"name": "Renamed"}, format="json")

    assert not stored(redis, ACTIVE_AREAS_KEY)
    assert [a.name for a in AreaRepository.active()] == ["Renamed"]


def test_endpoints_answer_from_the_database_when_redis_is_down(
    requires_redis, settings, api, player
):
    from tests.factories import DEFAULT_PASSWORD

    settings.CACHES = DEAD_REDIS

    login = api.post(
        "/api/auth/login/", {"login": player.username, "password": DEFAULT_PASSWORD}, format="json"
    )
    assert login.status_code == 200
    client = bearer_client(login.json()["access"])
    assert client.get("/api/players/me/").json()["username"] == player.username
    assert client.get("/api/areas/").status_code == 200
    assert client.patch("/api/players/me/", {"bio": "still here"}, format="json").status_code == 200
    assert client.get("/api/players/me/").json()["bio"] == "still here"
    assert client.post("/api/auth/logout/").status_code == 204
    assert client.get("/api/players/me/").status_code == 401
