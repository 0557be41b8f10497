"""
Simulated players against running servers, over real REST and WebSocket
connections; a report of throughput and latency. Run it as `python -m loadtest`.

The tool is a client like any other: it registers its players, places their
flags and teleports them there over the REST API, then plays over the
WebSocket. It imports nothing of the server and needs no Django settings, so
it can run on a machine of its own; it is not part of the server's image.

The servers need, for a run:
- a registration throttle that lets the players in: THROTTLE_REGISTER=100000/minute
  (every player registers from this machine's address);
- a seeded world (`manage.py seed_world`): first flags are measured from the start flag;
- to spread the players over --radius around the start point (the default
  --centre), placement rules that let every player's flag stand there:
  FLAG_PLACEMENT_RANGE_M=<radius + 100> FLAG_SEPARATION_M=0 FLAG_RADIUS_M=1
  (`loadtest.placement_settings(radius)`). The rules a move is checked against
  do not change.

Under the game's own placement rules (docs/game-rules.md) only a few players'
flags fit: a first flag stands within 600 m of the start flag and 1,000 m from
other players' flags. A player whose flag is refused plays around the start
point instead; the report counts the refusals by code (`flags_refused`). The
players stay registered after the run (named sim<6 hex digits>_<n>).
"""

from loadtest.world import placement_settings

__all__ = ["placement_settings"]
