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
from concurrent.futures import ThreadPoolExecutor

from asgiref.sync import ThreadSensitiveContext, sync_to_async
from django.core import signals
from django.core.exceptions import RequestAborted
from django.core.handlers import asgi, base
from django.http import FileResponse
from django.urls import set_script_prefix

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
    """HTTP through Django with one crossing to a thread and back per request."""

    def __init__(self):
        base.BaseHandler.__init__(self)
        self.load_middleware(is_async=False)
        self.threads = RequestThreads()

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            raise ValueError(f"Django can only handle ASGI/HTTP connections, not {scope['type']}.")
        try:
            body_file = await self.read_body(receive)
        except RequestAborted:
            return
        try:
            async with self.threads.lend():
                request, response = await sync_to_async(self.respond)(scope, body_file)
                if response.streaming:
                    await self.stream(response, receive, send)
                    await sync_to_async(response.close)()
                else:
                    await self.send_response(response, send)
            unlink(request, response)
        finally:
            body_file.close()

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

    async def stream(self, response, receive, send):
        """Send a streamed response until it ends or the client goes away, as Django does."""
        sending = asyncio.create_task(self.send_response(response, send))
        listening = asyncio.create_task(self.listen_for_disconnect(receive))
        await asyncio.wait([sending, listening], return_when=asyncio.FIRST_COMPLETED)
        for task in (listening, sending):
            if not task.done():
                task.cancel()
            with contextlib.suppress(asyncio.CancelledError, RequestAborted):
                await task


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


def get_asgi_application() -> ASGIHandler:
    """As django.core.asgi.get_asgi_application, with this module's handler."""
    import django

    django.setup(set_prefix=False)
    return ASGIHandler()
