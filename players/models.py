import uuid
from datetime import timedelta

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Lower
from django.utils import timezone

USERNAME_PATTERN = r"^[A-Za-z0-9_.-]{3,50}$"
SESSION_LIFETIME = timedelta(days=7)
INVENTORY_RESOURCES = ("wood", "leather", "stone", "roc_feathers", "gold")


class PlayerManager(BaseUserManager):
    use_in_migrations = True

    def create_user(self, username, email, password=None, **extra_fields):
        """Create a complete player (profile, position, inventory included)."""
        from players.services import player_register

        return player_register(username=username, email=email, password=password, **extra_fields)

    def create_superuser(self, username, email, password=None, **extra_fields):
        extra_fields.update(is_staff=True, is_superuser=True)
        return self.create_user(username, email, password, **extra_fields)

    def get_by_natural_key(self, username):
        return self.get(username__iexact=username)


class Player(AbstractBaseUser, PermissionsMixin):
    """A player account; also the staff login of the admin."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    username = models.CharField(
        max_length=50,
        unique=True,
        validators=[
            RegexValidator(
                USERNAME_PATTERN,
                "3 to 50 characters: letters, digits, underscore, dot or hyphen.",
            )
        ],
    )
    email = models.EmailField(max_length=254)
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    avatar_url = models.URLField(max_length=500, blank=True)

    objects = PlayerManager()

    USERNAME_FIELD = "username"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = ["email"]

    class Meta:
        db_table = "players"
        ordering = ["username"]
        constraints = [
            models.UniqueConstraint(
                Lower("username"),
                name="players_username_ci_unique",
                violation_error_message="That username is already taken.",
            ),
            models.UniqueConstraint(
                Lower("email"),
                name="players_email_ci_unique",
                violation_error_message="That email is already registered.",
            ),
            models.CheckConstraint(
                condition=Q(username__regex=USERNAME_PATTERN),
                name="players_username_format",
            ),
            models.CheckConstraint(condition=~Q(email=""), name="players_email_present"),
        ]

    def __str__(self):
        return self.username


class PlayerProfile(models.Model):
    player = models.OneToOneField(
        Player, on_delete=models.CASCADE, primary_key=True, related_name="profile"
    )
    display_name = models.CharField(max_length=50, blank=True)
    bio = models.TextField(max_length=500, blank=True)
    experience = models.BigIntegerField(default=0)
    level = models.IntegerField(default=1)
    health = models.IntegerField(default=100)
    max_health = models.IntegerField(default=100)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "player_profiles"
        constraints = [
            models.CheckConstraint(
                condition=Q(experience__gte=0), name="player_profiles_experience_non_negative"
            ),
            models.CheckConstraint(condition=Q(level__gte=1), name="player_profiles_level_min_1"),
            models.CheckConstraint(
                condition=Q(health__gte=0) & Q(health__lte=F("max_health")),
                name="player_profiles_health_in_range",
            ),
        ]

    def __str__(self):
        return f"profile of {self.player}"


class Inventory(models.Model):
    RESOURCES = INVENTORY_RESOURCES

    player = models.OneToOneField(
        Player, on_delete=models.CASCADE, primary_key=True, related_name="inventory"
    )
    wood = models.IntegerField(default=0)
    leather = models.IntegerField(default=0)
    stone = models.IntegerField(default=0)
    roc_feathers = models.IntegerField(default=0)
    gold = models.IntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "player_inventories"
        verbose_name_plural = "inventories"
        constraints = [
            models.CheckConstraint(
                condition=Q(**{f"{resource}__gte": 0}),
                name=f"player_inventories_{resource}_non_negative",
            )
            for resource in INVENTORY_RESOURCES
        ]

    def __str__(self):
        return f"inventory of {self.player}"


def session_expiry():
    return timezone.now() + SESSION_LIFETIME


class Session(models.Model):
    """One login of a player: the tokens it issues carry this id."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    player = models.ForeignKey(Player, on_delete=models.CASCADE, related_name="sessions")
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=512, blank=True)
    is_valid = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(default=session_expiry)
    last_seen_at = models.DateTimeField(null=True, blank=True)
    # The id of the one refresh token that may still be used; refreshing
    # rotates it, so a copy of an older one is recognised as stolen.
    refresh_jti = models.CharField(max_length=64, blank=True, editable=False)

    class Meta:
        db_table = "sessions"
        verbose_name = "login session"
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["player", "is_valid"], name="sessions_player_valid_idx")]
        constraints = [
            models.CheckConstraint(
                condition=Q(expires_at__gt=F("created_at")),
                name="sessions_expire_after_creation",
            ),
        ]

    def __str__(self):
        return f"session {self.id} of {self.player_id}"

    @property
    def is_active(self) -> bool:
        return self.is_valid and self.expires_at > timezone.now()
