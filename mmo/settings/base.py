"""
Settings shared by every configuration, read from the environment.

Without DATABASE_URL and REDIS_URL the server runs embedded: a SpatiaLite file
under var/, a local-memory cache and an in-memory channel layer. With them it
runs on PostgreSQL + PostGIS and Redis. See the configuration table in README.md.
"""

import os
from datetime import timedelta
from pathlib import Path

import environ
import redis
from django.core.exceptions import ImproperlyConfigured
from django.core.management.utils import get_random_secret_key

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = Path(environ.Env().str("MMO_VAR_DIR", default=str(BASE_DIR / "var")))

env = environ.Env()

DEBUG = env.bool("DEBUG", default=False)


def _development_secret_key() -> str:
    """A random key kept under var/ so that restarts keep logins valid."""
    key_file = VAR_DIR / "development-secret-key"
    if not key_file.exists():
        VAR_DIR.mkdir(parents=True, exist_ok=True)
        key_file.write_text(get_random_secret_key())
        key_file.chmod(0o600)
    return key_file.read_text().strip()


# Secrets are read as they are: django-environ would take a value starting
# with "$" for the name of another variable.
if "SECRET_KEY" in os.environ:
    SECRET_KEY = os.environ["SECRET_KEY"]
elif DEBUG:
    SECRET_KEY = _development_secret_key()
else:
    raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
# Web pages that may open the game's WebSocket (`game.example.com`, `.example.com`,
# `https://play.example.com:8443`); empty: the hosts in ALLOWED_HOSTS.
WEBSOCKET_ALLOWED_ORIGINS = env.list("WEBSOCKET_ALLOWED_ORIGINS", default=[])

# Applications ---------------------------------------------------------------

DJANGO_APPS = [
    "daphne",  # first, so that `runserver` serves ASGI (HTTP and WebSocket)
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.gis",
    "django.forms",
]
THIRD_PARTY_APPS = [
    "channels",
    "rest_framework",
    "rest_framework_simplejwt",
    "rest_framework_gis",
    "drf_spectacular",
    "drf_spectacular_sidecar",
]
LOCAL_APPS = [
    "players",
    "leaderboards",
    "areas",
    "flags",
    "movement",
    "chat",
]
INSTALLED_APPS = DJANGO_APPS + THIRD_PARTY_APPS + LOCAL_APPS

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "mmo.urls"
ASGI_APPLICATION = "mmo.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "mmo" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# Widgets render through TEMPLATES, so the project's map widget template is found.
FORM_RENDERER = "django.forms.renderers.TemplatesSetting"

# Database -------------------------------------------------------------------

DATABASES = {"default": env.db("DATABASE_URL", default=f"spatialite:///{VAR_DIR / 'mmo.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.contrib.gis.db.backends.postgis":
    # Django's psycopg pool replaces persistent connections. With health
    # checks on, the pool checks each connection before lending it, so a
    # restarted database server or a killed connection costs no request.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "connect_timeout": env.int("DATABASE_CONNECT_TIMEOUT", default=5),
            "pool": {
                "min_size": env.int("DATABASE_POOL_MIN_SIZE", default=1),
                "max_size": env.int("DATABASE_POOL_MAX_SIZE", default=8),
                "timeout": env.float("DATABASE_POOL_TIMEOUT", default=10.0),
                # A reconnection attempt backs off exponentially (1, 2, 4, … s)
                # until it gives up; a short life keeps the pauses short, so
                # the first request after a long outage waits seconds, not minutes.
                "reconnect_timeout": 5.0,
            },
        }
    )
elif DATABASES["default"]["ENGINE"] == "django.contrib.gis.db.backends.spatialite":
    Path(DATABASES["default"]["NAME"]).parent.mkdir(parents=True, exist_ok=True)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    # SQLite takes one writer at a time. A transaction that reads and then
    # writes fails at once with "database is locked" when another process (the
    # load tool, a management command) writes meanwhile; taking the write lock
    # at BEGIN makes it wait for its turn instead.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"transaction_mode": "IMMEDIATE", "timeout": 20}
    )

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Cache and channel layer ----------------------------------------------------

REDIS_URL = env.str("REDIS_URL", default="")
# Every Redis call gives up after this many seconds, so an outage degrades
# requests to the database instead of hanging them.
REDIS_TIMEOUT = env.float("REDIS_TIMEOUT", default=0.5)
REDIS_MAX_CONNECTIONS = env.int("REDIS_MAX_CONNECTIONS", default=1000)
# What each new Redis connection tells the server of its client library, given
# here: left out, redis-py looks its own version up among the installed packages
# at every connection, a scan of sys.path that on the event loop took 12 % of a
# reconnect storm's time.
REDIS_DRIVER_INFO = redis.DriverInfo(lib_version=redis.__version__)

