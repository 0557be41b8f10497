from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from areas.api.urls import urlpatterns as area_urls
from chat.api.urls import urlpatterns as room_urls
from flags.api.urls import urlpatterns as flag_urls
from leaderboards.api.urls import urlpatterns as leaderboard_urls
from mmo.health import health
from mmo.metrics import MetricsView
from movement import world_map
from movement.api import urls as movement_urls
from players.api.urls import auth_urlpatterns, player_urlpatterns

api_urlpatterns = [
    re_path(r"^health/?$", health, name="health"),
    path("internal/metrics", MetricsView.as_view(), name="metrics"),
    path("auth/", include(auth_urlpatterns)),
    path("players/", include(movement_urls.player_urlpatterns + player_urlpatterns)),
    path("areas/", include(area_urls)),
    path("flags/", include(movement_urls.flag_urlpatterns + flag_urls)),
    path("rooms/", include(room_urls)),
    path("leaderboards/", include(leaderboard_urls)),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
]

urlpatterns = [
    path("api/", include(api_urlpatterns)),
    path("admin/world-map/", include(world_map.urlpatterns)),
    path("admin/", admin.site.urls),
]

admin.site.site_header = "mmo administration"
admin.site.site_title = "mmo admin"
