"""`python -m loadtest`: the options, the run, the report on standard output."""

import argparse
import json
import sys

import loadtest
from loadtest.config import Config
from loadtest.run import prepare, run, run_loop


def parse_mix(text: str) -> dict[str, float]:
    mix = {}
    for part in filter(None, text.split(",")):
        name, _, value = part.partition("=")
        if name not in ("chat", "rest", "flags"):
            raise argparse.ArgumentTypeError(f"--mix knows chat, rest and flags, not {name!r}")
        try:
            mix[name] = float(value)
        except ValueError as error:
            raise argparse.ArgumentTypeError(
                f"--mix {name} needs a fraction, like {name}=0.05"
            ) from error
    return mix


def parse_centre(text: str) -> tuple[float, float]:
    try:
        lng, lat = (float(value) for value in text.split(","))
    except ValueError as error:
        raise argparse.ArgumentTypeError("--centre is lng,lat") from error
    return lng, lat


def parser() -> argparse.ArgumentParser:
    summary, _, details = loadtest.__doc__.strip().partition("\n\n")
    parser = argparse.ArgumentParser(
        prog="python -m loadtest",
        description=summary,
        epilog=details,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--server",
        action="append",
        help="base URL of a server (default http://127.0.0.1:8000); give it again for "
        "more processes: players are dealt round-robin",
    )
    parser.add_argument("--players", type=int, default=100)
    parser.add_argument("--duration", type=float, default=30.0, help="seconds of play")
    parser.add_argument("--move-rate", type=float, default=1.0, help="moves/s per player")
    parser.add_argument("--ramp", type=float, default=100.0, help="connections opened per second")
    parser.add_argument(
        "--centre", type=parse_centre, default=(0.0, 0.0), help="lng,lat the players gather around"
    )
    parser.add_argument("--radius", type=float, default=5000.0, help="metres of scatter")
    parser.add_argument(
        "--mix", type=parse_mix, default={}, help="per move: chat=0.01,rest=0.02,flags=0.01"
    )
    parser.add_argument(
        "--crowd",
        action="store_true",
        help="place no flags: every player stays at the start hub it spawned at and walks "
        "within --radius of it (a crowd, as new players make)",
    )
    parser.add_argument(
        "--accounts",
        metavar="FILE",
        help="play the players saved in FILE by an earlier run (on their flags, or in the "
        "crowd) instead of registering new ones; registers the players it lacks and saves "
        "them there too. Their access tokens must still be valid (the server's "
        "JWT_ACCESS_MINUTES)",
    )
    parser.add_argument(
        "--prepare-only",
        action="store_true",
        help="with --accounts: register and settle the players FILE lacks, save them and stop",
    )
    parser.add_argument(
        "--batched",
        action="store_true",
        help="ask the server for one players-moved frame per tick instead of a frame per move",
    )
    parser.add_argument(
        "--workers", type=int, default=1, help="processes the simulated players run in"
    )
    parser.add_argument("--json", dest="json_path", help="write the report here")
    parser.add_argument("--plot", dest="plot_path", help="write a PNG plot here")
    return parser


def main(argv=None) -> None:
    arguments = parser().parse_args(argv)
    if (
        min(arguments.players, arguments.workers) < 1
        or min(arguments.move_rate, arguments.duration) <= 0
    ):
        parser().error("--players, --workers, --move-rate and --duration must be positive")
    if arguments.prepare_only and not arguments.accounts:
        parser().error("--prepare-only saves the players it prepares: give --accounts FILE")
    config = Config(
        servers=tuple(
            server.rstrip("/") for server in arguments.server or ["http://127.0.0.1:8000"]
        ),
        players=arguments.players,
        duration=arguments.duration,
        move_rate=arguments.move_rate,
        ramp=arguments.ramp,
        centre=arguments.centre,
        radius=arguments.radius,
        mix=arguments.mix,
        batched=arguments.batched,
        crowd=arguments.crowd,
        accounts=arguments.accounts,
    )
    progress = lambda line: print(line, file=sys.stderr, flush=True)  # noqa: E731
    if arguments.prepare_only:
        try:
            run_loop(prepare(config, progress))
        except (RuntimeError, OSError) as error:
            sys.exit(f"the players could not be prepared: {error}")
        print(json.dumps({"players": config.players, "accounts": config.accounts}))
        return
    try:
        result = run(
            config,
            workers=arguments.workers,
            progress=progress,
        )
    except (RuntimeError, OSError) as error:
        sys.exit(f"the simulation could not run: {error}")
    if arguments.json_path:
        with open(arguments.json_path, "w") as out:
            json.dump(result, out, indent=2)
    if arguments.plot_path:
        from loadtest.plot import plot

        plot(result, arguments.plot_path)
    summary = {key: value for key, value in result.items() if key != "series"}
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
