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
"""

import json
import threading
import time

from django.conf import settings
from django.urls import Resolver404, resolve
from rest_framework import exceptions

# Seconds a refused client is told to wait. Short: a place frees every few
# tens of milliseconds; clients should add jitter of their own.
RETRY_AFTER = 1


class Overloaded(exceptions.APIException):
    status_code = 503
    default_detail = "The server is busy with other logins; try again in a moment."
    default_code = "overloaded"
    wait = RETRY_AFTER  # sent as Retry-After


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

    def leave(self) -> None:
        with self.condition:
            self.busy -= 1
            self.condition.notify()


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
            raise Overloaded()
        self.admitted = True

    def handle_exception(self, exc):
        response = super().handle_exception(exc)
        if isinstance(exc, Overloaded):
            # Shedding is the server working as meant: counted (the gate's
            # `refused`, the metrics endpoint), not logged as a server error.
            response._has_been_logged = True
        return response

    def finalize_response(self, request, response, *args, **kwargs):
        if getattr(self, "admitted", False):
            self.admitted = False
            self.admission_gate.leave()
        return super().finalize_response(request, response, *args, **kwargs)


def gate_of(path: str) -> AdmissionGate | None:
    """The admission gate of the view that serves `path`, if it has one."""
    try:
        match = resolve(path)
    except Resolver404:
        return None
    view_class = getattr(match.func, "view_class", None)
    return getattr(view_class, "admission_gate", None) if view_class else None


OVERLOADED_BODY = json.dumps(
    {"detail": Overloaded.default_detail, "code": Overloaded.default_code}
).encode()


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
            await send(
                {
                    "type": "http.response.start",
                    "status": 503,
                    "headers": [
                        (b"content-type", b"application/json"),
                        (b"retry-after", str(RETRY_AFTER).encode()),
                        (b"content-length", str(len(OVERLOADED_BODY)).encode()),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": OVERLOADED_BODY})
            return
        gate.inside += 1
        try:
            return await self.app(scope, receive, send)
        finally:
            gate.inside -= 1
