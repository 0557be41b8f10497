"""
Argon2 at a cost chosen for this server, with a cap on hashes running at once.

Django's default Argon2 cost (102,400 KiB, t=2, p=8) takes 100 MiB for each
hash, and nothing bounded how many ran at once: a storm of 200 logins took one
process to 2.6 GiB. This hasher uses the OWASP Password Storage Cheat Sheet's
minimum for Argon2id (19 MiB, t=2, p=1; about 40 ms on one core here) rather
than RFC 9106's second recommendation (64 MiB, t=3, p=4; about 190 ms and four
threads): a process on two cores, which also runs the game's event loop, can
then answer a few dozen logins a second. A stronger cost is a subclass with
other numbers; stored hashes are rehashed at their owner's next login, since
Django upgrades a hash whose parameters differ from the hasher's
(`must_update`), both ways.

PASSWORD_HASHING_CONCURRENCY caps the hashes running at once in one process
(memory: that many × memory_cost): they run on that many threads of their own,
and a caller past the cap waits for one. The login and registration views
admit only a few requests at a time (mmo.api.admission) and refuse the rest at
once, so the wait here stays short.

Those threads run at a lower CPU priority than the rest of the process (nice
+HASHING_NICENESS, on Linux, where a thread's nice value is its own): a storm
of logins keeps both cores busy hashing, and the event loop, which answers
every move and every other request, must not wait behind it for a core.
"""

import os
import sys
import threading
from concurrent.futures import ThreadPoolExecutor

from django.conf import settings
from django.contrib.auth.hashers import Argon2PasswordHasher

HASHING_NICENESS = 10


def _lower_priority() -> None:
    if sys.platform == "linux":
        try:
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), HASHING_NICENESS)
        except OSError:
            pass  # not allowed here: hashes then compete as equals


class _HashingThreads:
    """The hashing threads, as many as a setting says, made again when it changes (tests)."""

    def __init__(self):
        self._lock = threading.Lock()
        self._size = None
        self._executor = None

    def executor(self) -> ThreadPoolExecutor:
        size = max(1, settings.PASSWORD_HASHING_CONCURRENCY)
        with self._lock:
            if size != self._size:
                if self._executor is not None:
                    self._executor.shutdown(wait=False)
                self._size = size
                self._executor = ThreadPoolExecutor(
                    size, thread_name_prefix="password-hashing", initializer=_lower_priority
                )
            return self._executor


HASHING = _HashingThreads()


class PlayerArgon2PasswordHasher(Argon2PasswordHasher):
    """Argon2id at the OWASP minimum; at most PASSWORD_HASHING_CONCURRENCY at once."""

    time_cost = 2
    memory_cost = 19 * 1024  # KiB
    parallelism = 1

    def encode(self, password, salt):
        return HASHING.executor().submit(super().encode, password, salt).result()

    def verify(self, password, encoded):
        return HASHING.executor().submit(super().verify, password, encoded).result()
