"""Data access for players, their profiles, inventories and login sessions."""

import uuid
from dataclasses import dataclass
from datetime import datetime

from django.db import IntegrityError, transaction
from django.db.models import F, Q, QuerySet
from django.utils import timezone

from mmo import cache
from players.models import INVENTORY_RESOURCES, Inventory, Player, PlayerProfile, Session


class PlayerConflict(Exception):
    """A unique field already belongs to another player."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field
        self.message = message


# Constraint (or column) names in a unique violation, and what they mean.
_UNIQUE_VIOLATIONS = {
    "players_username_ci_unique": ("username", "That username is already taken."),
    "players_email_ci_unique": ("email", "That email is already registered."),
    "players_username_key": ("username", "That username is already taken."),
    "players.username": ("username", "That username is already taken."),
}


def _conflict_from(error: IntegrityError) -> PlayerConflict | None:
    text = str(error)
    for marker, (field, message) in _UNIQUE_VIOLATIONS.items():
        if marker in text:
            return PlayerConflict(field, message)
    return None


class PlayerRepository:
    """Players by id (cached for PLAYER_TTL) and by login."""

    @staticmethod
    def cache_key(player_id) -> str:
        return cache.key("player", player_id)

    @classmethod
    def get_by_id(cls, player_id, *, cached: dict | None = None) -> Player | None:
        def load():
            return Player.objects.filter(pk=player_id).first()

        return cache.get_or_load(
            cls.cache_key(player_id), load, timeout=cache.PLAYER_TTL, cached=cached
        )

    @staticmethod
    def by_login(login: str) -> Player | None:
        """
        The player whose username or email this is (case-insensitive), with
        profile and inventory: a login answers with the player's state.
        """
        return (
            Player.objects.select_related("profile", "inventory")
            .filter(Q(username__iexact=login) | Q(email__iexact=login))
            .first()
        )

    @staticmethod
    def with_profile(player_id) -> Player | None:
        return Player.objects.select_related("profile").filter(pk=player_id).first()

    @staticmethod
    def username_taken(username: str, *, exclude_id=None) -> bool:
        return Player.objects.filter(username__iexact=username).exclude(pk=exclude_id).exists()

    @staticmethod
    def email_taken(email: str, *, exclude_id=None) -> bool:
        return Player.objects.filter(email__iexact=email).exclude(pk=exclude_id).exists()

    @staticmethod
    def create(*, username: str, email: str, password: str | None, **fields) -> Player:
        player = Player(username=username, email=Player.objects.normalize_email(email), **fields)
        player.set_password(password)
        try:
            with transaction.atomic():
                player.save(force_insert=True)
        except IntegrityError as error:
            conflict = _conflict_from(error)
            if conflict is None:
                raise
            raise conflict from error
        return player

    @staticmethod
    def update(player: Player, **fields) -> Player:
        for name, value in fields.items():
            setattr(player, name, value)
        try:
            with transaction.atomic():
                player.save(update_fields=list(fields))
        except IntegrityError as error:
            conflict = _conflict_from(error)
            if conflict is None:
                raise
            raise conflict from error
        return player  # the post_save receiver invalidates the cache

    @staticmethod
    def record_login(player: Player) -> None:
        """
        Stamp last_login in one UPDATE. Only the admin shows it, and the admin
        reads the database, so the cached player and state stay as they are.
        """
        player.last_login = timezone.now()
        Player.objects.filter(pk=player.pk).update(last_login=player.last_login)

    @staticmethod
    def delete(player: Player) -> None:
        player.delete()

    @classmethod
    def invalidate(cls, player_id) -> None:
        cache.invalidate([cls.cache_key(player_id), PlayerStateRepository.cache_key(player_id)])


@dataclass(frozen=True)
class PlayerState:
    """What a player sees of themself: account, profile and inventory."""

    player_id: uuid.UUID
    username: str
    email: str
    avatar_url: str
    is_staff: bool
    created_at: datetime
    display_name: str
    bio: str
    level: int
    experience: int
    health: int
    max_health: int
    inventory: dict[str, int]


class PlayerStateRepository:
    """A player's own state, cached in one entry for PLAYER_TTL."""

    @staticmethod
    def cache_key(player_id) -> str:
        return cache.key("player", player_id, "state")

    @classmethod
    def get(cls, player_id) -> PlayerState | None:
        def load():
            player = (
                Player.objects.select_related("profile", "inventory").filter(pk=player_id).first()
            )
            return None if player is None else cls.of(player)

        return cache.get_or_load(cls.cache_key(player_id), load, timeout=cache.PLAYER_TTL)

    @staticmethod
    def of(player: Player) -> PlayerState:
        """
        The state of a player loaded with its profile and inventory, as read
        then: it is not cached, since a change made meanwhile elsewhere would
        be hidden behind it.
        """
        profile, inventory = player.profile, player.inventory
        return PlayerState(
            player_id=player.pk,
            username=player.username,
            email=player.email,
            avatar_url=player.avatar_url,
            is_staff=player.is_staff,
            created_at=player.created_at,
            display_name=profile.display_name,
            bio=profile.bio,
            level=profile.level,
            experience=profile.experience,
            health=profile.health,
            max_health=profile.max_health,
            inventory={name: getattr(inventory, name) for name in INVENTORY_RESOURCES},
        )


