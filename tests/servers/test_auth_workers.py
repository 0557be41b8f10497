"""
The parts of mmo/servers/auth_workers.py that run without worker processes:
the WSGI environ a worker builds from an ASGI request, and the places a
request waits for. The workers themselves: tests/e2e/test_auth_workers.py.
"""

import asyncio

import pytest

from mmo.servers.auth_workers import Places, request_of, wsgi_environ


def test_a_requests_environ_is_the_one_a_wsgi_server_would_give():
    scope = {
        "type": "http",
        "method": "POST",
        "scheme": "https",
        "http_version": "1.1",
        "root_path": "",
        "path": "/api/auth/login/é",
        "query_string": b"next=%2F",
        "headers": [
            (b"content-type", b"application/json"),
            (b"content-length", b"999"),
            (b"x-forwarded-for", b"203.0.113.9"),
            (b"accept", b"text/html"),
            (b"accept", b"application/json"),
            (b"cookie", b"a=1"),
            (b"cookie", b"b=2"),
        ],
        "client": ("198.51.100.7", 51000),
        "server": ("game.example.com", 443),
    }

    environ = wsgi_environ(request_of(scope, b'{"login": "ada"}'))

    assert environ["REQUEST_METHOD"] == "POST"
    assert environ["PATH_INFO"] == "/api/auth/login/é".encode().decode("latin-1")
    assert environ["QUERY_STRING"] == "next=%2F"
    assert environ["CONTENT_TYPE"] == "application/json"
    assert environ["CONTENT_LENGTH"] == "16"  # the body's, whatever the header said
    assert environ["REMOTE_ADDR"] == "198.51.100.7"
    assert environ["HTTP_X_FORWARDED_FOR"] == "203.0.113.9"
    assert environ["HTTP_ACCEPT"] == "text/html,application/json"
    assert environ["HTTP_COOKIE"] == "a=1; b=2"
    assert (environ["SERVER_NAME"], environ["SERVER_PORT"]) == ("game.example.com", "443")
    assert environ["wsgi.url_scheme"] == "https"
    assert environ["wsgi.input"].read() == b'{"login": "ada"}'


@pytest.mark.asyncio
async def test_a_place_given_back_goes_to_the_first_waiting_and_a_wait_has_an_end():
    places = Places(1)
    assert await places.take(timeout=0.1)

    first = asyncio.ensure_future(places.take(timeout=5))
    second = asyncio.ensure_future(places.take(timeout=0.05))
    await asyncio.sleep(0.1)
    assert second.done() and second.result() is False  # refused after its wait
    assert not first.done()

    places.give_back()
    assert await first is True
    places.give_back()
    assert places.free == 1 and not places.waiting


@pytest.mark.asyncio
async def test_a_request_cancelled_while_waiting_keeps_no_place():
    places = Places(1)
    assert await places.take(timeout=0.1)
    waiting = asyncio.ensure_future(places.take(timeout=5))
    await asyncio.sleep(0.01)

    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    assert not places.waiting  # it left the line as it was cancelled
    places.give_back()

    assert places.free == 1 and not places.waiting
    assert await places.take(timeout=0.1)
