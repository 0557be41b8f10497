from django import forms
from django.contrib import admin

from areas.models import Area, validate_area_properties
from mmo.geo import validated_boundary
from mmo.maps import MapAdmin


class AreaAdminForm(forms.ModelForm):
    class Meta:
        model = Area
        fields = ["id", "name", "area_type", "boundary", "properties", "is_active"]

    def clean_boundary(self):
        return validated_boundary(self.cleaned_data["boundary"])

    def clean_properties(self):
        properties = self.cleaned_data["properties"]
        validate_area_properties(properties)
        return properties


@admin.register(Area)
class AreaAdmin(MapAdmin):
    form = AreaAdminForm
    list_display = ["id", "name", "area_type", "is_active", "updated_at"]
    list_filter = ["area_type", "is_active"]
    search_fields = ["id", "name"]
    prepopulated_fields = {"id": ["name"]}
    readonly_fields = ["created_at", "updated_at"]

    def get_readonly_fields(self, request, obj=None):
        # The slug is the area's identity in clients and positions: fixed once created.
        if obj is not None:
            return [*self.readonly_fields, "id"]
        return self.readonly_fields

    def get_prepopulated_fields(self, request, obj=None):
        return {} if obj is not None else self.prepopulated_fields
