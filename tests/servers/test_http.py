"""HTTP through mmo/servers/http.py: one thread per request, kept for later requests."""

import asyncio
import gc
import json
import threading

import pytest
from asgiref.sync import iscoroutinefunction
from channels.db import database_sync_to_async
from channels.testing import HttpCommunicator
from django.conf import settings
from django.core import signals
from django.http import HttpResponse, StreamingHttpResponse
from django.test import override_settings
from django.urls import path
from django.utils.deprecation import MiddlewareMixin

from mmo.asgi import application
from mmo.servers.http import ASGIHandler
from tests.conftest import login_tokens
from tests.factories import PlayerFactory

HOST = [(b"host", b"localhost")]
# What happened, on which thread (the objects themselves: a finished thread's id can be reused).
events: list[tuple[str, threading.Thread]] = []


def note(event: str) -> None:
    events.append((event, threading.current_thread()))


def thread_view(request):
    note("view")
    return HttpResponse("ok")


def stream_view(request):
    def chunks():
        for part in ("one ", "two ", "three"):
            note(part.strip())
            yield part

    return StreamingHttpResponse(chunks())


meeting = threading.Barrier(2, timeout=5)


def meeting_view(request):
    """Answers only once another request is inside it at the same time."""
    meeting.wait()
    return HttpResponse("met")


view_may_finish = threading.Event()
view_started = threading.Event()


def slow_view(request):
    """Holds its thread until the test lets it finish."""
    note("slow view")
    view_started.set()
    view_may_finish.wait(5)
    return HttpResponse("late")


urlpatterns = [
    path("slow/", slow_view),
    path("thread/", thread_view),
    path("stream/", stream_view),
    path("meeting/", meeting_view),
]


def on_request_started(**kwargs):
    note("request_started")


def on_request_finished(**kwargs):
    note("request_finished")


@pytest.fixture
def handler():
    events.clear()
    signals.request_started.connect(on_request_started)
    signals.request_finished.connect(on_request_finished)
    with override_settings(ROOT_URLCONF=__name__):
        yield ASGIHandler()
    signals.request_started.disconnect(on_request_started)
    signals.request_finished.disconnect(on_request_finished)


async def get(handler, url, method="GET", headers=()) -> dict:
    """The response: its status and its whole body."""
    communicator = HttpCommunicator(handler, method, url, headers=[*HOST, *headers])
    await communicator.send_input({"type": "http.request", "body": b""})
    response = await communicator.receive_output(timeout=5)
    response["body"] = b""
    while True:
        part = await communicator.receive_output(timeout=5)
        response["body"] += part.get("body", b"")
        if not part.get("more_body", False):
            await communicator.wait(timeout=5)  # the handler has returned
            return response


class ModeRecorder(MiddlewareMixin):
    """Notes whether Django loaded it to run on the event loop or synchronously."""

    loaded_async: list[bool] = []

    def __init__(self, get_response):
        super().__init__(get_response)
        ModeRecorder.loaded_async.append(iscoroutinefunction(self))


def test_the_middleware_chain_is_loaded_synchronously():
    ModeRecorder.loaded_async.clear()

    with override_settings(MIDDLEWARE=[*settings.MIDDLEWARE, f"{__name__}.ModeRecorder"]):
        ASGIHandler()

    assert ModeRecorder.loaded_async == [False]


@pytest.mark.asyncio
async def test_a_request_runs_on_one_thread_from_request_started_to_request_finished(handler):
    response = await get(handler, "/thread/")

    assert response["status"] == 200
    assert [event for event, _ in events] == ["request_started", "view", "request_finished"]
    (thread,) = {thread for _, thread in events}
    assert thread is not threading.current_thread()  # not the event loop's


@pytest.mark.asyncio
async def test_the_next_request_reuses_the_thread_instead_of_starting_one(handler):
    await get(handler, "/thread/")
    await get(handler, "/thread/")

    first, second = (thread for event, thread in events if event == "view")
    assert first is second


@pytest.mark.asyncio
async def test_requests_at_the_same_time_have_threads_of_their_own(handler):
    meeting.reset()

    responses = await asyncio.gather(get(handler, "/meeting/"), get(handler, "/meeting/"))

    assert [response["body"] for response in responses] == [b"met", b"met"]


