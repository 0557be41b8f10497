import json

from django.core.management.base import BaseCommand, CommandError

from movement.simulation import Config, plot, run


def parse_mix(text: str) -> dict[str, float]:
    mix = {}
    for part in filter(None, text.split(",")):
        name, _, value = part.partition("=")
        if name not in ("chat", "rest", "flags"):
            raise CommandError(f"--mix knows chat, rest and flags, not {name!r}")
        try:
            mix[name] = float(value)
        except ValueError as error:
            raise CommandError(f"--mix {name} needs a fraction, like {name}=0.05") from error
    return mix


class Command(BaseCommand):
    help = (
        "Simulate players against a running server over real REST and WebSocket "
        "connections and report throughput and latency. Run it beside the server, "
        "with the server's DATABASE_URL (players are given flags scattered around the "
        "centre), and with the server's THROTTLE_REGISTER raised for the run."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--server",
            action="append",
            help="base URL of a server (default http://127.0.0.1:8000); give it again for "
            "more processes: players are dealt round-robin",
        )
        parser.add_argument("--players", type=int, default=100)
        parser.add_argument("--duration", type=float, default=30.0, help="seconds of play")
        parser.add_argument("--move-rate", type=float, default=1.0, help="moves/s per player")
        parser.add_argument(
            "--ramp", type=float, default=100.0, help="connections opened per second"
        )
        parser.add_argument("--centre", default="0,0", help="lng,lat the players gather around")
        parser.add_argument("--radius", type=float, default=5000.0, help="metres of scatter")
        parser.add_argument("--mix", default="", help="per move: chat=0.01,rest=0.02,flags=0.01")
        parser.add_argument(
            "--workers", type=int, default=1, help="processes the simulated players run in"
        )
        parser.add_argument("--json", dest="json_path", help="write the report here")
        parser.add_argument("--plot", dest="plot_path", help="write a PNG plot here")

    def handle(self, *args, **options):
        try:
            lng, lat = (float(value) for value in options["centre"].split(","))
        except ValueError as error:
            raise CommandError("--centre is lng,lat") from error
        if (
            min(options["players"], options["workers"]) < 1
            or min(options["move_rate"], options["duration"]) <= 0
        ):
            raise CommandError("--players, --workers, --move-rate and --duration must be positive")
        servers = options["server"] or ["http://127.0.0.1:8000"]
        config = Config(
            servers=tuple(server.rstrip("/") for server in servers),
            players=options["players"],
            duration=options["duration"],
            move_rate=options["move_rate"],
            ramp=options["ramp"],
            centre=(lng, lat),
            radius=options["radius"],
            mix=parse_mix(options["mix"]),
        )
        try:
            result = run(
                config, workers=options["workers"], progress=lambda line: self.stderr.write(line)
            )
        except (RuntimeError, OSError) as error:
            raise CommandError(f"the simulation could not run: {error}") from error
        if options["json_path"]:
            with open(options["json_path"], "w") as out:
                json.dump(result, out, indent=2)
        if options["plot_path"]:
            plot(result, options["plot_path"])
        summary = {key: value for key, value in result.items() if key != "series"}
        self.stdout.write(json.dumps(summary, indent=2))
