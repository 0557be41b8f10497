import uuid
from dataclasses import dataclass, field


@dataclass
class Config:
    servers: tuple[str, ...]  # base URLs; players are dealt round-robin
    players: int
    duration: float
    move_rate: float  # moves per second per player
    ramp: float  # connections opened per second
    centre: tuple[float, float]  # lng, lat
    radius: float  # metres: players are scattered within it
    mix: dict[str, float]  # per tick: probability of chat, rest, flags
    batched: bool = False  # ask for one players-moved frame per tick (batchMoves)
    crowd: bool = False  # no flags: every player walks within `radius` of where it spawned
    accounts: str | None = None  # a file of players to reuse (made if missing)
    password: str = "simulated-player-passphrase"
    prefix: str = field(default_factory=lambda: "sim" + uuid.uuid4().hex[:6])

    def server_of(self, index: int) -> str:
        return self.servers[index % len(self.servers)]
