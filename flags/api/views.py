import uuid

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.exceptions import APIException, NotFound, ValidationError
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response

from flags import services
from flags.api.serializers import (
    FlagOutputSerializer,
    FlagPlaceInputSerializer,
    FlagRemovedOutputSerializer,
    SpotsOutputSerializer,
    SystemFlagInputSerializer,
)
from flags.repositories import FlagRepository
from mmo.api.filters import (
    BBOX_PARAMETER,
    NEAR_PARAMETERS,
    parse_bbox,
    parse_near,
    parse_point,
)
from mmo.api.pagination import FeaturePagination
from mmo.api.throttling import FLAG_ACTIONS, FLAG_SPOTS, ScopedThrottle, WriteThrottle

REFUSAL_STATUS = {"not_found": 404, "not_owner": 403, "private_flag": 403, "system_flag": 403}


class FlagActionRefused(APIException):
    """A game rule refused the action: 400 (403 for someone else's flag, 404 for none)."""

    def __init__(self, refused: services.FlagActionRefused):
        self.status_code = REFUSAL_STATUS.get(refused.code, status.HTTP_400_BAD_REQUEST)
        super().__init__(detail=refused.reason, code=refused.code)
        # A placement refused where a spot nearby would do names the nearest one.
        self.nearest_spot = refused.spot.frame() if refused.spot is not None else None


def refused(error: services.FlagActionRefused) -> APIException:
    return FlagActionRefused(error)


class FlagActionView(GenericAPIView):
    """Flag actions (every write here) are throttled per player; reading is not."""

    throttle_classes = [WriteThrottle]
    throttle_scope = FLAG_ACTIONS


OWNER_PARAMETER = OpenApiParameter(
    "owner", str, description="A player id, or `me`: only flags of this owner."
)


class FlagListView(FlagActionView):
    serializer_class = FlagOutputSerializer
    pagination_class = FeaturePagination

    @extend_schema(
        parameters=[BBOX_PARAMETER, *NEAR_PARAMETERS, OWNER_PARAMETER],
        responses=FlagOutputSerializer(many=True),
    )
    def get(self, request):
        queryset = FlagRepository.all()
        box = parse_bbox(request)
        if box is not None:
            queryset = FlagRepository.in_box(box, queryset)
        near = parse_near(request)
        if near is not None:
            queryset = FlagRepository.within(*near, queryset)
        owner = request.query_params.get("owner")
        if owner:
            queryset = FlagRepository.of_owner(self._owner_id(owner), queryset)
        page = self.paginate_queryset(queryset.order_by("created_at", "id"))
        return self.get_paginated_response(FlagOutputSerializer(page, many=True).data)

    @extend_schema(
        request=FlagPlaceInputSerializer,
        responses={201: FlagOutputSerializer},
        description="Place a flag (players; the game rules and costs apply). Staff may "
        'instead send `"type": "system"` to place a system flag anywhere, at no cost.',
    )
    def post(self, request):
        if request.user.is_staff and isinstance(request.data, dict) and "type" in request.data:
            data = SystemFlagInputSerializer(data=request.data)
            data.is_valid(raise_exception=True)
            flag = services.flag_create_system(
                lng=data.validated_data["position"]["lng"],
                lat=data.validated_data["position"]["lat"],
                name=data.validated_data["name"],
                is_public=data.validated_data["isPublic"],
                is_start_hub=data.validated_data["isStartHub"],
            )
            return Response(FlagOutputSerializer(flag).data, status=status.HTTP_201_CREATED)
        data = FlagPlaceInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            flag = services.flag_place(
                player=request.user,
                lng=data.validated_data["position"]["lng"],
                lat=data.validated_data["position"]["lat"],
                name=data.validated_data["name"],
                is_public=data.validated_data["isPublic"],
                toll=data.validated_data["toll"],
            )
        except services.FlagActionRefused as error:
            raise refused(error) from error
        return Response(FlagOutputSerializer(flag).data, status=status.HTTP_201_CREATED)

    def _owner_id(self, owner: str):
        if owner == "me":
            return self.request.user.pk
        try:
            return uuid.UUID(owner)
        except ValueError as error:
            raise ValidationError({"owner": ["Give a player id or `me`."]}) from error


class FlagDetailView(FlagActionView):
    serializer_class = FlagOutputSerializer

    @extend_schema(responses=FlagOutputSerializer)
    def get(self, request, flag_id):
        flag = FlagRepository.get(flag_id)
        if flag is None:
            raise NotFound("No flag with this id.")
        return Response(FlagOutputSerializer(flag).data)

    @extend_schema(
        responses=FlagRemovedOutputSerializer,
        description="Remove one's own flag; the answer lists the resources refunded. "
        "Staff delete system flags this way.",
    )
    def delete(self, request, flag_id):
        try:
            flag = FlagRepository.get(flag_id)
            if request.user.is_staff and flag is not None and flag.flag_type == "system":
                services.flag_delete_system(flag_id=flag_id)
                refund = {}
            else:
                refund = services.flag_remove(player=request.user, flag_id=flag_id)
        except services.FlagActionRefused as error:
            raise refused(error) from error
        return Response({"flagId": flag_id, "resources": refund})


class FlagHardenView(FlagActionView):
    serializer_class = FlagOutputSerializer

    @extend_schema(request=None, responses=FlagOutputSerializer)
    def post(self, request, flag_id):
        try:
            flag = services.flag_harden(player=request.user, flag_id=flag_id)
        except services.FlagActionRefused as error:
            raise refused(error) from error
        return Response(FlagOutputSerializer(flag).data)


class FlagTakeoverView(FlagActionView):
    serializer_class = FlagOutputSerializer

    @extend_schema(
        request=None,
        responses=FlagOutputSerializer,
        description="Take over another player's abandoned flag (costs 3 wood and 3 leather).",
    )
    def post(self, request, flag_id):
        try:
            flag = services.flag_takeover(player=request.user, flag_id=flag_id)
        except services.FlagActionRefused as error:
            raise refused(error) from error
        return Response(FlagOutputSerializer(flag).data)


LIMIT_PARAMETER = OpenApiParameter(
    "limit", int, description="Most spots answered (at most FLAG_SPOTS_LIMIT, its default)."
)
SPOT_NEAR_PARAMETER = OpenApiParameter(
    "near", str, required=True, description="lng,lat: spots nearest to this point."
)


class FlagSpotsView(GenericAPIView):
    """Where may I build? Spots where the player may place a flag now, nearest first."""

    serializer_class = SpotsOutputSerializer
    # Each search tries hundreds of candidate spots: a budget per player, shared with the socket.
    throttle_classes = [ScopedThrottle]
    throttle_scope = FLAG_SPOTS

    @extend_schema(
        parameters=[SPOT_NEAR_PARAMETER, LIMIT_PARAMETER], responses=SpotsOutputSerializer
    )
    def get(self, request):
        near = parse_point(request, "near")
        if near is None:
            raise ValidationError({"near": ["Give near=lng,lat: where to look for spots."]})
        else:
            lng, lat = near.x, near.y
        limit = self._limit(request)
        spots = services.flag_spots(player=request.user, lng=lng, lat=lat, limit=limit)
        return Response(
            {"near": {"lat": lat, "lng": lng}, "spots": [spot.frame() for spot in spots]}
        )

    @staticmethod
    def _limit(request) -> int | None:
        raw = request.query_params.get("limit")
        if raw is None:
            return None
        try:
            limit = int(raw)
        except ValueError as error:
            raise ValidationError({"limit": ["Give a whole number."]}) from error
        if limit < 1:
            raise ValidationError({"limit": ["Must be at least 1."]})
        return limit
