from django.conf import settings
from django.db import models
from django.db.models import Q

# Room ids end up in channel-layer group names (`room.<id>`), which must stay
# under 100 characters of [A-Za-z0-9._-].
ROOM_ID_MAX_LENGTH = 80


class RoomKind(models.TextChoices):
    PUBLIC = "public", "public: anyone may join"
    PRIVATE = "private", "private: joining takes the password"
    AREA = "area", "an area's local chat"
    DIRECT = "direct", "a private conversation of two players"


class ChatRoom(models.Model):
    """
    A chat room: a standard room staff created (Global, Trade…), one a player
    created (public, or private behind an Argon2-hashed password), an area's
    local chat, or the private conversation of two players.
    """

    Kind = RoomKind

    id = models.SlugField(primary_key=True, max_length=ROOM_ID_MAX_LENGTH)
    name = models.CharField(max_length=100)
    kind = models.CharField(max_length=10, choices=RoomKind.choices, default=RoomKind.PUBLIC)
    password = models.CharField(
        max_length=128, blank=True, help_text="Argon2 hash; set only for private rooms."
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="chat_rooms_created",
        help_text="The player who created it; empty for rooms of the game (staff, areas).",
    )
    area = models.OneToOneField(
        "areas.Area",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="chat_room",
        help_text="Set for an area's local chat.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "chat_rooms"
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["created_by"], name="chat_rooms_created_by_idx")]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=RoomKind.values), name="chat_rooms_kind_known"
            ),
            models.CheckConstraint(
                condition=~Q(kind="private") | ~Q(password=""),
                name="chat_rooms_private_rooms_have_a_password",
            ),
            models.CheckConstraint(
                condition=~Q(kind="area") | Q(area__isnull=False),
                name="chat_rooms_area_rooms_have_an_area",
            ),
        ]

    def __str__(self):
        return self.name

    @property
    def is_private(self) -> bool:
        """Whether its messages are for its members only."""
        return self.kind in (RoomKind.PRIVATE, RoomKind.DIRECT)


class ChatMembership(models.Model):
    room = models.ForeignKey(ChatRoom, on_delete=models.CASCADE, related_name="memberships")
    player = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="chat_memberships"
    )
    joined_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "chat_memberships"
        constraints = [
            models.UniqueConstraint(fields=["room", "player"], name="chat_memberships_unique"),
        ]
        indexes = [models.Index(fields=["player"], name="chat_memberships_player_idx")]

    def __str__(self):
        return f"{self.player} in {self.room_id}"


class ChatMessage(models.Model):
    """A message said in a room. Ids grow with time: history pages by id."""

    id = models.BigAutoField(primary_key=True)
    room = models.ForeignKey(ChatRoom, on_delete=models.CASCADE, related_name="messages")
    sender = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="chat_messages"
    )
    text = models.TextField()
    created_at = models.DateTimeField()

    class Meta:
        db_table = "chat_messages"
        ordering = ["id"]
        indexes = [
            # History: the latest messages of a room, then those before a cursor.
            models.Index(fields=["room", "-id"], name="chat_messages_room_id_idx"),
            # Retention deletes the oldest first.
            models.Index(fields=["created_at"], name="chat_messages_created_at_idx"),
        ]

    def __str__(self):
        return self.text[:50]


class ChatMute(models.Model):
    """Staff silenced a player in every room until `until`."""

    player = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="chat_mutes"
    )
    until = models.DateTimeField()
    reason = models.CharField(max_length=200, blank=True)
    muted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "chat_mutes"
        ordering = ["-until"]
        indexes = [models.Index(fields=["player", "until"], name="chat_mutes_player_until_idx")]

    def __str__(self):
        return f"{self.player} muted until {self.until:%Y-%m-%d %H:%M}"
