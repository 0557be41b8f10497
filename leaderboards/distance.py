"""Metres walked by a process's players, kept in memory until the next position flush."""


class WalkedDistances:
    """
    Accepted moves add their length here; the flush takes the whole metres
    and keeps the fractions for next time, so short steps add up.
    """

    def __init__(self):
        self._metres: dict[str, float] = {}

    def add(self, player_id: str, metres: float) -> None:
        self._metres[player_id] = self._metres.get(player_id, 0.0) + metres

    def take(self) -> dict[str, int]:
        whole = {}
        for player_id, metres in list(self._metres.items()):
            if metres >= 1:
                whole[player_id] = int(metres)
                self._metres[player_id] = metres - whole[player_id]
        return whole

    def put_back(self, whole: dict[str, int]) -> None:
        """A flush that failed: its metres count again next time."""
        for player_id, metres in whole.items():
            self.add(player_id, metres)

    def forget(self, player_id: str) -> None:
        """A player who left: a fraction of a metre is not worth keeping."""
        if self._metres.get(player_id, 0.0) < 1:
            self._metres.pop(player_id, None)
