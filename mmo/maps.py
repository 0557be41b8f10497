"""The admin's map: OpenLayers from the project's static files, tiles from a setting."""

from django.conf import settings
from django.contrib.gis import forms
from django.contrib.gis.admin import GISModelAdmin
from django.contrib.gis.db import models
from django.contrib.gis.forms.widgets import OSMWidget

from mmo.geo import validate_web_mercator_extent


class OfflineMapWidget(OSMWidget):
    """
    Django's OpenStreetMap widget without any third-party host: the library and
    Natural Earth's land and borders are served from STATIC_URL, raster tiles
    from MAP_TILE_URL over them where they load. Around the edited geometry it
    draws the neighbouring areas and flags (the world map's endpoints).
    """

    template_name = "gis/mmo_map.html"
    default_lon = 0
    default_lat = 0
    default_zoom = 12

    class Media:
        extend = False
        css = {"all": ("vendor/ol/ol.css", "gis/css/ol3.css")}
        js = ("vendor/ol/ol.js", "mmo/base_map.js", "gis/js/OLMapWidget.js")

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        context["tile_url"] = settings.MAP_TILE_URL
        context["tile_attribution"] = settings.MAP_TILE_ATTRIBUTION
        return context


class MapGeometryField(forms.GeometryField):
    """
    The map posts Web Mercator; out-of-range values would be wrapped silently
    by the transformation to WGS84, so they are refused before it.
    """

    def to_python(self, value):
        geometry = super().to_python(value)
        if geometry is not None:
            validate_web_mercator_extent(geometry)
        return geometry


class MapAdmin(GISModelAdmin):
    """Admin of a model with geometry: edited on the offline map."""

    gis_widget = OfflineMapWidget

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        if isinstance(db_field, models.GeometryField):
            kwargs["form_class"] = MapGeometryField
        return super().formfield_for_dbfield(db_field, request, **kwargs)
