"""Password hashing: the cost chosen, the upgrade of older hashes, the cap on hashes at once."""

import os
import sys
import threading

import pytest
from django.contrib.auth.hashers import Argon2PasswordHasher, identify_hasher
from django.test import override_settings

from players.hashers import HASHING, HASHING_NICENESS, PlayerArgon2PasswordHasher
from players.models import Player
from tests.factories import DEFAULT_PASSWORD

pytestmark = pytest.mark.django_db


def test_the_players_hasher_is_argon2id_at_the_owasp_minimum():
    encoded = PlayerArgon2PasswordHasher().encode("secret", "saltsaltsalt")

    assert encoded.startswith("argon2$argon2id$v=19$m=19456,t=2,p=1$")


@override_settings(PASSWORD_HASHERS=["players.hashers.PlayerArgon2PasswordHasher"])
def test_the_production_settings_hash_with_the_players_hasher():
    assert isinstance(
        identify_hasher("argon2$argon2id$v=19$m=1,t=1,p=1$x$y"), PlayerArgon2PasswordHasher
    )


def test_a_hash_of_djangos_default_cost_is_rehashed_at_the_next_login(api, player):
    # As stored before the cost was chosen: Django's own 100 MiB, t=2, p=8.
    Player.objects.filter(pk=player.pk).update(
        password=Argon2PasswordHasher().encode(DEFAULT_PASSWORD, "oldsaltoldsalt")
    )

    response = api.post(
        "/api/auth/login/", {"login": player.username, "password": DEFAULT_PASSWORD}, format="json"
    )

    stored = Player.objects.get(pk=player.pk).password
    current = identify_hasher(stored)
    assert response.status_code == 200
    assert stored.startswith(
        f"argon2$argon2id$v=19$m={current.memory_cost},t={current.time_cost},"
        f"p={current.parallelism}$"
    )
    assert "m=102400,t=2,p=8" not in stored
    assert Player.objects.get(pk=player.pk).check_password(DEFAULT_PASSWORD)


@override_settings(PASSWORD_HASHING_CONCURRENCY=1)
def test_a_hash_past_the_cap_waits_for_a_place():
    hasher = identify_hasher("argon2$argon2id$v=19$m=64,t=1,p=1$x$y")
    release, finished = threading.Event(), threading.Event()

    def hash_one():
        hasher.encode("secret", "saltsaltsalt")
        finished.set()

    taken = HASHING.executor().submit(release.wait)  # the only place
    waiting = threading.Thread(target=hash_one)
    waiting.start()
    held_back = not finished.wait(0.3)
    release.set()
    taken.result(5)
    waiting.join(5)

    assert held_back
    assert finished.is_set()


@pytest.mark.skipif(sys.platform != "linux", reason="a thread's own nice value is Linux's")
def test_hashes_run_at_a_lower_cpu_priority_than_the_event_loop():
    """A login storm's hashing yields the cores to moves and other requests."""

    def niceness() -> int:
        return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())

    hashing = HASHING.executor().submit(niceness).result(5)

    assert hashing == min(19, niceness() + HASHING_NICENESS)
