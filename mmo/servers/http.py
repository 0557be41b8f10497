"""
Django's ASGI handler, with each HTTP request served in one visit to a thread.

Django's own handler loads the middleware chain for the event loop and crosses
between the loop and a thread at every step of a synchronous request: the
request_started signal, the middleware (each in the mode of the one inside
it), the view, the response's close and its request_finished signal. Every
crossing costs a future, a context copy and two thread wake-ups, and the
handler starts a new thread for each request and joins it afterwards; for an
API request answered from the cache that was most of its CPU time.

This handler loads the chain synchronously and runs everything from
request_started to request_finished in one call to the request's thread, then
sends the response from the event loop. As in Django, a request has a thread
to itself for its whole life (a slow query holds up no other request, and the
database connections it opens stay with it), but threads are kept and lent to
later requests instead of being started for each one.
"""

import asyncio
import contextlib
import logging
from concurrent.futures import ThreadPoolExecutor

from asgiref.sync import ThreadSensitiveContext, sync_to_async
from django.core import signals
from django.core.exceptions import RequestAborted
from django.core.handlers import asgi, base
from django.http import FileResponse
from django.urls import set_script_prefix

from mmo import logs

logger = logging.getLogger(__name__)

# Threads kept for later requests once a burst of concurrent ones is over: more
# than the requests one process has in flight at its capacity, so that a busy
# server does not start and join threads as its load varies.
IDLE_THREADS_KEPT = 64


class RequestThreads:
    """Single-thread executors, each lent to one request at a time and kept for the next."""

    def __init__(self, keep: int = IDLE_THREADS_KEPT):
        self.keep = keep
        self.idle: list[ThreadPoolExecutor] = []

    @contextlib.asynccontextmanager
    async def lend(self):
        """
        A ThreadSensitiveContext on a thread of its own: Django's thread-sensitive
        calls in the block (sync_to_async's default) run on that thread.
        """
        # Most recently used first: its stack and data are likeliest to be in the CPU cache.
        executor = (
            self.idle.pop()
            if self.idle
            else ThreadPoolExecutor(max_workers=1, thread_name_prefix="http-request")
        )
        finished = False
        try:
            async with ThreadSensitiveContext(executor=executor):
                yield
            finished = True
        finally:
            # A cancelled call may still be running on the thread: never lend it again.
            if finished and len(self.idle) < self.keep:
                self.idle.append(executor)
            else:
                executor.shutdown(wait=False)


class ASGIHandler(asgi.ASGIHandler):
    """
    HTTP through Django with one crossing to a thread and back per request.

    Built from the parts of Django's own handler (`read_body`, `create_request`,
    `send_response`, `listen_for_disconnect`, `chunk_size`), which Django does
    not document: HANDLER_PARTS lists them for the start-up check.
    """

    def __init__(self):
        # Django's __init__ would load the middleware chain for the event loop.
        base.BaseHandler.__init__(self)
        self.load_middleware(is_async=False)
        self.threads = RequestThreads()

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            raise ValueError(f"Django can only handle ASGI/HTTP connections, not {scope['type']}.")
        try:
            body_file = await self.read_body(receive)
        except RequestAborted:
            logs.count("http.client_gone")
            return
        # Raised when the client went away: the request's thread, which may
        # still be running its view, is then not lent to another request. An
        # expected event, counted rather than logged.
        try:
            async with self.threads.lend():
                await self.serve_until_disconnect(scope, body_file, receive, send)
        except RequestAborted:
            logs.count("http.client_gone")

    async def serve_until_disconnect(self, scope, body_file, receive, send):
        """
        Serve the request, and cancel it if its client disconnects first, as
        Django's own handler does. A view running on its thread cannot be
        interrupted: it finishes there, and its response is closed, not sent.
        One task listens for the disconnect while the thread works; the
        response is sent from here, so a request costs that one task more.
        """
        responding = asyncio.ensure_future(sync_to_async(self.respond)(scope, body_file))
        listening = asyncio.ensure_future(self.listen_for_disconnect(receive))
        try:
            await asyncio.wait((responding, listening), return_when=asyncio.FIRST_COMPLETED)
        except asyncio.CancelledError:  # the server is stopping
            self.abandon(responding, body_file)
            raise
        finally:
            if listening.done():
                if not listening.cancelled():
                    listening.exception()  # RequestAborted: the client went away
            else:
                listening.cancel()
        if not responding.done():
            self.abandon(responding, body_file)
            raise RequestAborted
        body_file.close()
        request, response = responding.result()
        try:
            await self.send_response(response, send)
        finally:
            if response.streaming:
                await sync_to_async(response.close)()
        unlink(request, response)

    @staticmethod
    def abandon(responding: asyncio.Future, body_file) -> None:
        """Let a request whose client went away finish on its thread, unsent."""
        responding.add_done_callback(close_unsent)
        responding.add_done_callback(lambda _: body_file.close())

    def respond(self, scope, body_file):
        """
        The whole synchronous life of a request, on its thread. A response that
        is not streamed is closed here, before it is sent: its content is
        already in memory, and request_finished returns the thread's database
        connection to the pool without another crossing.
        """
        set_script_prefix(asgi.get_script_prefix(scope))
        signals.request_started.send(sender=self.__class__, scope=scope)
        request, response = self.create_request(scope, body_file)
        if request is not None:
            response = self.get_response(request)
            response._handler_class = self.__class__
            if isinstance(response, FileResponse):
                # The ASGI server chunks the body itself.
                response.block_size = self.chunk_size
        if not response.streaming:
            response.close()
        return request, response


