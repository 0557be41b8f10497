"""
Logins, registrations and password changes served by the production server's
worker processes (mmo/servers/auth_workers.py), against the real server.
"""

import json
import os
import signal
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.e2e.clients import Player, call
from tests.e2e.infrastructure import cpu_seconds, wait_until
from tests.factories import DEFAULT_PASSWORD, StaffFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


# Two workers, whatever this machine's default (one on two cores): a pool, not just one.
WORKERS = 2


def start_with_workers(start_server):
    return start_server(AUTH_CONCURRENCY=WORKERS)


def all_login_workers(server) -> list[int]:
    """The server's worker processes, once all of them are up."""
    return wait_until(
        lambda: len(server.login_workers()) == WORKERS and server.login_workers(),
        30,
        "two workers",
    )


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def log_in(server, login, password="correct-horse-battery"):
    return call(server.url, "POST", "/api/auth/login/", {"login": login, "password": password})


@pytest.mark.asyncio
async def test_logins_run_in_the_workers_and_a_password_change_there_closes_the_other_sockets(
    start_server,
):
    server = start_with_workers(start_server)
    workers = all_login_workers(server)
    worked_before = sum(cpu_seconds(pid) for pid in workers)

    wanda = Player(server, "wanda")
    status, second = log_in(server, "wanda")
    assert status == 200, second
    await wanda.connect(server)

    status, _ = call(
        server.url,
        "POST",
        "/api/auth/password/",
        {"currentPassword": "correct-horse-battery", "newPassword": "another-horse-battery"},
        token=second["access"],
    )

    assert status == 204
    # The other session ended in the worker; its socket, on the server, is told at once.
    assert (await wanda.receive_type("force-disconnect", timeout=3)) is not None
    assert log_in(server, "wanda")[0] == 401
    assert log_in(server, "wanda", "another-horse-battery")[0] == 200
    # Three password hashes and more ran in the workers, not in the server.
    assert sum(cpu_seconds(pid) for pid in workers) - worked_before > 0.1
    assert "Traceback" not in server.log()


def test_a_killed_worker_is_replaced_and_logins_go_on(start_server):
    server = start_with_workers(start_server)
    Player(server, "kim")
    workers = all_login_workers(server)

    os.kill(workers[0], signal.SIGKILL)
    answers = []
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        request = urllib.request.Request(
            f"{server.url}/api/auth/login/",
            data=json.dumps({"login": "kim", "password": "correct-horse-battery"}).encode(),
            headers={"Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                answers.append((response.status, None))
                break
        except urllib.error.HTTPError as error:
            answers.append((error.code, error.headers.get("Retry-After")))
            time.sleep(float(error.headers.get("Retry-After", 1)))

    # At most the request that met the dead worker is refused, and told when to come back.
    assert answers[-1] == (200, None), answers
    assert all(answer == (503, "1") for answer in answers[:-1]), answers
    replaced = all_login_workers(server)
    assert len(replaced) == WORKERS and workers[0] not in replaced, (workers, replaced)
    assert "worker process died" in server.log()
    # The metrics an operator reads list the workers, with their memory.
    StaffFactory(username="operator")
    token = log_in(server, "operator", DEFAULT_PASSWORD)[1]["access"]
    status, metrics = call(server.url, "GET", "/api/internal/metrics", token=token)
    assert status == 200
    assert sorted(worker["pid"] for worker in metrics["authWorkers"]) == replaced
    assert all(worker["rssKiB"] > 0 for worker in metrics["authWorkers"])


def test_the_workers_end_with_a_server_killed_under_them(start_server):
    server = start_with_workers(start_server)
    workers = all_login_workers(server)
    assert workers

    server.stop(signal.SIGKILL)

    deadline = time.monotonic() + 10
    while any(alive(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(alive(pid) for pid in workers)


def test_bodies_the_workers_cannot_take_are_refused_cleanly(start_server):
    server = start_server()
    too_large = b'{"login": "' + b"x" * (3 * 1024 * 1024) + b'"}'
    request = urllib.request.Request(
        f"{server.url}/api/auth/login/",
        data=too_large,
        headers={"Content-Type": "application/json"},
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=10)
    assert refused.value.code == 413

    status, body = call(
        server.url, "POST", "/api/auth/register/", json.loads("[" * 100 + "]" * 100)
    )
    assert status == 400, body
    assert "Traceback" not in server.log()
