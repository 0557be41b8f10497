import base64
import json
import time
from datetime import timedelta

import jwt
import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from players.models import Player, Session
from tests.conftest import bearer_client, login_tokens
from tests.factories import DEFAULT_PASSWORD

pytestmark = pytest.mark.django_db

ME = "/api/players/me/"


def login(api, login, password=DEFAULT_PASSWORD, **extra):
    return api.post(
        "/api/auth/login/", {"login": login, "password": password}, format="json", **extra
    )


def refresh(api, token):
    return api.post("/api/auth/refresh/", {"refresh": token}, format="json")


@pytest.mark.smoke
def test_login_by_username_opens_a_session_and_returns_tokens(api, player):
    response = login(api, player.username, HTTP_USER_AGENT="GameClient/1.0")

    assert response.status_code == 200
    body = response.json()
    session = Session.objects.get(pk=body["sessionId"])
    assert session.player == player and session.is_valid
    assert session.user_agent == "GameClient/1.0" and session.ip_address == "127.0.0.1"
    assert body["player"]["username"] == player.username
    claims = jwt.decode(body["access"], options={"verify_signature": False})
    assert claims["sid"] == str(session.pk) and claims["player_id"] == str(player.pk)
    assert bearer_client(body["access"]).get(ME).status_code == 200


def test_login_by_email_ignoring_case(api, player):
    assert login(api, player.email.upper()).status_code == 200


@pytest.mark.parametrize("key", ["login", "username", "email"])
def test_login_accepts_the_login_under_each_of_its_names(api, player, key):
    who = player.email if key == "email" else player.username

    response = api.post("/api/auth/login/", {key: who, "password": DEFAULT_PASSWORD}, format="json")

    assert response.status_code == 200, response.json()
    assert response.json()["player"]["id"] == str(player.pk)


@pytest.mark.parametrize(
    "body", [{}, {"username": "a", "email": "a@example.com"}, {"login": "a", "username": "a"}]
)
def test_login_needs_exactly_one_name_for_the_player(api, player, body):
    response = api.post("/api/auth/login/", {**body, "password": DEFAULT_PASSWORD}, format="json")

    assert response.status_code == 400
    assert "login" in response.json()


def test_each_login_opens_its_own_session(api, player):
    login(api, player.username)
    login(api, player.username)

    assert Session.objects.filter(player=player, is_valid=True).count() == 2


def test_a_login_reads_the_player_once_and_writes_its_login_and_its_session(api, player):
    player.profile.display_name = "Renamed before login"
    player.profile.save()
    before = timezone.now()

    with CaptureQueriesContext(connection) as captured:
        response = login(api, player.username)

    assert response.status_code == 200
    statements = [
        query["sql"].split()[0]
        for query in captured.captured_queries
        if not query["sql"].startswith(("SAVEPOINT", "RELEASE SAVEPOINT"))
    ]
    assert statements == ["SELECT", "UPDATE", "INSERT"], captured.captured_queries
    body = response.json()
    assert body["player"]["displayName"] == "Renamed before login"
    refresh_claims = jwt.decode(body["refresh"], options={"verify_signature": False})
    assert Session.objects.get(pk=body["sessionId"]).refresh_jti == refresh_claims["jti"]
    player.refresh_from_db()
    assert player.last_login >= before
    assert refresh(api, body["refresh"]).status_code == 200


@pytest.mark.parametrize(
    "who, password", [("known", "wrong-password"), ("unknown", DEFAULT_PASSWORD)]
)
def test_wrong_credentials_are_refused_alike(api, player, who, password):
    name = player.username if who == "known" else "nobody-here"

    response = login(api, name, password)

    assert response.status_code == 401
    assert response.json()["detail"] == "Wrong login or password."
    assert not Session.objects.exists()


def test_deactivated_player_cannot_log_in(api, player):
    Player.objects.filter(pk=player.pk).update(is_active=False)

    assert login(api, player.username).status_code == 401


def test_requests_without_a_token_are_refused(api):
    assert api.get(ME).status_code == 401


# Tokens refused ----------------------------------------------------------------


def forge(claims: dict, key: str = settings.SIMPLE_JWT["SIGNING_KEY"], algorithm="HS256") -> str:
    return jwt.encode(claims, key, algorithm=algorithm)


def claims_of(token: str) -> dict:
    return jwt.decode(token, options={"verify_signature": False})


def test_expired_access_token_is_refused(player):
    claims = claims_of(login_tokens(player).tokens.access)
    claims["exp"] = int(time.time()) - 1

    assert bearer_client(forge(claims)).get(ME).status_code == 401


def test_access_token_with_a_forged_signature_is_refused(player):
    claims = claims_of(login_tokens(player).tokens.access)

    assert bearer_client(forge(claims, key="not-the-server-key-" * 3)).get(ME).status_code == 401


