import pytest

pytestmark = pytest.mark.django_db

DEAD_REDIS = "redis://127.0.0.1:9/0"  # the discard port: nothing listens there


@pytest.mark.smoke
def test_health_reports_database_and_cache_up(client):
    response = client.get("/api/health")

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "up", "cache": "up"}


def test_health_names_a_dead_redis_as_down(client, settings):
    settings.CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": DEAD_REDIS,
            "OPTIONS": {
                "SOCKET_CONNECT_TIMEOUT": 0.2,
                "SOCKET_TIMEOUT": 0.2,
                "IGNORE_EXCEPTIONS": True,
            },
        }
    }

    response = client.get("/api/health")

    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "down"
    assert body["cache"] == "down" and body["database"] == "up"
    assert body["down"] == ["cache"]
    assert "Connection" in body["errors"]["cache"]


def test_health_answers_with_or_without_a_trailing_slash_and_refuses_writes(client):
    assert client.get("/api/health/").status_code == 200
    assert client.post("/api/health").status_code == 405