if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env.str("CACHE_KEY_PREFIX", default="mmo"),
            "OPTIONS": {
                "SOCKET_CONNECT_TIMEOUT": REDIS_TIMEOUT,
                "SOCKET_TIMEOUT": REDIS_TIMEOUT,
                "IGNORE_EXCEPTIONS": True,
                "CONNECTION_POOL_KWARGS": {
                    "max_connections": REDIS_MAX_CONNECTIONS,
                    "driver_info": REDIS_DRIVER_INFO,
                },
            },
        }
    }
    DJANGO_REDIS_LOG_IGNORED_EXCEPTIONS = True
    DJANGO_REDIS_CONNECTION_FACTORY = "mmo.redis_client.SharedClientConnectionFactory"
    CHANNEL_LAYERS = {
        "default": {
            # Publish/subscribe: group membership lives in each process, so a
            # player changing interest cells costs no Redis write, and fan-out
            # is faster than the list-based layer.
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {
                # redis-py caps a pool at 100 connections by default; a mass
                # disconnect needs more than that for its group_discard calls.
                "hosts": [
                    {
                        "address": REDIS_URL,
                        "max_connections": REDIS_MAX_CONNECTIONS,
                        "driver_info": REDIS_DRIVER_INFO,
                    }
                ],
                "prefix": env.str("CHANNEL_LAYER_PREFIX", default="mmo"),
            },
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

# Authentication -------------------------------------------------------------

AUTH_USER_MODEL = "players.Player"
# Argon2id at the OWASP minimum (19 MiB, t=2, p=1) instead of Django's 100 MiB
# per hash: players/hashers.py says why. Hashes stored at another cost are
# rehashed at their owner's next login.
PASSWORD_HASHERS = [
    "players.hashers.PlayerArgon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
# Password hashes running at once in one process: memory is this many × 19 MiB,
# and each takes a core for about 40 ms.
PASSWORD_HASHING_CONCURRENCY = env.int("PASSWORD_HASHING_CONCURRENCY", default=2)
# Logins and registrations served at once by one process, and how long one
# more waits for a place before it is refused with 503 and Retry-After: a
# storm of logins is shed, not queued, and the requests and sockets of players
# already in keep their threads, their database connections and their latency.
# One core is left to those players: on a host of two cores, two logins
# hashing at once took both, and during a storm of 500 logins their moves
# were acked 2.0–3.5 times slower than quiet at p99; with one, 1.2–1.9 times
# (docs/performance.md, "Storms and soak"). Raise it on larger hosts.
_cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
AUTH_CONCURRENCY = env.int("AUTH_CONCURRENCY", default=max(1, min(2, (_cores or 1) - 1)))
AUTH_QUEUE_TIMEOUT = env.float("AUTH_QUEUE_TIMEOUT", default=0.5)
# How many more may be inside the process, waiting for a place; the next is
# refused on the event loop, before it costs a thread (mmo/api/admission.py).
AUTH_QUEUE_LENGTH = env.int("AUTH_QUEUE_LENGTH", default=8)
# Those requests served by AUTH_CONCURRENCY worker processes of their own
# rather than by the process that carries the sockets (mmo/servers/auth_workers.py):
# only where what they write reaches that process, through PostgreSQL and Redis.
AUTH_WORKERS = env.bool(
    "AUTH_WORKERS",
    default=bool(REDIS_URL)
    and DATABASES["default"]["ENGINE"] == "django.contrib.gis.db.backends.postgis",
)
if AUTH_WORKERS and not REDIS_URL:
    raise ImproperlyConfigured(
        "AUTH_WORKERS needs REDIS_URL: the workers' throttles, revoked sessions and "
        "socket events must reach the server process."
    )
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# REST API -------------------------------------------------------------------

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["players.authentication.SessionTokenAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["mmo.api.parsers.StrictJSONParser"],
    "DEFAULT_PAGINATION_CLASS": "mmo.api.pagination.PagePagination",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_THROTTLE_CLASSES": ["mmo.api.throttling.ScopedThrottle"],
    "DEFAULT_THROTTLE_RATES": {
        "login": env.str("THROTTLE_LOGIN", default="10/minute"),
        "register": env.str("THROTTLE_REGISTER", default="5/minute"),
        "refresh": env.str("THROTTLE_REFRESH", default="30/minute"),
        # Per player, over REST and WebSocket together.
        "flag-actions": env.str("THROTTLE_FLAG_ACTIONS", default="30/minute"),
        # Per player, over REST and WebSocket together: a search tries hundreds of spots.
        "flag-spots": env.str("THROTTLE_FLAG_SPOTS", default="60/minute"),
        # Scores posted by a trusted caller (staff, a game service), per caller.
        "leaderboard-writes": env.str("THROTTLE_LEADERBOARD_WRITES", default="600/minute"),
    },
    # Hops of trusted proxies in front of the server: the client address is
    # read that far back in X-Forwarded-For (0: the socket's peer, unspoofable).
    "NUM_PROXIES": env.int("NUM_PROXIES", default=0),
    "EXCEPTION_HANDLER": "mmo.api.errors.exception_handler",
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}
API_PAGE_SIZE = env.int("API_PAGE_SIZE", default=50)
API_MAX_PAGE_SIZE = env.int("API_MAX_PAGE_SIZE", default=200)
# Largest radius of a "near" query, in metres.
API_MAX_NEAR_RADIUS = env.float("API_MAX_NEAR_RADIUS", default=50_000)

SIMPLE_JWT = {
    "ALGORITHM": "HS256",
    "SIGNING_KEY": os.environ.get("JWT_SIGNING_KEY") or SECRET_KEY,
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=env.int("JWT_ACCESS_MINUTES", default=15)),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=7),
    "USER_ID_FIELD": "id",
    "USER_ID_CLAIM": "player_id",
    "AUTH_HEADER_TYPES": ("Bearer",),
    "UPDATE_LAST_LOGIN": False,
}

SPECTACULAR_SETTINGS = {
    "TITLE": "mmo API",
    "DESCRIPTION": "REST API of the mmo game server; docs/api.md walks through it.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # The schema and its browsable docs are public, like any API reference.
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
}

# Internationalization and static files --------------------------------------

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "mmo" / "static"]
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(VAR_DIR / "static")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
# In development static files come straight from the apps; in production from
# `collectstatic` output, which the manifest storage fingerprints.
WHITENOISE_USE_FINDERS = DEBUG

