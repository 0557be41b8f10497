"""Logins past what a process answers in time are refused at once, and nothing else is."""

import asyncio
import json
import threading
import time

import pytest
from django.test import override_settings

from mmo.api.admission import (
    AUTHENTICATION,
    MAX_RETRY_AFTER,
    AdmissionGate,
    ShedAtTheDoor,
    gate_of,
)
from tests.factories import DEFAULT_PASSWORD

pytestmark = pytest.mark.django_db


@pytest.fixture
def full_gate():
    """Every place of the login gate taken, as by logins still hashing."""
    with override_settings(AUTH_CONCURRENCY=1, AUTH_QUEUE_TIMEOUT=0.05):
        assert AUTHENTICATION.enter()
        try:
            yield AUTHENTICATION
        finally:
            AUTHENTICATION.leave()


def login(api, player):
    return api.post(
        "/api/auth/login/", {"login": player.username, "password": DEFAULT_PASSWORD}, format="json"
    )


def test_a_login_past_the_gate_is_refused_at_once_with_retry_after(api, player, full_gate):
    started = time.monotonic()
    response = login(api, player)
    elapsed = time.monotonic() - started

    assert response.status_code == 503
    assert response.json()["code"] == "overloaded"
    assert int(response["Retry-After"]) >= 1
    assert elapsed < 1.0


def test_a_registration_past_the_gate_is_refused_with_retry_after(api, full_gate):
    response = api.post(
        "/api/auth/register/",
        {"username": "late", "email": "late@example.com", "password": DEFAULT_PASSWORD},
        format="json",
    )

    assert response.status_code == 503 and response.has_header("Retry-After")


def test_other_requests_pass_while_the_gate_is_full(player_api, full_gate):
    assert player_api.get("/api/players/me/").status_code == 200


def test_the_place_is_given_back_after_each_login_refused_or_not(api, player):
    with override_settings(AUTH_CONCURRENCY=1, AUTH_QUEUE_TIMEOUT=0):
        answers = [login(api, player).status_code for _ in range(3)]
        wrong = api.post(
            "/api/auth/login/", {"login": player.username, "password": "wrong"}, format="json"
        )

        assert answers == [200, 200, 200] and wrong.status_code == 401
        assert AUTHENTICATION.busy == 0


@override_settings(AUTH_CONCURRENCY=2, AUTH_QUEUE_TIMEOUT=0.2)
def test_a_request_waits_for_a_place_no_longer_than_the_queue_timeout():
    gate = AdmissionGate("AUTH_CONCURRENCY", "AUTH_QUEUE_TIMEOUT")
    assert gate.enter() and gate.enter()

    started = time.monotonic()
    admitted = gate.enter()
    waited = time.monotonic() - started

    assert not admitted and 0.2 <= waited < 1.0
    assert gate.refused == 1


@override_settings(AUTH_CONCURRENCY=1, AUTH_QUEUE_TIMEOUT=5)
def test_a_place_given_back_admits_a_waiting_request():
    gate = AdmissionGate("AUTH_CONCURRENCY", "AUTH_QUEUE_TIMEOUT")
    assert gate.enter()
    admitted = []
    waiting = threading.Thread(target=lambda: admitted.append(gate.enter()))
    waiting.start()
    time.sleep(0.1)

    gate.leave()
    waiting.join(5)

    assert admitted == [True] and gate.busy == 1


def http_scope(path, method="POST"):
    return {"type": "http", "method": method, "path": path, "headers": []}


@pytest.mark.asyncio
@override_settings(AUTH_CONCURRENCY=1, AUTH_QUEUE_LENGTH=1)
async def test_past_the_door_limit_a_login_is_refused_on_the_event_loop():
    release = asyncio.Event()
    reached_the_app = []

    async def app(scope, receive, send):  # a login that takes its time
        reached_the_app.append(scope["path"])
        if scope["method"] == "POST":
            await release.wait()

    door = ShedAtTheDoor(app)
    sent = []

    async def send(message):
        sent.append(message)

    inside = [asyncio.create_task(door(http_scope("/api/auth/login/"), None, send)) for _ in "ab"]
    await asyncio.sleep(0.01)
    await door(http_scope("/api/auth/login/"), None, send)
    await door(http_scope("/api/players/me/", "GET"), None, send)
    release.set()
    await asyncio.gather(*inside)

    start = sent[0]
    assert start["status"] == 503
    assert (b"retry-after", b"1") in start["headers"]
    assert json.loads(sent[1]["body"])["code"] == "overloaded"
    assert reached_the_app == ["/api/auth/login/"] * 2 + ["/api/players/me/"]
    assert AUTHENTICATION.inside == 0


def test_the_door_knows_the_gated_views_by_their_path():
    assert gate_of("/api/auth/login/") is AUTHENTICATION
    assert gate_of("/api/auth/register") is AUTHENTICATION
    assert gate_of("/api/players/me/") is None
    assert gate_of("/nowhere") is None


@override_settings(AUTH_CONCURRENCY=1)
def test_refused_clients_are_told_to_come_back_in_turn():
    gate = AdmissionGate("AUTH_CONCURRENCY", "AUTH_QUEUE_TIMEOUT")
    gate.returns.hold_seconds = 0.1  # one place, given back ten times a second

    waits = [gate.retry_after() for _ in range(30)]

    assert waits[0] == 1 and waits[-1] == 3
    assert waits == sorted(waits)  # the later refused, the later back


@override_settings(AUTH_CONCURRENCY=2)
def test_the_wait_follows_how_long_logins_hold_their_place():
    quick, slow = (AdmissionGate("AUTH_CONCURRENCY", "AUTH_QUEUE_TIMEOUT") for _ in "ab")
    for gate, held_for in ((quick, 0.05), (slow, 1.0)):
        for _ in range(100):
            assert gate.enter()
            gate.leave(held_for=held_for)

    quick_waits = [quick.retry_after() for _ in range(40)]
    slow_waits = [slow.retry_after() for _ in range(40)]

    assert quick_waits[-1] == 1  # 40 places a second
    assert slow_waits[-1] == 20  # 2 places a second


def test_no_client_is_told_to_wait_longer_than_the_cap():
    gate = AdmissionGate("AUTH_CONCURRENCY", "AUTH_QUEUE_TIMEOUT")
    gate.returns.hold_seconds = 10.0

    assert max(gate.retry_after() for _ in range(1000)) == MAX_RETRY_AFTER
