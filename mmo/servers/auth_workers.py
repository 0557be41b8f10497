"""
Logins, registrations and password changes served by worker processes of
their own, so that a storm of them does not stall the players already in.

Served in the process that carries the sockets, each login cost its event
loop turns of 2–5 ms (Django's handler, the hops to and from the request's
thread), its thread held the GIL about a fifth of the storm's wall time, and
the garbage of a few hundred logins was collected in pauses of 25–120 ms that
stopped every socket (docs/performance.md, "Storms and soak"). Here the event
loop only reads the request, hands it to a worker process and sends back the
answer; Django serves it there, through its WSGI handler, exactly as it would
here: the same middleware, throttles, views and errors.

The gated views (mmo.api.admission) are the ones sent: POSTs that hash a
password. AUTH_CONCURRENCY worker processes serve one request at a time each,
at a lower CPU priority than this process; a request waits at most
AUTH_QUEUE_TIMEOUT for a free one, then is refused with 503 and Retry-After,
as the gate in the request's thread would refuse it.

Only where what a worker writes reaches this process: a database server, and
Redis for the cache (throttles, revoked sessions) and the channel layer (a
password change closes the player's other sockets). AUTH_WORKERS says so; the
embedded default (SpatiaLite, local memory) serves them in-process.
"""

import asyncio
import collections
import contextlib
import io
import logging
import multiprocessing
import os
import sys
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from django.conf import settings

from mmo.api.admission import AdmissionGate, gate_of, send_overloaded

logger = logging.getLogger(__name__)

WORKER_NICENESS = 10
# How often a worker checks that the server that started it is still there.
PARENT_CHECK_SECONDS = 1.0


# In a worker process -----------------------------------------------------------------------

_handler = None


def start_worker(parent_pid: int) -> None:
    """A worker's initializer: Django set up, a lower priority, and an end with its server."""
    global _handler
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mmo.settings.base")
    from django.core.wsgi import get_wsgi_application

    _handler = get_wsgi_application()
    if hasattr(os, "nice"):
        os.nice(WORKER_NICENESS)
    # A server killed with SIGKILL cannot stop its workers; they stop here
    # instead of holding database connections with nothing to serve.
    threading.Thread(
        target=_exit_without_parent, args=(parent_pid,), name="parent-watch", daemon=True
    ).start()


def _exit_without_parent(parent_pid: int) -> None:
    while os.getppid() == parent_pid:
        time.sleep(PARENT_CHECK_SECONDS)
    os._exit(0)


def serve(request: dict) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    """One request through Django's WSGI handler: its status, headers and body."""
    started = []

    def start_response(status, headers, exc_info=None):
        started[:] = [int(status.split(" ", 1)[0]), headers]

    response = _handler(wsgi_environ(request), start_response)
    try:
        body = b"".join(response)
    finally:
        close = getattr(response, "close", None)
        if close is not None:
            close()
    status, headers = started
    return status, [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers], body


