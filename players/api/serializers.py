from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import RegexValidator
from rest_framework import serializers

from mmo.api.serializers import SharedFieldsOutputSerializer, StrictInputSerializer
from players.models import USERNAME_PATTERN
from players.repositories import PlayerRepository

# Input -------------------------------------------------------------------------


class RegisterInputSerializer(StrictInputSerializer):
    username = serializers.CharField(
        min_length=3,
        max_length=50,
        validators=[
            RegexValidator(
                USERNAME_PATTERN, "Use 3 to 50 letters, digits, underscores, dots or hyphens."
            )
        ],
    )
    email = serializers.EmailField(max_length=254)
    password = serializers.CharField(max_length=128, write_only=True, trim_whitespace=False)
    displayName = serializers.CharField(max_length=50, required=False, allow_blank=True)

    def validate_username(self, username):
        if PlayerRepository.username_taken(username):
            raise serializers.ValidationError("That username is already taken.")
        return username

    def validate_email(self, email):
        if PlayerRepository.email_taken(email):
            raise serializers.ValidationError("That email is already registered.")
        return email

    def validate(self, data):
        from players.models import Player

        candidate = Player(username=data["username"], email=data["email"])
        try:
            validate_password(data["password"], user=candidate)
        except DjangoValidationError as error:
            raise serializers.ValidationError({"password": error.messages}) from error
        return data


class LoginInputSerializer(StrictInputSerializer):
    """
    Who logs in, under exactly one of three names: `login` (a username or an
    email), or `username` or `email` as clients of other servers send it.
    """

    login = serializers.CharField(max_length=254, required=False, help_text="Username or email.")
    username = serializers.CharField(max_length=254, required=False)
    email = serializers.CharField(max_length=254, required=False)
    password = serializers.CharField(max_length=128, trim_whitespace=False)

    IDENTIFIERS = ("login", "username", "email")

    def validate(self, data):
        given = [name for name in self.IDENTIFIERS if name in data]
        if len(given) != 1:
            raise serializers.ValidationError(
                {"login": ["Give exactly one of login, username or email."]}
            )
        return {"login": data[given[0]], "password": data["password"]}


class RefreshInputSerializer(StrictInputSerializer):
    refresh = serializers.CharField(max_length=2048)


class PasswordChangeInputSerializer(StrictInputSerializer):
    currentPassword = serializers.CharField(max_length=128, trim_whitespace=False)
    newPassword = serializers.CharField(max_length=128, trim_whitespace=False)


class AccountDeleteInputSerializer(StrictInputSerializer):
    password = serializers.CharField(max_length=128, trim_whitespace=False)


class ProfileUpdateInputSerializer(StrictInputSerializer):
    """The only fields a player may change about themself."""

    displayName = serializers.CharField(max_length=50, required=False, allow_blank=True)
    bio = serializers.CharField(max_length=500, required=False, allow_blank=True)
    avatarUrl = serializers.URLField(max_length=500, required=False, allow_blank=True)

    def validate_avatarUrl(self, url):
        if url and not url.lower().startswith("https://"):
            raise serializers.ValidationError("Use an https:// address.")
        return url


# Output ------------------------------------------------------------------------


class LatLngSerializer(serializers.Serializer):
    lat = serializers.FloatField()
    lng = serializers.FloatField()


class PlayerSelfOutputSerializer(SharedFieldsOutputSerializer):
    """A PlayerState: what a player sees of themself."""

    id = serializers.UUIDField(source="player_id")
    username = serializers.CharField()
    email = serializers.EmailField()
    avatarUrl = serializers.CharField(source="avatar_url")
    isStaff = serializers.BooleanField(source="is_staff")
    createdAt = serializers.DateTimeField(source="created_at")
    displayName = serializers.CharField(source="display_name")
    bio = serializers.CharField()
    level = serializers.IntegerField()
    experience = serializers.IntegerField()
    health = serializers.IntegerField()
    maxHealth = serializers.IntegerField(source="max_health")


class InventoryOutputSerializer(SharedFieldsOutputSerializer):
    wood = serializers.IntegerField()
    leather = serializers.IntegerField()
    stone = serializers.IntegerField()
    roc_feathers = serializers.IntegerField()
    gold = serializers.IntegerField()


class PlayerPublicOutputSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    username = serializers.CharField()
    displayName = serializers.CharField(source="profile.display_name")
    level = serializers.IntegerField(source="profile.level")
    avatarUrl = serializers.CharField(source="avatar_url")
    createdAt = serializers.DateTimeField(source="created_at")


class SessionOutputSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    ipAddress = serializers.IPAddressField(source="ip_address", allow_null=True)
    userAgent = serializers.CharField(source="user_agent")
    isValid = serializers.BooleanField(source="is_valid")
    createdAt = serializers.DateTimeField(source="created_at")
    expiresAt = serializers.DateTimeField(source="expires_at")
    lastSeenAt = serializers.DateTimeField(source="last_seen_at", allow_null=True)
    current = serializers.SerializerMethodField()

    def get_current(self, session) -> bool:
        return str(session.pk) == str(self.context.get("current_session_id"))


class TokenPairOutputSerializer(serializers.Serializer):
    access = serializers.CharField()
    refresh = serializers.CharField()
    tokenType = serializers.CharField(default="Bearer")
    expiresIn = serializers.IntegerField(help_text="Seconds the access token lasts.")


class LoginOutputSerializer(TokenPairOutputSerializer):
    sessionId = serializers.UUIDField()
    player = PlayerSelfOutputSerializer()
