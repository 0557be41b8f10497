from django.conf import settings
from rest_framework.pagination import PageNumberPagination
from rest_framework_gis.pagination import GeoJsonPagination


class SettingsPageSize:
    """`?page=N&pageSize=M`, sized by API_PAGE_SIZE and capped at API_MAX_PAGE_SIZE."""

    page_size_query_param = "pageSize"

    @property
    def page_size(self):
        return settings.API_PAGE_SIZE

    @property
    def max_page_size(self):
        return settings.API_MAX_PAGE_SIZE


class PagePagination(SettingsPageSize, PageNumberPagination):
    """A page of results, with `count`, `next` and `previous`."""


class FeaturePagination(SettingsPageSize, GeoJsonPagination):
    """A page of a GeoJSON FeatureCollection, with the same parameters and caps."""

    def get_paginated_response_schema(self, schema):
        # `schema` describes the FeatureCollection of one page already; a page
        # adds the counts and links next to its "type" and "features".
        page_link = {"type": "string", "format": "uri", "nullable": True}
        return {
            "allOf": [
                schema,
                {
                    "type": "object",
                    "required": ["count"],
                    "properties": {
                        "count": {"type": "integer"},
                        "next": page_link,
                        "previous": page_link,
                    },
                },
            ]
        }
