from django.contrib.auth.hashers import Argon2PasswordHasher


class CheapArgon2PasswordHasher(Argon2PasswordHasher):
    """Argon2 with the smallest cost, for test suites that create many players."""

    time_cost = 1
    memory_cost = 64
    parallelism = 1
