from players.hashers import PlayerArgon2PasswordHasher


class CheapArgon2PasswordHasher(PlayerArgon2PasswordHasher):
    """The players' hasher with the smallest cost, for test suites that create many players."""

    time_cost = 1
    memory_cost = 64
    parallelism = 1