# Security -------------------------------------------------------------------

# Behind a TLS-terminating proxy, trust its X-Forwarded-Proto header.
if env.bool("USE_X_FORWARDED_PROTO", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_CONTENT_TYPE_NOSNIFF = True

# GDAL older than 3.9 (Debian 12 ships 3.6) cannot block file and network
# access while resolving spatial references. Clients can only send GeoJSON and
# WKT, for which Django refuses an external CRS itself; no raster or file path
# is ever read from a client; and PROJ's network access stays off.
os.environ.setdefault("PROJ_NETWORK", "OFF")
SILENCED_SYSTEM_CHECKS = ["gis.W001"]
X_FRAME_OPTIONS = "DENY"

# Logging --------------------------------------------------------------------

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"},
    },
    # A warning or error that repeats is written once a minute, with a count
    # of those left out (mmo/logs.py): under load, the log stays readable.
    "filters": {"rate_limit": {"()": "mmo.logs.RateLimitFilter", "interval": 60.0}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["rate_limit"],
        }
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
    },
}

# Maps in the admin ----------------------------------------------------------

# The map library ships with the project's static files; only the base-map
# tiles come from this URL, so the admin works offline (without a base map).
MAP_TILE_URL = (
    env.str("MAP_TILE_URL", default="") or "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
)
MAP_TILE_ATTRIBUTION = env.str("MAP_TILE_ATTRIBUTION", default="© OpenStreetMap contributors")

# Game -----------------------------------------------------------------------

