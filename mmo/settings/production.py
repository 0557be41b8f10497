"""
Production: the shared settings plus HTTPS hardening.

`manage.py check --deploy` passes with these defaults. A deployment that serves
plain HTTP on a trusted network (a local Compose trial) may turn the redirect
and secure cookies off through the environment.
"""

from .base import *  # noqa: F403
from .base import env

if DEBUG:  # noqa: F405
    from django.core.exceptions import ImproperlyConfigured

    raise ImproperlyConfigured("The production settings refuse DEBUG=true.")

SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
# Load balancers and container health checks probe over plain HTTP.
SECURE_REDIRECT_EXEMPT = [r"^api/health/?$"]
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=True)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=True)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=60 * 60 * 24 * 365)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=True)

# A server whose stalled clients cannot be bounded lets one of them hold up every
# player near it: the process refuses to start on it (docs/operations.md).
WEBSOCKET_REQUIRE_BACKLOG_BOUND = True

# The `daphne` app is there for `runserver` alone (mmo/settings/base.py); production
# serves through deploy/serve.sh, or daphne's own command line, neither of which
# needs it. Installed, its checks import daphne's server, Twisted's reactor and
# TLS: about 23 MiB of every process.
INSTALLED_APPS = [app for app in INSTALLED_APPS if app != "daphne"]  # noqa: F405
