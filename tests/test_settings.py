"""Settings come from the environment; each case runs a fresh interpreter."""

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def run_django(
    code: str, settings_module: str, prelude: str = "pass", **env
) -> subprocess.CompletedProcess:
    """`code` run after Django's setup in a fresh interpreter; `prelude` before it."""
    clean_env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "REDIS_URL", "SECRET_KEY", "DEBUG", "ALLOWED_HOSTS"}
    }
    clean_env.update(DJANGO_SETTINGS_MODULE=settings_module, **env)
    return subprocess.run(
        [sys.executable, "-c", f"{prelude}; import django; django.setup(); {code}"],
        cwd=ROOT,
        env=clean_env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def settings_of(tmp_path, **env) -> dict:
    code = (
        "from django.conf import settings; import json; print(json.dumps({"
        "'engine': settings.DATABASES['default']['ENGINE'],"
        "'options': {k: v for k, v in settings.DATABASES['default'].get('OPTIONS', {}).items()},"
        "'cache': settings.CACHES['default'],"
        "'layer': settings.CHANNEL_LAYERS['default']['BACKEND'],"
        "'hasher': settings.PASSWORD_HASHERS[0],"
        "'debug': settings.DEBUG}, default=str))"
    )
    result = run_django(code, "mmo.settings.base", MMO_VAR_DIR=str(tmp_path), **env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.smoke
def test_without_urls_the_server_runs_embedded(tmp_path):
    config = settings_of(tmp_path, DEBUG="true")

    assert config["engine"] == "django.contrib.gis.db.backends.spatialite"
    assert config["cache"]["BACKEND"] == "django.core.cache.backends.locmem.LocMemCache"
    assert config["layer"] == "channels.layers.InMemoryChannelLayer"
    assert config["hasher"] == "players.hashers.PlayerArgon2PasswordHasher"


def test_urls_select_postgis_with_a_pool_and_redis_with_timeouts(tmp_path):
    config = settings_of(
        tmp_path,
        DEBUG="true",
        DATABASE_URL="postgis://u:p@db.internal:5432/game",
        REDIS_URL="redis://cache.internal:6379/0",
    )

    assert config["engine"] == "django.contrib.gis.db.backends.postgis"
    assert config["options"]["pool"]["max_size"] >= 1
    assert config["cache"]["BACKEND"] == "django_redis.cache.RedisCache"
    assert config["cache"]["OPTIONS"]["SOCKET_CONNECT_TIMEOUT"] > 0
    assert config["cache"]["OPTIONS"]["SOCKET_TIMEOUT"] > 0
    assert config["layer"] == "channels_redis.pubsub.RedisPubSubChannelLayer"


def test_development_key_is_random_and_kept_only_with_debug(tmp_path):
    first = run_django(
        "from django.conf import settings; print(settings.SECRET_KEY)",
        "mmo.settings.base",
        DEBUG="true",
        MMO_VAR_DIR=str(tmp_path),
    )
    assert first.returncode == 0, first.stderr
    assert (tmp_path / "development-secret-key").read_text().strip() == first.stdout.strip()

    without_debug = run_django("pass", "mmo.settings.base", MMO_VAR_DIR=str(tmp_path))
    assert without_debug.returncode != 0
    assert "SECRET_KEY must be set" in without_debug.stderr


def test_production_settings_pass_the_deployment_check(tmp_path):
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env={
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "mmo.settings.production",
            "SECRET_KEY": secrets.token_urlsafe(50),
            "ALLOWED_HOSTS": "game.example.com",
            "DEBUG": "false",
            "USE_X_FORWARDED_PROTO": "true",  # behind the TLS proxy, as deployed
            "NUM_PROXIES": "1",
            "MMO_VAR_DIR": str(tmp_path),
        },
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_production_processes_load_neither_daphne_nor_twisted(tmp_path):
    # The daphne app serves `runserver`; its checks would import daphne's server,
    # Twisted's reactor and TLS into every production process (about 23 MiB), and
    # the daphne adapter of mmo/servers/backlog.py Twisted's interfaces (2 MiB).
    code = (
        "import sys, django.core.checks as checks; checks.run_checks();"
        "from mmo.servers import backlog, http, startup; import movement.consumers;"
        "from django.conf import settings;"
        "print(sorted(m for m in ('daphne', 'twisted', 'zope') if m in sys.modules),"
        " 'daphne' in settings.INSTALLED_APPS)"
    )
    production = run_django(
        code,
        "mmo.settings.production",
        DEBUG="false",
        SECRET_KEY=secrets.token_urlsafe(50),
        MMO_VAR_DIR=str(tmp_path),
    )
    development = run_django(code, "mmo.settings.base", DEBUG="true", MMO_VAR_DIR=str(tmp_path))

    assert production.returncode == 0, production.stderr
    assert production.stdout.split() == ["[]", "False"]
    assert development.stdout.strip().endswith("True")  # `runserver` serves ASGI


def test_production_settings_refuse_debug(tmp_path):
    result = run_django(
        "pass",
        "mmo.settings.production",
        DEBUG="true",
        SECRET_KEY=secrets.token_urlsafe(50),
        MMO_VAR_DIR=str(tmp_path),
    )

    assert result.returncode != 0
    assert "refuse DEBUG" in result.stderr


@pytest.mark.parametrize("debug", ["true", "false"])
def test_a_secret_key_starting_with_a_dollar_is_read_as_it_is(tmp_path, debug):
    # Random keys may begin with "$", which django-environ reads as a variable reference.
    (tmp_path / "development-secret-key").write_text("$from-the-key-file")
    env = {"MMO_VAR_DIR": str(tmp_path), "DEBUG": debug}
    if debug == "false":
        env["SECRET_KEY"] = "$from-the-environment"
    result = run_django(
        "from django.conf import settings; "
        "print(settings.SECRET_KEY, settings.SIMPLE_JWT['SIGNING_KEY'])",
        "mmo.settings.base",
        **env,
    )

    assert result.returncode == 0, result.stderr
    expected = "$from-the-key-file" if debug == "true" else "$from-the-environment"
    assert result.stdout.split() == [expected, expected]


def test_logins_served_at_once_leave_one_core_to_the_players(tmp_path):
    # A process allowed fewer cores (taskset, a container's cpuset) is told so
    # by its affinity.
    def auth_concurrency(cores: list[int], **env) -> int:
        result = run_django(
            "from django.conf import settings; print(settings.AUTH_CONCURRENCY)",
            "mmo.settings.base",
            prelude=f"import os; os.sched_setaffinity(0, {cores!r})",
            MMO_VAR_DIR=str(tmp_path),
            DEBUG="true",
            **env,
        )
        assert result.returncode == 0, result.stderr
        return int(result.stdout.strip().splitlines()[-1])

    cores = sorted(os.sched_getaffinity(0))
    expected = {1: 1, 2: 1, 3: 2, 4: 2}  # the rest of this machine's cores are not tried
    for count in range(1, min(len(cores), 4) + 1):
        assert auth_concurrency(cores[:count]) == expected[count], count
    assert auth_concurrency(cores[:1], AUTH_CONCURRENCY="6") == 6
