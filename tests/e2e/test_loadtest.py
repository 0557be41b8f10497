"""The load tool against the real server: short runs with a few players."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command

from loadtest.config import Config
from loadtest.players import moves_in
from loadtest.stats import Stats, report

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]
REPORT_KEYS = {"players", "connected", "moves_sent", "moves_acked", "moves_rejected", "errors"}


def loadtest(*arguments) -> subprocess.CompletedProcess:
    """`python -m loadtest`, as on a machine of its own: no Django settings, no database."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DJANGO_SETTINGS_MODULE", "DATABASE_URL", "REDIS_URL"}
    }
    finished = subprocess.run(
        [sys.executable, "-m", "loadtest", *map(str, arguments)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert finished.returncode == 0, finished.stderr[-5000:]
    return finished


def test_players_spread_on_flags_of_their_own_and_report_moves_and_latencies(
    start_server, tmp_path
):
    # The players gather in the starting area, to chat there; the server starts
    # after the world is loaded, so its area index has the areas. They settle
    # under the game's own rules, each where the server says it may build.
    call_command("seed_world")
    server = start_server()
    report_path, plot_path = tmp_path / "report.json", tmp_path / "report.png"

    finished = loadtest(
        "--server", server.url, "--players", 6, "--duration", 3, "--move-rate", 2,
        # About 36 moves in all: at chat=0.1 one run in forty sent no chat at all.
        "--radius", 200, "--mix", "chat=0.3,rest=0.2,flags=0.1",
        "--json", report_path, "--plot", plot_path,
    )  # fmt: skip

    report = json.loads(report_path.read_text())
    assert json.loads(finished.stdout) == {k: v for k, v in report.items() if k != "series"}
    assert REPORT_KEYS <= set(report)
    assert report["flags_placed"] == 6 and report["flags_refused"] == {}
    assert report["players"] == report["connected"] == 6
    assert report["errors"] == 0, report["error_samples"]
    assert report["moves_sent"] >= 6 * 4
    assert report["moves_acked"] + report["moves_rejected"] >= report["moves_sent"] - 6
    assert report["moves_rejected"] == 0
    assert report["chats_sent"] > 0 and report["rest_calls"] > 0
    for key in ("ack_ms", "neighbour_ms"):
        assert set(report[key]) >= {"p50", "p95", "p99", "max"}
        assert report[key]["p50"] is not None
    assert plot_path.stat().st_size > 10_000


def test_refused_flags_leave_players_at_the_start_point_in_two_workers_over_two_servers(
    start_server, tmp_path
):
    # No world and the game's own rules: no start flag to place a first flag near.
    servers = [start_server("a"), start_server("b")]
    report_path = tmp_path / "report.json"

    loadtest(
        "--server", servers[0].url, "--server", servers[1].url, "--workers", 2,
        "--players", 6, "--duration", 3, "--move-rate", 2, "--radius", 100,
        "--json", report_path,
    )  # fmt: skip

    report = json.loads(report_path.read_text())
    assert report["servers"] == [server.url for server in servers]
    assert report["flags_placed"] == 0 and report["flags_refused"] == {"too_far": 6}
    assert report["players"] == report["connected"] == 6
    assert report["errors"] == 0, report["error_samples"]
    assert report["moves_sent"] >= 6 * 4
    assert report["moves_acked"] + report["moves_rejected"] >= report["moves_sent"] - 6
    assert report["moves_rejected"] == 0
    # Six players around the start point, on two processes: everyone hears the others.
    assert report["neighbour_ms"]["count"] >= report["moves_acked"]


def test_a_batched_crowd_reports_what_each_client_heard_and_received(start_server, tmp_path):
    server = start_server()
    report_path, accounts = tmp_path / "report.json", tmp_path / "accounts.json"

    for _ in range(2):  # the second run plays the players the first one saved
        loadtest(
            "--server", server.url, "--players", 4, "--duration", 4, "--ramp", 20,
            "--crowd", "--batched", "--radius", 50, "--accounts", accounts,
            "--json", report_path,
        )  # fmt: skip

    report = json.loads(report_path.read_text())
    assert report["batched"] is True and report["flags_placed"] == 0
    assert report["errors"] == 0, report["error_samples"]
    assert len(json.loads(accounts.read_text())) == 4
    # Four players at the start point: each hears the three others, in players-moved frames.
    assert report["neighbour_ms"]["p50"] is not None
    per_client = report["per_client"]
    assert per_client["moves_heard_per_s"]["clients"] == 4
    assert per_client["moves_heard_per_s"]["min"] > 0
    assert per_client["bytes_received_per_s"]["min"] > 0
    assert per_client["players_heard_at_full_rate"]["p50"] >= 1
    assert report["tool_cpu_seconds"] > 0  # what the tool took of the machine it shares
    # Its own event loop's lag, timed all run long (a timer of 10 ms: about 100 a second).
    assert report["tool_loop_lag_ms"]["count"] >= 100


def test_the_load_tool_reads_each_moves_mover_and_sent_at_as_json_would():
    entries = [  # [playerId, lat, lng, direction, timestamp, sentAt?]
        ["a1", 0.1, -0.2, 1.5, 17, 1796057444100.125],
        ["b2", 0.3, 0.4, 0, 18],
        ["c3", 1e-7, 2, 0.0, 19, 5],
    ]
    batch = json.dumps(
        {"type": "players-moved", "data": {"around": 9, "moves": entries}}, separators=(",", ":")
    )
    single = {
        "playerId": "a1", "username": "sim_1", "displayName": 'a "quoted", {braced} name',
        "position": {"lat": 0.1, "lng": -0.2}, "direction": 1.5, "timestamp": 17,
        "sentAt": 1796057444100.125,
    }  # fmt: skip
    without_sent_at = {key: value for key, value in single.items() if key != "sentAt"}

    assert moves_in(batch) == [
        (entry[0], entry[5] if len(entry) > 5 else None) for entry in entries
    ]
    for data in (single, without_sent_at):
        text = json.dumps({"type": "player-moved", "data": data}, separators=(",", ":"))
        assert moves_in(text) == [("a1", data.get("sentAt"))]
    assert moves_in(json.dumps({"type": "move-ack", "data": {"seq": 1}})) is None


def test_an_accounts_file_is_prepared_once_and_topped_up_by_a_larger_run(start_server, tmp_path):
    server = start_server()
    report_path, accounts = tmp_path / "report.json", tmp_path / "accounts.json"

    prepared = loadtest(
        "--server", server.url, "--players", 2, "--crowd", "--accounts", accounts,
        "--prepare-only",
    )  # fmt: skip
    first_two = json.loads(accounts.read_text())
    loadtest(
        "--server", server.url, "--players", 3, "--duration", 2, "--crowd", "--radius", 50,
        "--accounts", accounts, "--json", report_path,
    )  # fmt: skip

    assert json.loads(prepared.stdout) == {"players": 2, "accounts": str(accounts)}
    saved = json.loads(accounts.read_text())
    assert saved[:2] == first_two and len(saved) == 3
    assert len({account["username"] for account in saved}) == 3
    report = json.loads(report_path.read_text())
    assert report["players"] == report["connected"] == 3
    assert report["errors"] == 0, report["error_samples"]


def test_the_report_gives_the_latencies_once_every_player_had_connected_apart():
    config = Config(
        servers=("http://server",), players=100, duration=30, move_rate=1, ramp=50,
        centre=(0.0, 0.0), radius=100, mix={},
    )  # fmt: skip
    stats = Stats(started=1000.0)
    # Every player connected 3 s in (100 players at 50 a second, and a second to settle).
    stats.ack_ms = [(1.0, 400.0), (2.5, 300.0), (3.5, 4.0), (10.0, 6.0)]
    stats.neighbour_ms = [(2.0, 900.0), (4.0, 80.0)]

    figures = report(config, stats, refusals={})

    assert figures["ack_ms"]["max"] == 400.0
    assert figures["steady"]["from_s"] == 3.0
    assert figures["steady"]["ack_ms"]["count"] == 2 and figures["steady"]["ack_ms"]["max"] == 6.0
    assert figures["steady"]["neighbour_ms"]["p99"] == 80.0
