"""
A crowd that disperses at once: every player of a crowd but one leaves together.

Each departure is a `player-disconnected` frame to everyone still around, so
N players leaving a crowd of N ask for about N²/2 frames, most of them to
sockets that are closing too. Prints the server's CPU time from the first
close until the one who stayed has heard every departure, and when that was.

The crowd is the players of an earlier crowd run, replayed where it left them:

    DATABASE_URL=postgis://mmo:mmo@127.0.0.1:5432/mmo REDIS_URL=redis://127.0.0.1:6379/3 \\
        .venv/bin/python bench/capacity.py --processes 1 --players 1000 --radius 200 \\
        --crowd --batched --accounts var/crowd1000.json      # once: registers the crowd
    .venv/bin/python bench/departures.py --accounts var/crowd1000.json [--rounds 3]
"""

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench._servers import Server, lasting_tokens, production_environment  # noqa: E402
from loadtest.players import open_game_socket  # noqa: E402

JOINING_AT_ONCE = 50


async def authenticated(server: Server, token: str):
    # A handshake refused while the process has its logins in hand is tried again.
    socket = await open_game_socket(
        f"{server.ws_url}/ws/game/", time.monotonic() + 60, max_queue=None
    )
    await socket.send(json.dumps({"type": "authenticate", "data": {"token": token}}))
    while True:
        message = json.loads(await socket.recv())
        if message["type"] == "authenticated":
            return socket
        if message["type"] == "error":
            raise SystemExit(f"authentication refused: {message['data']}")


async def one_round(accounts: list[dict], env: dict, app: str) -> dict:
    server = Server("uvicorn", app, env, Path(tempfile.mkdtemp(prefix="bench-departures-")) / "log")
    try:
        sockets = []
        for start in range(0, len(accounts), JOINING_AT_ONCE):
            batch = accounts[start : start + JOINING_AT_ONCE]
            sockets += await asyncio.gather(*(authenticated(server, a["token"]) for a in batch))
        stayer, leavers = sockets[0], sockets[1:]
        heard = 0
        everyone_heard = asyncio.Event()

        async def listen():
            nonlocal heard
            async for message in stayer:
                if '"player-disconnected"' in message:
                    heard += 1
                    if heard == len(leavers):
                        everyone_heard.set()

        listening = asyncio.create_task(listen())
        await asyncio.sleep(3.0)  # settled: the crowd's moves and arrivals told
        cpu_before, started = server.cpu_seconds(), asyncio.get_running_loop().time()
        await asyncio.gather(*(socket.close() for socket in leavers))
        await asyncio.wait_for(everyone_heard.wait(), 120)
        last_heard_s = asyncio.get_running_loop().time() - started
        cpu_s = server.cpu_seconds() - cpu_before
        listening.cancel()
        await stayer.close()
        return {
            "leavers": len(leavers),
            "last_departure_heard_s": round(last_heard_s, 2),
            "server_cpu_s": round(cpu_s, 2),
        }
    finally:
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument("--accounts", required=True, help="a crowd run's players (capacity.py)")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--app", default="mmo.asgi:application", help="the ASGI application served")
    arguments = parser.parse_args()
    if not os.environ.get("DATABASE_URL", "").startswith("postgis://"):
        raise SystemExit("set DATABASE_URL (postgis://…) and REDIS_URL: those of the crowd run")
    accounts = json.loads(Path(arguments.accounts).read_text())
    env = production_environment(**lasting_tokens(arguments.accounts))
    for _ in range(arguments.rounds):
        print(json.dumps(asyncio.run(one_round(accounts, env, arguments.app))), flush=True)


if __name__ == "__main__":
    main()