# Where new players start and the start flag stands, as (longitude, latitude).
GAME_START_POINT = tuple(env.list("GAME_START_POINT", cast=float, default=[0.0, 0.0]))
# Resources every new player receives: enough for a first flag.
GAME_STARTER_KIT = {
    "wood": env.int("GAME_STARTER_WOOD", default=10),
    "leather": env.int("GAME_STARTER_LEATHER", default=10),
    "stone": env.int("GAME_STARTER_STONE", default=5),
    "roc_feathers": env.int("GAME_STARTER_ROC_FEATHERS", default=2),
    "gold": env.int("GAME_STARTER_GOLD", default=20),
}
# Flag rules (the original FlagSystem).
FLAG_RADIUS_M = env.float("FLAG_RADIUS_M", default=500.0)  # the land a flag claims
FLAG_VISUAL_BOUNDARY_M = env.float("FLAG_VISUAL_BOUNDARY_M", default=600.0)
FLAG_HEALTH = env.int("FLAG_HEALTH", default=200)
# A later flag lies within this of an own flag; a first flag within this of any
# player's standing flag (the edge of a settlement)...
FLAG_PLACEMENT_RANGE_M = env.float("FLAG_PLACEMENT_RANGE_M", default=600.0)
# ...or within this of a start hub (a system flag marked as one).
FLAG_HUB_RANGE_M = env.float("FLAG_HUB_RANGE_M", default=3000.0)
# New players start at the first hub (in the hubs' order) with fewer players'
# flags than this within its range; when every hub has, at the least crowded.
FLAG_HUB_CAPACITY = env.int("FLAG_HUB_CAPACITY", default=50)
# A flag stands only if its territory keeps at least this share of its disc.
FLAG_MIN_TERRITORY_SHARE = env.float("FLAG_MIN_TERRITORY_SHARE", default=0.25)
# The spots search ("where may I build?"): most spots answered, and the
# spacing of the grid of candidate spots, in metres.
FLAG_SPOTS_LIMIT = env.int("FLAG_SPOTS_LIMIT", default=10)
FLAG_SPOTS_STEP_M = env.float("FLAG_SPOTS_STEP_M", default=100.0)
FLAG_MAX_TOLL = env.int("FLAG_MAX_TOLL", default=1000)
FLAG_ABANDON_AFTER_DAYS = env.int("FLAG_ABANDON_AFTER_DAYS", default=14)
FLAG_PLACE_COST = {"wood": 3, "leather": 3}
FLAG_HARDEN_COST = {"stone": 2}
FLAG_TAKEOVER_COST = {"wood": 3, "leather": 3}
FLAG_TELEPORT_TO_SYSTEM_COST = {"roc_feathers": 2}
FLAG_REMOVE_REFUNDS = {
    "normal": {"wood": 1, "leather": 1},
    "hardened": {"wood": 1, "leather": 1, "stone": 1},
    "roc-shrine": {"wood": 5, "stone": 5},
    "guard-tower": {"wood": 10, "stone": 10},
}

# Movement rules (the original MovementSystem).
MOVEMENT_MAX_SPEED = env.float("MOVEMENT_MAX_SPEED", default=5.0)  # metres per second
MOVEMENT_JITTER_M = env.float("MOVEMENT_JITTER_M", default=5.0)  # GPS noise forgiven
# A client may report seldom: up to this many seconds of walking count at once.
MOVEMENT_BURST_SECONDS = env.float("MOVEMENT_BURST_SECONDS", default=10.0)
MOVEMENT_RANGE_M = env.float("MOVEMENT_RANGE_M", default=600.0)  # from an own flag or the start
# Interest cells: a player hears moves from their cell and the eight around it.
MOVEMENT_CELL_SIZE_M = env.float("MOVEMENT_CELL_SIZE_M", default=300.0)
# Accepted positions reach PostgreSQL in one batch per interval.
MOVEMENT_FLUSH_INTERVAL = env.float("MOVEMENT_FLUSH_INTERVAL", default=1.0)
MOVEMENT_FLUSH_MAX_BACKOFF = env.float("MOVEMENT_FLUSH_MAX_BACKOFF", default=30.0)
# Online players older than this without a refresh count as gone (a crashed process).
PRESENCE_TTL = env.float("PRESENCE_TTL", default=30.0)
# The staff's world map: seconds between two pushes of the online players in its view.
STAFF_MAP_PUSH_SECONDS = env.float("STAFF_MAP_PUSH_SECONDS", default=0.5)
# Seconds between two checks of its admin session by a staff socket: the safety net for
# sessions that end without an event (expired, deleted in the database, Redis away).
STAFF_MAP_ACCESS_CHECK_SECONDS = env.float("STAFF_MAP_ACCESS_CHECK_SECONDS", default=10.0)