def test_unsigned_token_with_alg_none_is_refused(player):
    claims = claims_of(login_tokens(player).tokens.access)

    def b64(data: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    unsigned = f"{b64({'alg': 'none', 'typ': 'JWT'})}.{b64(claims)}."

    assert bearer_client(unsigned).get(ME).status_code == 401


def test_refresh_token_used_as_access_token_is_refused(player):
    tokens = login_tokens(player).tokens

    assert bearer_client(tokens.refresh).get(ME).status_code == 401


def test_token_of_another_player_session_is_refused(player, other_player):
    mine = claims_of(login_tokens(player).tokens.access)
    theirs = claims_of(login_tokens(other_player).tokens.access)
    mine["sid"] = theirs["sid"]  # a valid session, but not this player's

    assert bearer_client(forge(mine)).get(ME).status_code == 401


def test_access_and_refresh_are_refused_after_logout(api, player):
    tokens = login_tokens(player).tokens
    client = bearer_client(tokens.access)

    assert client.post("/api/auth/logout/").status_code == 204

    assert client.get(ME).status_code == 401
    assert refresh(api, tokens.refresh).status_code == 401


def test_access_and_refresh_are_refused_after_the_session_is_revoked(api, player):
    doomed = login_tokens(player, user_agent="old phone")
    current = bearer_client(login_tokens(player).tokens.access)

    response = current.delete(f"/api/auth/sessions/{doomed.session.pk}/")

    assert response.status_code == 204
    assert bearer_client(doomed.tokens.access).get(ME).status_code == 401
    assert refresh(api, doomed.tokens.refresh).status_code == 401
    assert current.get(ME).status_code == 200


def test_tokens_are_refused_after_deactivation(api, player):
    tokens = login_tokens(player).tokens
    client = bearer_client(tokens.access)
    assert client.get(ME).status_code == 200  # the player is now cached

    player.is_active = False
    player.save()

    assert client.get(ME).status_code == 401
    assert refresh(api, tokens.refresh).status_code == 401


def test_password_change_ends_the_other_sessions_only(api, player):
    other = login_tokens(player, user_agent="tablet")
    current = login_tokens(player, user_agent="phone")
    client = bearer_client(current.tokens.access)

    response = client.post(
        "/api/auth/password/",
        {"currentPassword": DEFAULT_PASSWORD, "newPassword": "a-brand-new-passphrase-42"},
        format="json",
    )

    assert response.status_code == 204
    assert bearer_client(other.tokens.access).get(ME).status_code == 401
    assert refresh(api, other.tokens.refresh).status_code == 401
    assert client.get(ME).status_code == 200
    assert login(api, player.username, "a-brand-new-passphrase-42").status_code == 200
    assert login(api, player.username).status_code == 401


def test_password_change_needs_the_current_password(player_api):
    response = player_api.post(
        "/api/auth/password/",
        {"currentPassword": "not-it", "newPassword": "a-brand-new-passphrase-42"},
        format="json",
    )

    assert response.status_code == 400
    assert "currentPassword" in response.json()


def test_password_change_refuses_a_weak_password(player_api):
    response = player_api.post(
        "/api/auth/password/",
        {"currentPassword": DEFAULT_PASSWORD, "newPassword": "123"},
        format="json",
    )

    assert response.status_code == 400
    assert "newPassword" in response.json()


# Refresh -------------------------------------------------------------------------


def test_refresh_rotates_and_the_used_token_is_dead(api, player):
    first = login_tokens(player).tokens

    response = refresh(api, first.refresh)

    assert response.status_code == 200
    second = response.json()
    assert second["refresh"] != first.refresh
    assert bearer_client(second["access"]).get(ME).status_code == 200
    assert refresh(api, first.refresh).status_code == 401


def test_reusing_a_rotated_refresh_token_ends_the_session(api, player):
    first = login_tokens(player).tokens
    second = refresh(api, first.refresh).json()

    refresh(api, first.refresh)  # a stolen copy comes back

    assert refresh(api, second["refresh"]).status_code == 401
    assert bearer_client(second["access"]).get(ME).status_code == 401


def test_expired_session_refuses_its_tokens(api, player):
    login = login_tokens(player)
    Session.objects.filter(pk=login.session.pk).update(
        created_at=timezone.now() - timedelta(days=8), expires_at=timezone.now() - timedelta(days=1)
    )

    assert refresh(api, login.tokens.refresh).status_code == 401


@pytest.mark.parametrize(
    "body, status",
    [({}, 400), ({"refresh": ""}, 400), ({"refresh": ["a"]}, 400), ({"refresh": "garbage"}, 401)],
)
def test_malformed_refresh_requests_get_a_4xx(api, body, status):
    assert api.post("/api/auth/refresh/", body, format="json").status_code == status


# Sessions ------------------------------------------------------------------------


def test_sessions_lists_only_own_sessions_and_marks_the_current(player, other_player):
    login_tokens(other_player)
    login_tokens(player, user_agent="old")
    current = login_tokens(player, user_agent="new")

    response = bearer_client(current.tokens.access).get("/api/auth/sessions/")

    assert response.status_code == 200
    results = response.json()["results"]
    assert {item["userAgent"] for item in results} == {"old", "new"}
    assert [item["current"] for item in results if item["userAgent"] == "new"] == [True]


def test_a_player_cannot_revoke_another_players_session(player_api, other_player):
    theirs = login_tokens(other_player)

    response = player_api.delete(f"/api/auth/sessions/{theirs.session.pk}/")

    assert response.status_code == 404
    assert Session.objects.get(pk=theirs.session.pk).is_valid


# Throttling ----------------------------------------------------------------------


@pytest.fixture
def low_throttles(settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {
            **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
            "login": "3/minute",
            "register": "2/minute",
        },
    }


def test_login_is_throttled(api, player, low_throttles):
    statuses = [login(api, player.username, "wrong").status_code for _ in range(4)]

    assert statuses == [401, 401, 401, 429]


def test_register_is_throttled(api, low_throttles):
    statuses = [
        api.post(
            "/api/auth/register/",
            {
                "username": f"newbie{n}",
                "email": f"newbie{n}@example.com",
                "password": "pw-long-enough-9",
            },
            format="json",
        ).status_code
        for n in range(3)
    ]

    assert statuses == [201, 201, 429]