def wsgi_environ(request: dict) -> dict:
    """The WSGI environ of a request read from an ASGI connection scope (PEP 3333)."""
    server_name, server_port = request["server"] or ("localhost", 80)
    client_host, client_port = request["client"] or ("", 0)
    environ = {
        "REQUEST_METHOD": request["method"],
        "SCRIPT_NAME": request["root_path"].encode().decode("latin-1"),
        "PATH_INFO": request["path"].encode().decode("latin-1"),
        "QUERY_STRING": request["query_string"].decode("latin-1"),
        "SERVER_NAME": str(server_name),
        "SERVER_PORT": str(server_port),
        "SERVER_PROTOCOL": f"HTTP/{request['http_version']}",
        "REMOTE_ADDR": client_host,
        "REMOTE_PORT": str(client_port),
        "CONTENT_LENGTH": str(len(request["body"])),
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": request["scheme"],
        "wsgi.input": io.BytesIO(request["body"]),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": False,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }
    for raw_name, raw_value in request["headers"]:
        name = raw_name.decode("latin-1").upper().replace("-", "_")
        value = raw_value.decode("latin-1")
        if name == "CONTENT_LENGTH":
            continue  # the body's own length, set above
        key = name if name == "CONTENT_TYPE" else f"HTTP_{name}"
        if key in environ:
            value = environ[key] + ("; " if key == "HTTP_COOKIE" else ",") + value
        environ[key] = value
    return environ


# In the server process ---------------------------------------------------------------------


class Places:
    """At most `size` holders at once; the others wait in turn, each for a while at most."""

    def __init__(self, size: int):
        self.free = size
        self.waiting: collections.deque[asyncio.Future] = collections.deque()

    async def take(self, timeout: float) -> bool:
        if self.free > 0 and not self.waiting:
            self.free -= 1
            return True
        loop = asyncio.get_running_loop()
        granted = loop.create_future()
        self.waiting.append(granted)
        timer = loop.call_later(timeout, lambda: granted.done() or granted.set_result(False))
        try:
            return await granted
        except asyncio.CancelledError:
            if granted.done() and not granted.cancelled() and granted.result():
                self.give_back()  # granted just as its request was cancelled
            raise
        finally:
            timer.cancel()
            if not (granted.done() and not granted.cancelled() and granted.result()):
                with contextlib.suppress(ValueError):  # already handed a place and gone
                    self.waiting.remove(granted)

    def give_back(self) -> None:
        while self.waiting:
            granted = self.waiting.popleft()
            if not granted.done():
                granted.set_result(True)
                return
        self.free += 1


class AuthWorkers:
    """The worker processes, started with the application and started again if one dies."""

    def __init__(self, size: int):
        self.size = size
        self.places: Places | None = None  # made on the event loop, at the first request
        self.served = 0
        self.replaced = 0
        self._executor = self._start()

    def _start(self) -> ProcessPoolExecutor:
        executor = ProcessPoolExecutor(
            self.size,
            mp_context=multiprocessing.get_context(
                "spawn"
            ),  # never fork a process with threads and sockets
            initializer=start_worker,
            initargs=(os.getpid(),),
        )
        # One call each, at once, so that all of them start now rather than
        # at the first logins.
        for _ in range(self.size):
            executor.submit(time.sleep, 0.5)
        return executor

    @property
    def busy(self) -> int:
        """Requests being served by the workers now."""
        return 0 if self.places is None else self.size - self.places.free

    @staticmethod
    def pids() -> list[int]:
        return sorted(child.pid for child in multiprocessing.active_children())

    async def serve(self, gate: AdmissionGate, scope, body: bytes, send) -> None:
        if self.places is None:
            self.places = Places(self.size)
        if not await self.places.take(settings.AUTH_QUEUE_TIMEOUT):
            gate.refused += 1
            await send_overloaded(send, gate.retry_after())
            return
        started = time.monotonic()
        try:
            executor = self._executor
            try:
                status, headers, answer = await asyncio.wrap_future(
                    executor.submit(serve, request_of(scope, body))
                )
            except BrokenProcessPool:
                self._replace(executor)
                gate.refused += 1
                await send_overloaded(send, 1)
                return
        finally:
            self.places.give_back()
            gate.record_hold(time.monotonic() - started)
        self.served += 1
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": answer})

    def _replace(self, broken: ProcessPoolExecutor) -> None:
        """A worker died (killed, out of memory): start them all again, once per breakage."""
        if broken is not self._executor:
            return
        logger.error("A login worker process died; starting the workers again")
        self.replaced += 1
        broken.shutdown(wait=False, cancel_futures=True)
        self._executor = self._start()

    def shutdown(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)


def request_of(scope, body: bytes) -> dict:
    """What a worker needs of a request: its scope's plain values and its body."""
    return {
        "method": scope["method"],
        "scheme": scope.get("scheme", "http"),
        "http_version": scope.get("http_version", "1.1"),
        "root_path": scope.get("root_path", ""),
        "path": scope["path"],
        "query_string": scope.get("query_string", b""),
        "headers": list(scope["headers"]),
        "client": tuple(scope["client"]) if scope.get("client") else None,
        "server": tuple(scope["server"]) if scope.get("server") else None,
        "body": body,
    }


async def read_body(receive, limit: int) -> tuple[bytes | None, list[dict]]:
    """
    The request's body if it is at most `limit` bytes (else None), and the
    messages read, to be replayed to an application that reads them itself.
    """
    messages, size = [], 0
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request":
            return None, messages  # the client went away
        size += len(message.get("body", b""))
        if size > limit:
            return None, messages
        if not message.get("more_body", False):
            return b"".join(m.get("body", b"") for m in messages), messages


def replaying(messages: list[dict], receive):
    """A `receive` that gives `messages` again before reading on."""
    pending = collections.deque(messages)

    async def receive_again():
        if pending:
            return pending.popleft()
        return await receive()

    return receive_again


class ServeInWorkers:
    """
    ASGI middleware: a POST to a gated view is served by the worker processes
    (when AUTH_WORKERS is on); everything else, and a body too large to be
    accepted, by the application in this process.
    """

    def __init__(self, app, workers: AuthWorkers | None):
        self.app = app
        self.workers = workers

    async def __call__(self, scope, receive, send):
        if self.workers is None or scope["type"] != "http" or scope["method"] != "POST":
            return await self.app(scope, receive, send)
        gate = gate_of(scope["path"])
        if gate is None:
            return await self.app(scope, receive, send)
        body, messages = await read_body(receive, settings.DATA_UPLOAD_MAX_MEMORY_SIZE)
        if body is None:
            # Too large (Django answers 413) or the client gone: as any request.
            return await self.app(scope, replaying(messages, receive), send)
        await self.workers.serve(gate, scope, body, send)


# This process's workers, once started (for the metrics).
running: AuthWorkers | None = None


def start_if_enabled() -> AuthWorkers | None:
    """The worker processes when AUTH_WORKERS is on, else None."""
    global running
    if settings.AUTH_WORKERS and running is None:
        running = AuthWorkers(max(1, settings.AUTH_CONCURRENCY))
    return running if settings.AUTH_WORKERS else None


def describe(workers: AuthWorkers | None) -> str:
    """Where logins are served, for the start-up report."""
    if workers is None:
        return "logins: in this process"
    return f"logins: {workers.size} worker processes"
