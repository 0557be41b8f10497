from django import forms
from django.contrib import admin

from flags.models import Flag
from mmo.geo import validated_point
from mmo.maps import MapAdmin


class FlagAdminForm(forms.ModelForm):
    class Meta:
        model = Flag
        fields = [
            "name",
            "flag_type",
            "owner",
            "location",
            "radius",
            "visual_boundary",
            "is_public",
            "toll",
            "is_hardened",
            "is_abandoned",
            "health",
            "last_visited_at",
        ]

    def clean_location(self):
        return validated_point(self.cleaned_data["location"])

    def clean(self):
        cleaned = super().clean()
        flag_type, owner = cleaned.get("flag_type"), cleaned.get("owner")
        if flag_type == Flag.FlagType.SYSTEM and owner is not None:
            self.add_error("owner", "System flags have no owner.")
        if flag_type == Flag.FlagType.NORMAL and owner is None:
            self.add_error("owner", "A normal flag needs an owner.")
        return cleaned


@admin.register(Flag)
class FlagAdmin(MapAdmin):
    form = FlagAdminForm
    list_display = [
        "name",
        "flag_type",
        "owner",
        "is_public",
        "toll",
        "is_hardened",
        "is_abandoned",
    ]
    list_filter = ["flag_type", "is_public", "is_hardened", "is_abandoned"]
    search_fields = ["name", "owner__username"]
    list_select_related = ["owner"]
    autocomplete_fields = ["owner"]
    readonly_fields = ["id", "created_at", "updated_at"]
