"""
Load shedding for expensive requests: a few at a time per process, the rest
refused at once with 503 and Retry-After instead of queued.

A login hashes a password (about 40 ms of a core and 19 MiB) and holds a
database connection meanwhile. Left to queue, a storm of logins took every
connection of the pool, and the other requests of the process waited the
pool's timeout and failed. Behind a gate, at most `AUTH_CONCURRENCY` logins
hold a connection and a thread's work; one more waits `AUTH_QUEUE_TIMEOUT`
seconds at most for a place, without a connection, and is then refused.
"""

import threading
import time

from django.conf import settings
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
