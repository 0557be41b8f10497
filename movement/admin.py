from django.contrib import admin

from movement.models import PlayerPosition
from players.admin import PlayerAdmin


class PositionInline(admin.StackedInline):
    """Read-only: the movement system owns positions and would overwrite an edit."""

    model = PlayerPosition
    can_delete = False
    fields = ["coordinates", "direction", "current_area", "updated_at", "version"]
    readonly_fields = fields

    @admin.display(description="lat, lng")
    def coordinates(self, position):
        return f"{position.location.y:.6f}, {position.location.x:.6f}"

    def has_add_permission(self, request, obj=None):
        return False


# Shown on the player's page, after the profile and the inventory.
PlayerAdmin.inlines = [*PlayerAdmin.inlines[:2], PositionInline, *PlayerAdmin.inlines[2:]]
