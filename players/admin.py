from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm

from players.models import Inventory, Player, PlayerProfile, Session
from players.services import player_provision, sessions_revoke


class PlayerCreationForm(AdminUserCreationForm):
    class Meta(AdminUserCreationForm.Meta):
        model = Player
        fields = ["username", "email"]


class PlayerChangeForm(UserChangeForm):
    avatar_url = forms.URLField(max_length=500, required=False, assume_scheme="https")

    class Meta(UserChangeForm.Meta):
        model = Player
        fields = "__all__"


class ProfileInline(admin.StackedInline):
    model = PlayerProfile
    can_delete = False
    fields = ["display_name", "bio", "level", "experience", "health", "max_health", "updated_at"]
    readonly_fields = ["updated_at"]


class InventoryInline(admin.StackedInline):
    model = Inventory
    can_delete = False
    fields = [*Inventory.RESOURCES, "updated_at"]
    readonly_fields = ["updated_at"]


class SessionInline(admin.TabularInline):
    model = Session
    fields = [
        "id",
        "ip_address",
        "user_agent",
        "is_valid",
        "created_at",
        "expires_at",
        "last_seen_at",
    ]
    readonly_fields = fields
    can_delete = False
    extra = 0
    show_change_link = True
    ordering = ["-created_at"]

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Player)
class PlayerAdmin(UserAdmin):
    form = PlayerChangeForm
    add_form = PlayerCreationForm
    list_display = ["username", "email", "is_active", "is_staff", "created_at", "last_login"]
    list_filter = ["is_active", "is_staff", "is_superuser"]
    search_fields = ["username", "email"]
    ordering = ["username"]
    readonly_fields = ["id", "created_at", "last_login"]
    fieldsets = [
        (None, {"fields": ["id", "username", "email", "password", "avatar_url"]}),
        (
            "Permissions",
            {"fields": ["is_active", "is_staff", "is_superuser", "groups", "user_permissions"]},
        ),
        ("Dates", {"fields": ["created_at", "last_login"]}),
    ]
    add_fieldsets = [
        (
            None,
            {
                "classes": ["wide"],
                "fields": ["username", "email", "usable_password", "password1", "password2"],
            },
        ),
    ]
    # Apps above this one add theirs (movement/admin.py: the position).
    inlines = [ProfileInline, InventoryInline, SessionInline]

    def get_inlines(self, request, obj):
        # A player being added gets its profile, position and inventory from the service.
        return self.inlines if obj is not None else []

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if not change:
            player_provision(player=obj)


@admin.register(Session)
class SessionAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "player",
        "ip_address",
        "is_valid",
        "created_at",
        "expires_at",
        "last_seen_at",
    ]
    list_filter = ["is_valid"]
    search_fields = ["player__username", "ip_address"]
    list_select_related = ["player"]
    # A revoked session stays revoked: only the action below changes validity.
    fields = [
        "id",
        "player",
        "ip_address",
        "user_agent",
        "is_valid",
        "created_at",
        "expires_at",
        "last_seen_at",
    ]
    readonly_fields = fields
    actions = ["revoke"]

    def has_add_permission(self, request):
        return False

    @admin.action(description="Revoke the selected sessions", permissions=["change"])
    def revoke(self, request, queryset):
        revoked = sessions_revoke(sessions=queryset)
        self.message_user(request, f"Revoked {revoked} session(s).", messages.SUCCESS)
