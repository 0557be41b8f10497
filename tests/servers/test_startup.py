"""The start-up check of mmo/servers/startup.py and the versions the adapters were read against."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from channels.testing import WebsocketCommunicator

from mmo.servers import installed_version, unverified_versions
from mmo.servers.backlog import SendBacklogLimit
from mmo.servers.startup import ServerFacts, ServerNotSupported, check_and_report

ROOT = Path(__file__).resolve().parent.parent.parent


def test_every_installed_version_is_one_the_adapters_were_read_against():
    assert unverified_versions() == {}, (
        "read mmo/servers/ against these versions' source, run tests/servers/, "
        "then add them to VERIFIED_VERSIONS"
    )


def test_a_server_without_the_bound_is_refused_where_the_settings_require_it(settings):
    settings.WEBSOCKET_REQUIRE_BACKLOG_BOUND = True
    hypercorn = ServerFacts("hypercorn", "0.17.3", problem="not a server the adapters know")

    with pytest.raises(ServerNotSupported, match="hypercorn 0.17.3"):
        check_and_report(hypercorn)


def test_a_server_without_the_bound_only_warns_in_development(settings, caplog):
    settings.WEBSOCKET_REQUIRE_BACKLOG_BOUND = False
    hypercorn = ServerFacts("hypercorn", "0.17.3", problem="not a server the adapters know")

    check_and_report(hypercorn)

    assert "stalled-client bound OFF" in caplog.text


def test_the_fast_paths_in_use_are_logged_in_one_line(caplog):
    caplog.set_level("INFO", logger="mmo.servers")
    uvicorn = ServerFacts("uvicorn", "0.54.0", bounded=True, direct_frames=True)

    check_and_report(uvicorn, extra=["HTTP: one thread per request"])

    (line,) = [record.getMessage() for record in caplog.records if record.name == "mmo.servers"]
    assert line.startswith("fast paths: server uvicorn 0.54.0: stalled-client bound on")
    assert "HTTP: one thread per request" in line


@pytest.mark.asyncio
async def test_a_connection_whose_send_is_not_recognised_is_refused_where_the_bound_is_required(
    settings,
):
    settings.WEBSOCKET_REQUIRE_BACKLOG_BOUND = True
    reached = []

    async def game(scope, receive, send):
        reached.append(scope)

    # The test communicator's send is a plain coroutine function: no server's.
    communicator = WebsocketCommunicator(SendBacklogLimit(game), "/ws/game/")
    connected, code = await communicator.connect()

    assert (connected, code) == (False, 1011)
    assert reached == []


@pytest.mark.e2e
def test_uvicorn_at_its_trace_log_level_refuses_to_start_under_the_production_settings():
    # At the trace level uvicorn wraps every send in its message logger.
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "mmo.settings.production",
        "DEBUG": "false",
        "SECRET_KEY": "start-up-check-" + "x" * 40,
        "LOG_LEVEL": "INFO",
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    finished = subprocess.run(
        [ROOT / "deploy" / "serve.sh", "--host", "127.0.0.1", "--port", "0",
         "--log-level", "trace"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip

    assert finished.returncode != 0
    assert "ServerNotSupported" in finished.stderr
    assert f"uvicorn {installed_version('uvicorn')}" in finished.stderr
    assert "trace log level" in finished.stderr
