from django.contrib import admin
from django.urls import path, re_path

from mmo.health import health

urlpatterns = [
    re_path(r"^api/health/?$", health, name="health"),
    path("admin/", admin.site.urls),
]

admin.site.site_header = "mmo administration"
admin.site.site_title = "mmo admin"
