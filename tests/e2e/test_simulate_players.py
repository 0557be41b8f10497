"""The load tool against the real server: a short run with a few players."""

import json

import pytest
from django.core.management import call_command

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

REPORT_KEYS = {"players", "connected", "moves_sent", "moves_acked", "moves_rejected", "errors"}


def test_simulate_players_reports_moves_and_latencies(start_server, tmp_path):
    # The players gather in the starting area, to chat there; the server starts
    # after the world is loaded, so its area index has the areas.
    call_command("seed_world")
    server = start_server()
    report_path, plot_path = tmp_path / "report.json", tmp_path / "report.png"

    call_command(
        "simulate_players",
        server=[server.url],
        players=6,
        duration=3,
        move_rate=2,
        radius=200,
        mix="chat=0.1,rest=0.2,flags=0.1",
        json_path=str(report_path),
        plot_path=str(plot_path),
    )

    report = json.loads(report_path.read_text())
    assert REPORT_KEYS <= set(report)
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


def test_simulate_players_in_two_workers_over_two_servers(start_server, tmp_path):
    servers = [start_server("a"), start_server("b")]
    report_path = tmp_path / "report.json"

    call_command(
        "simulate_players",
        server=[server.url for server in servers],
        workers=2,
        players=6,
        duration=3,
        move_rate=2,
        radius=100,
        json_path=str(report_path),
    )

    report = json.loads(report_path.read_text())
    assert report["servers"] == [server.url for server in servers]
    assert report["players"] == report["connected"] == 6
    assert report["errors"] == 0, report["error_samples"]
    assert report["moves_sent"] >= 6 * 4
    assert report["moves_acked"] + report["moves_rejected"] >= report["moves_sent"] - 6
    # Six players within 100 m of each other, on two processes: everyone hears the others.
    assert report["neighbour_ms"]["count"] >= report["moves_acked"]
