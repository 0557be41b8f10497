from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from areas.repositories import AreaRepository
from flags import services as flag_services
from flags.api.views import FlagActionView, refused
from mmo.api.filters import BBOX_PARAMETER, NEAR_PARAMETERS, parse_bbox, parse_near
from movement import services
from movement.api import serializers as s
from movement.repositories import PositionRepository


class MyPositionView(APIView):
    @extend_schema(responses=s.PositionOutputSerializer)
    def get(self, request):
        position = PositionRepository.get(request.user.pk)
        if position is None:
            raise NotFound("You have no position yet.")
        return Response(s.PositionOutputSerializer(position).data)


@extend_schema(
    parameters=[
        OpenApiParameter("area", str, description="Area id: only players in this area."),
        BBOX_PARAMETER,
        *NEAR_PARAMETERS,
    ]
)
class PlayerListView(generics.ListAPIView):
    """Players on the map, by exactly one of: area, bbox, near + radius."""

    serializer_class = s.PlayerOnMapOutputSerializer

    def get_queryset(self):
        area_id = self.request.query_params.get("area")
        box = parse_bbox(self.request)
        near = parse_near(self.request)
        given = [
            name for name, value in (("area", area_id), ("bbox", box), ("near", near)) if value
        ]
        if len(given) != 1:
            raise ValidationError({"detail": ["Give exactly one of area, bbox or near + radius."]})
        if area_id:
            # PostgreSQL text cannot hold NUL: no area has such an id.
            if "\x00" in area_id or AreaRepository.get(area_id) is None:
                raise NotFound("No area with this id.")
            queryset = PositionRepository.players_in_area(area_id)
        elif box is not None:
            queryset = PositionRepository.players_in_box(box)
        else:
            queryset = PositionRepository.players_near(*near)
        return queryset.order_by("username")


class TeleportView(FlagActionView):
    serializer_class = s.TeleportOutputSerializer

    @extend_schema(request=None, responses=s.TeleportOutputSerializer)
    def post(self, request, flag_id):
        try:
            teleport = services.player_teleport(player=request.user, flag_id=flag_id)
        except flag_services.FlagActionRefused as error:
            raise refused(error) from error
        return Response(
            {
                "flagId": flag_id,
                "position": {"lat": teleport.lat, "lng": teleport.lng},
                "cost": teleport.cost,
                "area": teleport.area_id,
            }
        )
