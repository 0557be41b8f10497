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
(memory: that many × memory_cost). A caller past the cap waits for a place:
the login and registration views admit only a few requests at a time
(mmo.api.admission) and refuse the rest at once, so the wait here stays short.
"""

import threading

from django.conf import settings
from django.contrib.auth.hashers import Argon2PasswordHasher


class _Slots:
    """A semaphore sized by a setting, made again when the setting changes (tests)."""

    def __init__(self):
        self._lock = threading.Lock()
        self._size = None
        self._semaphore = None

    def semaphore(self) -> threading.Semaphore:
        size = max(1, settings.PASSWORD_HASHING_CONCURRENCY)
        with self._lock:
            if size != self._size:
                self._size, self._semaphore = size, threading.BoundedSemaphore(size)
            return self._semaphore


HASHING = _Slots()


class PlayerArgon2PasswordHasher(Argon2PasswordHasher):
    """Argon2id at the OWASP minimum; at most PASSWORD_HASHING_CONCURRENCY at once."""

    time_cost = 2
    memory_cost = 19 * 1024  # KiB
    parallelism = 1

    def encode(self, password, salt):
        with HASHING.semaphore():
            return super().encode(password, salt)

    def verify(self, password, encoded):
        with HASHING.semaphore():
            return super().verify(password, encoded)
