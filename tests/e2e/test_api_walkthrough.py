"""docs/api.md's walkthrough, against the real ASGI server."""

import json
import urllib.error
import urllib.request

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def call(base_url, method, path, body=None, token=None):
    request = urllib.request.Request(
        f"{base_url}{path}",
        method=method,
        data=json.dumps(body).encode() if body is not None else None,
        headers={"Content-Type": "application/json"},
    )
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            payload = response.read()
            return response.status, json.loads(payload) if payload else None
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


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
