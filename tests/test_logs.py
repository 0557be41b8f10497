"""Logs under load: repeated warnings rate-limited with a count, expected events counted."""

import logging

import pytest
from django.test import override_settings

from mmo import logs
from mmo.api.admission import AUTHENTICATION
from tests.factories import DEFAULT_PASSWORD


def record(message="Bad Request: %s", args=("/api/flags/",), level=logging.WARNING):
    return logging.LogRecord("django.request", level, __file__, 1, message, args, None)


def test_a_repeated_warning_is_let_through_once_per_interval_with_a_count(monkeypatch):
    clock = [1000.0]
    monkeypatch.setattr(logs.time, "monotonic", lambda: clock[0])
    limit = logs.RateLimitFilter(interval=60)

    first = limit.filter(record())
    held = [limit.filter(record()) for _ in range(5)]
    clock[0] += 61
    later = record()
    passed = limit.filter(later)

    assert first and held == [False] * 5
    assert passed and later.getMessage() == (
        "Bad Request: /api/flags/ (5 more like this in the last 60 s)"
    )


def test_different_messages_and_info_lines_are_not_held_back():
    limit = logs.RateLimitFilter(interval=60)

    assert limit.filter(record("one %s"))
    assert limit.filter(record("another %s"))
    assert all(limit.filter(record("started", (), logging.INFO)) for _ in range(3))


def test_warn_every_writes_a_flooding_message_once_per_interval(caplog, monkeypatch):
    clock = [5000.0]
    monkeypatch.setattr(logs.time, "monotonic", lambda: clock[0])
    logger = logging.getLogger("tests.flood")

    with caplog.at_level(logging.WARNING, logger="tests.flood"):
        for _ in range(10):
            logs.warn_every(logger, 30, "delivering %s failed", "player.moved")
        clock[0] += 31
        logs.warn_every(logger, 30, "delivering %s failed", "player.moved")

    assert [r.getMessage() for r in caplog.records] == [
        "delivering player.moved failed",
        "delivering player.moved failed (9 more like this in the last 30 s)",
    ]


@pytest.mark.django_db
def test_a_shed_login_is_counted_not_logged_as_a_server_error(api, player, caplog):
    with override_settings(AUTH_CONCURRENCY=1, AUTH_QUEUE_TIMEOUT=0):
        assert AUTHENTICATION.enter()
        refused_before = AUTHENTICATION.refused
        try:
            with caplog.at_level(logging.WARNING, logger="django.request"):
                response = api.post(
                    "/api/auth/login/",
                    {"login": player.username, "password": DEFAULT_PASSWORD},
                    format="json",
                )
        finally:
            AUTHENTICATION.leave()

    assert response.status_code == 503
    assert AUTHENTICATION.refused == refused_before + 1
    assert [r for r in caplog.records if r.name == "django.request"] == []


@pytest.mark.django_db
def test_process_metrics_are_for_staff_only(player_api, staff_api):
    assert player_api.get("/api/internal/metrics").status_code == 403

    metrics = staff_api.get("/api/internal/metrics").json()

    assert metrics["rssKiB"] > 10_000 and metrics["openFiles"] > 3
    assert metrics["threads"] >= 1 and metrics["tasks"] >= 0
    assert {
        "loginsShed",
        "loginsInFlight",
        "socketLoginsInProgress",
        "socketsRefused",
        "counted",
    } <= set(metrics)
