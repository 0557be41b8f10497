"""
No token and no password reaches a log: a whole session's life (register,
login, refresh, REST calls, WebSocket logins good and bad, logout, the dead
token tried again) with every logger at DEBUG, in the most talkative
configuration (DEBUG on, so even SQL statements are logged).
"""

import logging

import pytest
from channels.db import database_sync_to_async
from rest_framework.test import APIClient

from tests.conftest import bearer_client
from tests.realtime import Client, open_socket

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]

PASSWORD = "a-secret-passphrase-4711"
NEW_PASSWORD = "another-secret-passphrase-0815"


class KeepEverything(logging.Handler):
    def __init__(self):
        super().__init__(level=logging.DEBUG)
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
        self.lines: list[str] = []

    def emit(self, record):
        self.lines.append(f"{self.format(record)} {record.args!r}")


@pytest.fixture
def every_log_line(settings):
    """Every record of every logger, at DEBUG, as the text a handler would write."""
    settings.DEBUG = True
    handler = KeepEverything()
    root = logging.getLogger()
    loggers = [root] + [
        logger for logger in root.manager.loggerDict.values() if isinstance(logger, logging.Logger)
    ]
    saved = [(logger, logger.level, logger.disabled) for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.DEBUG)
        logger.disabled = False
        if not logger.propagate:
            logger.addHandler(handler)
    root.addHandler(handler)
    yield handler.lines
    for logger, level, disabled in saved:
        logger.setLevel(level)
        logger.disabled = disabled
        logger.removeHandler(handler)


def call(api, method, path, body=None):
    return database_sync_to_async(getattr(api, method))(path, body, format="json")


async def test_tokens_and_passwords_never_reach_the_logs(world, every_log_line):
    anonymous = APIClient()
    registered = await call(
        anonymous,
        "post",
        "/api/auth/register/",
        {"username": "secretive", "email": "secretive@example.com", "password": PASSWORD},
    )
    assert registered.status_code == 201
    refused = await call(
        anonymous, "post", "/api/auth/login/", {"login": "secretive", "password": NEW_PASSWORD}
    )
    assert refused.status_code == 401
    login = (
        await call(
            anonymous, "post", "/api/auth/login/", {"login": "secretive", "password": PASSWORD}
        )
    ).json()
    refreshed = (
        await call(anonymous, "post", "/api/auth/refresh/", {"refresh": login["refresh"]})
    ).json()
    # A used refresh token again: a leak, which ends the session.
    reused = await call(anonymous, "post", "/api/auth/refresh/", {"refresh": login["refresh"]})
    assert reused.status_code == 401
    second = (
        await call(
            anonymous, "post", "/api/auth/login/", {"login": "secretive", "password": PASSWORD}
        )
    ).json()
    tokens = [
        registered.json()["access"],
        registered.json()["refresh"],
        login["access"],
        login["refresh"],
        refreshed["access"],
        refreshed["refresh"],
        second["access"],
        second["refresh"],
    ]
    player = bearer_client(second["access"])
    assert (await call(player, "get", "/api/players/me/")).status_code == 200
    assert (await call(player, "patch", "/api/players/me/", {"level": 99})).status_code == 400
    assert (await call(player, "get", "/api/flags/?bbox=nonsense")).status_code == 400
    changed = await call(
        player,
        "post",
        "/api/auth/password/",
        {"currentPassword": PASSWORD, "newPassword": NEW_PASSWORD},
    )
    assert changed.status_code == 204

    socket = Client(await open_socket())
    await socket.send("authenticate", {"token": second["access"]})
    assert (await socket.receive())["type"] == "authenticated"
    await socket.send("authenticate", {"token": second["refresh"]})
    assert (await socket.receive())["data"]["code"] == "already_authenticated"
    await socket.close()
    for wrong in [refreshed["access"], second["refresh"], second["access"][:-4] + "AAAA"]:
        refused_socket = Client(await open_socket())
        await refused_socket.send("authenticate", {"token": wrong})
        assert (await refused_socket.receive())["data"]["code"] == "auth_failed"
        await refused_socket.close()
    handshake = Client(
        await open_socket(headers=[(b"authorization", f"Bearer {second['access']}".encode())])
    )
    assert (await handshake.receive())["type"] == "authenticated"
    await handshake.close()

    assert (await call(player, "post", "/api/auth/logout/")).status_code == 204
    assert (await call(player, "get", "/api/players/me/")).status_code == 401
    assert (await call(bearer_client("not.a.token"), "get", "/api/players/me/")).status_code == 401

    logged = "\n".join(every_log_line)
    assert "Unauthorized: /api/players/me/" in logged  # the capture works: 401s are logged
    assert "SELECT" in logged  # ...and so are SQL statements
    for secret in [*tokens, PASSWORD, NEW_PASSWORD]:
        assert secret not in logged
        # Neither any of a token's three parts (a signature alone is a secret's proof).
        for part in secret.split("."):
            if len(part) >= 16:
                assert part not in logged
