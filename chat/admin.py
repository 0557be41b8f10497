"""
Chat moderation: rooms (staff create the standard ones here), messages
(search, delete: members online see a deleted message disappear) and mutes (a
muted player's messages are refused at once, on every server process).
"""

from datetime import timedelta

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.hashers import make_password
from django.utils import timezone

from chat.models import ChatMembership, ChatMessage, ChatMute, ChatRoom, RoomKind
from chat.services import ROOM_ID_PATTERN, messages_delete


class ChatRoomAdminForm(forms.ModelForm):
    new_password = forms.CharField(
        required=False,
        widget=forms.PasswordInput(render_value=False),
        help_text="For a private room: its password (stored as an Argon2 hash). "
        "Leave empty to keep the current one.",
    )

    class Meta:
        model = ChatRoom
        fields = ["id", "name", "kind", "area", "created_by"]

    def clean_id(self):
        room_id = self.cleaned_data["id"]
        if not ROOM_ID_PATTERN.match(room_id):
            raise forms.ValidationError(
                "1–80 of a–z, 0–9, - and _, starting and ending with a letter or digit."
            )
        return room_id

    def clean(self):
        cleaned = super().clean()
        kind, new_password = cleaned.get("kind"), cleaned.get("new_password")
        has_password = bool(new_password) or bool(self.instance.password)
        if kind == RoomKind.PRIVATE and not has_password:
            self.add_error("new_password", "A private room needs a password.")
        if kind == RoomKind.AREA and not cleaned.get("area"):
            self.add_error("area", "An area's room names its area.")
        return cleaned

    def save(self, commit=True):
        room = super().save(commit=False)
        if room.kind != RoomKind.PRIVATE:
            room.password = ""
        elif self.cleaned_data.get("new_password"):
            room.password = make_password(self.cleaned_data["new_password"])
        if commit:
            room.save()
        return room


class MembershipInline(admin.TabularInline):
    model = ChatMembership
    fields = ["player", "joined_at"]
    readonly_fields = ["joined_at"]
    autocomplete_fields = ["player"]
    extra = 0


@admin.register(ChatRoom)
class ChatRoomAdmin(admin.ModelAdmin):
    """Rooms: standard (created here), players' own, areas' local chats, private conversations."""

    form = ChatRoomAdminForm
    list_display = ["id", "name", "kind", "area", "created_by", "created_at"]
    list_filter = ["kind"]
    search_fields = ["id", "name", "created_by__username"]
    list_select_related = ["area", "created_by"]
    autocomplete_fields = ["created_by"]
    readonly_fields = ["created_at"]
    inlines = [MembershipInline]

    def get_readonly_fields(self, request, obj=None):
        return [*self.readonly_fields, "id"] if obj is not None else self.readonly_fields


def _mute_senders(minutes: int, label: str):
    def mute(modeladmin, request, queryset):
        until = timezone.now() + timedelta(minutes=minutes)
        senders = {message.sender for message in queryset.select_related("sender")}
        for sender in senders:
            ChatMute.objects.create(
                player=sender,
                until=until,
                reason="muted from the messages list",
                muted_by=request.user,
            )
        modeladmin.message_user(
            request, f"Muted {len(senders)} player(s) for {label}.", messages.SUCCESS
        )

    mute.short_description = f"Mute the senders for {label}"
    mute.__name__ = f"mute_senders_{minutes}"
    return mute


@admin.register(ChatMessage)
class ChatMessageAdmin(admin.ModelAdmin):
    """Messages: search by text, sender or room; deleting one removes it from members' screens."""

    list_display = ["id", "room", "sender", "text", "created_at"]
    list_filter = ["room__kind", "created_at"]
    search_fields = ["text", "sender__username", "room__id", "room__name"]
    list_select_related = ["room", "sender"]
    readonly_fields = ["room", "sender", "text", "created_at"]
    date_hierarchy = "created_at"
    actions = ["delete_selected", _mute_senders(60, "an hour"), _mute_senders(24 * 60, "a day")]
    show_full_result_count = False  # counting millions of messages on every page is slow

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def delete_model(self, request, obj):
        messages_delete(message_ids=[obj.pk])

    def delete_queryset(self, request, queryset):
        messages_delete(message_ids=queryset.values_list("pk", flat=True))


@admin.register(ChatMute)
class ChatMuteAdmin(admin.ModelAdmin):
    """A muted player's messages are refused (`room-error {code: "muted"}`) until the time given."""

    list_display = ["player", "until", "reason", "muted_by", "created_at"]
    search_fields = ["player__username", "reason"]
    list_select_related = ["player", "muted_by"]
    autocomplete_fields = ["player"]
    fields = ["player", "until", "reason", "muted_by", "created_at"]
    readonly_fields = ["muted_by", "created_at"]

    def save_model(self, request, obj, form, change):
        if obj.muted_by_id is None:
            obj.muted_by = request.user
        super().save_model(request, obj, form, change)
