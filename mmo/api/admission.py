"""
Load shedding for expensive requests: a few at a time per process, the rest
refused at once with 503 and Retry-After instead of queued.

A login hashes a password (about 40 ms of a core and 19 MiB) and holds a
database connection meanwhile. Left to queue, a storm of logins took every
connection of the pool, and the other requests of the process waited the
pool's timeout and failed. Two stages keep it apart from the rest:

- at the door (`ShedAtTheDoor`, on the event loop): at most AUTH_CONCURRENCY +
  AUTH_QUEUE_LENGTH such requests are inside the process; the next is answered
  503 at once, before it costs a thread, Django's middleware or a cache call.
  Refusing 500 logins there takes milliseconds; through Django it held the
  GIL long enough to stall every other request and socket for a second or two.
- at the gate (`AdmittedView`, in the request's thread, after throttling): at
  most AUTH_CONCURRENCY hold a database connection and hash; the others wait
  AUTH_QUEUE_TIMEOUT seconds at most for a place, without a connection, and
  are then refused.

A refused client is told in Retry-After when its turn will come: the clients
refused before it are counted as a queue that empties at the rate the gate
lets logins through. Told "1 s" each, the 500 clients of a storm came back
four or five times each, and answering those refusals took the event loop
from the players already in.
"""

import functools
import json
import math
import threading
import time

from django.conf import settings
from django.urls import Resolver404, resolve
from rest_framework import exceptions

# The longest a refused client is told to wait (Retry-After, seconds).
MAX_RETRY_AFTER = 30


class Overloaded(exceptions.APIException):
    status_code = 503
    default_detail = "The server is busy with other logins; try again in a moment."
    default_code = "overloaded"

    def __init__(self, wait: int):
        super().__init__()
        self.wait = wait  # sent as Retry-After


class Returns:
    """
    When each refused client should come back: the clients refused and not yet
    due are a queue that empties as fast as places are given back, `places`
    held for `hold_seconds` each (a moving average of the holds recorded).
    Thread-safe.
    """

    def __init__(self, hold_seconds: float):
        self.hold_seconds = hold_seconds
        self._lock = threading.Lock()
        self._due_back = 0.0
        self._due_back_at = time.monotonic()

    def record_hold(self, held_for: float) -> None:
        with self._lock:
            self.hold_seconds += 0.1 * (held_for - self.hold_seconds)

    def retry_after(self, places: int) -> int:
        """Seconds a client refused now should wait: its turn in the queue, at most MAX_RETRY_AFTER."""
        with self._lock:
            now = time.monotonic()
            places_per_second = places / max(self.hold_seconds, 0.001)
            elapsed = now - self._due_back_at
            self._due_back = max(0.0, self._due_back - elapsed * places_per_second) + 1
            self._due_back_at = now
            return min(MAX_RETRY_AFTER, max(1, math.ceil(self._due_back / places_per_second)))


class AdmissionGate:
    """At most `settings.<size_setting>` holders at once; waiting at most `<timeout_setting>`."""

    def __init__(self, size_setting: str, timeout_setting: str):
        self.size_setting, self.timeout_setting = size_setting, timeout_setting
        self.condition = threading.Condition()
        self.busy = 0
        self.refused = 0  # since the process started, for the logs and the metrics
        # Requests inside the process (at the gate or past it), and those
        # refused at the door; both only touched on the event loop.
        self.inside = 0
        self.shed_at_the_door = 0
        self.returns = Returns(hold_seconds=0.1)

    def enter(self) -> bool:
        size = max(1, getattr(settings, self.size_setting))
        deadline = time.monotonic() + getattr(settings, self.timeout_setting)
        with self.condition:
            while self.busy >= size:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    self.refused += 1
                    return False
                self.condition.wait(remaining)
            self.busy += 1
            return True

    def leave(self, held_for: float | None = None) -> None:
        with self.condition:
            self.busy -= 1
            if held_for is not None:
                self.record_hold(held_for)
            self.condition.notify()

    def record_hold(self, held_for: float) -> None:
        """How long a holder kept its place, for `retry_after` (also for places held elsewhere)."""
        self.returns.record_hold(held_for)

    def retry_after(self) -> int:
        """Seconds a client refused now should wait (Retry-After)."""
        return self.returns.retry_after(places=max(1, getattr(settings, self.size_setting)))


# Logins, registrations and password changes: each hashes a password.
AUTHENTICATION = AdmissionGate("AUTH_CONCURRENCY", "AUTH_QUEUE_TIMEOUT")


class AdmittedView:
    """
    A DRF view mixin: the request passes `admission_gate` after its
    authentication, permissions and throttles (which touch no database), or is
    refused with 503.
    """

    admission_gate: AdmissionGate = AUTHENTICATION

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        if not self.admission_gate.enter():
            raise Overloaded(wait=self.admission_gate.retry_after())
        self.admitted_at = time.monotonic()

    def handle_exception(self, exc):
        response = super().handle_exception(exc)
        if isinstance(exc, Overloaded):
            # Shedding is the server working as meant: counted (the gate's
            # `refused`, the metrics endpoint), not logged as a server error.
            response._has_been_logged = True
        return response

    def finalize_response(self, request, response, *args, **kwargs):
        admitted_at = getattr(self, "admitted_at", None)
        if admitted_at is not None:
            self.admitted_at = None
            self.admission_gate.leave(held_for=time.monotonic() - admitted_at)
        return super().finalize_response(request, response, *args, **kwargs)


@functools.lru_cache(maxsize=1024)
def gate_of(path: str) -> AdmissionGate | None:
    """The admission gate of the view that serves `path`, if it has one (asked at every POST)."""
    try:
        match = resolve(path)
    except Resolver404:
        return None
    view_class = getattr(match.func, "view_class", None)
    return getattr(view_class, "admission_gate", None) if view_class else None


OVERLOADED_BODY = json.dumps(
    {"detail": Overloaded.default_detail, "code": Overloaded.default_code}
).encode()


async def send_overloaded(
    send,
    retry_after: int,
    *,
    body: bytes = OVERLOADED_BODY,
    content_type: bytes = b"application/json",
    response: str = "http.response",
) -> None:
    """
    A 503 with Retry-After, sent at once through the ASGI `send`; `response`
    is "websocket.http.response" to refuse a WebSocket handshake with it.
    """
    await send(
        {
            "type": f"{response}.start",
            "status": 503,
            "headers": [
                (b"content-type", content_type),
                (b"retry-after", str(retry_after).encode()),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": f"{response}.body", "body": body})


class ShedAtTheDoor:
    """
    ASGI middleware: a POST to a gated view (AdmittedView) past
    AUTH_CONCURRENCY + AUTH_QUEUE_LENGTH of them inside this process is
    answered 503 with Retry-After on the event loop, without reaching Django.
    """

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["method"] != "POST":
            return await self.app(scope, receive, send)
        gate = gate_of(scope["path"])
        if gate is None:
            return await self.app(scope, receive, send)
        limit = max(1, getattr(settings, gate.size_setting)) + settings.AUTH_QUEUE_LENGTH
        if gate.inside >= limit:
            gate.shed_at_the_door += 1
            await send_overloaded(send, gate.retry_after())
            return
        gate.inside += 1
        try:
            return await self.app(scope, receive, send)
        finally:
            gate.inside -= 1
