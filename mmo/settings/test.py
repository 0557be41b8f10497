"""Test settings: the shared settings with a fixed key and a cheaper Argon2 cost."""

import os

os.environ.setdefault("SECRET_KEY", "tests-only-key-never-used-outside-the-test-suite-0123456789")

from .base import *  # noqa: E402, F403

# Argon2 stays the hasher under test; only its cost drops so that suites that
# create thousands of players stay fast.
PASSWORD_HASHERS = ["tests.hashers.CheapArgon2PasswordHasher"]

# Tests render pages without running collectstatic first.
STORAGES = {
    **STORAGES,  # noqa: F405
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# Static files come from the apps (finders), never from a collected folder.
STATIC_ROOT = None
WHITENOISE_USE_FINDERS = True

# Generous limits so that suites are not throttled; throttling tests lower them.
REST_FRAMEWORK = {
    **REST_FRAMEWORK,  # noqa: F405
    "DEFAULT_THROTTLE_RATES": {
        scope: "100000/minute"
        for scope in REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]  # noqa: F405
    },
}
CACHES["default"]["KEY_PREFIX"] = "mmo-test"  # noqa: F405
# The suite's requests go through Django's test client, in this process.
AUTH_WORKERS = False

# Redis publish/subscribe channels ignore database numbers: test runs sharing
# one Redis would hear each other's events. Each run talks on channels of its own.
if REDIS_URL:  # noqa: F405
    CHANNEL_LAYERS["default"]["CONFIG"]["prefix"] = f"mmo-test-{os.getpid()}"  # noqa: F405
