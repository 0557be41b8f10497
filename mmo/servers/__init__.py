"""
What the server knows of the private internals of the packages it runs on.

Every use of an attribute, method or behaviour those packages do not document
lives in this package, so that an upgrade has one place to be checked against:

- backlog.py: the ASGI servers' protocols and transports (uvicorn with
  websockets, daphne on Twisted and autobahn), for the bound on a client that
  stopped reading and for the direct frame writer;
- http.py: Django's ASGIHandler, for HTTP with one thread per request;
- consumers.py: Channels' AsyncConsumer, for a consumer's messages read in its own task;
- channel_layer.py: channels_redis's publish/subscribe layer, for the interest
  cells' pipelined publishing;
- event_loop.py: the production loop, uvloop with servers that accept up to
  64 waiting connections a turn (public interfaces only; it answers libuv's one
  accept per turn of the loop, which tests/servers/test_event_loop.py checks);
- startup.py: which server runs the application, the fast paths it allows, and
  the refusal to start where the bound on a stalled client is not recognised.

VERIFIED_VERSIONS are the versions the adapters were read against (those of
requirements.txt). tests/servers/ drives every fast path through the real
classes and fails when an installed version is not among them: read the
adapters against the new version's source, then add it.
"""

from importlib import metadata

VERIFIED_VERSIONS = {
    "uvicorn": {"0.54.0"},
    "websockets": {"17.4"},
    "daphne": {"4.2.3"},
    "Twisted": {"26.10.0"},
    "autobahn": {"26.10.2"},
    "zope.interface": {"8.7"},
    "uvloop": {"0.23.0"},
    "Django": {"5.2.19"},
    "asgiref": {"3.13.0"},
    "channels": {"4.3.2"},
    "channels_redis": {"4.3.0"},
}


def installed_version(distribution: str) -> str | None:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None


def unverified_versions() -> dict[str, str | None]:
    """The packages whose installed version the adapters were not read against."""
    return {
        name: installed_version(name)
        for name, versions in VERIFIED_VERSIONS.items()
        if installed_version(name) not in versions
    }
