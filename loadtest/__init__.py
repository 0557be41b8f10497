"""
Simulated players against running servers, over real REST and WebSocket
connections; a report of throughput and latency. Run it as `python -m loadtest`;
`python -m loadtest.storm` runs storms instead: logins at once, and players
coming back when a server process is killed.

The tool is a client like any other: it registers its players, places their
flags and teleports them there over the REST API, then plays over the
WebSocket. It imports nothing of the server and needs no Django settings, so
it can run on a machine of its own; it is not part of the server's image.

The servers need, for a run:
- a registration throttle that lets the players in: THROTTLE_REGISTER=100000/minute
  (every player registers from this machine's address);
- a seeded world (`manage.py seed_world`): its start hubs are where first flags may stand.

Each player picks a spot scattered within --radius of --centre and settles under the game's
own rules (docs/game-rules.md): it places its flag at that spot, or where refused, asks the
server where it may build nearest to it (`GET /api/flags/spots/`) and places at the first spot
offered (asking again if another player took it meanwhile), then teleports onto it. Players near the start spread out as land
fills: the first ones get the spots they picked, later ones the nearest free land. A player
whose flag is refused (no world, say) plays where the server put them at registration; the
report counts the refusals by code (`flags_refused`). The players stay registered after the
run (named sim<6 hex digits>_<n>).

With --crowd the players place no flag: they stay at the start hub they spawned at and walk
within --radius of it, as new players do. --batched asks for one `players-moved` frame per
tick. --accounts FILE saves the players of a run (tokens, base) and plays them again in later
runs, skipping registration (password hashing) and settling, which on a small machine take
longer than the run; a run of more players than FILE holds prepares the rest and adds them.
--prepare-only prepares and saves them without playing. `loadtest.world.flags_at_spots`
gives the server settings under which every flag stands at its spot within --radius. Besides latencies the report gives, per client over the part of the run in which
every player was connected (`per_client`): moves heard per second, bytes received per second,
and how many players it heard at 80 % or more of its own move rate; `steady` gives the
latencies of that part alone, without the ramp's surge of logins.
"""
