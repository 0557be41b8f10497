from django import forms
from django.contrib import admin

from flags import services
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
            "is_start_hub",
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
        if cleaned.get("is_start_hub") and flag_type != Flag.FlagType.SYSTEM:
            self.add_error("is_start_hub", "Only system flags are start hubs.")
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
        "is_start_hub",
    ]
    list_filter = ["flag_type", "is_start_hub", "is_public", "is_hardened", "is_abandoned"]
    search_fields = ["name", "owner__username"]
    list_select_related = ["owner"]
    autocomplete_fields = ["owner"]
    readonly_fields = ["id", "territory_share", "claimed_at", "created_at", "updated_at"]

    @admin.display(description="territory")
    def territory_share(self, flag):
        if flag.territory is None:
            return "none (system or abandoned flag)"
        return f"{flag.territory.num_geom} part(s), drawn on the world map"

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        # The land follows the flag: its own, and that of later claims around it.
        services.flag_territory_refresh(flag_id=obj.pk)

    def delete_model(self, request, obj):
        services.flag_delete_by_staff(flag_id=obj.pk)

    def delete_queryset(self, request, queryset):
        for flag_id in list(queryset.values_list("pk", flat=True)):
            services.flag_delete_by_staff(flag_id=flag_id)
