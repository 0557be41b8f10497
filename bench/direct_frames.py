"""
The game's moves with and without the direct frame writer, in alternating
rounds of one run: one uvicorn process (as production runs it) per round and
variant, the same closed loop as bench/websocket.py. Needs PostGIS and Redis.
"""

import argparse
import asyncio
import os
import secrets
import statistics
import tempfile
from pathlib import Path

os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(50))
os.environ.setdefault("DEBUG", "false")
os.environ.setdefault("ALLOWED_HOSTS", "127.0.0.1,localhost")

import websocket as ws_bench  # noqa: E402
from _servers import Server, free_port  # noqa: E402

VARIANTS = {
    "direct": "bench.echo_app:application",
    "through the server": "bench.echo_app:without_direct_frames",
}


def start(app: str, log_dir: Path) -> Server:
    env = {**os.environ, "LOG_LEVEL": "WARNING", "WEBSOCKET_RATE": "1000000",
           "WEBSOCKET_BURST": "1000000"}  # fmt: skip
    return Server("uvicorn", app, env, log_dir / f"uvicorn-{free_port()}.log")


async def run(arguments) -> None:
    prefix = f"bench-frames-{secrets.token_hex(3)}"
    players = await asyncio.to_thread(ws_bench.make_players, arguments.connections, prefix)
    log_dir = Path(tempfile.mkdtemp(prefix="bench-direct-frames-"))
    results: dict[str, list[float]] = {name: [] for name in VARIANTS}
    try:
        for round_ in range(1, arguments.rounds + 1):
            # Alternate which variant goes first, so that neither always runs on a warmer machine.
            order = list(VARIANTS) if round_ % 2 else list(reversed(VARIANTS))
            for name in order:
                server = start(VARIANTS[name], log_dir)
                try:
                    result = await ws_bench.closed_loop(
                        [server], players, "moves", arguments.seconds
                    )
                finally:
                    server.stop()
                results[name].append(result["per_second"])
                print(
                    f"round {round_}: {name}: {result['per_second']:,.0f} moves/s, "
                    f"p50 {result['p50']:.1f} ms, p99 {result['p99']:.1f} ms, "
                    f"failures {result['failures']}",
                    flush=True,
                )
    finally:
        await asyncio.to_thread(ws_bench.remove_players, prefix)
    print()
    for name, figures in results.items():
        print(
            f"{name}: median {statistics.median(figures):,.0f} moves/s "
            f"(rounds: {', '.join(f'{f:,.0f}' for f in figures)})"
        )
    ratios = [a / b for a, b in zip(*results.values(), strict=True)]
    print(f"direct / through the server, per round: {', '.join(f'{r:.3f}' for r in ratios)}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--connections", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--rounds", type=int, default=6)
    arguments = parser.parse_args()
    try:
        import uvloop
    except ImportError:
        uvloop = None
    (uvloop.run if uvloop else asyncio.run)(run(arguments))


if __name__ == "__main__":
    main()
