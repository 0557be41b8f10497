"""Test settings: the shared settings with a cheaper Argon2 cost."""

from .base import *  # noqa: F403

# Argon2 stays the hasher under test; only its cost drops so that suites that
# create thousands of players stay fast.
PASSWORD_HASHERS = ["tests.hashers.CheapArgon2PasswordHasher"]
