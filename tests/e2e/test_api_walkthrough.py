"""docs/api.md's walkthrough, against the real ASGI server."""

import pytest

from tests.e2e.clients import call

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_register_login_me_logout_over_http(asgi_server):
    status, registered = call(
        asgi_server,
        "POST",
        "/api/auth/register/",
        {"username": "ada", "email": "ada@example.com", "password": "correct-horse-battery"},
    )
    assert status == 201, registered

    status, login = call(
        asgi_server,
        "POST",
        "/api/auth/login/",
        {"login": "ada@example.com", "password": "correct-horse-battery"},
    )
    assert status == 200, login
    access = login["access"]

    status, me = call(asgi_server, "GET", "/api/players/me/", token=access)
    assert (status, me["username"]) == (200, "ada")

    assert call(asgi_server, "POST", "/api/auth/logout/", token=access)[0] == 204
    assert call(asgi_server, "GET", "/api/players/me/", token=access)[0] == 401
    assert call(asgi_server, "POST", "/api/auth/refresh/", {"refresh": login["refresh"]})[0] == 401
