"""
End-to-end fixtures: the real ASGI server in a subprocess, serving the test
database that the tests fill. By default that is the production server
(deploy/serve.sh: uvicorn) with the production settings; daphne, which
`make run` serves, where a test asks for it.
"""

import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import quote

import pytest

ROOT = Path(__file__).resolve().parent.parent.parent
VENV_BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def database_url_of(settings_dict) -> str:
    credentials = quote(settings_dict["USER"] or "", safe="")
    if settings_dict.get("PASSWORD"):
        credentials += ":" + quote(settings_dict["PASSWORD"], safe="")
    host = settings_dict["HOST"] or "127.0.0.1"
    port = settings_dict["PORT"] or 5432
    return f"postgis://{credentials}@{host}:{port}/{settings_dict['NAME']}"


def wait_until_healthy(url: str, process: subprocess.Popen, log_path: Path, timeout=60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited early:\n{log_path.read_text()}")
        try:
            with urllib.request.urlopen(f"{url}/api/health", timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.2)
    raise RuntimeError(f"the server did not become healthy:\n{log_path.read_text()}")


SERVER_COMMANDS = {
    "production": lambda port: [
        ROOT / "deploy" / "serve.sh", "--host", "127.0.0.1", "--port", str(port)
    ],
    "daphne": lambda port: [
        VENV_BIN / "daphne", "-b", "127.0.0.1", "-p", str(port), "mmo.asgi:application"
    ],
}  # fmt: skip


class ServerProcess:
    """A server process ("production" or "daphne") serving mmo.asgi."""

    def __init__(self, workdir: Path, env: dict, name: str, kind: str = "production"):
        self.kind = kind
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.ws_url = f"ws://127.0.0.1:{self.port}/ws/game/"
        self.log_path = workdir / f"{name}.log"
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                SERVER_COMMANDS[kind](self.port),
                cwd=ROOT,
                env={**env, "PATH": f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}"},
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        wait_until_healthy(self.url, self.process, self.log_path)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def login_workers(self) -> list[int]:
        """The pids of its login worker processes (mmo/servers/auth_workers.py)."""
        workers = []
        for task in Path(f"/proc/{self.process.pid}/task").iterdir():
            for child in (task / "children").read_text().split():
                try:
                    command = Path(f"/proc/{child}/cmdline").read_bytes()
                except FileNotFoundError:
                    continue  # gone meanwhile
                if b"spawn_main" in command:
                    workers.append(int(child))
        return sorted(workers)

    def stop(self, sig=signal.SIGTERM, timeout=20) -> int:
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode


def server_environment(workdir: Path, static_root: Path, **overrides) -> dict:
    """The production settings, on this test run's database, over plain HTTP."""
    from django.conf import settings
    from django.db import connection

    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "mmo.settings.production",
        "DATABASE_URL": database_url_of(connection.settings_dict),
        "SECRET_KEY": SERVER_SECRET_KEY,
        "DEBUG": "false",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SECURE_SSL_REDIRECT": "false",
        "SESSION_COOKIE_SECURE": "false",
        "CSRF_COOKIE_SECURE": "false",
        "SECURE_HSTS_SECONDS": "0",
        "STATIC_ROOT": str(static_root),
        "MMO_VAR_DIR": str(workdir),
        # The test process and the servers are one deployment: what a test
        # writes invalidates the servers' caches and reaches their sockets.
        "CACHE_KEY_PREFIX": settings.CACHES["default"].get("KEY_PREFIX", ""),
        "CHANNEL_LAYER_PREFIX": settings.CHANNEL_LAYERS["default"]
        .get("CONFIG", {})
        .get("prefix", "mmo"),
        # Every test registers its players from this one address.
        "THROTTLE_REGISTER": "10000/minute",
        "THROTTLE_LOGIN": "10000/minute",
    }
    env.update({key: str(value) for key, value in overrides.items()})
    return env


# One signing key for every server of the run, so that their tokens agree.
SERVER_SECRET_KEY = secrets.token_urlsafe(50)


@pytest.fixture(scope="session")
def collected_static(tmp_path_factory, requires_postgis_session, django_db_setup):
    static_root = tmp_path_factory.mktemp("static")
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"],
        cwd=ROOT,
        env=server_environment(static_root, static_root),
        check=True,
        timeout=300,
    )
    return static_root


@pytest.fixture
def start_server(collected_static, tmp_path):
    """`start_server(**settings)` → a running ServerProcess; all are stopped at the end."""
    started = []

    def start(name="server", kind="production", **overrides):
        env = server_environment(tmp_path, collected_static, **overrides)
        server = ServerProcess(tmp_path, env, name, kind)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture(scope="session")
def asgi_server(collected_static, tmp_path_factory):
    """The base URL of a production server process serving this test run's database."""
    workdir = tmp_path_factory.mktemp("asgi-server")
    server = ServerProcess(workdir, server_environment(workdir, collected_static), "server")
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture(scope="session")
def requires_postgis_session():
    from tests.conftest import on_postgis

    if not on_postgis():
        pytest.skip("the end-to-end server runs on PostGIS only (set DATABASE_URL=postgis://…)")


@pytest.fixture(scope="module")
def embedded_server(tmp_path_factory):
    """A daphne process on the embedded default: SpatiaLite, in-memory layers."""
    workdir = tmp_path_factory.mktemp("embedded")
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE"}
    }
    env.update(
        DJANGO_SETTINGS_MODULE="mmo.settings.base",
        DEBUG="true",
        MMO_VAR_DIR=str(workdir),
        THROTTLE_REGISTER="10000/minute",
    )
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v0"],
        cwd=ROOT,
        env=env,
        check=True,
        timeout=300,
    )
    server = ServerProcess(workdir, env, "embedded", kind="daphne")
    try:
        yield server
    finally:
        server.stop()
