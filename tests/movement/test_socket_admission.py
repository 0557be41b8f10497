"""
Game sockets refused at the handshake while a process has too many logins in
hand (mmo/socket/admission.py), driven through the real application.
"""

import contextvars
import logging
import time
from types import SimpleNamespace

import pytest
from asgiref.testing import ApplicationCommunicator
from channels.testing import WebsocketCommunicator

from mmo.api.admission import MAX_RETRY_AFTER
from mmo.asgi import application
from mmo.socket import admission
from mmo.socket.admission import LoginsInProgress, logins_in_progress
from tests.realtime import Client, new_player, open_socket

pytestmark = pytest.mark.django_db(transaction=True)


def handshake(*, http_response: bool) -> ApplicationCommunicator:
    """A game socket's handshake, from a server that offers (or not) to answer it with HTTP."""
    scope = {
        "type": "websocket",
        "path": "/ws/game/",
        "raw_path": b"/ws/game/",
        "query_string": b"",
        "headers": [(b"host", b"testserver")],
        "subprotocols": [],
        "client": ("127.0.0.1", 40000),
        "server": ("127.0.0.1", 8000),
        "extensions": {"websocket.http.response": {}} if http_response else {},
    }
    return ApplicationCommunicator(application, scope)


async def refusal(communicator: ApplicationCommunicator) -> tuple[int, dict, bytes]:
    await communicator.send_input({"type": "websocket.connect"})
    start = await communicator.receive_output(2)
    assert start["type"] == "websocket.http.response.start", start
    body = await communicator.receive_output(2)
    await communicator.wait(2)
    return start["status"], dict(start["headers"]), body["body"]


async def authenticate(communicator, login) -> dict:
    client = Client(communicator)
    await client.send("authenticate", {"token": login.tokens.access})
    return await client.receive()


@pytest.fixture
def room_for(settings):
    """`room_for(n)`: n more logins in progress fit before the door closes."""

    def room_for_(more: int) -> None:
        settings.WEBSOCKET_LOGINS_IN_PROGRESS = len(logins_in_progress) + more

    return room_for_


@pytest.mark.asyncio
async def test_a_handshake_past_the_logins_in_progress_is_refused_with_retry_after(world, room_for):
    room_for(2)
    waiting = [await open_socket(), await open_socket()]  # open, not yet authenticated

    status, headers, body = await refusal(handshake(http_response=True))

    assert status == 503
    assert int(headers[b"retry-after"]) >= 1
    assert b"busy logging other players in" in body

    # One of them logs in: there is room for the next socket again.
    player, login = await new_player()
    assert (await authenticate(waiting[0], login))["type"] == "authenticated"
    admitted = await open_socket()
    for communicator in (*waiting, admitted):
        await communicator.disconnect()


@pytest.mark.asyncio
async def test_without_http_answers_the_server_closes_the_refused_handshake(world, room_for):
    room_for(1)
    waiting = await open_socket()

    connected, code = await WebsocketCommunicator(application, "/ws/game/").connect()

    assert not connected and code == 1013  # try again later
    await waiting.disconnect()


@pytest.mark.asyncio
async def test_sockets_that_close_or_fail_to_log_in_give_their_place_back(world, room_for):
    room_for(1)
    closed = await open_socket()
    await closed.disconnect()
    failed = await open_socket()
    answer = await authenticate(failed, SimpleNamespace(tokens=SimpleNamespace(access="forged")))
    assert answer["data"]["code"] == "auth_failed"

    admitted = await open_socket()  # the door is open again

    await admitted.disconnect()
    await failed.disconnect()


@pytest.mark.asyncio
async def test_authenticated_players_do_not_count(world, room_for, connect):
    room_for(1)
    for _ in range(3):
        await connect()  # each logs in and frees its place before the next comes

    admitted = await open_socket()

    await admitted.disconnect()


class Socket:
    """Stands for a game socket's consumer: the door only keeps a weak reference to it."""


@pytest.fixture
def clock(monkeypatch):
    """time.monotonic, moved by hand."""
    now = [100.0]
    monkeypatch.setattr(time, "monotonic", lambda: now[0])
    return now


def logged_in(door: LoginsInProgress, clock, sockets: int, seconds_each: float) -> None:
    for _ in range(sockets):
        socket = Socket()
        door.started(socket)
        clock[0] += seconds_each
        door.ended(socket)


def test_a_burst_is_told_to_come_back_in_turn(settings, clock):
    settings.WEBSOCKET_LOGINS_IN_PROGRESS = 2
    door = LoginsInProgress()
    logged_in(door, clock, 100, seconds_each=0.6)  # two places: 3⅓ logins a second

    waits = [door.refuse() for _ in range(9)]
    clock[0] += 10
    after_a_pause = door.refuse()

    assert waits == [1, 1, 1, 2, 2, 2, 3, 3, 3]  # the later refused, the later back
    assert after_a_pause == 1
    assert door.refused == 10


def test_the_wait_follows_how_long_sockets_take_to_log_in(settings, clock):
    settings.WEBSOCKET_LOGINS_IN_PROGRESS = 10
    quick, slow = LoginsInProgress(), LoginsInProgress()
    logged_in(quick, clock, 100, seconds_each=0.1)  # a hundred a second
    logged_in(slow, clock, 100, seconds_each=4.0)  # two and a half a second

    quick_waits = [quick.refuse() for _ in range(150)]
    slow_waits = [slow.refuse() for _ in range(150)]

    assert quick_waits[49] == 1 and quick_waits[-1] == 2
    assert slow_waits[5] == 3 and slow_waits[-1] == MAX_RETRY_AFTER


def test_a_socket_that_closes_unauthenticated_counts_the_time_it_held_its_place(settings, clock):
    door = LoginsInProgress()
    socket = Socket()
    door.started(socket)
    clock[0] += 10.0  # WEBSOCKET_AUTH_TIMEOUT

    door.ended(socket)
    door.ended(socket)  # closed after its failed login: counted once

    assert len(door) == 0
    assert door.returns.hold_seconds == pytest.approx(1.0 + 0.1 * (10.0 - 1.0))


def test_the_limit_can_be_lifted(settings):
    settings.WEBSOCKET_LOGINS_IN_PROGRESS = 0
    door = LoginsInProgress()
    sockets = [Socket() for _ in range(5)]
    for socket in sockets:
        door.started(socket)

    assert len(door) == 5 and not door.full()


def test_uvicorns_error_line_is_dropped_only_for_the_doors_own_refusals():
    line = logging.LogRecord(
        "uvicorn.error", logging.ERROR, __file__, 1, admission.UVICORN_REFUSAL_LINE, None, None
    )
    refusal_is_no_error = admission.RefusalIsNoError()
    refused = contextvars.copy_context()
    refused.run(admission._refused_here.set, True)

    assert refused.run(refusal_is_no_error.filter, line) is False
    # An application that returned without answering a handshake is still an error.
    assert refusal_is_no_error.filter(line) is True