@pytest.mark.asyncio
@pytest.mark.filterwarnings("ignore:StreamingHttpResponse must consume synchronous iterators")
async def test_a_streamed_response_is_closed_on_its_thread_once_sent(handler):
    response = await get(handler, "/stream/")

    assert response["body"] == b"one two three"
    assert [event for event, _ in events] == [
        "request_started",
        "one",
        "two",
        "three",
        "request_finished",
    ]
    assert len({thread for _, thread in events}) == 1


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_through_the_application_a_logout_ends_the_token_at_the_next_request():
    player = await database_sync_to_async(PlayerFactory)()
    login = await database_sync_to_async(login_tokens)(player)
    bearer = [(b"authorization", f"Bearer {login.tokens.access}".encode())]

    me = await get(application, "/api/players/me/", headers=bearer)
    again = await get(application, "/api/players/me/", headers=bearer)  # from the cache
    logout = await get(application, "/api/auth/logout/", method="POST", headers=bearer)
    after = await get(application, "/api/players/me/", headers=bearer)

    assert (me["status"], json.loads(me["body"])["id"]) == (200, str(player.pk))
    assert again["body"] == me["body"]
    assert logout["status"] == 204
    assert after["status"] == 401


# Django keeps a cache connection per context, and each ASGI request has a
# context of its own: a django-redis connection is built per request, and its
# objects refer to one another. Those are not the request's.
CACHE_CONNECTION_MODULES = ("django_redis.", "mmo.redis_client")


async def objects_left_for_the_collector(url: str, headers=()) -> list[str]:
    """The types of the objects a request left in reference cycles, but asyncio's and the cache's."""
    await get(application, url, headers=headers)  # caches and lazy imports filled
    gc.collect()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        gc.disable()  # nothing collected before we look
        await get(application, url, headers=headers)
        gc.collect()
        left = [
            f"{type(thing).__module__}.{type(thing).__qualname__}"
            for thing in gc.garbage
            if not type(thing).__module__.startswith(
                ("asyncio", "channels.testing", "builtins", *CACHE_CONNECTION_MODULES)
            )
        ]
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.enable()
    return left


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("url", ["/api/players/me/", "/api/health"])
async def test_a_request_leaves_nothing_for_the_garbage_collector(url):
    # Reference counting frees a request's objects as soon as the response is
    # sent; in cycles, they waited for a collection that stalled the process.
    player = await database_sync_to_async(PlayerFactory)()
    login = await database_sync_to_async(login_tokens)(player)
    bearer = [(b"authorization", f"Bearer {login.tokens.access}".encode())]

    assert await objects_left_for_the_collector(url, bearer) == []


@pytest.mark.asyncio
async def test_a_client_that_disconnects_cancels_its_request(handler):
    view_started.clear()
    view_may_finish.clear()
    communicator = HttpCommunicator(handler, "GET", "/slow/", headers=HOST)
    await communicator.send_input({"type": "http.request", "body": b""})
    await asyncio.to_thread(view_started.wait, 5)

    await communicator.send_input({"type": "http.disconnect"})
    await communicator.wait(timeout=2)  # returned while the view still runs
    view_may_finish.set()

    assert await communicator.receive_nothing(timeout=0.5)
    # The view finishes on its thread, and its request with it.
    for _ in range(50):
        if "request_finished" in [event for event, _ in events]:
            break
        await asyncio.sleep(0.05)
    assert [event for event, _ in events] == ["request_started", "slow view", "request_finished"]


@pytest.mark.asyncio
async def test_the_thread_of_a_cancelled_request_is_not_lent_to_the_next(handler):
    view_started.clear()
    view_may_finish.clear()
    communicator = HttpCommunicator(handler, "GET", "/slow/", headers=HOST)
    await communicator.send_input({"type": "http.request", "body": b""})
    await asyncio.to_thread(view_started.wait, 5)
    await communicator.send_input({"type": "http.disconnect"})
    await communicator.wait(timeout=2)

    response = await get(handler, "/thread/")  # while the cancelled view still holds its thread
    view_may_finish.set()

    assert response["status"] == 200
    slow, quick = (thread for event, thread in events if event in ("slow view", "view"))
    assert slow is not quick
