"""
The production settings on the real ASGI server: HTTPS hardening behind a TLS
proxy, the health check over plain HTTP, frame size limits, and logs that never
hold a token or a password.
"""

import asyncio
import http.client
import json
import re

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from tests.e2e.test_api_walkthrough import call
from tests.factories import DEFAULT_PASSWORD, StaffFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

# As the Dockerfile leaves them: every HTTPS protection on, behind a proxy that says https.
BEHIND_A_TLS_PROXY = {
    "USE_X_FORWARDED_PROTO": "true",
    "SECURE_SSL_REDIRECT": "true",
    "SESSION_COOKIE_SECURE": "true",
    "CSRF_COOKIE_SECURE": "true",
    "SECURE_HSTS_SECONDS": str(60 * 60 * 24 * 365),
}


def request(server, method, path, headers=None, body=None):
    """One request with the headers given, redirects not followed."""
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        response.read()
        return response
    finally:
        connection.close()


def cookies(response) -> dict[str, str]:
    """Each cookie set, by name, with its attributes."""
    return {
        header.split("=", 1)[0]: header for header in response.headers.get_all("Set-Cookie") or []
    }


def test_https_through_the_proxy_gets_hsts_and_secure_cookies(start_server):
    server = start_server(**BEHIND_A_TLS_PROXY)
    StaffFactory(username="operator")
    via_proxy = {"X-Forwarded-Proto": "https"}

    form = request(server, "GET", "/admin/login/", via_proxy)
    csrf_token = re.search(r"csrftoken=([^;]+)", cookies(form)["csrftoken"]).group(1)
    logged_in = request(
        server,
        "POST",
        "/admin/login/?next=/admin/",
        {
            **via_proxy,
            "Cookie": f"csrftoken={csrf_token}",
            "Origin": f"https://127.0.0.1:{server.port}",
            "Content-Type": "application/x-www-form-urlencoded",
        },
        f"csrfmiddlewaretoken={csrf_token}&username=operator&password={DEFAULT_PASSWORD}",
    )

    assert form.status == 200
    assert form.headers["Strict-Transport-Security"] == (
        "max-age=31536000; includeSubDomains; preload"
    )
    assert "; Secure" in cookies(form)["csrftoken"]
    assert logged_in.status == 302, logged_in.status
    session_cookie = cookies(logged_in)["sessionid"]
    assert "; Secure" in session_cookie and "; HttpOnly" in session_cookie


def test_plain_http_is_redirected_except_the_health_check(start_server):
    server = start_server(**BEHIND_A_TLS_PROXY)

    health = request(server, "GET", "/api/health")
    api = request(server, "GET", "/api/players/me/")

    assert health.status == 200
    assert "Strict-Transport-Security" not in health.headers  # never over plain HTTP
    assert api.status == 301
    assert api.headers["Location"] == f"https://127.0.0.1:{server.port}/api/players/me/"


@pytest.mark.asyncio
async def test_frames_over_the_limits_of_application_and_server(start_server):
    server = start_server()
    status, body = await asyncio.to_thread(
        call,
        server.url,
        "POST",
        "/api/auth/register/",
        {"username": "bulky", "email": "bulky@example.com", "password": "correct-horse-battery"},
    )
    assert status == 201, body

    async with connect(server.ws_url, max_size=None) as socket:
        await socket.send(json.dumps({"type": "authenticate", "data": {"token": body["access"]}}))
        assert json.loads(await socket.recv())["type"] == "authenticated"
        # Past WEBSOCKET_MAX_FRAME_BYTES (16 KiB): refused by the application, socket open.
        await socket.send(json.dumps({"type": "heartbeat", "data": {"pad": "x" * 100_000}}))
        assert json.loads(await socket.recv())["data"]["code"] == "frame_too_large"
        await socket.send(json.dumps({"type": "heartbeat", "data": {}}))
        assert json.loads(await socket.recv())["type"] == "heartbeat-ack"
        # Past daphne's own limit (1 MiB): the server drops the connection rather
        # than buffer more; the 1009 close frame it sends may be lost to the reset.
        with pytest.raises(ConnectionClosed) as closed:
            await socket.send("x" * (2 * 1024 * 1024))
            await socket.recv()
    assert closed.value.rcvd is None or closed.value.rcvd.code == 1009
    assert (await asyncio.to_thread(call, server.url, "GET", "/api/health"))[0] == 200


@pytest.mark.asyncio
async def test_the_game_socket_declines_compression(start_server):
    # A compressor and a decompressor per connection would outweigh the rest of an idle player.
    server = start_server()
    async with connect(server.ws_url) as socket:  # offers permessage-deflate, as browsers do
        assert "Sec-WebSocket-Extensions" not in socket.response.headers


@pytest.mark.asyncio
async def test_the_servers_debug_log_holds_no_token_or_password(start_server):
    server = start_server(LOG_LEVEL="DEBUG")
    password = "a-secret-passphrase-4711"

    def api(method, path, body=None, token=None):
        return asyncio.to_thread(call, server.url, method, path, body, token)

    status, registered = await api(
        "POST",
        "/api/auth/register/",
        {"username": "quiet", "email": "quiet@example.com", "password": password},
    )
    assert status == 201
    assert (await api("POST", "/api/auth/login/", {"login": "quiet", "password": "wrong"}))[
        0
    ] == 401
    _, login = await api("POST", "/api/auth/login/", {"login": "quiet", "password": password})
    _, refreshed = await api("POST", "/api/auth/refresh/", {"refresh": login["refresh"]})
    assert (await api("GET", "/api/players/me/", token=refreshed["access"]))[0] == 200
    async with connect(server.ws_url) as socket:
        await socket.send(json.dumps({"type": "authenticate", "data": {"token": login["refresh"]}}))
        assert json.loads(await socket.recv())["data"]["code"] == "auth_failed"
    async with connect(
        server.ws_url, additional_headers={"Authorization": f"Bearer {refreshed['access']}"}
    ) as socket:
        assert json.loads(await socket.recv())["type"] == "authenticated"
    assert (await api("POST", "/api/auth/logout/", token=refreshed["access"]))[0] == 204
    assert (await api("GET", "/api/players/me/", token=refreshed["access"]))[0] == 401

    log = server.log()
    assert "Unauthorized: /api/players/me/" in log  # DEBUG logging reached the file
    secrets_sent = [password, registered["access"], registered["refresh"], login["refresh"]]
    secrets_sent += [refreshed["access"], refreshed["refresh"]]
    for secret in secrets_sent:
        assert secret not in log
        assert secret.rsplit(".", 1)[-1] not in log  # nor a token's signature alone
