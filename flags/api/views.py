import uuid

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response

from flags.api.serializers import FlagOutputSerializer
from flags.repositories import FlagRepository
from mmo.api.filters import BBOX_PARAMETER, NEAR_PARAMETERS, parse_bbox, parse_near
from mmo.api.pagination import FeaturePagination

OWNER_PARAMETER = OpenApiParameter(
    "owner", str, description="A player id, or `me`: only flags of this owner."
)


class FlagListView(GenericAPIView):
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

    def _owner_id(self, owner: str):
        if owner == "me":
            return self.request.user.pk
        try:
            return uuid.UUID(owner)
        except ValueError as error:
            raise ValidationError({"owner": ["Give a player id or `me`."]}) from error


class FlagDetailView(GenericAPIView):
    serializer_class = FlagOutputSerializer

    @extend_schema(responses=FlagOutputSerializer)
    def get(self, request, flag_id):
        flag = FlagRepository.get(flag_id)
        if flag is None:
            raise NotFound("No flag with this id.")
        return Response(FlagOutputSerializer(flag).data)
