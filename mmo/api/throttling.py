from rest_framework.permissions import SAFE_METHODS
from rest_framework.settings import api_settings
from rest_framework.throttling import ScopedRateThrottle, SimpleRateThrottle

# Placing, hardening, removing and teleporting to flags, over REST and WebSocket alike.
FLAG_ACTIONS = "flag-actions"
# Searches for where one may build (each tries hundreds of candidate spots), REST and WebSocket alike.
FLAG_SPOTS = "flag-spots"


class ScopedThrottle(ScopedRateThrottle):
    """
    DRF's scoped throttle, reading the rates when asked rather than at import,
    so that a change of settings (tests, reloads) takes effect.
    """

    def get_rate(self):
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)


class WriteThrottle(ScopedThrottle):
    """The scoped throttle for writes only: a view's reads stay unlimited."""

    def allow_request(self, request, view):
        if request.method in SAFE_METHODS:
            return True
        return super().allow_request(request, view)


class PlayerThrottle(SimpleRateThrottle):
    """
    A scope's rate for one player outside a request (a WebSocket message). It
    keeps its count under the cache key ScopedThrottle uses for that player, so
    REST and WebSocket draw on one budget.
    """

    def __init__(self, scope: str, player_id):
        self.scope = scope
        self.player_id = player_id
        super().__init__()

    def get_rate(self):
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": self.player_id}

    def allow(self) -> bool:
        return self.allow_request(None, None)