def close_unsent(responding: asyncio.Future) -> None:
    """Close the response of a cancelled request once its view has returned it."""
    if responding.cancelled() or responding.exception() is not None:
        return
    _, response = responding.result()
    if response.streaming:  # the others were closed on their thread
        asyncio.get_running_loop().run_in_executor(None, response.close)


# What the handler uses of Django's own, beyond its documented interface.
HANDLER_PARTS = ("read_body", "create_request", "send_response", "listen_for_disconnect")


def handler_problem() -> str | None:
    """The part of Django's ASGIHandler this handler needs and no longer finds; None if all there."""
    for name in HANDLER_PARTS:
        if not callable(getattr(asgi.ASGIHandler, name, None)):
            return f"django.core.handlers.asgi.ASGIHandler.{name}"
    if not isinstance(getattr(asgi.ASGIHandler, "chunk_size", None), int):
        return "django.core.handlers.asgi.ASGIHandler.chunk_size"
    return None


def unlink(request, response) -> None:
    """
    Let reference counting free a request's objects once its response is sent.

    They refer to one another: DRF's view, its request and the response
    (through the view's attributes and `renderer_context`), a serializer and
    the data it returned, Django's request and its message storages. Left so,
    only the garbage collector frees them, and with the young-generation
    threshold the game's WebSocket traffic wants (mmo/asgi.py) one collection
    freed the objects of hundreds of requests at once: a 30 ms stall of the
    process, every second at a few hundred requests per second. Nothing reads
    them once the response is sent.
    """
    context = getattr(response, "renderer_context", None) or {}
    data = getattr(response, "data", None)
    serializer = getattr(data, "serializer", None)
    if serializer is not None:
        data.serializer = None  # ReturnDict / ReturnList
    list_child = getattr(serializer, "child", None)  # a ListSerializer's, which links back
    for linked in (
        context.get("view"),
        context.get("request"),
        serializer,
        list_child,
        request,
        response,
    ):
        attributes = getattr(linked, "__dict__", None)
        if attributes is not None:
            attributes.clear()


def get_asgi_application() -> asgi.ASGIHandler:
    """
    As django.core.asgi.get_asgi_application, with this module's handler where
    Django still has the parts it is built from, and Django's own otherwise.
    """
    import django

    django.setup(set_prefix=False)
    problem = handler_problem()
    if problem is not None:
        logger.warning("Django's own ASGI handler serves HTTP: %s is gone", problem)
        return asgi.ASGIHandler()
    return ASGIHandler()


def describe(handler) -> str:
    """The HTTP path in use, for the start-up report."""
    if isinstance(handler, ASGIHandler):
        return "HTTP: one thread per request"
    return "HTTP: Django's own ASGI handler"