# WebSocket limits, per connection.
WEBSOCKET_AUTH_TIMEOUT = env.float("WEBSOCKET_AUTH_TIMEOUT", default=10.0)
# Threads on which sockets read what their login needs (token, player, position, anchors):
# after a process dies its players log in again on the others all at once, and these
# reads must not queue behind each other, nor behind the game's other database work.
# Each thread holds a database connection while it reads (DATABASE_POOL_MAX_SIZE).
WEBSOCKET_LOGIN_THREADS = env.int("WEBSOCKET_LOGIN_THREADS", default=4)
# Game sockets open and not yet authenticated, at most, per process; the next handshake
# is refused with 503 and Retry-After (mmo/socket/admission.py): a storm of returning
# players waits its turn at the client, not inside a process that would answer every
# login seconds late. A process sharing two cores with its peers logged returning players
# in at 50 a second on the slowest machine measured, so 50 are each answered within about
# a second; a smaller limit kept them out longer (docs/performance.md). 0: no limit.
WEBSOCKET_LOGINS_IN_PROGRESS = env.int("WEBSOCKET_LOGINS_IN_PROGRESS", default=50)
WEBSOCKET_MAX_FRAME_BYTES = env.int("WEBSOCKET_MAX_FRAME_BYTES", default=16 * 1024)
# Frames a client that is not reading may fall behind by before it is dropped.
WEBSOCKET_MAX_BACKLOG_BYTES = env.int("WEBSOCKET_MAX_BACKLOG_BYTES", default=1024 * 1024)
# Refuse to serve WebSockets on a server whose backlog cannot be bounded (mmo/servers/):
# production refuses; development tolerates any server, unbounded.
WEBSOCKET_REQUIRE_BACKLOG_BOUND = False
WEBSOCKET_RATE = env.float("WEBSOCKET_RATE", default=20.0)  # messages per second
WEBSOCKET_BURST = env.int("WEBSOCKET_BURST", default=40)
# Errors (bad frames, rate limiting) tolerated within ten seconds before closing.
WEBSOCKET_ABUSE_LIMIT = env.int("WEBSOCKET_ABUSE_LIMIT", default=50)
CHAT_MAX_LENGTH = env.int("CHAT_MAX_LENGTH", default=500)
CHAT_RATE = env.float("CHAT_RATE", default=1.0)  # messages per second
CHAT_BURST = env.int("CHAT_BURST", default=5)
# Chat rooms: how many a player may create, how much history a join sends, how
# many rooms one socket may have joined, and how long messages are kept.
CHAT_ROOMS_PER_PLAYER = env.int("CHAT_ROOMS_PER_PLAYER", default=5)
CHAT_HISTORY_LENGTH = env.int("CHAT_HISTORY_LENGTH", default=50)
CHAT_ROOMS_PER_CONNECTION = env.int("CHAT_ROOMS_PER_CONNECTION", default=20)
CHAT_RETENTION_DAYS = env.int("CHAT_RETENTION_DAYS", default=90)
# Crowds (movement/crowd.py): players each socket hears at full rate (its nearest),
# moves per second it hears of the others, and the tick of batched frames: every
# WEBSOCKET_TICK_MS (20 a second), lengthened up to WEBSOCKET_TICK_MAX_MS
# so that a process writes at most WEBSOCKET_TICK_FRAMES batched frames a second.
# Each frame is a write to a socket, the largest cost of a crowd; past that rate
# the tick would take the event loop from the moves it answers.
WEBSOCKET_VISIBLE_PLAYERS = env.int("WEBSOCKET_VISIBLE_PLAYERS", default=50)
WEBSOCKET_FAR_UPDATES = env.float("WEBSOCKET_FAR_UPDATES", default=5.0)
WEBSOCKET_TICK_MS = env.int("WEBSOCKET_TICK_MS", default=50)
WEBSOCKET_TICK_MAX_MS = env.int("WEBSOCKET_TICK_MAX_MS", default=200)
WEBSOCKET_TICK_FRAMES = env.int("WEBSOCKET_TICK_FRAMES", default=10_000)
# Listing queries (get-players, get-flags) answer at most this many items.
WEBSOCKET_LIST_LIMIT = env.int("WEBSOCKET_LIST_LIMIT", default=500)
# How far around the player a `request-flags` without area or box looks (metres).
WEBSOCKET_FLAGS_AROUND_M = env.float("WEBSOCKET_FLAGS_AROUND_M", default=2000)

# Leaderboards: the largest score a trusted caller may post, how many records a
# read returns at most (top N, and on each side of a player), and how often at
# most a connected player hears that their rank changed on one board (seconds).
LEADERBOARD_MAX_SCORE = env.int("LEADERBOARD_MAX_SCORE", default=10**12)
LEADERBOARD_MAX_LIMIT = env.int("LEADERBOARD_MAX_LIMIT", default=100)
LEADERBOARD_RANK_UPDATE_INTERVAL = env.float("LEADERBOARD_RANK_UPDATE_INTERVAL", default=2.0)

# Largest area boundary accepted, in vertices: bigger ones would slow every
# point lookup and every client that draws them.
AREA_MAX_VERTICES = env.int("AREA_MAX_VERTICES", default=10_000)