class ProfileRepository:
    @staticmethod
    def create(*, player: Player, display_name: str) -> PlayerProfile:
        return PlayerProfile.objects.create(player=player, display_name=display_name)

    @staticmethod
    def update(player_id, **fields) -> PlayerProfile:
        profile = PlayerProfile.objects.select_for_update().get(pk=player_id)
        for name, value in fields.items():
            setattr(profile, name, value)
        profile.save(update_fields=[*fields, "updated_at"])
        return profile


class InventoryRepository:
    @staticmethod
    def create(*, player: Player, counts: dict[str, int]) -> Inventory:
        return Inventory.objects.create(player=player, **counts)

    @staticmethod
    def debit(player_id, costs: dict[str, int]) -> bool:
        """
        Take `costs` out of the inventory in one conditional UPDATE; False (and
        nothing taken) if any count is short. Concurrent debits queue on the
        row, and each sees the other's result, so a count never goes negative.
        """
        costs = {resource: amount for resource, amount in costs.items() if amount}
        if not costs:
            return True
        changed = Inventory.objects.filter(
            pk=player_id, **{f"{resource}__gte": amount for resource, amount in costs.items()}
        ).update(**{resource: F(resource) - amount for resource, amount in costs.items()})
        if changed:
            PlayerRepository.invalidate(player_id)
        return bool(changed)

    @staticmethod
    def credit(player_id, amounts: dict[str, int]) -> None:
        amounts = {resource: amount for resource, amount in amounts.items() if amount}
        if amounts:
            Inventory.objects.filter(pk=player_id).update(
                **{resource: F(resource) + amount for resource, amount in amounts.items()}
            )
            PlayerRepository.invalidate(player_id)

    @staticmethod
    def get(player_id) -> Inventory | None:
        return Inventory.objects.filter(pk=player_id).first()


@dataclass(frozen=True)
class SessionValidity:
    player_id: uuid.UUID
    is_valid: bool
    expires_at: datetime

    def allows(self, player_id) -> bool:
        return (
            self.is_valid
            and str(self.player_id) == str(player_id)
            and self.expires_at > timezone.now()
        )


class SessionRepository:
    """Login sessions. Their validity is cached; every change invalidates it."""

    @staticmethod
    def cache_key(session_id) -> str:
        return cache.key("session", session_id)

    @staticmethod
    def build(*, player: Player, ip_address: str | None, user_agent: str) -> Session:
        """A new session, not yet saved: its id and expiry are set, for the tokens it issues."""
        return Session(
            player=player,
            ip_address=ip_address,
            user_agent=user_agent[:512],
            last_seen_at=timezone.now(),
        )

    @staticmethod
    def insert(session: Session) -> None:
        session.save(force_insert=True)

    @staticmethod
    def get(session_id) -> Session | None:
        return Session.objects.filter(pk=session_id).first()

    @staticmethod
    def get_for_update(session_id) -> Session | None:
        return Session.objects.select_for_update().filter(pk=session_id).first()

    @staticmethod
    def only(session_id) -> QuerySet[Session]:
        return Session.objects.filter(pk=session_id)

    @staticmethod
    def of_player(player_id) -> QuerySet[Session]:
        return Session.objects.filter(player_id=player_id).order_by("-created_at")

    @classmethod
    def cached_with_player(cls, *, session_id, player_id) -> dict:
        """
        What the cache holds of a session's validity and of its player, in one
        round trip: pass it as `cached` to is_active and PlayerRepository.get_by_id.
        """
        return cache.get_many([cls.cache_key(session_id), PlayerRepository.cache_key(player_id)])

    @classmethod
    def is_active(cls, *, session_id, player_id, cached: dict | None = None) -> bool:
        def load():
            session = (
                Session.objects.filter(pk=session_id)
                .only("player_id", "is_valid", "expires_at")
                .first()
            )
            if session is None:
                return SessionValidity(
                    player_id=uuid.UUID(int=0), is_valid=False, expires_at=timezone.now()
                )
            return SessionValidity(session.player_id, session.is_valid, session.expires_at)

        validity = cache.get_or_load(
            cls.cache_key(session_id), load, timeout=cache.SESSION_TTL, cached=cached
        )
        return validity.allows(player_id)

    @staticmethod
    def save(session: Session, *fields: str) -> None:
        session.save(update_fields=list(fields))

    @classmethod
    def revoke(cls, sessions: QuerySet[Session]) -> list[uuid.UUID]:
        """Mark the valid ones of `sessions` invalid; returns their ids."""
        session_ids = list(sessions.filter(is_valid=True).values_list("pk", flat=True))
        if session_ids:
            Session.objects.filter(pk__in=session_ids).update(
                is_valid=False, last_seen_at=timezone.now()
            )
            cache.invalidate(cls.cache_key(session_id) for session_id in session_ids)
        return session_ids
